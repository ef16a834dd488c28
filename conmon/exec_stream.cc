#include "conmon/exec_stream.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "conmon/console_socket.h"

namespace berth::mon {
namespace {

// The pid runc wrote, or -1.
pid_t ReadPidFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, 64);
  int pid = -1;
  if (!text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 1) {
    return -1;
  }
  return pid;
}

// The msg="..." of the last line of runc's (logrus text) log, or "".
std::string LastRuncMessage(const std::string& log_file) {
  absl::StatusOr<std::string> text = ReadFile(log_file, 256 << 10);
  if (!text.ok()) return "";
  size_t at = text->rfind("msg=\"");
  if (at == std::string::npos) return "";
  std::string message;
  for (size_t i = at + 5; i < text->size() && (*text)[i] != '"' && message.size() < 2048; ++i) {
    char c = (*text)[i];
    if (c == '\\' && i + 1 < text->size()) c = (*text)[++i];
    message.push_back(c);
  }
  return message;
}

}  // namespace

struct ExecStreams::Pending {
  std::string pid_file;
  std::string log_file;
  std::shared_ptr<ConsoleSocket> console;  // tty only
  StartDone done;
};

ExecStreams::~ExecStreams() {
  for (auto& [id, exec] : execs_) {
    for (Waiter& waiter : exec.waiters) {
      if (waiter.timer != 0) loop_->CancelTimer(waiter.timer);
    }
  }
}

absl::Status ExecStreams::Start(ExecStreamParams params, StartDone done) {
  if (params.argv.empty()) return absl::InvalidArgumentError("an exec needs a command");
  uint64_t id = next_id_++;
  auto pending = std::make_shared<Pending>();
  pending->pid_file = absl::StrCat(params.work_dir, "/exec-stream-", id, ".pid");
  pending->log_file = absl::StrCat(params.work_dir, "/exec-stream-", id, ".log");
  pending->done = std::move(done);
  RuntimeExecOptions options{.pid_file = pending->pid_file, .log_file = pending->log_file};
  if (params.tty) {
    ASSIGN_OR_RETURN(std::unique_ptr<ConsoleSocket> console, ConsoleSocket::Create());
    pending->console = std::move(console);
    options.console_socket = pending->console->path();
    options.env.push_back("TERM=xterm");  // as the kubelet's runtimes give an exec'd terminal
  }
  ::unlink(pending->pid_file.c_str());
  ::unlink(pending->log_file.c_str());
  RuntimeRun run{
      .argv = RuntimeExecDetachedArgv(params.runtime, params.container_id, options, params.argv),
      // Detached, the process inherits runc's stdio; with a tty it has its pty instead, and
      // runc's stderr is captured (its log has the errors too).
      .stdio = {.in = params.in.get(), .out = params.out.get(), .err = params.err.get()},
      .capture_stderr = params.tty,
      .timeout = std::min(params.start_timeout, absl::Seconds(60)),
  };
  if (params.tty) run.stdio = {};
  std::string pid_file = pending->pid_file;
  run.on_timeout = [pid_file] {
    pid_t pid = ReadPidFile(pid_file);
    if (pid > 0) ::kill(pid, SIGKILL);  // runc still holds it (its child): not reused yet
  };
  std::weak_ptr<char> alive = life_;
  absl::StatusOr<pid_t> runc = RunRuntimeAsync(
      loop_, std::move(run), [this, alive, id, pending](const RuntimeResult& result) {
        if (alive.expired()) return;
        Started(id, result, *pending);
      });
  // Our copies of the stdio go either way: the caller sees EOF when the process ends.
  params.in.Reset();
  params.out.Reset();
  params.err.Reset();
  if (!runc.ok()) return runc.status();
  execs_[id];
  return absl::OkStatus();
}

