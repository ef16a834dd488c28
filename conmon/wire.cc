#include "conmon/wire.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/status.h"

namespace berth::mon {
namespace {

constexpr size_t kHeader = 4;

void PutLength(uint32_t n, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
}

uint32_t GetLength(const char* in) {
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return n;
}

}  // namespace

absl::Status SendRecord(int socket, const std::string& payload, const std::vector<int>& fds) {
  if (payload.size() + kHeader > kMaxRecordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("monitor message of ", payload.size(), " bytes is too large"));
  }
  if (fds.size() > static_cast<size_t>(kMaxFds)) {
    return absl::InvalidArgumentError("too many file descriptors for one monitor message");
  }
  char header[kHeader];
  PutLength(static_cast<uint32_t>(payload.size()), header);
  iovec iov[2] = {{header, kHeader}, {const_cast<char*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  if (!fds.empty()) {
    std::memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::ResourceExhaustedError("monitor socket is full");
    }
    return ErrnoStatus(errno, "sending to the monitor socket");
  }
  return absl::OkStatus();
}

namespace {

// The size of the next record (SOCK_SEQPACKET: MSG_TRUNC reports its whole length), so that
// the buffer fits it instead of always being kMaxRecordBytes. Peeking installs no fds.
size_t PeekRecordSize(int socket) {
  char probe;
  iovec iov{&probe, 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_PEEK | MSG_TRUNC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return 1;  // errors and EOF show again on the real receive
  return std::min(static_cast<size_t>(n), kMaxRecordBytes);
}

}  // namespace

absl::StatusOr<Record> ReceiveRecord(int socket) {
  Record record;
  std::string buffer(PeekRecordSize(socket), '\0');
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return absl::UnavailableError("no monitor message yet");
    }
    if (errno == ECONNRESET) return absl::OutOfRangeError("monitor connection reset");
    return ErrnoStatus(errno, "receiving from the monitor socket");
  }
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      record.fds.emplace_back(fd);
    }
  }
  if (n == 0) return absl::OutOfRangeError("monitor connection closed");
  if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    return absl::DataLossError("truncated monitor message");
  }
  if (static_cast<size_t>(n) < kHeader ||
      GetLength(buffer.data()) != static_cast<size_t>(n) - kHeader) {
    return absl::DataLossError("monitor message with a wrong length prefix");
  }
  record.payload.assign(buffer.data() + kHeader, static_cast<size_t>(n) - kHeader);
  return record;
}

absl::Status SeqpacketPair(UniqueFd* a, UniqueFd* b) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "socketpair");
  }
  a->Reset(fds[0]);
  b->Reset(fds[1]);
  return absl::OkStatus();
}

}  // namespace berth::mon
