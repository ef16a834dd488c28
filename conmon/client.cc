#include "conmon/client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "conmon/wire.h"

extern char** environ;

namespace berth::mon {
namespace {

using monitor::v1::LaunchResult;
using monitor::v1::MonitorMessage;
using monitor::v1::Request;
using monitor::v1::Response;

constexpr int kConfigFd = 3;
constexpr int kSyncFd = 4;
constexpr int kRuntimeImageFd = 5;

// Milliseconds left until `deadline` for poll(2), at least 0.
int PollTimeout(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// A pipe whose read end holds all of `data` (written now, then closed), so the child never
// blocks us. The read end is returned at fd >= 10, close-on-exec.
absl::StatusOr<UniqueFd> ConfigPipe(const std::string& data) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  if (data.size() > 65536 && ::fcntl(write_end.get(), F_SETPIPE_SZ, data.size()) < 0) {
    return ErrnoStatus(errno, absl::StrCat("a pipe for a launch config of ", data.size(), " bytes"));
  }
  RETURN_IF_ERROR(WriteAll(write_end.get(), data, "the launch config"));
  int flags = ::fcntl(read_end.get(), F_GETFL);
  ::fcntl(read_end.get(), F_SETFL, flags & ~O_NONBLOCK);
  return UniqueFd(::fcntl(read_end.get(), F_DUPFD_CLOEXEC, 10));
}

// `image_fd`: -1, or the runtime's sealed copy, handed down as kRuntimeImageFd. Every source fd
// is >= 10, so no dup2 overwrites another's source.
absl::StatusOr<pid_t> Spawn(const std::string& path, int config_fd, int sync_fd, int image_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, config_fd, kConfigFd);
  posix_spawn_file_actions_adddup2(&actions, sync_fd, kSyncFd);
  if (image_fd >= 0) posix_spawn_file_actions_adddup2(&actions, image_fd, kRuntimeImageFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::string config_arg = std::to_string(kConfigFd), sync_arg = std::to_string(kSyncFd);
  char* argv[] = {const_cast<char*>(path.c_str()), const_cast<char*>("--config-fd"),
                  config_arg.data(), const_cast<char*>("--sync-fd"), sync_arg.data(), nullptr};
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("starting ", path));
  return pid;
}

// Reads `fd` until EOF or `deadline`.
absl::StatusOr<std::string> ReadUntilEof(int fd, absl::Time deadline) {
  std::string data;
  char buffer[4096];
  while (true) {
    pollfd poller{.fd = fd, .events = POLLIN};
    int ready = ::poll(&poller, 1, PollTimeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoStatus(errno, "poll");
    if (ready == 0) return absl::DeadlineExceededError("no launch result from berth-mon in time");
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return ErrnoStatus(errno, "reading the launch result");
    if (n == 0) return data;
    data.append(buffer, static_cast<size_t>(n));
    if (data.size() > (1 << 20)) return absl::DataLossError("launch result is too large");
  }
}

// Waits (until `deadline`) for the direct child, which exits right after forking; kills it
// when it does not. Returns a description of how it ended.
std::string ReapDirectChild(pid_t pid, absl::Time deadline) {
  int status = 0;
  while (true) {
    pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) break;
    if (reaped < 0 && errno != EINTR) return "lost";
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return "killed after the launch timeout";
    }
    ::usleep(2000);
  }
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return "ended";
}

}  // namespace

absl::StatusOr<LaunchResult> LaunchMonitor(const LaunchOptions& options) {
  absl::Time deadline = absl::Now() + options.timeout;
  UniqueFd image;
  if (options.runtime_image_fd >= 0) {
    image.Reset(::fcntl(options.runtime_image_fd, F_DUPFD_CLOEXEC, 10));
    if (!image) return ErrnoStatus(errno, "fcntl(F_DUPFD_CLOEXEC)");
  }
  monitor::v1::LaunchConfig config = options.config;
  if (image) config.set_runtime_image_fd(kRuntimeImageFd);
  ASSIGN_OR_RETURN(UniqueFd config_read, ConfigPipe(config.SerializeAsString()));
  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  UniqueFd sync_read(sync[0]), sync_write(sync[1]);
  UniqueFd sync_child(::fcntl(sync_write.get(), F_DUPFD_CLOEXEC, 10));
  if (!sync_child) return ErrnoStatus(errno, "fcntl(F_DUPFD_CLOEXEC)");
  sync_write.Reset();
  ASSIGN_OR_RETURN(pid_t child,
                   Spawn(options.berth_mon_path, config_read.get(), sync_child.get(),
                         image ? image.get() : -1));
  config_read.Reset();
  image.Reset();
  sync_child.Reset();
  absl::StatusOr<std::string> data = ReadUntilEof(sync_read.get(), deadline);
  std::string how = ReapDirectChild(child, deadline);
  std::string context = absl::StrCat("launching berth-mon for pod ", options.config.pod_id());
  if (!data.ok()) return Annotate(data.status(), context);
  LaunchResult result;
  if (data->empty()) {
    return absl::InternalError(
        absl::StrCat(context, ": berth-mon gave no launch result (its first process: ", how, ")"));
  }
  if (!result.ParseFromString(*data)) {
    return absl::DataLossError(absl::StrCat(context, ": a launch result that does not parse"));
  }
  if (result.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(result.code()),
                        absl::StrCat(context, ": ", result.message()));
  }
  return result;
}

