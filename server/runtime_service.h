#ifndef BERTH_SERVER_RUNTIME_SERVICE_H_
#define BERTH_SERVER_RUNTIME_SERVICE_H_

#include "proto/cri/api.grpc.pb.h"
#include "server/executor.h"
#include "server/runtime_info.h"
#include "server/container_manager.h"
#include "server/container_streams.h"
#include "server/sandbox_manager.h"
#include "server/unimplemented.h"

namespace berth {

// runtime.v1.RuntimeService. Each RPC group lives in its own .cc file. ListContainers takes
// and answers raw bytes: its response is put together from serialized entries
// (server/container_list.h).
class RuntimeService final
    : public runtime::v1::RuntimeService::WithRawCallbackMethod_ListContainers<
          runtime::v1::RuntimeService::CallbackService> {
 public:
  explicit RuntimeService(RuntimeInfo* info) : info_(info) {}
  // Set once, before serving.
  void SetBackends(SandboxManager* sandboxes, ContainerManager* containers, Executor* executor,
                   Executor* exec_executor) {
    sandboxes_ = sandboxes;
    containers_ = containers;
    executor_ = executor;
    exec_executor_ = exec_executor;
  }
  void SetStreams(ContainerStreams* streams) { streams_ = streams; }

  // stream_rpcs.cc
  grpc::ServerUnaryReactor* Exec(grpc::CallbackServerContext* context,
                                 const runtime::v1::ExecRequest* request,
                                 runtime::v1::ExecResponse* response) override;
  grpc::ServerUnaryReactor* Attach(grpc::CallbackServerContext* context,
                                   const runtime::v1::AttachRequest* request,
                                   runtime::v1::AttachResponse* response) override;
  grpc::ServerUnaryReactor* PortForward(grpc::CallbackServerContext* context,
                                        const runtime::v1::PortForwardRequest* request,
                                        runtime::v1::PortForwardResponse* response) override;

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

  // sandbox_rpcs.cc
  grpc::ServerUnaryReactor* RunPodSandbox(grpc::CallbackServerContext* context,
                                          const runtime::v1::RunPodSandboxRequest* request,
                                          runtime::v1::RunPodSandboxResponse* response) override;
  grpc::ServerUnaryReactor* StopPodSandbox(grpc::CallbackServerContext* context,
                                           const runtime::v1::StopPodSandboxRequest* request,
                                           runtime::v1::StopPodSandboxResponse* response) override;
  grpc::ServerUnaryReactor* RemovePodSandbox(
      grpc::CallbackServerContext* context, const runtime::v1::RemovePodSandboxRequest* request,
      runtime::v1::RemovePodSandboxResponse* response) override;
  grpc::ServerUnaryReactor* PodSandboxStatus(
      grpc::CallbackServerContext* context, const runtime::v1::PodSandboxStatusRequest* request,
      runtime::v1::PodSandboxStatusResponse* response) override;
  grpc::ServerUnaryReactor* ListPodSandbox(grpc::CallbackServerContext* context,
                                           const runtime::v1::ListPodSandboxRequest* request,
                                           runtime::v1::ListPodSandboxResponse* response) override;

  // container_rpcs.cc
  grpc::ServerUnaryReactor* CreateContainer(grpc::CallbackServerContext* context,
                                 const runtime::v1::CreateContainerRequest* request,
                                 runtime::v1::CreateContainerResponse* response) override;
  grpc::ServerUnaryReactor* StartContainer(grpc::CallbackServerContext* context,
                                 const runtime::v1::StartContainerRequest* request,
                                 runtime::v1::StartContainerResponse* response) override;
  grpc::ServerUnaryReactor* StopContainer(grpc::CallbackServerContext* context,
                                 const runtime::v1::StopContainerRequest* request,
                                 runtime::v1::StopContainerResponse* response) override;
  grpc::ServerUnaryReactor* RemoveContainer(grpc::CallbackServerContext* context,
                                 const runtime::v1::RemoveContainerRequest* request,
                                 runtime::v1::RemoveContainerResponse* response) override;
  grpc::ServerUnaryReactor* ContainerStatus(grpc::CallbackServerContext* context,
                                 const runtime::v1::ContainerStatusRequest* request,
                                 runtime::v1::ContainerStatusResponse* response) override;
  // A serialized ListContainersRequest in, a serialized ListContainersResponse out.
  grpc::ServerUnaryReactor* ListContainers(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ExecSync(grpc::CallbackServerContext* context,
                                 const runtime::v1::ExecSyncRequest* request,
                                 runtime::v1::ExecSyncResponse* response) override;
  grpc::ServerUnaryReactor* ReopenContainerLog(grpc::CallbackServerContext* context,
                                 const runtime::v1::ReopenContainerLogRequest* request,
                                 runtime::v1::ReopenContainerLogResponse* response) override;
  grpc::ServerUnaryReactor* UpdateContainerResources(grpc::CallbackServerContext* context,
                                 const runtime::v1::UpdateContainerResourcesRequest* request,
                                 runtime::v1::UpdateContainerResourcesResponse* response) override;
  grpc::ServerUnaryReactor* ContainerStats(grpc::CallbackServerContext* context,
                                 const runtime::v1::ContainerStatsRequest* request,
                                 runtime::v1::ContainerStatsResponse* response) override;
  grpc::ServerUnaryReactor* ListContainerStats(grpc::CallbackServerContext* context,
                                 const runtime::v1::ListContainerStatsRequest* request,
                                 runtime::v1::ListContainerStatsResponse* response) override;

#define BERTH_X(Name) BERTH_DECLARE_UNIMPLEMENTED_UNARY("RuntimeService", Name)
  BERTH_UNIMPLEMENTED_RUNTIME_UNARY(BERTH_X)
#undef BERTH_X
#define BERTH_X(Name, Request, Response) \
  BERTH_DECLARE_UNIMPLEMENTED_STREAM("RuntimeService", Name, Request, Response)
  BERTH_UNIMPLEMENTED_RUNTIME_STREAM(BERTH_X)
#undef BERTH_X

 private:
  RuntimeInfo* info_;
  SandboxManager* sandboxes_ = nullptr;
  ContainerManager* containers_ = nullptr;
  ContainerStreams* streams_ = nullptr;
  Executor* executor_ = nullptr;
  Executor* exec_executor_ = nullptr;
};

}  // namespace berth

#endif  // BERTH_SERVER_RUNTIME_SERVICE_H_
