#ifndef BERTH_SERVER_RUNTIME_SERVICE_H_
#define BERTH_SERVER_RUNTIME_SERVICE_H_

#include "proto/cri/api.grpc.pb.h"
#include "server/runtime_info.h"
#include "server/unimplemented.h"

namespace berth {

// runtime.v1.RuntimeService. Each RPC group lives in its own .cc file.
class RuntimeService final : public runtime::v1::RuntimeService::CallbackService {
 public:
  explicit RuntimeService(RuntimeInfo* info) : info_(info) {}

  // runtime_info_rpcs.cc
  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* context,
                                    const runtime::v1::VersionRequest* request,
                                    runtime::v1::VersionResponse* response) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const runtime::v1::StatusRequest* request,
                                   runtime::v1::StatusResponse* response) override;
  grpc::ServerUnaryReactor* RuntimeConfig(grpc::CallbackServerContext* context,
                                          const runtime::v1::RuntimeConfigRequest* request,
                                          runtime::v1::RuntimeConfigResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRuntimeConfig(
      grpc::CallbackServerContext* context, const runtime::v1::UpdateRuntimeConfigRequest* request,
      runtime::v1::UpdateRuntimeConfigResponse* response) override;

#define BERTH_X(Name) BERTH_DECLARE_UNIMPLEMENTED_UNARY("RuntimeService", Name)
  BERTH_UNIMPLEMENTED_RUNTIME_UNARY(BERTH_X)
#undef BERTH_X
#define BERTH_X(Name, Request, Response) \
  BERTH_DECLARE_UNIMPLEMENTED_STREAM("RuntimeService", Name, Request, Response)
  BERTH_UNIMPLEMENTED_RUNTIME_STREAM(BERTH_X)
#undef BERTH_X

 private:
  RuntimeInfo* info_;
};

}  // namespace berth

#endif  // BERTH_SERVER_RUNTIME_SERVICE_H_
