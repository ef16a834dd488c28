#include "conmon/namespaces.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "conmon/mon_log.h"

namespace berth::mon {
namespace {

// What the holder child reports through its pipe (a plain struct: it is written after fork).
enum Stage : int32_t {
  kOk = 0,
  kUnshare,
  kHostname,
  kLoopbackSocket,
  kLoopbackFlags,
  kSysctlOpen,
  kSysctlWrite,
  kForkInit,
};

struct Report {
  int32_t stage = kOk;
  int32_t error = 0;  // errno
  int32_t index = 0;  // which sysctl
  int32_t init_pid = 0;
};

struct SysctlWrite {
  std::string name;
  std::string path;
  std::string value;
};

// Everything the children need, prepared before fork: they only read it.
struct HolderPlan {
  int flags = 0;
  bool new_net = false;
  bool new_pid = false;
  std::string hostname;
  bool set_hostname = false;
  std::vector<SysctlWrite> sysctls;
  int report_fd = -1;   // write end
  int release_fd = -1;  // read end: EOF tells the holder to exit
};

// Closes every fd from 3 up except `keep_a` < `keep_b` (async-signal-safe).
void CloseAllExcept(int keep_a, int keep_b) {
  if (keep_a > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep_a - 1), 0u);
  if (keep_b > keep_a + 1) {
    ::syscall(SYS_close_range, static_cast<unsigned>(keep_a + 1),
              static_cast<unsigned>(keep_b - 1), 0u);
  }
  ::syscall(SYS_close_range, static_cast<unsigned>(keep_b + 1), ~0u, 0u);
}

void WriteReport(int fd, const Report& report) {
  ssize_t n;
  do {
    n = ::write(fd, &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void FailHolder(const HolderPlan& plan, Stage stage, int index = 0) {
  Report report{.stage = stage, .error = errno, .index = index};
  WriteReport(plan.report_fd, report);
  ::_exit(1);
}

// pid 1 of the pod's PID namespace: reaps whatever is reparented to it; exits on SIGTERM from
// outside the namespace (the monitor); SIGKILL from outside ends it as well.
[[noreturn]] void RunInit() {
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
  ::prctl(PR_SET_NAME, "berth-pod-init", 0, 0, 0);
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  sigset_t wanted;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGCHLD);
  sigaddset(&wanted, SIGTERM);
  while (true) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    siginfo_t info;
    if (::sigwaitinfo(&wanted, &info) == SIGTERM && info.si_pid == 0) ::_exit(0);
  }
}

bool BringUpLoopback(const HolderPlan& plan) {
  int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) FailHolder(plan, kLoopbackSocket);
  ifreq request;
  std::memset(&request, 0, sizeof(request));
  std::memcpy(request.ifr_name, "lo", 3);
  if (::ioctl(sock, SIOCGIFFLAGS, &request) != 0) FailHolder(plan, kLoopbackFlags);
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(sock, SIOCSIFFLAGS, &request) != 0) FailHolder(plan, kLoopbackFlags);
  ::close(sock);
  return true;
}

void WriteSysctls(const HolderPlan& plan) {
  for (size_t i = 0; i < plan.sysctls.size(); ++i) {
    const SysctlWrite& sysctl = plan.sysctls[i];
    int fd = ::open(sysctl.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) FailHolder(plan, kSysctlOpen, static_cast<int>(i));
    ssize_t n;
    do {
      n = ::write(fd, sysctl.value.data(), sysctl.value.size());
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sysctl.value.size())) {
      if (n >= 0) errno = EIO;
      FailHolder(plan, kSysctlWrite, static_cast<int>(i));
    }
    ::close(fd);
  }
}

