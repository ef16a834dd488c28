#include "server/daemon.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "server/rpc_log.h"

namespace berth {
namespace {

// The kubelet reads replies of up to 16 MiB; ExecSync may carry 16 MiB per stream.
constexpr int kMaxReceiveBytes = 16 << 20;
constexpr int kMaxSendBytes = 64 << 20;
// Threads for long RPC work (pulls, removals); more pulls than this wait in line.
constexpr int kExecutorThreads = 8;

absl::StatusOr<UniqueFd> LockRunroot(const std::string& runroot) {
  std::string path = absl::StrCat(runroot, "/berthd.lock");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat("another berthd is running with runroot ",
                                                        runroot, " (", path, " is locked)"));
    }
    return ErrnoStatus(errno, absl::StrCat("locking ", path));
  }
  return fd;
}

absl::Status CheckCgroupManager(const Config& config) {
  if (config.cgroup_manager == "systemd" && ::access("/run/systemd/system", F_OK) != 0) {
    return absl::FailedPreconditionError(
        "berth.runtime.cgroup_manager = \"systemd\" needs systemd as the init system, and "
        "/run/systemd/system does not exist; use \"cgroupfs\"");
  }
  return absl::OkStatus();
}

}  // namespace

Daemon::Daemon(const Config& config)
    : config_(config),
      network_(config_),
      info_(config_, [this] { return network_.Current(); }),
      runtime_service_(&info_) {}

Daemon::~Daemon() { Shutdown(absl::Seconds(5)); }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Config& config) {
  RETURN_IF_ERROR(CheckCgroupManager(config));
  RETURN_IF_ERROR(MakeDirs(config.root, 0711));
  RETURN_IF_ERROR(MakeDirs(config.runroot, 0711));
  std::unique_ptr<Daemon> daemon(new Daemon(config));
  ASSIGN_OR_RETURN(daemon->lock_, LockRunroot(config.runroot));
  RETURN_IF_ERROR(daemon->info_.Load());
  ASSIGN_OR_RETURN(daemon->images_, ImageManager::Open(daemon->config_));
  daemon->executor_ = std::make_unique<Executor>(kExecutorThreads);
  daemon->image_service_ =
      std::make_unique<ImageService>(daemon->images_.get(), daemon->executor_.get());
  daemon->admin_service_ =
      std::make_unique<AdminService>(daemon->images_.get(), daemon->executor_.get());
  RETURN_IF_ERROR(daemon->network_.Start());
  RETURN_IF_ERROR(daemon->Serve());
  return daemon;
}

absl::Status Daemon::Serve() {
  const std::string& socket = config_.listen;
  RETURN_IF_ERROR(PrepareSocketPath(socket));
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("unix:", socket), grpc::InsecureServerCredentials(),
                           &bound);
  builder.RegisterService(&runtime_service_);
  builder.RegisterService(image_service_.get());
  builder.RegisterService(admin_service_.get());
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.SetMaxSendMessageSize(kMaxSendBytes);
  builder.experimental().SetInterceptorCreators(RpcLogInterceptors());
  // The socket must never be reachable by others, not even for the moment before chmod.
  mode_t old_mask = ::umask(0117);
  server_ = builder.BuildAndStart();
  ::umask(old_mask);
  if (server_ == nullptr || bound == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", socket));
  }
  if (::chmod(socket.c_str(), 0660) != 0) {
    absl::Status status = ErrnoStatus(errno, absl::StrCat("setting the mode of ", socket));
    Shutdown(absl::ZeroDuration());
    return status;
  }
  LOG_INFO("berthd listening on {}", socket);
  absl::Status notified = NotifyServiceManager("READY=1");
  if (!notified.ok()) LOG_WARN("{}", notified.ToString());
  return absl::OkStatus();
}

void Daemon::Shutdown(absl::Duration grace) {
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
    server_.reset();
    ::unlink(config_.listen.c_str());
    LOG_INFO("berthd stopped");
  }
  executor_.reset();
  network_.Stop();
}

}  // namespace berth
