// The container half of berth-mon. Every container's state lives in a Container; callbacks that
// the loop may run later hold a weak reference to the container's `life` token, so they do
// nothing once the container was deleted (or the supervisor destroyed).
#include "conmon/container_supervisor.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/status.h"
#include "conmon/console_socket.h"
#include "conmon/container_io.h"
#include "conmon/exec_fifo.h"
#include "conmon/exec_stream.h"
#include "conmon/exec_sync.h"
#include "conmon/mon_log.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

namespace v1 = monitor::v1;

struct ContainerSupervisor::Container {
  enum class State { kCreating, kCreated, kRunning, kExited };

  std::string id;
  RuntimeRef runtime;
  std::string bundle;
  std::string cgroup_path;
  bool stdin_once = false;  // for Attach: stdin closes when the first client detaches
  State state = State::kCreating;
  pid_t pid = 0;
  int64_t oom_kills_at_create = 0;
  v1::ExitRecord exit;
  std::unique_ptr<ContainerIo> io;
  bool starting = false;
  bool deleting = false;
  // A start through runc's exec fifo (exec_fifo.h) under way: the fifo, its time limit, and
  // the StartContainer to answer.
  UniqueFd start_fifo;
  uint64_t start_timer = 0;
  Reply start_reply;
  std::vector<Reply> stop_waiters;    // answered OK at the exit
  std::vector<Reply> delete_waiters;  // answered when `runc delete` is done
  std::vector<uint64_t> kill_timers;
  std::shared_ptr<char> life = std::make_shared<char>();

  // Steps that run later on the loop (Container is nested, so it reaches the supervisor).
  void Created(ContainerSupervisor* s, ConsoleSocket* console, const RuntimeResult& result,
               Reply reply);
  absl::StatusOr<pid_t> Adopt(ContainerSupervisor* s, ConsoleSocket* console);
  void Exited(ContainerSupervisor* s, int wait_status);
  // Waits on `fifo` (opened) for init's byte, then answers `reply`.
  void AwaitStart(ContainerSupervisor* s, UniqueFd fifo, Reply reply);
  // Reads the fifo after poll (or the exit of init) says something happened; `exited`: init is
  // gone, so nothing more will come.
  void CheckStart(ContainerSupervisor* s, bool exited);
  // Ends the start under way with `status`.
  void EndStart(ContainerSupervisor* s, const absl::Status& status);
  void WriteExitRecord(const std::string& pod_dir);
  void RunDelete(ContainerSupervisor* s);
  // Erases the container from the supervisor: `this` is gone afterwards.
  void Forget(ContainerSupervisor* s);
};

namespace {

constexpr int kInvalidArgument = 3;
constexpr int kNotFound = 5;
constexpr int kAlreadyExists = 6;
constexpr int kFailedPrecondition = 9;
constexpr int kInternal = 13;

v1::Response Answer(int code = 0, std::string message = "") {
  v1::Response response;
  response.set_code(code);
  response.set_message(std::move(message));
  return response;
}

v1::Response Answer(const absl::Status& status) {
  return Answer(static_cast<int>(status.code()), std::string(status.message()));
}

// The memory cgroup's OOM kill count (v2 memory.events or v1 memory.oom_control), or -1.
int64_t ReadOomKills(const std::string& cgroup) {
  if (cgroup.empty()) return -1;
  for (const char* name : {"memory.events", "memory.oom_control"}) {
    absl::StatusOr<std::string> text = ReadFile(absl::StrCat(cgroup, "/", name), 64 << 10);
    if (!text.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      int64_t count;
      if (absl::ConsumePrefix(&line, "oom_kill ") &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &count)) {
        return count;
      }
    }
  }
  return -1;
}

absl::StatusOr<pid_t> ReadPid(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 64));
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 1) {
    return absl::InternalError(absl::StrCat("bad pid \"", text, "\" in ", path));
  }
  return pid;
}

