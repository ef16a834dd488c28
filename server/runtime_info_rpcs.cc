// RuntimeService: Version, Status, RuntimeConfig, UpdateRuntimeConfig.
#include "server/grpc_status.h"
#include "server/runtime_service.h"

namespace berth {

grpc::ServerUnaryReactor* RuntimeService::Version(grpc::CallbackServerContext* context,
                                                  const runtime::v1::VersionRequest* request,
                                                  runtime::v1::VersionResponse* response) {
  *response = info_->Version();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::Status(grpc::CallbackServerContext* context,
                                                 const runtime::v1::StatusRequest* request,
                                                 runtime::v1::StatusResponse* response) {
  *response = info_->Status(request->verbose());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::RuntimeConfig(
    grpc::CallbackServerContext* context, const runtime::v1::RuntimeConfigRequest* request,
    runtime::v1::RuntimeConfigResponse* response) {
  *response = info_->RuntimeConfig();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::UpdateRuntimeConfig(
    grpc::CallbackServerContext* context, const runtime::v1::UpdateRuntimeConfigRequest* request,
    runtime::v1::UpdateRuntimeConfigResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(info_->UpdateRuntimeConfig(*request)));
  return reactor;
}

}  // namespace berth
