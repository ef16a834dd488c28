#include "server/monitor_ops.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {
namespace {

std::string ReadLink(const std::string& path) {
  char buffer[4096];
  ssize_t n = ::readlink(path.c_str(), buffer, sizeof(buffer) - 1);
  return n < 0 ? std::string() : std::string(buffer, static_cast<size_t>(n));
}

// The pid is a berth-mon holding this pod's log or socket open: not a recycled pid.
bool IsMonitorOf(int pid, const std::string& pod_dir) {
  std::string proc = absl::StrCat("/proc/", pid);
  std::string exe = ReadLink(proc + "/exe");
  if (exe.size() < 9 || exe.substr(exe.rfind('/') + 1).rfind("berth-mon", 0) != 0) return false;
  DIR* dir = ::opendir((proc + "/fd").c_str());
  if (dir == nullptr) return false;
  bool match = false;
  while (dirent* entry = ::readdir(dir)) {
    std::string target = ReadLink(absl::StrCat(proc, "/fd/", entry->d_name));
    if (target.rfind(pod_dir + "/", 0) == 0) {
      match = true;
      break;
    }
  }
  ::closedir(dir);
  return match;
}

// Waits up to `timeout` for the process behind `pidfd` to exit: the pidfd turns readable at
// the exit itself (no polling interval added to RemovePodSandbox). True once it has exited.
bool WaitForExit(const UniqueFd& pidfd, absl::Duration timeout) {
  pollfd entry{.fd = pidfd.get(), .events = POLLIN, .revents = 0};
  int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int n;
  while ((n = ::poll(&entry, 1, ms)) < 0 && errno == EINTR) {
  }
  return n > 0;
}

}  // namespace

absl::Status Unpin(const std::string& pin) {
  if (::umount2(pin.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("unmounting namespace pin ", pin));
  }
  if (::unlink(pin.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("removing namespace pin ", pin));
  }
  return absl::OkStatus();
}

void KillPidNamespace(const std::string& pin) {
  struct stat pinned;
  if (::stat(pin.c_str(), &pinned) != 0) return;
  std::string wanted = absl::StrCat("pid:[", pinned.st_ino, "]");
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return;
  while (dirent* entry = ::readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 1) continue;
    if (ReadLink(absl::StrCat("/proc/", pid, "/ns/pid")) == wanted) ::kill(pid, SIGKILL);
  }
  ::closedir(proc);
}

absl::Status StopMonitor(const MonitorStopRequest& request) {
  // Held from here on, the pidfd is that monitor even if its pid is reused.
  UniqueFd pidfd;
  if (request.monitor_pid > 0 && IsMonitorOf(request.monitor_pid, request.pod_dir)) {
    pidfd.Reset(static_cast<int>(::syscall(SYS_pidfd_open, request.monitor_pid, 0)));
  }
  bool exited = !pidfd;
  if (request.client != nullptr && request.client->connected()) {
    monitor::v1::Request shutdown;
    shutdown.mutable_shutdown();
    absl::StatusOr<monitor::v1::Response> response =
        request.client->Call(std::move(shutdown), absl::Seconds(10));
    if (response.ok()) {
      // It exits right after answering; wait for that so no process is left behind.
      exited = exited || WaitForExit(pidfd, absl::Seconds(1));
    } else {
      LOG_WARN("monitor of {} did not shut down: {}", request.pod_dir, response.status());
    }
  }
  if (!exited && !WaitForExit(pidfd, absl::ZeroDuration())) {
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    WaitForExit(pidfd, absl::Seconds(1));
  }
  absl::Status result;
  if (auto it = request.namespaces.find("pid"); it != request.namespaces.end()) {
    KillPidNamespace(it->second);
  }
  for (const auto& [type, pin] : request.namespaces) {
    absl::Status status = Unpin(pin);
    if (!status.ok() && result.ok()) result = status;
  }
  return result;
}

}  // namespace berth