// Calls `f` only while the container that owns `life` exists.
template <typename F>
auto WhileAlive(const std::shared_ptr<char>& life, F f) {
  return [weak = std::weak_ptr<char>(life), f = std::move(f)](auto&&... args) mutable {
    if (weak.expired()) return;
    f(std::forward<decltype(args)>(args)...);
  };
}

}  // namespace

ContainerSupervisor::ContainerSupervisor(EventLoop* loop, Options options, EventSink send_event)
    : loop_(loop),
      options_(std::move(options)),
      send_event_(std::move(send_event)),
      execs_(std::make_unique<ExecStreams>(loop)) {}

ContainerSupervisor::~ContainerSupervisor() {
  for (auto& [id, container] : containers_) {
    for (uint64_t timer : container->kill_timers) loop_->CancelTimer(timer);
    if (container->start_timer != 0) loop_->CancelTimer(container->start_timer);
    if (container->start_fifo.valid()) loop_->Unwatch(container->start_fifo.get());
  }
}

void ContainerSupervisor::Create(const v1::CreateContainer& request, Reply reply) {
  const std::string& id = request.container_id();
  if (id.empty() || request.bundle().empty() || request.bundle()[0] != '/') {
    reply(Answer(kInvalidArgument, "CreateContainer needs a container id and an absolute bundle"));
    return;
  }
  if (containers_.count(id) > 0) {
    reply(Answer(kAlreadyExists, absl::StrCat("container ", id, " already exists")));
    return;
  }
  auto c = std::make_unique<Container>();
  c->id = id;
  c->runtime = {
      .path = request.runtime_path().empty() ? options_.runtime_path : request.runtime_path(),
      .root = request.runtime_root().empty() ? options_.runtime_root : request.runtime_root()};
  c->bundle = request.bundle();
  c->cgroup_path = request.cgroup_path();
  c->stdin_once = request.stdin_once();
  c->io = std::make_unique<ContainerIo>(loop_, request.stdin() && request.stdin_once());
  absl::Status status = c->io->OpenLog(request.log_path());
  RuntimeRun run{.argv = {}, .capture_stderr = request.tty()};
  std::shared_ptr<ConsoleSocket> console;
  if (status.ok() && request.tty()) {
    absl::StatusOr<std::unique_ptr<ConsoleSocket>> made = ConsoleSocket::Create();
    status = made.status();
    if (made.ok()) console = std::move(*made);
  } else if (status.ok()) {
    status = c->io->MakePipes(request.stdin(), &run.stdio);
  }
  if (!status.ok()) {
    reply(Answer(Annotate(status, absl::StrCat("creating container ", id))));
    return;
  }
  ::unlink((c->bundle + "/pid").c_str());
  run.argv = RuntimeCreateArgv(c->runtime, id, c->bundle, c->bundle + "/pid",
                               console ? console->path() : "");
  Container* raw = c.get();
  bool with_stdin = request.stdin();
  absl::StatusOr<pid_t> pid = RunRuntimeAsync(
      loop_, std::move(run),
      WhileAlive(c->life, [this, raw, console, with_stdin, reply](const RuntimeResult& result) {
        if (console && result.success()) {
          absl::StatusOr<UniqueFd> master = console->ReceiveMaster();
          absl::Status set =
              master.ok() ? raw->io->SetTerminal(std::move(*master), with_stdin) : master.status();
          if (!set.ok()) {
            RuntimeResult failed = result;
            failed.wait_status = 1 << 8;
            failed.err = std::string(set.message());
            raw->Created(this, console.get(), failed, reply);
            return;
          }
        }
        raw->Created(this, console.get(), result, reply);
      }));
  c->io->ChildStarted();
  if (!pid.ok()) {
    reply(Answer(Annotate(pid.status(), absl::StrCat("creating container ", id))));
    return;
  }
  containers_[id] = std::move(c);
}

