// Every callback here captures the hub and a client id, and looks the client up again: a
// client may be gone by the time an event for one of its fds is dispatched.
#include "conmon/attach.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "common/status.h"
#include "conmon/mon_log.h"

namespace berth::mon {
namespace {

constexpr size_t kStdinChunk = 16 << 10;

enum class WriteResult { kAll, kPartial, kBroken };

// Writes as much of `*data` as `fd` takes now, removing it from `*data`.
WriteResult WriteSome(int fd, absl::string_view* data) {
  while (!data->empty()) {
    ssize_t n = ::write(fd, data->data(), data->size());
    if (n > 0) {
      data->remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return WriteResult::kPartial;
    return WriteResult::kBroken;  // EPIPE, ECONNRESET...
  }
  return WriteResult::kAll;
}

// Writes the front of `*backlog`; the backlog's memory goes once it is empty.
WriteResult FlushBacklog(int fd, std::string* backlog) {
  absl::string_view rest(*backlog);
  WriteResult result = WriteSome(fd, &rest);
  if (rest.empty()) {
    std::string().swap(*backlog);
  } else {
    backlog->erase(0, backlog->size() - rest.size());
  }
  return result;
}

absl::Status MakeNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "making an attach fd non-blocking");
  }
  return absl::OkStatus();
}

}  // namespace

AttachHub::~AttachHub() {
  if (linger_timer_ != 0) loop_->CancelTimer(linger_timer_);
  Reap(/*all=*/true);
  if (stdin_) loop_->Unwatch(stdin_.get());
}

void AttachHub::SetStdin(UniqueFd fd, bool terminal, bool stdin_once) {
  stdin_ = std::move(fd);
  stdin_configured_ = stdin_.valid();
  terminal_ = terminal;
  stdin_once_ = stdin_once;
}

absl::Status AttachHub::Add(Fds fds) {
  if (exited_) return absl::FailedPreconditionError("the container has exited");
  if (!fds.in && !fds.out && !fds.err) {
    return absl::InvalidArgumentError("an attach needs at least one of stdin, stdout, stderr");
  }
  if (fds.in && !stdin_configured_) {
    return absl::FailedPreconditionError("the container was created without stdin");
  }
  if (clients_.size() >= kMaxClients) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the container has ", clients_.size(), " attached clients already"));
  }
  for (const UniqueFd* fd : {&fds.in, &fds.out, &fds.err}) {
    if (*fd) RETURN_IF_ERROR(MakeNonBlocking(fd->get()));
  }
  uint64_t id = next_id_++;
  auto owned = std::make_unique<Client>();
  Client& client = *owned;
  client.id = id;
  client.in = std::move(fds.in);
  client.sinks[0].fd = std::move(fds.out);
  client.sinks[1].fd = std::move(fds.err);
  clients_.emplace(id, std::move(owned));
  for (int stream = 0; stream < 2; ++stream) {
    if (client.sinks[stream].fd) WatchSink(id, stream);
  }
  if (client.in) {
    if (!stdin_) {
      client.in.Reset();  // stdin_once closed it already: the client's writes fail
    } else {
      if (first_stdin_client_ == 0) first_stdin_client_ = id;
      if (stdin_backlog_.empty()) SetReading(id, client, true);
    }
  }
  Reap();
  return absl::OkStatus();
}

void AttachHub::WatchSink(uint64_t id, int stream) {
  Sink& sink = clients_.at(id)->sinks[stream];
  // Without EPOLLOUT the watch still reports EPOLLHUP/EPOLLERR: the client hung up.
  absl::Status watched =
      loop_->Watch(sink.fd.get(), sink.want_out ? uint32_t{EPOLLOUT} : 0u,
                   [this, id, stream](uint32_t events) { OnSink(id, stream, events); });
  if (!watched.ok()) {
    MON_WARN("attach: %s", watched.ToString().c_str());
    CloseSink(*clients_.at(id), stream);
  }
}

void AttachHub::OnSink(uint64_t id, int stream, uint32_t events) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  Client& client = *it->second;
  Sink& sink = client.sinks[stream];
  if (!sink.fd) return;
  bool broken = (events & EPOLLOUT) != 0 && !Push(client, stream, {});
  if (broken || (events & (EPOLLHUP | EPOLLERR)) != 0 || (exited_ && sink.backlog.empty())) {
    CloseSink(client, stream);
    Reap();
  }
}

bool AttachHub::Push(Client& client, int stream, absl::string_view data) {
  Sink& sink = client.sinks[stream];
  if (!sink.fd) return true;
  total_backlog_ -= sink.backlog.size();  // PushBytes sees the others' total
  bool ok = PushBytes(client, sink, data);
  total_backlog_ += sink.backlog.size();
  if (!ok) return false;
  bool want_out = !sink.backlog.empty();
  if (want_out != sink.want_out) {
    sink.want_out = want_out;
    WatchSink(client.id, stream);
  }
  return true;
}

bool AttachHub::PushBytes(Client& client, Sink& sink, absl::string_view data) {
  if (!sink.backlog.empty()) {
    if (FlushBacklog(sink.fd.get(), &sink.backlog) == WriteResult::kBroken) return false;
  }
  if (sink.backlog.empty() && WriteSome(sink.fd.get(), &data) == WriteResult::kBroken) {
    return false;
  }
  if (data.empty()) return true;
  size_t used = client.sinks[0].backlog.size() + client.sinks[1].backlog.size();
  size_t room = used < kMaxClientBacklog ? kMaxClientBacklog - used : 0;
  size_t total = total_backlog_ + sink.backlog.size();
  room = std::min(room, total < kMaxTotalBacklog ? kMaxTotalBacklog - total : 0);
  size_t take = std::min(data.size(), room);
  if (sink.backlog.empty() && take > 0) sink.backlog.reserve(kMaxClientBacklog);  // no doubling
  sink.backlog.append(data.data(), take);
  client.dropped += data.size() - take;
  return true;
}

