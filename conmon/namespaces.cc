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
  kClone,
  kHostname,
  kLoopbackSocket,
  kLoopbackFlags,
  kSysctlOpen,
  kSysctlWrite,
  kPinCreate,
  kPinMount,
};

// The holder sends two: one once the namespaces are pinned, one once `lo` is up.
struct Report {
  int32_t stage = kOk;
  int32_t error = 0;  // errno
  int32_t index = 0;  // which sysctl or pin
  int32_t pinned = 0;  // pins in place (the first ones of the plan's list)
};

struct SysctlWrite {
  std::string name;
  std::string path;
  std::string value;
};

// One namespace to pin: the holder bind-mounts `source` (its own /proc/self/ns file) on a new
// empty file at `target`.
struct PinPlan {
  std::string type;
  std::string source;
  std::string target;
};

// Everything the holder needs, prepared before the clone: it only reads it.
struct HolderPlan {
  int flags = 0;  // CLONE_NEW*
  bool new_net = false;
  bool new_pid = false;
  std::string hostname;
  bool set_hostname = false;
  std::vector<SysctlWrite> sysctls;
  std::vector<PinPlan> pins;
  int report_fd = -1;  // write end
};

// Closes every fd from 3 up except `keep` (async-signal-safe).
void CloseAllExcept(int keep) {
  if (keep > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0u, 0u);
}