void ContainerSupervisor::Container::Created(ContainerSupervisor* s, ConsoleSocket* console,
                                             const RuntimeResult& result, Reply reply) {
  absl::StatusOr<pid_t> adopted = absl::InternalError("");
  if (result.success()) {
    adopted = Adopt(s, console);
  } else {
    RuntimeResult described = result;
    if (described.err.empty()) {
      described.err = std::string(absl::StripAsciiWhitespace(io->TakeStderr()));
    }
    adopted = absl::InternalError(described.Describe("runc create"));
  }
  if (!adopted.ok()) {
    reply(Answer(kInternal,
                 absl::StrCat("creating container ", id, ": ", adopted.status().message())));
    // Whatever runc left behind goes; then the container is forgotten.
    RunDelete(s);
    return;
  }
  v1::Response response = Answer();
  response.mutable_create_container()->set_pid(pid);
  reply(std::move(response));
  if (deleting && state == State::kCreated) ::kill(pid, SIGKILL);  // Delete came meanwhile
}

absl::StatusOr<pid_t> ContainerSupervisor::Container::Adopt(ContainerSupervisor* s,
                                                            ConsoleSocket* console) {
  ASSIGN_OR_RETURN(pid, ReadPid(bundle + "/pid"));
  state = State::kCreated;
  oom_kills_at_create = std::max<int64_t>(ReadOomKills(cgroup_path), 0);
  // Reparented to us (a subreaper) since `runc create` exited; an exit already seen is kept.
  s->loop_->OnExit(pid, WhileAlive(life, [this, s](int wait_status) { Exited(s, wait_status); }));
  RETURN_IF_ERROR(io->StartReading());
  return pid;
}

void ContainerSupervisor::Container::AwaitStart(ContainerSupervisor* s, UniqueFd fifo,
                                                Reply reply) {
  start_fifo = std::move(fifo);
  start_reply = std::move(reply);
  absl::Status watched = s->loop_->Watch(
      start_fifo.get(), EPOLLIN, WhileAlive(life, [this, s](uint32_t) { CheckStart(s, false); }));
  if (!watched.ok()) {
    EndStart(s, watched);
    return;
  }
  start_timer = s->loop_->AddTimer(
      absl::Seconds(60), WhileAlive(life, [this, s] {
        start_timer = 0;
        EndStart(s, absl::DeadlineExceededError("runc's init did not reach its start in 60s"));
      }));
}

void ContainerSupervisor::Container::CheckStart(ContainerSupervisor* s, bool exited) {
  if (!start_fifo.valid()) return;
  absl::StatusOr<ExecFifoState> read = ReadExecFifo(start_fifo.get());
  if (!read.ok()) {
    EndStart(s, read.status());
    return;
  }
  switch (*read) {
    case ExecFifoState::kStarted: {
      // As `runc start` does: without the fifo, runc sees the container running.
      std::string path = ExecFifoPath(runtime, id);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        MON_WARN("removing %s: %s", path.c_str(), ErrnoStatus(errno, "unlink").ToString().c_str());
      }
      if (state == State::kCreated) state = State::kRunning;
      EndStart(s, absl::OkStatus());
      return;
    }
    case ExecFifoState::kClosed:
      EndStart(s, absl::FailedPreconditionError("its init exited before the start"));
      return;
    case ExecFifoState::kWaiting:
      if (exited) EndStart(s, absl::FailedPreconditionError("it exited before the start"));
      return;
  }
}

void ContainerSupervisor::Container::EndStart(ContainerSupervisor* s, const absl::Status& status) {
  if (start_fifo.valid()) {
    s->loop_->Unwatch(start_fifo.get());
    start_fifo.Reset();
  }
  if (start_timer != 0) s->loop_->CancelTimer(std::exchange(start_timer, 0));
  starting = false;
  Reply reply = std::move(start_reply);
  start_reply = nullptr;
  if (!reply) return;
  if (status.ok()) {
    reply(Answer());
  } else {
    reply(Answer(kInternal, absl::StrCat("starting container ", id, ": ", status.message())));
  }
}

