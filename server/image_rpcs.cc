// ImageService: PullImage, ImageStatus, ListImages, RemoveImage, ImageFsInfo.
#include "server/grpc_status.h"
#include "server/image_service.h"

namespace berth {

grpc::ServerUnaryReactor* ImageService::ListImages(grpc::CallbackServerContext* context,
                                                   const runtime::v1::ListImagesRequest* request,
                                                   runtime::v1::ListImagesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::vector<runtime::v1::Image>> images = images_->List(request->filter());
  if (images.ok()) {
    for (runtime::v1::Image& image : *images) *response->add_images() = std::move(image);
  }
  reactor->Finish(ToGrpcStatus(images.status()));
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::ImageStatus(grpc::CallbackServerContext* context,
                                                    const runtime::v1::ImageStatusRequest* request,
                                                    runtime::v1::ImageStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string info;
  absl::StatusOr<std::optional<runtime::v1::Image>> image =
      images_->Status(request->image(), request->verbose(), &info);
  if (image.ok() && image->has_value()) {
    *response->mutable_image() = std::move(**image);
    if (request->verbose()) (*response->mutable_info())["info"] = std::move(info);
  }
  // An absent image is an empty response, not an error (the kubelet relies on it).
  reactor->Finish(ToGrpcStatus(image.status()));
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::PullImage(grpc::CallbackServerContext* context,
                                                  const runtime::v1::PullImageRequest* request,
                                                  runtime::v1::PullImageResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Run([this, reactor, request, response] {
    absl::StatusOr<std::string> id = images_->Pull(*request);
    if (id.ok()) response->set_image_ref(*id);
    reactor->Finish(ToGrpcStatus(id.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::RemoveImage(grpc::CallbackServerContext* context,
                                                    const runtime::v1::RemoveImageRequest* request,
                                                    runtime::v1::RemoveImageResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Run([this, reactor, request] {
    reactor->Finish(ToGrpcStatus(images_->Remove(request->image())));
  });
  return reactor;
}

grpc::ServerUnaryReactor* ImageService::ImageFsInfo(grpc::CallbackServerContext* context,
                                                    const runtime::v1::ImageFsInfoRequest* request,
                                                    runtime::v1::ImageFsInfoResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor_->Run([this, reactor, response] {
    absl::StatusOr<runtime::v1::ImageFsInfoResponse> info = images_->FsInfo();
    if (info.ok()) *response = std::move(*info);
    reactor->Finish(ToGrpcStatus(info.status()));
  });
  return reactor;
}

}  // namespace berth
