#include "conmon/console_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/status.h"

namespace berth::mon {

absl::StatusOr<std::unique_ptr<ConsoleSocket>> ConsoleSocket::Create() {
  std::unique_ptr<ConsoleSocket> socket(new ConsoleSocket());
  char dir[] = "/tmp/berth-console-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return ErrnoStatus(errno, "creating the console socket dir");
  socket->dir_ = dir;
  socket->path_ = socket->dir_ + "/sock";
  socket->listener_.Reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket->listener_) return ErrnoStatus(errno, "creating the console socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket->path_.c_str(), socket->path_.size() + 1);
  if (::bind(socket->listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(socket->listener_.get(), 1) != 0) {
    return ErrnoStatus(errno, "binding the console socket " + socket->path_);
  }
  return socket;
}

ConsoleSocket::~ConsoleSocket() {
  listener_.Reset();
  if (!path_.empty()) ::unlink(path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

absl::StatusOr<UniqueFd> ConsoleSocket::ReceiveMaster() {
  UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!connection) return ErrnoStatus(errno, "accepting the runtime's console connection");
  char name[4096];
  iovec iov{name, sizeof(name)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(connection.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "receiving the pty master");
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
      cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
    return absl::InternalError("the runtime sent no pty master on the console socket");
  }
  int fd;
  std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
  return UniqueFd(fd);
}

}  // namespace berth::mon