void ContainerSupervisor::Container::Exited(ContainerSupervisor* s, int wait_status) {
  // A start under way: init wrote its byte and the process already ran and exited, or init
  // died before (as `runc start` tells the two apart).
  CheckStart(s, true);
  state = State::kExited;
  for (uint64_t timer : kill_timers) s->loop_->CancelTimer(timer);
  kill_timers.clear();
  io->Drain();
  exit.set_container_id(id);
  if (WIFSIGNALED(wait_status)) {
    exit.set_signal(WTERMSIG(wait_status));
    exit.set_exit_code(128 + WTERMSIG(wait_status));
  } else {
    exit.set_exit_code(WEXITSTATUS(wait_status));
  }
  exit.set_finished_unix_nanos(absl::ToUnixNanos(absl::Now()));
  exit.set_oom_killed(ReadOomKills(cgroup_path) > oom_kills_at_create);
  WriteExitRecord(s->options_.pod_dir);
  v1::Event event;
  *event.mutable_container_exited() = exit;
  s->send_event_(event);
  std::vector<Reply> stops = std::move(stop_waiters);
  stop_waiters.clear();
  for (Reply& reply : stops) reply(Answer());
  if (deleting) RunDelete(s);
}

void ContainerSupervisor::Container::WriteExitRecord(const std::string& pod_dir) {
  if (pod_dir.empty()) return;
  std::string dir = pod_dir + "/exits";
  absl::Status status = MakeDirs(dir, 0700);
  if (status.ok())
    status = WriteFileAtomic(dir + "/" + id, exit.SerializeAsString(), 0600, Durability::kVolatile);
  if (!status.ok())
    MON_ERROR("writing the exit record of container %s: %s", id.c_str(), status.ToString().c_str());
}

void ContainerSupervisor::Container::RunDelete(ContainerSupervisor* s) {
  RuntimeRun run{.argv = RuntimeDeleteArgv(runtime, id)};
  absl::StatusOr<pid_t> pid = RunRuntimeAsync(
      s->loop_, std::move(run), WhileAlive(life, [this, s](const RuntimeResult& result) {
        if (!result.success()) {
          std::string message =
              absl::StrCat("deleting container ", id, ": ", result.Describe("runc delete"));
          MON_WARN("%s", message.c_str());
          if (!delete_waiters.empty() && state != State::kCreating) {
            std::vector<Reply> waiters = std::move(delete_waiters);
            delete_waiters.clear();
            deleting = false;
            for (Reply& reply : waiters) reply(Answer(kInternal, message));
            return;
          }
        }
        Forget(s);
      }));
  if (!pid.ok()) {
    MON_WARN("deleting container %s: %s", id.c_str(), pid.status().ToString().c_str());
    Forget(s);
  }
}

void ContainerSupervisor::Container::Forget(ContainerSupervisor* s) {
  EndStart(s, absl::AbortedError("the container was deleted"));
  std::vector<Reply> waiters = std::move(delete_waiters);
  std::unique_ptr<Container> self = std::move(s->containers_[id]);
  s->containers_.erase(id);
  self.reset();  // `this` is gone
  for (Reply& reply : waiters) reply(Answer());
}

