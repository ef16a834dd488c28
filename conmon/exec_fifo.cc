#include "conmon/exec_fifo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::mon {

std::string ExecFifoPath(const RuntimeRef& runtime, const std::string& id) {
  return absl::StrCat(runtime.root.empty() ? "/run/runc" : runtime.root, "/", id, "/exec.fifo");
}

absl::StatusOr<UniqueFd> OpenExecFifo(const RuntimeRef& runtime, const std::string& id) {
  if (id.empty() || id.find('/') != std::string::npos || id == "." || id == "..") {
    return absl::InvalidArgumentError(absl::StrCat("bad container id \"", id, "\""));
  }
  std::string fifo = ExecFifoPath(runtime, id);
  std::string dir = fifo.substr(0, fifo.rfind('/'));
  if (::access((dir + "/state.json").c_str(), F_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("no runc state in ", dir));
  }
  // Non-blocking: the open succeeds at once, and init's blocked open for writing returns.
  UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ELOOP) {
      return absl::NotFoundError(absl::StrCat("no exec fifo at ", fifo));
    }
    return ErrnoStatus(errno, absl::StrCat("opening ", fifo));
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("stat of ", fifo));
  if (!S_ISFIFO(st.st_mode)) return absl::NotFoundError(absl::StrCat(fifo, " is not a fifo"));
  return fd;
}

absl::StatusOr<ExecFifoState> ReadExecFifo(int fd) {
  char byte[16];
  ssize_t n = ::read(fd, byte, sizeof(byte));
  if (n > 0) return ExecFifoState::kStarted;
  if (n == 0) return ExecFifoState::kClosed;
  if (errno == EAGAIN || errno == EINTR) return ExecFifoState::kWaiting;
  return ErrnoStatus(errno, "reading the exec fifo");
}

}  // namespace berth::mon