absl::StatusOr<std::unique_ptr<MonitorClient>> MonitorClient::Connect(
    const std::string& socket_path, EventCallback on_event, DisconnectCallback on_disconnect,
    absl::Duration timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path ", socket_path, " is too long"));
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  std::unique_ptr<MonitorClient> client(new MonitorClient());
  client->socket_.Reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!client->socket_) return ErrnoStatus(errno, "socket");
  if (::connect(client->socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) !=
      0) {
    int err = errno;
    absl::Status status = ErrnoStatus(err, absl::StrCat("connecting to ", socket_path));
    if (err == ECONNREFUSED || err == ENOENT) {
      return absl::UnavailableError(status.message());
    }
    return status;
  }
  client->stop_event_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!client->stop_event_) return ErrnoStatus(errno, "eventfd");
  client->on_event_ = std::move(on_event);
  client->on_disconnect_ = std::move(on_disconnect);
  client->reader_ = std::thread([raw = client.get()] { raw->ReadLoop(); });
  Request hello;
  hello.mutable_hello()->set_protocol_version(kProtocolVersion);
  absl::StatusOr<Response> reply = client->Call(std::move(hello), timeout);
  if (!reply.ok()) return Annotate(reply.status(), absl::StrCat("Hello to ", socket_path));
  if (!reply->has_hello()) {
    return absl::DataLossError(absl::StrCat("Hello to ", socket_path, ": no HelloReply"));
  }
  client->hello_ = reply->hello();
  return client;
}

MonitorClient::~MonitorClient() {
  if (reader_.joinable()) {
    uint64_t one = 1;
    ssize_t ignored = ::write(stop_event_.get(), &one, sizeof(one));
    (void)ignored;
    reader_.join();
  }
}

bool MonitorClient::connected() const {
  absl::MutexLock lock(&mu_);
  return !disconnected_;
}

absl::StatusOr<Response> MonitorClient::Call(Request request, absl::Duration timeout,
                                             const std::vector<int>& fds) {
  ASSIGN_OR_RETURN(Reply reply, CallWithFds(std::move(request), timeout, fds));
  return std::move(reply.response);  // unexpected fds close here
}

absl::StatusOr<MonitorClient::Reply> MonitorClient::CallWithFds(Request request,
                                                                absl::Duration timeout,
                                                                const std::vector<int>& fds) {
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    if (disconnected_) return absl::UnavailableError("the pod monitor is gone");
    id = next_id_++;
    pending_.emplace(id, std::nullopt);
  }
  request.set_id(id);
  absl::Status sent = SendRecord(socket_.get(), request.SerializeAsString(), fds);
  absl::MutexLock lock(&mu_);
  if (!sent.ok()) {
    pending_.erase(id);
    if (absl::IsInvalidArgument(sent)) return sent;
    return absl::UnavailableError(absl::StrCat("the pod monitor is gone: ", sent.message()));
  }
  auto done = [this, id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> bool {
    return disconnected_ || pending_[id].has_value();
  };
  mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  std::optional<Reply> reply = std::move(pending_[id]);
  pending_.erase(id);
  if (!reply.has_value()) {
    if (disconnected_) return absl::UnavailableError("the pod monitor is gone");
    return absl::DeadlineExceededError(
        absl::StrCat("no answer from the pod monitor within ", absl::FormatDuration(timeout)));
  }
  const Response& response = reply->response;
  if (response.code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(response.code()), response.message());
  }
  return *std::move(reply);
}

void MonitorClient::ReadLoop() {
  while (true) {
    pollfd fds[2] = {{.fd = socket_.get(), .events = POLLIN},
                     {.fd = stop_event_.get(), .events = POLLIN}};
    int ready = ::poll(fds, 2, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || fds[1].revents != 0) break;  // shutting down: no on_disconnect
    absl::StatusOr<Record> record = ReceiveRecord(socket_.get());
    if (!record.ok() && absl::IsUnavailable(record.status())) continue;
    MonitorMessage message;
    if (!record.ok() || !message.ParseFromString(record->payload)) {
      // Hang-up, a dead monitor or a malformed record: this connection is over.
      ::shutdown(socket_.get(), SHUT_RDWR);
      {
        absl::MutexLock lock(&mu_);
        disconnected_ = true;
      }
      if (on_disconnect_) on_disconnect_();
      return;
    }
    if (message.has_event()) {
      if (on_event_) on_event_(message.event());
      continue;
    }
    if (!message.has_response()) continue;
    absl::MutexLock lock(&mu_);
    auto it = pending_.find(message.response().id());
    // Nobody waits (timed out): its fds close with `record`.
    if (it != pending_.end()) {
      it->second = Reply{.response = std::move(*message.mutable_response()),
                         .fds = std::move(record->fds)};
    }
  }
  absl::MutexLock lock(&mu_);
  disconnected_ = true;
}

}  // namespace berth::mon