void ContainerSupervisor::Start(const v1::StartContainer& request, Reply reply) {
  auto it = containers_.find(request.container_id());
  if (it == containers_.end()) {
    reply(Answer(kNotFound, absl::StrCat("container ", request.container_id(), " not found")));
    return;
  }
  Container* c = it->second.get();
  if (c->state != Container::State::kCreated || c->starting || c->deleting) {
    reply(Answer(kFailedPrecondition,
                 absl::StrCat("container ", c->id, " is not in the created state")));
    return;
  }
  c->starting = true;
  absl::StatusOr<UniqueFd> fifo = OpenExecFifo(c->runtime, c->id);
  if (fifo.ok()) {
    c->AwaitStart(this, std::move(*fifo), std::move(reply));
    return;
  }
  if (!absl::IsNotFound(fifo.status())) {
    c->starting = false;
    reply(Answer(Annotate(fifo.status(), absl::StrCat("starting container ", c->id))));
    return;
  }
  RuntimeRun run{.argv = RuntimeStartArgv(c->runtime, c->id)};
  absl::StatusOr<pid_t> pid = RunRuntimeAsync(
      loop_, std::move(run), WhileAlive(c->life, [c, reply](const RuntimeResult& result) {
        c->starting = false;
        if (!result.success()) {
          reply(Answer(kInternal, absl::StrCat("starting container ", c->id, ": ",
                                               result.Describe("runc start"))));
          return;
        }
        if (c->state == Container::State::kCreated) c->state = Container::State::kRunning;
        reply(Answer());
      }));
  if (!pid.ok()) {
    c->starting = false;
    reply(Answer(Annotate(pid.status(), absl::StrCat("starting container ", c->id))));
  }
}

void ContainerSupervisor::Stop(const v1::StopContainer& request, Reply reply) {
  auto it = containers_.find(request.container_id());
  if (it == containers_.end()) {
    reply(Answer(kNotFound, absl::StrCat("container ", request.container_id(), " not found")));
    return;
  }
  Container* c = it->second.get();
  if (c->state == Container::State::kExited) {
    reply(Answer());
    return;
  }
  if (c->state == Container::State::kCreating) {
    reply(Answer(kFailedPrecondition, absl::StrCat("container ", c->id, " is being created")));
    return;
  }
  c->stop_waiters.push_back(std::move(reply));
  // The init process is our child until we reap it: signalling it by pid is safe.
  int signal = request.signal() > 0 ? request.signal() : SIGTERM;
  ::kill(c->pid, signal);
  absl::Duration timeout = absl::Nanoseconds(std::max<int64_t>(request.timeout_ns(), 0));
  if (timeout == absl::ZeroDuration()) {
    ::kill(c->pid, SIGKILL);
    return;
  }
  c->kill_timers.push_back(loop_->AddTimer(timeout, WhileAlive(c->life, [c] {
                                             if (c->state != Container::State::kExited)
                                               ::kill(c->pid, SIGKILL);
                                           })));
}

void ContainerSupervisor::Delete(const v1::DeleteContainer& request, Reply reply) {
  auto it = containers_.find(request.container_id());
  if (it == containers_.end()) {
    reply(Answer());
    return;
  }
  Container* c = it->second.get();
  c->delete_waiters.push_back(std::move(reply));
  if (c->deleting) return;
  c->deleting = true;
  switch (c->state) {
    case Container::State::kCreating:
      break;  // Created() goes on with the delete
    case Container::State::kCreated:
    case Container::State::kRunning:
      ::kill(c->pid, SIGKILL);  // Exited() goes on with the delete
      break;
    case Container::State::kExited:
      c->RunDelete(this);
      break;
  }
}

