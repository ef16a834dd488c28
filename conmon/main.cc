// berth-mon: the per-pod monitor (DESIGN §1). berthd starts it as
// `berth-mon --config-fd 3 --sync-fd 4`: it reads its LaunchConfig, detaches, pins the pod's
// namespaces, listens on <pod_dir>/mon.sock, reports a LaunchResult on the sync fd and serves.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/sealed_copy.h"
#include "common/status.h"
#include "common/version.h"
#include "conmon/daemonize.h"
#include "conmon/event_loop.h"
#include "conmon/mon_log.h"
#include "conmon/monitor.h"
#include "conmon/namespaces.h"
#include "conmon/runtime_cmd.h"
#include "proto/monitor.pb.h"

namespace berth::mon {
namespace {

using monitor::v1::LaunchConfig;
using monitor::v1::LaunchResult;

struct Flags {
  int config_fd = -1;
  int sync_fd = -1;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i + 1 < argc; i += 2) {
    char* end = nullptr;
    long value = std::strtol(argv[i + 1], &end, 10);
    if (end == argv[i + 1] || *end != '\0' || value < 0 || value > 1 << 20) return false;
    if (std::strcmp(argv[i], "--config-fd") == 0) {
      flags->config_fd = static_cast<int>(value);
    } else if (std::strcmp(argv[i], "--sync-fd") == 0) {
      flags->sync_fd = static_cast<int>(value);
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && flags->config_fd >= 0 && flags->sync_fd >= 0;
}

absl::StatusOr<LaunchConfig> ReadConfig(int fd) {
  std::string data;
  char buffer[4096];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "reading the launch config");
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > (1 << 20)) return absl::InvalidArgumentError("launch config is too large");
  }
  ::close(fd);
  LaunchConfig config;
  if (!config.ParseFromString(data)) return absl::InvalidArgumentError("bad launch config");
  if (config.pod_id().empty() || config.pod_dir().empty()) {
    return absl::InvalidArgumentError("launch config without pod_id or pod_dir");
  }
  return config;
}

// berthd hands down a sealed copy of the runtime (common/sealed_copy.h): runc runs from it.
void AdoptRuntimeImage(const LaunchConfig& config) {
  int fd = config.runtime_image_fd();
  if (fd <= 2) return;
  if (!IsSealedCopy(fd) || ::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    MON_ERROR("fd %d is not a sealed copy of the runtime: running %s itself", fd,
              config.runtime_path().c_str());
    ::close(fd);
    return;
  }
  UseRuntimeImage(config.runtime_path(), fd);
}

// Writes the result to the sync fd and closes it; berthd reads it until EOF.
void Report(int sync_fd, const LaunchResult& result) {
  absl::Status written = WriteAll(sync_fd, result.SerializeAsString(), "the launch result");
  if (!written.ok()) MON_ERROR("%s", written.ToString().c_str());
  ::close(sync_fd);
}

int Fail(int sync_fd, const absl::Status& status) {
  MON_ERROR("launch failed: %s", status.ToString().c_str());
  LaunchResult result;
  result.set_code(static_cast<int>(status.code()));
  result.set_message(std::string(status.message()));
  result.set_pid(::getpid());
  Report(sync_fd, result);
  return 1;
}

void OpenLog(const LaunchConfig& config) {
  OpenMonLog((config.pod_dir() + "/mon.log").c_str(), config.log_level() == "debug" ||
                                                          config.log_level() == "trace");
  MON_INFO("berth-mon %s for pod %s", kVersion, config.pod_id().c_str());
}

void AdjustOomScore(int adj) {
  if (adj == 0) return;
  absl::Status adjusted = SetOomScoreAdj(adj);
  if (!adjusted.ok()) {
    MON_WARN("keeping the inherited oom_score_adj: %s", adjusted.ToString().c_str());
  }
}

int Run(const Flags& flags) {
  absl::StatusOr<LaunchConfig> config = ReadConfig(flags.config_fd);
  if (!config.ok()) return Fail(flags.sync_fd, config.status());
  if (absl::Status detached = Daemonize(); !detached.ok()) return Fail(flags.sync_fd, detached);
  OpenLog(*config);
  AdoptRuntimeImage(*config);
  AdjustOomScore(config->oom_score_adj());  // before the holder: the pod's init inherits it
  NamespaceHolder holder;
  absl::StatusOr<PodNamespaces> namespaces = CreatePodNamespaces(*config, &holder);
  if (!namespaces.ok()) return Fail(flags.sync_fd, namespaces.status());
  LaunchResult result;
  result.set_pid(::getpid());
  result.mutable_namespaces()->insert(namespaces->pins.begin(), namespaces->pins.end());
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    DestroyPodNamespaces(&*namespaces);
    return Fail(flags.sync_fd, loop.status());
  }
  Monitor monitor(loop->get(), *std::move(config), *std::move(namespaces));
  absl::Status ready = monitor.Listen();
  if (ready.ok()) {
    // Under the runroot, gone with a reboot: atomic, never worth an fsync.
    ready = WriteFileAtomic(monitor.pid_path(), absl::StrCat(::getpid(), "\n"), 0644,
                            Durability::kVolatile);
  }
  if (!ready.ok()) {
    monitor.Teardown();
    return Fail(flags.sync_fd, ready);
  }
  // berthd goes on (CNI ADD) while the holder brings `lo` up; should that fail, berthd's Hello
  // finds the monitor gone and RunPodSandbox undoes the pod.
  Report(flags.sync_fd, result);
  if (absl::Status finished = FinishPodNamespaces(&holder); !finished.ok()) {
    MON_ERROR("%s", finished.ToString().c_str());
    monitor.Teardown();
    return 1;
  }
  MON_INFO("serving on %s", monitor.socket_path().c_str());
  ::malloc_trim(0);
  absl::Status ran = (*loop)->Run();
  if (!ran.ok()) {
    MON_ERROR("event loop: %s", ran.ToString().c_str());
    monitor.Teardown();
    return 1;
  }
  MON_INFO("exiting");
  return 0;
}

}  // namespace
}  // namespace berth::mon

int main(int argc, char** argv) {
  if (argc == 2 &&
      (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::printf("berth-mon version %s\n", berth::kVersion);
    return 0;
  }
  berth::mon::Flags flags;
  if (!berth::mon::ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: berth-mon --config-fd N --sync-fd M | --version\n"
                 "(berth-mon is started by berthd)\n");
    return 2;
  }
  // A fixed threshold: large receive buffers go back to the kernel when freed.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 10);
  ::mallopt(M_TRIM_THRESHOLD, 128 << 10);
  ::mallopt(M_ARENA_MAX, 1);
  return berth::mon::Run(flags);
}
