// RuntimeService container RPCs. Work that waits on runc or a monitor goes to the executor.
#include <string>

#include "server/grpc_status.h"
#include "server/offload.h"
#include "server/runtime_service.h"

namespace berth {
grpc::ServerUnaryReactor* RuntimeService::CreateContainer(
    grpc::CallbackServerContext* context, const runtime::v1::CreateContainerRequest* request,
    runtime::v1::CreateContainerResponse* response) {
  return Offload(context, executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<std::string> id = containers_->Create(*request);
    if (id.ok()) response->set_container_id(*id);
    return id.status();
  });
}

grpc::ServerUnaryReactor* RuntimeService::StartContainer(
    grpc::CallbackServerContext* context, const runtime::v1::StartContainerRequest* request,
    runtime::v1::StartContainerResponse*) {
  return Offload(context, executor_,
                 [this, request] { return containers_->Start(request->container_id()); });
}

grpc::ServerUnaryReactor* RuntimeService::StopContainer(
    grpc::CallbackServerContext* context, const runtime::v1::StopContainerRequest* request,
    runtime::v1::StopContainerResponse*) {
  return Offload(context, executor_, [this, request] {
    return containers_->Stop(request->container_id(), request->timeout());
  });
}

grpc::ServerUnaryReactor* RuntimeService::RemoveContainer(
    grpc::CallbackServerContext* context, const runtime::v1::RemoveContainerRequest* request,
    runtime::v1::RemoveContainerResponse*) {
  return Offload(context, executor_,
                 [this, request] { return containers_->Remove(request->container_id()); });
}

grpc::ServerUnaryReactor* RuntimeService::ContainerStatus(
    grpc::CallbackServerContext* context, const runtime::v1::ContainerStatusRequest* request,
    runtime::v1::ContainerStatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<runtime::v1::ContainerStatusResponse> status =
      containers_->Status(request->container_id(), request->verbose());
  if (status.ok()) *response = std::move(*status);
  reactor->Finish(ToGrpcStatus(status.status()));
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::ListContainers(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  runtime::v1::ListContainersRequest parsed;
  grpc::ByteBuffer request_bytes(*request);  // Deserialize consumes its buffer
  grpc::Status status = grpc::SerializationTraits<runtime::v1::ListContainersRequest>::Deserialize(
      &request_bytes, &parsed);
  if (!status.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "ListContainers: the request is not a ListContainersRequest"));
    return reactor;
  }
  // The slice holds a reference to the bytes (the cached answer, shared by every call until a
  // container changes) and hands them to gRPC without a copy.
  using Bytes = std::shared_ptr<const std::string>;
  auto* bytes = new Bytes(containers_->ListSerialized(parsed.filter()));
  grpc::Slice slice(const_cast<char*>((*bytes)->data()), (*bytes)->size(),
                    [](void* owned) { delete static_cast<Bytes*>(owned); }, bytes);
  *response = grpc::ByteBuffer(&slice, 1);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RuntimeService::ExecSync(grpc::CallbackServerContext* context,
                                                   const runtime::v1::ExecSyncRequest* request,
                                                   runtime::v1::ExecSyncResponse* response) {
  // Its own pool: an ExecSync lasts as long as its command and must not hold up pod work.
  return Offload(context, exec_executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<runtime::v1::ExecSyncResponse> result = containers_->ExecSync(*request);
    if (result.ok()) *response = std::move(*result);
    return result.status();
  });
}

grpc::ServerUnaryReactor* RuntimeService::ReopenContainerLog(
    grpc::CallbackServerContext* context, const runtime::v1::ReopenContainerLogRequest* request,
    runtime::v1::ReopenContainerLogResponse*) {
  return Offload(context, executor_,
                 [this, request] { return containers_->ReopenLog(request->container_id()); });
}

grpc::ServerUnaryReactor* RuntimeService::UpdateContainerResources(
    grpc::CallbackServerContext* context,
    const runtime::v1::UpdateContainerResourcesRequest* request,
    runtime::v1::UpdateContainerResourcesResponse*) {
  return Offload(context, executor_,
                 [this, request] { return containers_->UpdateResources(*request); });
}

grpc::ServerUnaryReactor* RuntimeService::ContainerStats(
    grpc::CallbackServerContext* context, const runtime::v1::ContainerStatsRequest* request,
    runtime::v1::ContainerStatsResponse* response) {
  return Offload(context, executor_, [this, request, response]() -> absl::Status {
    absl::StatusOr<runtime::v1::ContainerStats> stats = containers_->Stats(request->container_id());
    if (stats.ok()) *response->mutable_stats() = std::move(*stats);
    return stats.status();
  });
}

grpc::ServerUnaryReactor* RuntimeService::ListContainerStats(
    grpc::CallbackServerContext* context, const runtime::v1::ListContainerStatsRequest* request,
    runtime::v1::ListContainerStatsResponse* response) {
  return Offload(context, executor_, [this, request, response]() -> absl::Status {
    for (runtime::v1::ContainerStats& stats : containers_->ListStats(request->filter())) {
      *response->add_stats() = std::move(stats);
    }
    return absl::OkStatus();
  });
}

}  // namespace berth