void ContainerSupervisor::ExecSync(const v1::ExecSync& request, std::vector<UniqueFd> fds,
                                   Reply reply) {
  auto it = containers_.find(request.container_id());
  if (it == containers_.end()) {
    reply(Answer(kNotFound, absl::StrCat("container ", request.container_id(), " not found")));
    return;
  }
  Container* c = it->second.get();
  if (c->state != Container::State::kRunning || c->deleting) {
    reply(Answer(kFailedPrecondition, absl::StrCat("container ", c->id, " is not running")));
    return;
  }
  if (fds.size() != 2 || request.argv().empty()) {
    reply(Answer(kInvalidArgument, "ExecSync needs a command and two fds (stdout, stderr)"));
    return;
  }
  ExecStreamParams params{
      .runtime = c->runtime,
      .container_id = c->id,
      .argv = {request.argv().begin(), request.argv().end()},
      .work_dir = c->bundle,
      .out = std::move(fds[0]),
      .err = std::move(fds[1]),
  };
  absl::Duration timeout =
      request.timeout_ns() > 0 ? absl::Nanoseconds(request.timeout_ns()) : absl::InfiniteDuration();
  // The reply does not need the container: it may be deleted meanwhile.
  std::string id = c->id;
  absl::Status status = StartExecSync(
      *execs_, std::move(params), timeout, [reply, id](absl::StatusOr<ExecSyncExit> exit) {
        if (!exit.ok()) {
          return reply(Answer(Annotate(exit.status(), absl::StrCat("exec in container ", id))));
        }
        v1::Response response = Answer();
        response.mutable_exec_sync()->set_exit_code(exit->exit_code);
        response.mutable_exec_sync()->set_timed_out(exit->timed_out);
        reply(std::move(response));
      });
  if (!status.ok()) reply(Answer(Annotate(status, absl::StrCat("exec in container ", c->id))));
}

void ContainerSupervisor::ReopenLog(const v1::ReopenLog& request, Reply reply) {
  auto it = containers_.find(request.container_id());
  if (it == containers_.end()) {
    reply(Answer(kNotFound, absl::StrCat("container ", request.container_id(), " not found")));
    return;
  }
  Container* c = it->second.get();
  if (c->state != Container::State::kRunning) {
    reply(Answer(kFailedPrecondition, absl::StrCat("container ", c->id, " is not running")));
    return;
  }
  absl::Status status = c->io->ReopenLog();
  if (!status.ok()) {
    reply(Answer(Annotate(status, absl::StrCat("reopening the log of container ", c->id))));
    return;
  }
  reply(Answer());
}

void ContainerSupervisor::List(Reply reply) {
  v1::Response response = Answer();
  v1::ListContainersReply* list = response.mutable_list_containers();
  for (const auto& [id, c] : containers_) {
    v1::ContainerState* state = list->add_containers();
    state->set_container_id(id);
    state->set_pid(c->pid);
    state->set_running(c->state == Container::State::kRunning);
    if (c->state == Container::State::kExited) *state->mutable_exit() = c->exit;
  }
  reply(std::move(response));
}

bool ContainerSupervisor::Empty() const { return containers_.empty(); }

ContainerSupervisor::Container* ContainerSupervisor::Live(const std::string& id,
                                                          const Reply& reply) {
  auto it = containers_.find(id);
  if (it == containers_.end()) {
    reply(Answer(kNotFound, absl::StrCat("container ", id, " not found")));
    return nullptr;
  }
  Container* c = it->second.get();
  if ((c->state != Container::State::kCreated && c->state != Container::State::kRunning) ||
      c->deleting) {
    reply(Answer(kFailedPrecondition, absl::StrCat("container ", id, " is not running")));
    return nullptr;
  }
  return c;
}

namespace {

// Takes the fds that `present` names, in order, from `fds`; false when the count differs.
bool TakeFds(std::vector<UniqueFd>& fds, std::initializer_list<std::pair<bool, UniqueFd*>> want) {
  size_t count = 0;
  for (const auto& [present, out] : want) count += present ? 1 : 0;
  if (fds.size() != count) return false;
  size_t next = 0;
  for (const auto& [present, out] : want) {
    if (present) *out = std::move(fds[next++]);
  }
  return true;
}

}  // namespace

