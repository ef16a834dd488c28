#ifndef BERTH_SERVER_DAEMON_H_
#define BERTH_SERVER_DAEMON_H_

#include <atomic>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "grpcpp/server.h"
#include "server/config.h"
#include "server/admin_service.h"
#include "server/executor.h"
#include "server/image_manager.h"
#include "server/image_service.h"
#include "server/network_status.h"
#include "server/runtime_info.h"
#include "server/runtime_service.h"
#include "server/container_manager.h"
#include "server/container_streams.h"
#include "server/stream_server.h"
#include "server/sandbox_manager.h"

namespace berth {

// berthd's running state: the directories, the runroot lock, the CRI gRPC server on the
// unix socket and the services behind it.
class Daemon {
 public:
  // Prepares the directories and the socket and starts serving. Fails, having touched
  // nothing it leaves behind, when another berthd owns the runroot or the socket.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Config& config);

  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();

  // Stops accepting calls, lets in-flight calls finish within `grace` (then cancels them),
  // and removes the socket. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  explicit Daemon(const Config& config);
  absl::Status Serve();

  const Config config_;
  UniqueFd lock_;
  NetworkStatusSource network_;
  RuntimeInfo info_;
  RuntimeService runtime_service_;
  std::unique_ptr<ImageManager> images_;
  std::unique_ptr<oci::CgroupAttachWarmer> attach_warmer_;  // null when this host has none
  std::unique_ptr<SandboxManager> sandboxes_;
  std::unique_ptr<ContainerManager> containers_;
  std::unique_ptr<ContainerStreams> streams_;
  std::unique_ptr<StreamServer> stream_server_;
  // Set once containers_ exists: monitors' events before that are found on disk by its restore.
  std::atomic<ContainerManager*> event_sink_{nullptr};
  // Declared before the services that use it and after what its tasks use: it is destroyed
  // (joining its threads) after the server has stopped.
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Executor> exec_executor_;
  std::unique_ptr<ImageService> image_service_;
  std::unique_ptr<AdminService> admin_service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace berth

#endif  // BERTH_SERVER_DAEMON_H_