void AttachHub::CloseSink(Client& client, int stream) {
  Sink& sink = client.sinks[stream];
  if (!sink.fd) return;
  total_backlog_ -= sink.backlog.size();
  loop_->Unwatch(sink.fd.get());
  sink.fd.Reset();
  std::string().swap(sink.backlog);
  sink.want_out = false;
}

void AttachHub::Output(LogStream stream, absl::string_view data) {
  int index = static_cast<int>(stream);
  bool closed = false;
  for (auto& [id, client] : clients_) {
    if (!Push(*client, index, data)) {
      CloseSink(*client, index);
      closed = true;
    }
  }
  if (closed) Reap();
}

void AttachHub::SetReading(uint64_t id, Client& client, bool reading) {
  if (!client.in || client.reading == reading) return;
  client.reading = reading;
  if (!reading) {
    loop_->Unwatch(client.in.get());
    return;
  }
  absl::Status watched =
      loop_->Watch(client.in.get(), EPOLLIN, [this, id](uint32_t) { OnClientStdin(id); });
  if (!watched.ok()) {
    MON_WARN("attach: %s", watched.ToString().c_str());
    client.reading = false;
    EndClientStdin(id, client);
  }
}

void AttachHub::OnClientStdin(uint64_t id) {
  auto it = clients_.find(id);
  if (it == clients_.end() || !it->second->in) return;
  Client& client = *it->second;
  char buffer[kStdinChunk];
  ssize_t n = ::read(client.in.get(), buffer, sizeof(buffer));
  if (n > 0) {
    WriteStdin(absl::string_view(buffer, static_cast<size_t>(n)));
    Reap();
    return;
  }
  if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
  EndClientStdin(id, client);  // EOF (the client closed stdin or hung up), or an error
  Reap();
}

void AttachHub::EndClientStdin(uint64_t id, Client& client) {
  SetReading(id, client, false);
  client.in.Reset();
  if (!stdin_once_ || id != first_stdin_client_ || !stdin_) return;
  // stdin_once: the container's stdin ends with the first client's. A terminal has no EOF of
  // its own but the EOF character (at the start of a line, in canonical mode).
  if (terminal_) WriteStdin("\x04");
  if (stdin_backlog_.empty()) {
    CloseStdin();
  } else {
    stdin_close_pending_ = true;
  }
}

void AttachHub::WriteStdin(absl::string_view data) {
  if (!stdin_) return;  // closed: what clients send is dropped
  if (stdin_backlog_.empty()) {
    WriteResult result = WriteSome(stdin_.get(), &data);
    if (result == WriteResult::kBroken) {
      CloseStdin();
      return;
    }
    if (data.empty()) return;
  }
  bool was_empty = stdin_backlog_.empty();
  stdin_backlog_.append(data.data(), data.size());
  if (!was_empty) return;
  // The container does not take more now: stop reading clients (this bounds the backlog to
  // one chunk) until it does.
  for (auto& [id, client] : clients_) SetReading(id, *client, false);
  absl::Status watched =
      loop_->Watch(stdin_.get(), EPOLLOUT, [this](uint32_t) { OnStdinWritable(); });
  if (!watched.ok()) {
    MON_WARN("attach: %s", watched.ToString().c_str());
    CloseStdin();
  }
}

void AttachHub::OnStdinWritable() {
  if (!stdin_) return;
  WriteResult result = FlushBacklog(stdin_.get(), &stdin_backlog_);
  if (result == WriteResult::kPartial) return;
  loop_->Unwatch(stdin_.get());
  if (result == WriteResult::kBroken || stdin_close_pending_) {
    CloseStdin();
    Reap();
    return;
  }
  for (auto& [id, client] : clients_) SetReading(id, *client, true);
}

void AttachHub::CloseStdin() {
  if (stdin_) {
    loop_->Unwatch(stdin_.get());
    stdin_.Reset();
  }
  std::string().swap(stdin_backlog_);
  stdin_close_pending_ = false;
  // Nothing more goes to the container: the clients' writes fail from now on.
  for (auto& [id, client] : clients_) {
    SetReading(id, *client, false);
    client->in.Reset();
  }
}

void AttachHub::ContainerExited() {
  exited_ = true;
  CloseStdin();
  for (auto& [id, client] : clients_) {
    for (int stream = 0; stream < 2; ++stream) {
      if (client->sinks[stream].backlog.empty()) CloseSink(*client, stream);
    }
  }
  Reap();
  if (!clients_.empty() && linger_timer_ == 0) {
    linger_timer_ = loop_->AddTimer(kLinger, [this] {
      linger_timer_ = 0;
      Reap(/*all=*/true);
    });
  }
}

void AttachHub::Reap(bool all) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client& client = *it->second;
    bool open = client.in || client.sinks[0].fd || client.sinks[1].fd;
    if (open && !all) {
      ++it;
      continue;
    }
    SetReading(it->first, client, false);
    client.in.Reset();
    CloseSink(client, 0);
    CloseSink(client, 1);
    if (client.dropped > 0) {
      MON_INFO("attach: a client that did not keep up missed %llu bytes of output",
               static_cast<unsigned long long>(client.dropped));
    }
    it = clients_.erase(it);
  }
}

}  // namespace berth::mon