void ContainerSupervisor::ExecStream(const v1::ExecStream& request, std::vector<UniqueFd> fds,
                                     FdReply reply) {
  Reply plain = [reply](v1::Response response) { reply(std::move(response), {}); };
  Container* c = Live(request.container_id(), plain);
  if (c == nullptr) return;
  if (c->state != Container::State::kRunning) {
    return plain(Answer(kFailedPrecondition, absl::StrCat("container ", c->id, " is not running")));
  }
  ExecStreamParams params{.runtime = c->runtime,
                          .container_id = c->id,
                          .argv = {request.argv().begin(), request.argv().end()},
                          .work_dir = c->bundle,
                          .tty = request.tty()};
  bool taken = TakeFds(fds, {{request.has_stdin(), &params.in},
                             {request.has_stdout(), &params.out},
                             {request.has_stderr(), &params.err}});
  if (!taken || params.argv.empty() || (request.tty() && !fds.empty())) {
    return plain(Answer(kInvalidArgument,
                        "an exec needs a command, and the fds its has_* fields name (none with "
                        "tty)"));
  }
  std::string id = c->id;
  absl::Status status = execs_->Start(std::move(params), [reply,
                                                          id](absl::StatusOr<ExecStarted> started) {
    if (!started.ok()) {
      return reply(Answer(Annotate(started.status(), absl::StrCat("exec in container ", id))), {});
    }
    v1::Response response = Answer();
    response.mutable_exec_stream()->set_exec_id(started->exec_id);
    response.mutable_exec_stream()->set_pid(started->pid);
    std::vector<UniqueFd> master;
    if (started->pty_master) master.push_back(std::move(started->pty_master));
    reply(std::move(response), std::move(master));
  });
  if (!status.ok()) plain(Answer(Annotate(status, absl::StrCat("exec in container ", id))));
}

void ContainerSupervisor::WaitExec(const v1::WaitExec& request, Reply reply) {
  absl::Duration timeout =
      request.timeout_ns() > 0 ? absl::Nanoseconds(request.timeout_ns()) : absl::InfiniteDuration();
  execs_->Wait(request.exec_id(), timeout, [reply](absl::StatusOr<ExecExit> exit) {
    if (!exit.ok()) return reply(Answer(exit.status()));
    v1::Response response = Answer();
    response.mutable_wait_exec()->set_exit_code(exit->exit_code);
    response.mutable_wait_exec()->set_signal(exit->signal);
    reply(std::move(response));
  });
}

void ContainerSupervisor::KillExec(const v1::KillExec& request, Reply reply) {
  execs_->Kill(request.exec_id());
  reply(Answer());
}

void ContainerSupervisor::Attach(const v1::Attach& request, std::vector<UniqueFd> fds,
                                 Reply reply) {
  Container* c = Live(request.container_id(), reply);
  if (c == nullptr) return;
  AttachHub::Fds ends;
  if (!TakeFds(fds, {{request.has_stdin(), &ends.in},
                     {request.has_stdout(), &ends.out},
                     {request.has_stderr(), &ends.err}})) {
    return reply(Answer(kInvalidArgument, "Attach needs the fds its has_* fields name"));
  }
  absl::Status status = c->io->Attach(std::move(ends));
  if (!status.ok()) return reply(Answer(Annotate(status, absl::StrCat("attaching to ", c->id))));
  reply(Answer());
}

void ContainerSupervisor::ResizeTerminal(const v1::ResizeTerminal& request, Reply reply) {
  Container* c = Live(request.container_id(), reply);
  if (c == nullptr) return;
  if (request.width() > 0xffff || request.height() > 0xffff) {
    return reply(Answer(kInvalidArgument, "a terminal size must fit in 16 bits"));
  }
  absl::Status status = c->io->Resize(static_cast<uint16_t>(request.width()),
                                      static_cast<uint16_t>(request.height()));
  if (!status.ok()) {
    return reply(Answer(Annotate(status, absl::StrCat("resizing the terminal of ", c->id))));
  }
  reply(Answer());
}

size_t ContainerSupervisor::ExecCount() const { return execs_->size(); }

size_t ContainerSupervisor::AttachCount(const std::string& id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? 0 : it->second->io->attach().clients();
}

}  // namespace berth::mon
