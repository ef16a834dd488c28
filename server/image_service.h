#ifndef BERTH_SERVER_IMAGE_SERVICE_H_
#define BERTH_SERVER_IMAGE_SERVICE_H_

#include "proto/cri/api.grpc.pb.h"
#include "server/executor.h"
#include "server/image_manager.h"
#include "server/unimplemented.h"

namespace berth {

// runtime.v1.ImageService. Work that touches the network or many files (pulls, removals, fs
// usage) runs on the executor, never on gRPC's threads.
class ImageService final : public runtime::v1::ImageService::CallbackService {
 public:
  ImageService(ImageManager* images, Executor* executor) : images_(images), executor_(executor) {}

  grpc::ServerUnaryReactor* ListImages(grpc::CallbackServerContext* context,
                                       const runtime::v1::ListImagesRequest* request,
                                       runtime::v1::ListImagesResponse* response) override;
  grpc::ServerUnaryReactor* ImageStatus(grpc::CallbackServerContext* context,
                                        const runtime::v1::ImageStatusRequest* request,
                                        runtime::v1::ImageStatusResponse* response) override;
  grpc::ServerUnaryReactor* PullImage(grpc::CallbackServerContext* context,
                                      const runtime::v1::PullImageRequest* request,
                                      runtime::v1::PullImageResponse* response) override;
  grpc::ServerUnaryReactor* RemoveImage(grpc::CallbackServerContext* context,
                                        const runtime::v1::RemoveImageRequest* request,
                                        runtime::v1::RemoveImageResponse* response) override;
  grpc::ServerUnaryReactor* ImageFsInfo(grpc::CallbackServerContext* context,
                                        const runtime::v1::ImageFsInfoRequest* request,
                                        runtime::v1::ImageFsInfoResponse* response) override;

#define BERTH_X(Name, Request, Response) \
  BERTH_DECLARE_UNIMPLEMENTED_STREAM("ImageService", Name, Request, Response)
  BERTH_UNIMPLEMENTED_IMAGE_STREAM(BERTH_X)
#undef BERTH_X

 private:
  ImageManager* images_;
  Executor* executor_;
};

}  // namespace berth

#endif  // BERTH_SERVER_IMAGE_SERVICE_H_
