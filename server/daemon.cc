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
#include "common/spawn.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "oci/apparmor.h"
#include "oci/cgroup_mode.h"
#include "oci/runtime_binary.h"
#include "server/rpc_log.h"

namespace berth {
namespace {

// The kubelet reads replies of up to 16 MiB; ExecSync may carry 16 MiB per stream.
constexpr int kMaxReceiveBytes = 16 << 20;
constexpr int kMaxSendBytes = 64 << 20;
// Threads for long RPC work (pulls, removals); more pulls than this wait in line.
constexpr int kExecutorThreads = 8;
// Threads for ExecSync calls, which last as long as their commands (liveness probes).
constexpr int kExecThreads = 16;
// A pool thread that had no work for this long ends.
constexpr absl::Duration kPoolIdle = absl::Seconds(10);

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

// berth-mon: configured, else beside berthd's binary, else in PATH.
absl::StatusOr<std::string> ResolveMonitor(const Config& config) {
  if (!config.monitor_path.empty()) {
    if (::access(config.monitor_path.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "berth.runtime.monitor_path ", config.monitor_path, " is not an executable"));
    }
    return config.monitor_path;
  }
  char self[4096] = {};
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    std::string beside = std::string(self, static_cast<size_t>(n));
    beside = beside.substr(0, beside.rfind('/') + 1) + "berth-mon";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  absl::StatusOr<std::string> found = FindExecutable("berth-mon");
  if (!found.ok()) {
    return absl::FailedPreconditionError(
        "berth-mon is neither beside berthd nor in PATH; set berth.runtime.monitor_path");
  }
  return found;
}

absl::StatusOr<StreamServerOptions> StreamOptions(const Config& config) {
  StreamServerOptions options;
  options.address = config.stream_address;
  options.port = static_cast<int>(config.stream_port);
  options.tls_cert = config.stream_tls_cert;
  options.tls_key = config.stream_tls_key;
  if (!absl::ParseDuration(config.stream_idle_timeout, &options.idle_timeout)) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream_idle_timeout \"", config.stream_idle_timeout, "\" is not a duration"));
  }
  options.max_sessions = static_cast<size_t>(config.stream_max_sessions);
  return options;
}

absl::StatusOr<SandboxManager::Options> SandboxOptions(const Config& config,
                                                       const NetworkStatusSource* network) {
  SandboxManager::Options options;
  options.config = &config;
  options.network = network;
  ASSIGN_OR_RETURN(options.monitor_path, ResolveMonitor(config));
  for (const auto& [name, handler] : config.runtimes) {
    absl::StatusOr<std::string> binary = oci::ResolveRuntimeBinary(name, handler.runtime_path);
    // A missing runtime shows in Status (RuntimeReady false); pods then fail to start.
    options.runtime_paths[name] = binary.ok() ? *binary : handler.runtime_path;
  }
  ASSIGN_OR_RETURN(oci::CgroupMode mode, oci::DetectCgroupMode());
  options.cgroups.version =
      mode == oci::CgroupMode::kUnified ? sandbox::CgroupVersion::kV2 : sandbox::CgroupVersion::kV1;
  return options;
}

// The warmer of runc's cgroup attaches (oci/cgroup_attach_warmer.h), on berthd's own cgroup;
// null when that cannot be found.
std::unique_ptr<oci::CgroupAttachWarmer> MakeAttachWarmer(oci::CgroupMode mode) {
  absl::StatusOr<std::string> self = ReadFile("/proc/self/cgroup");
  absl::StatusOr<std::string> procs =
      self.ok() ? oci::OwnCgroupProcsPath(*self, mode, "/sys/fs/cgroup") : self.status();
  if (!procs.ok()) {
    LOG_INFO("cgroup attach warmer off: {}", procs.status().message());
    return nullptr;
  }
  auto warmer = std::make_unique<oci::CgroupAttachWarmer>(*procs);
  if (!warmer->enabled()) return nullptr;
  return warmer;
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
  // Not fatal: only containers that need berth-default are refused without it.
  if (absl::Status apparmor = oci::EnsureDefaultApparmorProfile(config.runroot + "/apparmor");
      !apparmor.ok()) {
    LOG_WARN("{}", apparmor.ToString());
  }
  daemon->executor_ = std::make_unique<Executor>(kExecutorThreads, kPoolIdle, "pool-work");
  daemon->image_service_ =
      std::make_unique<ImageService>(daemon->images_.get(), daemon->executor_.get());
  daemon->admin_service_ =
      std::make_unique<AdminService>(daemon->images_.get(), daemon->executor_.get());
  RETURN_IF_ERROR(daemon->network_.Start());
  ASSIGN_OR_RETURN(SandboxManager::Options sandbox_options,
                   SandboxOptions(daemon->config_, &daemon->network_));
  Daemon* self = daemon.get();
  sandbox_options.on_event = [self](const std::string& pod_id, const monitor::v1::Event& event) {
    if (ContainerManager* sink = self->event_sink_.load()) sink->OnEvent(pod_id, event);
  };
  ASSIGN_OR_RETURN(daemon->sandboxes_, SandboxManager::Open(std::move(sandbox_options)));
  ContainerManager::Options container_options;
  container_options.config = &daemon->config_;
  container_options.sandboxes = daemon->sandboxes_.get();
  container_options.images = daemon->images_.get();
  ASSIGN_OR_RETURN(container_options.cgroup_mode, oci::DetectCgroupMode());
  daemon->attach_warmer_ = MakeAttachWarmer(container_options.cgroup_mode);
  container_options.attach_warmer = daemon->attach_warmer_.get();
  ASSIGN_OR_RETURN(daemon->containers_, ContainerManager::Open(std::move(container_options)));
  daemon->event_sink_.store(daemon->containers_.get());
  daemon->sandboxes_->SetContainers(daemon->containers_.get());
  daemon->images_->SetInUseCheck(
      [self](const std::string& image_id) { return self->containers_->ImageUser(image_id); });
  daemon->streams_ =
      std::make_unique<ContainerStreams>(daemon->containers_.get(), daemon->sandboxes_.get());
  ASSIGN_OR_RETURN(StreamServerOptions stream_options, StreamOptions(daemon->config_));
  ASSIGN_OR_RETURN(daemon->stream_server_,
                   StreamServer::Start(std::move(stream_options), daemon->streams_.get()));
  daemon->streams_->SetServer(daemon->stream_server_.get());
  daemon->runtime_service_.SetStreams(daemon->streams_.get());
  daemon->exec_executor_ = std::make_unique<Executor>(kExecThreads, kPoolIdle, "pool-exec");
  daemon->runtime_service_.SetBackends(daemon->sandboxes_.get(), daemon->containers_.get(),
                                       daemon->executor_.get(), daemon->exec_executor_.get());
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
  // Sessions end before the containers and monitors they use go away.
  if (stream_server_ != nullptr) stream_server_->Stop();
  exec_executor_.reset();
  executor_.reset();
  event_sink_.store(nullptr);
  if (sandboxes_ != nullptr) sandboxes_->SetContainers(nullptr);
  containers_.reset();
  sandboxes_.reset();
  network_.Stop();
}

}  // namespace berth