void ExecStreams::Started(uint64_t id, const RuntimeResult& result, Pending& pending) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  Exec& exec = it->second;
  pid_t pid = ReadPidFile(pending.pid_file);
  // runc's log says something only when it failed.
  std::string runc_message = result.success() ? "" : LastRuncMessage(pending.log_file);
  RemoveLater(pending.pid_file, pending.log_file);
  absl::Status status;
  UniqueFd master;
  if (!result.success()) {
    RuntimeResult described = result;
    if (!runc_message.empty()) described.err = runc_message;
    status = absl::InternalError(described.Describe("runc exec"));
  } else if (pid <= 0) {
    status = absl::InternalError("runc exec wrote no pid");
  } else if (pending.console) {
    absl::StatusOr<UniqueFd> received = pending.console->ReceiveMaster();
    status = received.status();
    if (received.ok()) master = std::move(*received);
  }
  pending.console.reset();
  if (pid > 0) {
    // Reparented to us once runc exited; an exit seen before this is kept by the loop.
    exec.pid = pid;
    std::weak_ptr<char> alive = life_;
    exec.reaped = loop_->OnExit(pid, [this, alive, id](int wait_status) {
      if (!alive.expired()) Exited(id, wait_status);
    });
    if (!status.ok() || exec.kill_requested) Signal(exec);
  }
  StartDone done = std::move(pending.done);
  if (!status.ok()) {
    // The result of a process that never reached its caller is nobody's.
    if (pid <= 0 || exec.finished) {
      execs_.erase(it);
    } else {
      exec.abandoned = true;
    }
    done(status);
    return;
  }
  done(ExecStarted{.exec_id = id, .pid = pid, .pty_master = std::move(master)});
}

void ExecStreams::RemoveLater(const std::string& pid_file, const std::string& log_file) {
  // runc wrote the pid file O_SYNC: unlinking it right away waits for that journal commit
  // (1-2 ms on ext4), on the loop and before the answer. Later it is cheap and off the path.
  // Nothing of this object is used: the files go even when the execs are gone by then.
  loop_->AddTimer(kRemoveFilesAfter, [pid_file, log_file] {
    ::unlink(pid_file.c_str());
    ::unlink(log_file.c_str());
  });
}

void ExecStreams::Signal(Exec& exec) {
  if (exec.pid <= 0 || exec.reaped || exec.finished) return;
  // Not reaped yet: the pid (and its process group) cannot have been reused.
  ::kill(-exec.pid, SIGKILL);
  ::kill(exec.pid, SIGKILL);
}

void ExecStreams::Exited(uint64_t id, int wait_status) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  Exec& exec = it->second;
  exec.reaped = true;
  exec.finished = true;
  if (WIFSIGNALED(wait_status)) {
    exec.exit.signal = WTERMSIG(wait_status);
    exec.exit.exit_code = 128 + exec.exit.signal;
  } else {
    exec.exit.exit_code = WEXITSTATUS(wait_status);
  }
  if (exec.abandoned) {
    execs_.erase(it);
    return;
  }
  if (exec.waiters.empty()) {
    unwaited_.push_back(id);
    while (unwaited_.size() > kMaxUnwaitedResults) {
      execs_.erase(unwaited_.front());
      unwaited_.pop_front();
    }
    return;
  }
  std::vector<Waiter> waiters = std::move(exec.waiters);
  ExecExit exit = exec.exit;
  execs_.erase(it);
  for (Waiter& waiter : waiters) {
    if (waiter.timer != 0) loop_->CancelTimer(waiter.timer);
    waiter.done(exit);
  }
}

void ExecStreams::Wait(uint64_t exec_id, absl::Duration timeout, WaitDone done) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) {
    done(absl::NotFoundError(absl::StrCat("exec ", exec_id, " not found")));
    return;
  }
  Exec& exec = it->second;
  if (exec.finished) {
    ExecExit exit = exec.exit;
    unwaited_.erase(std::remove(unwaited_.begin(), unwaited_.end(), exec_id), unwaited_.end());
    execs_.erase(it);
    done(exit);
    return;
  }
  Waiter waiter{.id = next_waiter_++, .done = std::move(done)};
  if (timeout != absl::InfiniteDuration()) {
    std::weak_ptr<char> alive = life_;
    uint64_t waiter_id = waiter.id;
    waiter.timer = loop_->AddTimer(timeout, [this, alive, exec_id, waiter_id, timeout] {
      if (alive.expired()) return;
      auto found = execs_.find(exec_id);
      if (found == execs_.end()) return;
      std::vector<Waiter>& waiters = found->second.waiters;
      for (auto w = waiters.begin(); w != waiters.end(); ++w) {
        if (w->id != waiter_id) continue;
        WaitDone expired = std::move(w->done);
        waiters.erase(w);
        expired(absl::DeadlineExceededError(
            absl::StrCat("exec ", exec_id, " still runs after ", absl::FormatDuration(timeout))));
        return;
      }
    });
  }
  exec.waiters.push_back(std::move(waiter));
}

void ExecStreams::Kill(uint64_t exec_id) {
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return;
  it->second.kill_requested = true;
  Signal(it->second);
}

}  // namespace berth::mon
