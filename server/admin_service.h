#ifndef BERTH_SERVER_ADMIN_SERVICE_H_
#define BERTH_SERVER_ADMIN_SERVICE_H_

#include <cstdint>

#include "proto/admin.grpc.pb.h"
#include "server/executor.h"
#include "server/image_manager.h"

namespace berth {

// The archive size berthd accepts for an import.
inline constexpr int64_t kMaxImportBytes = int64_t{64} << 30;

// berth.admin.v1.Admin, Berth's own API on the CRI socket (berthctl import). ImportImage
// writes the client's stream to a temporary file under the store's tmp/ (on gRPC's threads:
// one chunk write each), then imports it on the executor; the file is removed afterwards.
class AdminService final : public berth::admin::v1::Admin::CallbackService {
 public:
  AdminService(ImageManager* images, Executor* executor, int64_t max_import_bytes = kMaxImportBytes)
      : images_(images), executor_(executor), max_import_bytes_(max_import_bytes) {}

  grpc::ServerReadReactor<berth::admin::v1::ImportImageChunk>* ImportImage(
      grpc::CallbackServerContext* context,
      berth::admin::v1::ImportImageResponse* response) override;

 private:
  ImageManager* images_;
  Executor* executor_;
  const int64_t max_import_bytes_;
};

}  // namespace berth

#endif  // BERTH_SERVER_ADMIN_SERVICE_H_