// The holder child: only async-signal-safe calls from here on.
[[noreturn]] void RunHolder(const HolderPlan& plan) {
  CloseAllExcept(std::min(plan.report_fd, plan.release_fd),
                 std::max(plan.report_fd, plan.release_fd));
  if (::unshare(plan.flags) != 0) FailHolder(plan, kUnshare);
  if (plan.set_hostname && ::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    FailHolder(plan, kHostname);
  }
  if (plan.new_net) BringUpLoopback(plan);
  WriteSysctls(plan);
  Report report;
  if (plan.new_pid) {
    pid_t init = ::fork();
    if (init < 0) FailHolder(plan, kForkInit);
    if (init == 0) RunInit();
    report.init_pid = init;
  }
  WriteReport(plan.report_fd, report);
  char byte;
  while (::read(plan.release_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

absl::Status DescribeFailure(const HolderPlan& plan, const Report& report) {
  int err = report.error;
  switch (report.stage) {
    case kUnshare:
      return absl::InternalError(absl::StrCat("unsharing namespaces: ", std::strerror(err)));
    case kHostname:
      return absl::InvalidArgumentError(
          absl::StrCat("setting hostname \"", plan.hostname, "\": ", std::strerror(err)));
    case kLoopbackSocket:
    case kLoopbackFlags:
      return absl::InternalError(absl::StrCat("bringing up lo: ", std::strerror(err)));
    case kSysctlOpen:
    case kSysctlWrite: {
      const SysctlWrite& sysctl = plan.sysctls[report.index];
      return absl::InvalidArgumentError(absl::StrCat(
          "setting sysctl ", sysctl.name, "=", sysctl.value, " (", sysctl.path, "): ",
          err == ENOENT ? "no such sysctl in this kernel" : std::strerror(err)));
    }
    case kForkInit:
      return absl::InternalError(absl::StrCat("starting the pod's init: ", std::strerror(err)));
    default:
      return absl::InternalError("the namespace holder failed");
  }
}

absl::StatusOr<HolderPlan> MakePlan(const monitor::v1::LaunchConfig& config) {
  HolderPlan plan;
  if (config.new_net()) plan.flags |= CLONE_NEWNET;
  if (config.new_ipc()) plan.flags |= CLONE_NEWIPC;
  if (config.new_uts()) plan.flags |= CLONE_NEWUTS;
  if (config.new_pid()) plan.flags |= CLONE_NEWPID;
  plan.new_net = config.new_net();
  plan.new_pid = config.new_pid();
  plan.set_hostname = config.new_uts() && !config.hostname().empty();
  plan.hostname = config.hostname();
  for (const auto& [name, value] : config.sysctls()) {
    if (name.empty() || name.find("..") != std::string::npos || name[0] == '/' ||
        name[0] == '.') {
      return absl::InvalidArgumentError(absl::StrCat("bad sysctl name \"", name, "\""));
    }
    plan.sysctls.push_back({.name = name, .path = SysctlPath(name), .value = value});
  }
  return plan;
}

void Unpin(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    MON_WARN("unmounting namespace pin %s: %s", path.c_str(), std::strerror(errno));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    MON_WARN("removing namespace pin %s: %s", path.c_str(), std::strerror(errno));
  }
}

absl::Status Pin(const std::string& ns_dir, const std::string& pod_id, const std::string& type,
                 pid_t pid, PodNamespaces* out) {
  std::string dir = absl::StrCat(ns_dir, "/", type);
  RETURN_IF_ERROR(Annotate(MakeDirs(dir, 0755), absl::StrCat("pinning the ", type, " namespace")));
  std::string target = absl::StrCat(dir, "/", pod_id);
  UniqueFd file(::open(target.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!file) return ErrnoStatus(errno, absl::StrCat("creating namespace pin ", target));
  file.Reset();
  std::string source = absl::StrCat("/proc/", pid, "/ns/", type);
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    absl::Status status = ErrnoStatus(errno, absl::StrCat("bind-mounting ", source, " on ", target));
    ::unlink(target.c_str());
    return status;
  }
  out->pins[type] = target;
  return absl::OkStatus();
}

absl::Status PinAll(const monitor::v1::LaunchConfig& config, pid_t holder, PodNamespaces* out) {
  const std::pair<bool, const char*> types[] = {
      {config.new_net(), "net"}, {config.new_ipc(), "ipc"}, {config.new_uts(), "uts"}};
  for (const auto& [wanted, type] : types) {
    if (wanted) RETURN_IF_ERROR(Pin(config.ns_dir(), config.pod_id(), type, holder, out));
  }
  if (config.new_pid()) {
    RETURN_IF_ERROR(Pin(config.ns_dir(), config.pod_id(), "pid", out->init_pid, out));
  }
  return absl::OkStatus();
}

void ReapHolder(pid_t holder, UniqueFd* release) {
  release->Reset();  // EOF: the holder exits
  while (::waitpid(holder, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

std::string SysctlPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return absl::StrCat("/proc/sys/", name);
  return absl::StrCat("/proc/sys/", absl::StrReplaceAll(name, {{".", "/"}}));
}

absl::StatusOr<PodNamespaces> CreatePodNamespaces(const monitor::v1::LaunchConfig& config) {
  PodNamespaces result;
  if (!config.new_net() && !config.new_ipc() && !config.new_uts() && !config.new_pid()) {
    return result;
  }
  if (config.ns_dir().empty() || config.pod_id().empty() ||
      config.pod_id().find('/') != std::string::npos) {
    return absl::InvalidArgumentError("pinning namespaces needs ns_dir and a plain pod_id");
  }
  ASSIGN_OR_RETURN(HolderPlan plan, MakePlan(config));
  int report_pipe[2], release_pipe[2];
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd report_read(report_pipe[0]), report_write(report_pipe[1]);
  if (::pipe2(release_pipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd release_read(release_pipe[0]), release_write(release_pipe[1]);
  plan.report_fd = report_write.get();
  plan.release_fd = release_read.get();
  pid_t holder = ::fork();
  if (holder < 0) return ErrnoStatus(errno, "forking the namespace holder");
  if (holder == 0) RunHolder(plan);
  report_write.Reset();
  release_read.Reset();
  Report report;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(report))) {
    ReapHolder(holder, &release_write);
    return absl::InternalError("the namespace holder died before reporting");
  }
  if (report.stage != kOk) {
    ReapHolder(holder, &release_write);
    return DescribeFailure(plan, report);
  }
  result.init_pid = report.init_pid;
  absl::Status pinned = PinAll(config, holder, &result);
  // The pins (and the init) keep the namespaces now; the init becomes our child.
  ReapHolder(holder, &release_write);
  if (!pinned.ok()) {
    DestroyPodNamespaces(&result);
    return Annotate(pinned, absl::StrCat("pinning namespaces of pod ", config.pod_id()));
  }
  return result;
}

void DestroyPodNamespaces(PodNamespaces* namespaces) {
  if (namespaces->init_pid > 0) {
    ::kill(namespaces->init_pid, SIGKILL);
    while (::waitpid(namespaces->init_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    namespaces->init_pid = 0;
  }
  for (const auto& [type, path] : namespaces->pins) Unpin(path);
  namespaces->pins.clear();
}

}  // namespace berth::mon
