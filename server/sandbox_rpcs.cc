// RuntimeService pod sandbox RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
// PodSandboxStatus, ListPodSandbox. Work that runs plugins or processes goes to the executor.
#include "server/grpc_status.h"
#include "server/offload.h"
#include "server/runtime_service.h"

namespace berth {

grpc::ServerUnaryReactor* RuntimeService::RunPodSandbox(
    grpc::CallbackServerContext* context, const runtime::v1::RunPodSandboxRequest* request,
    runtime::v1::RunPodSandboxResponse* response) {
  return Offload(context, executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::string> id = sandboxes_->Run(*request);
    if (id.ok()) response->set_pod_sandbox_id(*id);
    return id.status();
  });
}

grpc::ServerUnaryReactor* RuntimeService::StopPodSandbox(
    grpc::CallbackServerContext* context, const runtime::v1::StopPodSandboxRequest* request,
    runtime::v1::StopPodSandboxResponse*) {
  return Offload(context, executor_,
                 [this, request] { return sandboxes_->Stop(request->pod_sandbox_id()); });
}

grpc::ServerUnaryReactor* RuntimeService::RemovePodSandbox(
    grpc::CallbackServerContext* context, const runtime::v1::RemovePodSandboxRequest* request,
    runtime::v1::RemovePodSandboxResponse*) {
  return Offload(context, executor_,
                 [this, request] { return sandboxes_->Remove(request->pod_sandbox_id()); });
}

grpc::ServerUnaryReactor* RuntimeService::PodSandboxStatus(
    grpc::CallbackServerContext* context, const runtime::v1::PodSandboxStatusRequest* request,
    runtime::v1::PodSandboxStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<runtime::v1::PodSandboxStatusResponse> status =
      sandboxes_->Status(request->pod_sandbox_id(), request->verbose());
  if (status.ok()) *response = std::move(*status);
  reactor->Finish(ToGrpcStatus(status.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::ListPodSandbox(
    grpc::CallbackServerContext* context, const runtime::v1::ListPodSandboxRequest* request,
    runtime::v1::ListPodSandboxResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  for (runtime::v1::PodSandbox& item : sandboxes_->List(request->filter())) {
    *response->add_items() = std::move(item);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace berth
