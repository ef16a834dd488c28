#include "image/pull_worker_wire.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::image {
namespace {

// Reads exactly `size` bytes; returns how many were read before EOF (fewer at EOF).
absl::StatusOr<size_t> ReadFull(int fd, char* data, size_t size, absl::string_view peer) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, absl::StrCat("reading from ", peer));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

}  // namespace

absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message) {
  std::string payload;
  if (!message.SerializeToString(&payload)) {
    return absl::InternalError("serializing a pull worker message");
  }
  if (payload.size() > UINT32_MAX) return absl::ResourceExhaustedError("message too large");
  const auto size = static_cast<uint32_t>(payload.size());
  std::string frame(4, '\0');
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  frame += payload;
  return WriteAll(fd, frame, "the pull channel");
}

absl::StatusOr<std::string> ReadFrame(int fd, size_t max_bytes, absl::string_view peer) {
  unsigned char header[4];
  ASSIGN_OR_RETURN(size_t got, ReadFull(fd, reinterpret_cast<char*>(header), 4, peer));
  if (got == 0) return absl::UnavailableError(absl::StrCat(peer, " closed the channel"));
  if (got < 4) {
    return absl::DataLossError(absl::StrCat(peer, " sent a frame cut short in its length"));
  }
  uint64_t size = 0;
  for (int i = 0; i < 4; ++i) size |= static_cast<uint64_t>(header[i]) << (8 * i);
  if (size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(peer, " sent a frame of ", size, " bytes (at most ", max_bytes, ")"));
  }
  std::string payload(size, '\0');
  ASSIGN_OR_RETURN(got, ReadFull(fd, payload.data(), payload.size(), peer));
  if (got < size) {
    return absl::DataLossError(
        absl::StrCat(peer, " sent ", got, " of a frame's ", size, " bytes"));
  }
  return payload;
}

absl::Status SendFd(int socket, int fd) {
  char byte = 'F';
  iovec iov{.iov_base = &byte, .iov_len = 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  std::memset(control, 0, sizeof(control));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  ssize_t n;
  do {
    n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "passing a channel to the pull worker");
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReceiveFd(int socket) {
  char byte = 0;
  iovec iov{.iov_base = &byte, .iov_len = 1};
  // Room for a few fds, so that extra ones are received (and closed) rather than truncated.
  alignas(cmsghdr) char control[CMSG_SPACE(8 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "receiving a channel");
  std::vector<UniqueFd> fds;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
  if (n == 0 && fds.empty()) return UniqueFd();
  if (fds.size() != 1 || (msg.msg_flags & MSG_CTRUNC) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a control message carried ", fds.size(), " fds instead of one"));
  }
  return std::move(fds[0]);
}

pullworker::v1::Endpoint EndpointToProto(const PullEndpoint& endpoint) {
  pullworker::v1::Endpoint out;
  out.set_reference(endpoint.reference.String());
  out.set_insecure(endpoint.insecure);
  out.set_mirror(endpoint.mirror);
  return out;
}

absl::StatusOr<PullEndpoint> EndpointFromProto(const pullworker::v1::Endpoint& endpoint) {
  ASSIGN_OR_RETURN(Reference reference, Reference::Parse(endpoint.reference()));
  return PullEndpoint{.reference = std::move(reference),
                      .insecure = endpoint.insecure(),
                      .mirror = endpoint.mirror()};
}

pullworker::v1::Credentials CredentialsToProto(const Credentials& creds) {
  pullworker::v1::Credentials out;
  out.set_username(creds.username);
  out.set_password(creds.password);
  out.set_identity_token(creds.identity_token);
  out.set_registry_token(creds.registry_token);
  out.set_registry(creds.registry);
  return out;
}

Credentials CredentialsFromProto(const pullworker::v1::Credentials& creds) {
  return Credentials{.username = creds.username(),
                     .password = creds.password(),
                     .identity_token = creds.identity_token(),
                     .registry_token = creds.registry_token(),
                     .registry = creds.registry()};
}

pullworker::v1::Response ErrorResponse(const absl::Status& status) {
  pullworker::v1::Response response;
  response.set_code(status.ok() ? static_cast<int>(absl::StatusCode::kInternal)
                                : static_cast<int>(status.code()));
  response.set_message(std::string(status.message()));
  return response;
}

absl::Status ResponseStatus(const pullworker::v1::Response& response) {
  int code = response.code();
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return absl::InternalError(
        absl::StrCat("pull worker answered unknown code ", code, ": ", response.message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), response.message());
}

}  // namespace berth::image
