#include "conmon/daemonize.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::mon {

absl::Status Daemonize() {
  // berthd's posix_spawn child is in berthd's process group, so one fork is enough (it is on
  // RunPodSandbox's critical path).
  if (::getpgrp() == ::getpid()) {
    pid_t pid = ::fork();
    if (pid < 0) return ErrnoStatus(errno, "fork");
    if (pid > 0) ::_exit(0);
  }
  if (::setsid() < 0) return ErrnoStatus(errno, "setsid");
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "fork");
  if (pid > 0) ::_exit(0);
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return ErrnoStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
  }
  if (::chdir("/") != 0) return ErrnoStatus(errno, "chdir /");
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return ErrnoStatus(errno, "opening /dev/null");
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(null.get(), fd) < 0) return ErrnoStatus(errno, "dup2 /dev/null");
  }
  if (null.get() <= 2) null.Release();
  return absl::OkStatus();
}

absl::Status SetOomScoreAdj(int adj) {
  UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "opening /proc/self/oom_score_adj");
  return WriteAll(fd.get(), absl::StrCat(adj), "/proc/self/oom_score_adj");
}

}  // namespace berth::mon
