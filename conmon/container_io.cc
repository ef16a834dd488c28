#include "conmon/container_io.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common/status.h"
#include "conmon/mon_log.h"

namespace berth::mon {
namespace {

constexpr size_t kReadChunk = 32 << 10;

absl::Status MakePipe(int read_flags, int write_flags, UniqueFd* read_end, UniqueFd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  read_end->Reset(fds[0]);
  write_end->Reset(fds[1]);
  if (read_flags != 0) ::fcntl(fds[0], F_SETFL, read_flags);
  if (write_flags != 0) ::fcntl(fds[1], F_SETFL, write_flags);
  return absl::OkStatus();
}

}  // namespace

ContainerIo::~ContainerIo() {
  CloseStream(LogStream::kStdout);
  CloseStream(LogStream::kStderr);
}

absl::Status ContainerIo::MakePipes(bool with_stdin, ChildStdio* stdio) {
  RETURN_IF_ERROR(MakePipe(O_NONBLOCK, 0, &readers_[0], &child_ends_[1]));
  RETURN_IF_ERROR(MakePipe(O_NONBLOCK, 0, &readers_[1], &child_ends_[2]));
  if (with_stdin) {
    UniqueFd stdin_w;
    RETURN_IF_ERROR(MakePipe(0, O_NONBLOCK, &child_ends_[0], &stdin_w));
    attach_.SetStdin(std::move(stdin_w), /*terminal=*/false, stdin_once_);
  }
  stdio->in = child_ends_[0].get();
  stdio->out = child_ends_[1].get();
  stdio->err = child_ends_[2].get();
  return absl::OkStatus();
}

void ContainerIo::ChildStarted() {
  for (UniqueFd& fd : child_ends_) fd.Reset();
}

absl::Status ContainerIo::SetTerminal(UniqueFd master, bool with_stdin) {
  int flags = ::fcntl(master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "making the pty master non-blocking");
  }
  if (with_stdin) {
    int fd = ::fcntl(master.get(), F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return ErrnoStatus(errno, "duplicating the pty master");
    attach_.SetStdin(UniqueFd(fd), /*terminal=*/true, stdin_once_);
  }
  readers_[0] = std::move(master);
  terminal_ = true;
  return absl::OkStatus();
}

std::string ContainerIo::TakeStderr() {
  std::string out;
  if (!readers_[1]) return out;
  char buffer[4096];
  while (out.size() < (64 << 10)) {
    ssize_t n = ::read(readers_[1].get(), buffer, sizeof(buffer));
    if (n > 0) {
      out.append(buffer, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return out;
}

absl::Status ContainerIo::StartReading() {
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    int index = static_cast<int>(stream);
    if (!readers_[index]) continue;
    RETURN_IF_ERROR(loop_->Watch(readers_[index].get(), EPOLLIN, [this, stream](uint32_t) {
      // Bounded per turn, so that one chatty container cannot hold the loop.
      if (ReadStream(stream, 16) == ReadState::kEnded) {
        (void)log_.Flush(stream, absl::Now());
        CloseStream(stream);
      }
    }));
    watched_[index] = true;
  }
  return absl::OkStatus();
}

ContainerIo::ReadState ContainerIo::ReadStream(LogStream stream, int max_reads) {
  int fd = readers_[static_cast<int>(stream)].get();
  std::string buffer(kReadChunk, '\0');
  for (int round = 0; round < max_reads; ++round) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      absl::string_view data(buffer.data(), static_cast<size_t>(n));
      absl::Status written = log_.Append(stream, data, absl::Now());
      if (!written.ok()) MON_WARN("container log: %s", written.ToString().c_str());
      attach_.Output(stream, data);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return ReadState::kWouldBlock;
    return ReadState::kEnded;  // EOF, or EIO once a pty's other side is gone
  }
  return ReadState::kMore;
}

void ContainerIo::CloseStream(LogStream stream) {
  int index = static_cast<int>(stream);
  if (watched_[index]) loop_->Unwatch(readers_[index].get());
  watched_[index] = false;
  readers_[index].Reset();
}

void ContainerIo::Drain() {
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    // Bounded (64 MiB) in case something else in the pod keeps writing to the pipe.
    if (readers_[static_cast<int>(stream)]) ReadStream(stream, 2048);
    (void)log_.Flush(stream, absl::Now());
    CloseStream(stream);
  }
  attach_.ContainerExited();
}

absl::Status ContainerIo::Resize(uint16_t width, uint16_t height) {
  if (!terminal_) return absl::FailedPreconditionError("the container has no terminal");
  if (!readers_[0]) return absl::FailedPreconditionError("the container's terminal is closed");
  winsize size{};
  size.ws_col = width;
  size.ws_row = height;
  if (::ioctl(readers_[0].get(), TIOCSWINSZ, &size) != 0) {
    return ErrnoStatus(errno, "resizing the container's terminal");
  }
  return absl::OkStatus();
}

}  // namespace berth::mon