void WriteReport(int fd, const Report& report) {
  ssize_t n;
  do {
    n = ::write(fd, &report, sizeof(report));
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void FailHolder(const HolderPlan& plan, Stage stage, int index = 0,
                             Report report = {}) {
  report.stage = stage;
  report.error = errno;
  report.index = index;
  WriteReport(plan.report_fd, report);
  ::_exit(1);
}

// pid 1 of the pod's PID namespace (the holder stays as it): reaps whatever is reparented to
// it; exits on SIGTERM from outside the namespace (the monitor); SIGKILL from outside ends it
// as well.
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

// Pins the plan's namespaces one by one, counting them in `report`; a pin whose mount fails
// is removed again.
void PinAll(const HolderPlan& plan, Report& report) {
  for (const PinPlan& pin : plan.pins) {
    int fd = ::open(pin.target.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) FailHolder(plan, kPinCreate, report.pinned, report);
    ::close(fd);
    if (::mount(pin.source.c_str(), pin.target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      int err = errno;
      ::unlink(pin.target.c_str());
      errno = err;
      FailHolder(plan, kPinMount, report.pinned, report);
    }
    ++report.pinned;
  }
}

// The holder, cloned into the new namespaces (the PID namespace's pid 1 when there is one):
// only async-signal-safe calls. It sets the hostname and the sysctls, pins the namespaces and
// reports; the monitor then goes on while the holder brings `lo` up (0.4 ms of IPv6 and route
// set-up that CNI ADD does not wait for) and reports again. Then it stays as the init, or
// exits.
[[noreturn]] void RunHolder(const HolderPlan& plan) {
  CloseAllExcept(plan.report_fd);
  if (plan.set_hostname && ::sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    FailHolder(plan, kHostname);
  }
  WriteSysctls(plan);
  Report report;
  PinAll(plan, report);
  WriteReport(plan.report_fd, report);
  if (plan.new_net) BringUpLoopback(plan);
  WriteReport(plan.report_fd, Report{});
  if (plan.new_pid) RunInit();
  ::_exit(0);
}

absl::Status DescribeFailure(const HolderPlan& plan, const Report& report) {
  int err = report.error;
  switch (report.stage) {
    case kClone:
      return absl::InternalError(absl::StrCat("cloning into new namespaces: ",
                                              std::strerror(err)));
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
    case kPinCreate:
    case kPinMount: {
      const PinPlan& pin = plan.pins[report.index];
      return ErrnoStatus(err, report.stage == kPinCreate
                                  ? absl::StrCat("creating namespace pin ", pin.target)
                                  : absl::StrCat("bind-mounting the ", pin.type,
                                                 " namespace on ", pin.target));
    }
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
  const std::pair<bool, const char*> types[] = {{config.new_net(), "net"},
                                                {config.new_ipc(), "ipc"},
                                                {config.new_uts(), "uts"},
                                                {config.new_pid(), "pid"}};
  for (const auto& [wanted, type] : types) {
    if (!wanted) continue;
    std::string dir = absl::StrCat(config.ns_dir(), "/", type);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      RETURN_IF_ERROR(
          Annotate(MakeDirs(dir, 0755), absl::StrCat("pinning the ", type, " namespace")));
    }
    plan.pins.push_back({.type = type,
                         .source = absl::StrCat("/proc/self/ns/", type),
                         .target = absl::StrCat(dir, "/", config.pod_id())});
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

void ReapHolder(pid_t holder) {
  while (::waitpid(holder, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Reads one Report; false when the holder died first.
bool ReadReport(int fd, Report* report) {
  ssize_t n;
  do {
    n = ::read(fd, report, sizeof(*report));
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(*report));
}

// Kills and reaps the holder (the init when it is one) and removes the pins it made.
void Abandon(pid_t holder, PodNamespaces* namespaces) {
  ::kill(holder, SIGKILL);
  ReapHolder(holder);
  namespaces->init_pid = 0;
  DestroyPodNamespaces(namespaces);
}

}  // namespace

std::string SysctlPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return absl::StrCat("/proc/sys/", name);
  return absl::StrCat("/proc/sys/", absl::StrReplaceAll(name, {{".", "/"}}));
}

absl::StatusOr<PodNamespaces> CreatePodNamespaces(const monitor::v1::LaunchConfig& config,
                                                  NamespaceHolder* holder_out) {
  PodNamespaces result;
  if (!config.new_net() && !config.new_ipc() && !config.new_uts() && !config.new_pid()) {
    return result;
  }
  if (config.ns_dir().empty() || config.pod_id().empty() ||
      config.pod_id().find('/') != std::string::npos) {
    return absl::InvalidArgumentError("pinning namespaces needs ns_dir and a plain pod_id");
  }
  ASSIGN_OR_RETURN(HolderPlan plan, MakePlan(config));
  int report_pipe[2];
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd report_read(report_pipe[0]), report_write(report_pipe[1]);
  plan.report_fd = report_write.get();
  // A fork straight into the new namespaces: in a new PID namespace the holder is its pid 1.
  pid_t holder = static_cast<pid_t>(
      ::syscall(SYS_clone, static_cast<unsigned long>(plan.flags | SIGCHLD), nullptr, nullptr,
                nullptr, 0UL));
  if (holder < 0) {
    return DescribeFailure(plan, Report{.stage = kClone, .error = errno});
  }
  if (holder == 0) RunHolder(plan);
  report_write.Reset();
  Report report;
  if (!ReadReport(report_read.get(), &report)) {
    // Killed before it could say which pins it made: remove them all (the paths are this
    // pod's alone).
    for (const PinPlan& pin : plan.pins) result.pins[pin.type] = pin.target;
    Abandon(holder, &result);
    return absl::InternalError("the namespace holder died before reporting");
  }
  for (int i = 0; i < report.pinned && i < static_cast<int>(plan.pins.size()); ++i) {
    result.pins[plan.pins[i].type] = plan.pins[i].target;
  }
  if (report.stage != kOk) {
    Abandon(holder, &result);
    return DescribeFailure(plan, report);
  }
  if (config.new_pid()) result.init_pid = holder;
  holder_out->pid = holder;
  holder_out->is_init = config.new_pid();
  holder_out->report = std::move(report_read);
  return result;
}

absl::Status FinishPodNamespaces(NamespaceHolder* holder) {
  if (holder->pid <= 0) return absl::OkStatus();
  Report report;
  bool read = ReadReport(holder->report.get(), &report);
  holder->report.Reset();
  if (!holder->is_init) ReapHolder(holder->pid);
  holder->pid = 0;
  if (!read) return absl::InternalError("the namespace holder died before bringing up lo");
  // Only `lo` is left to fail here, and its message needs nothing from the plan.
  if (report.stage != kOk) return DescribeFailure(HolderPlan{}, report);
  return absl::OkStatus();
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
