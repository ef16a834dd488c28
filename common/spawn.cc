#include "common/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/clone_child.h"
#include "common/status.h"
#include "common/unique_fd.h"

extern char** environ;

namespace berth {
namespace {

// Everything the child needs, prepared before fork so the child allocates nothing.
struct ChildPlan {
  std::string path;
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;  // empty: inherit environ
  const char* cwd = nullptr;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool new_session = false;
  pid_t kill_with_parent = 0;  // the parent's pid when the child must die with it
};

absl::StatusOr<ChildPlan> MakePlan(const std::vector<std::string>& argv,
                                   const std::optional<std::vector<std::string>>& env,
                                   const std::string& cwd) {
  if (argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  ChildPlan plan;
  ASSIGN_OR_RETURN(plan.path, FindExecutable(argv[0]));
  plan.argv_storage = argv;
  for (std::string& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  if (env.has_value()) {
    plan.env_storage = *env;
    for (std::string& var : plan.env_storage) plan.envp.push_back(var.data());
    plan.envp.push_back(nullptr);
  }
  return plan;
}

[[noreturn]] BERTH_CLONE_CHILD void ChildFail(int err_fd) {
  int err = errno;
  ssize_t ignored = write(err_fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

// The child side of the clone: async-signal-safe calls only, and nothing written to the memory
// it shares with the parent. Reports a failure's errno through `err_fd` (close-on-exec, so a
// successful exec closes it with nothing written). Signals arrive blocked: the handlers (the
// parent's code) are reset before they are unblocked.
[[noreturn]] BERTH_CLONE_CHILD void ExecChild(const ChildPlan& plan, int err_fd) {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (plan.new_session) setsid();
  if (plan.kill_with_parent != 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(err_fd);
    if (getppid() != plan.kill_with_parent) _exit(127);
  }
  int fds[3] = {plan.stdin_fd, plan.stdout_fd, plan.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (fds[target] >= 0 && dup2(fds[target], target) < 0) ChildFail(err_fd);
  }
  if (plan.cwd != nullptr && chdir(plan.cwd) != 0) ChildFail(err_fd);
  // Close everything above stderr except the error pipe (close-on-exec already).
  if (err_fd > 3) syscall(SYS_close_range, 3, err_fd - 1, 0);
  syscall(SYS_close_range, err_fd + 1, ~0U, 0);
  execve(plan.path.c_str(), plan.argv.data(), plan.envp.empty() ? environ : plan.envp.data());
  ChildFail(err_fd);
}

struct CloneArgs {
  const ChildPlan* plan;
  int err_fd;
};

BERTH_CLONE_CHILD int CloneChild(void* arg) {
  const auto* args = static_cast<const CloneArgs*>(arg);
  ExecChild(*args->plan, args->err_fd);
}

// Starts the plan's child with vfork semantics: it shares our memory until it execs and we wait
// for that, so nothing is copied. A fork() of berthd (tens of MiB mapped, many threads) costs
// 1-2 ms in page tables alone, paid by every CNI plugin and runtime call. The child runs on
// its own stack with every signal blocked (as posix_spawn does).
absl::StatusOr<pid_t> CloneExec(const ChildPlan& plan, int err_fd) {
  constexpr size_t kStackSize = 64 << 10;
  void* stack = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoStatus(errno, "allocating a stack for a child");
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  CloneArgs args{.plan = &plan, .err_fd = err_fd};
  pid_t pid = clone(CloneChild, static_cast<char*>(stack) + kStackSize,
                    CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  munmap(stack, kStackSize);
  if (pid < 0) return ErrnoStatus(clone_errno, absl::StrCat("starting a child for ", plan.path));
  return pid;
}

// Starts and execs the plan. Returns the pid once exec succeeded.
absl::StatusOr<pid_t> ForkExec(const ChildPlan& plan) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "creating a pipe");
  UniqueFd err_read(errpipe[0]);
  UniqueFd err_write(errpipe[1]);
  ASSIGN_OR_RETURN(pid_t pid, CloneExec(plan, err_write.get()));
  err_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return ErrnoStatus(child_errno, absl::StrCat("starting ", plan.path));
  }
  return pid;
}

void IgnoreSigpipeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { signal(SIGPIPE, SIG_IGN); });
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Reads what is available on `fd` into `out` (up to `cap`); false at EOF or error.
bool Drain(int fd, std::string& out, size_t cap, bool& truncated) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      size_t keep = std::min(static_cast<size_t>(n), cap - std::min(cap, out.size()));
      out.append(buf, keep);
      if (keep < static_cast<size_t>(n)) truncated = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

void FillResult(int wait_status, SpawnResult& result) {
  if (WIFEXITED(wait_status)) result.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) result.signal = WTERMSIG(wait_status);
}

absl::StatusOr<UniqueFd> OpenOutput(const std::string& path) {
  const char* target = path.empty() ? "/dev/null" : path.c_str();
  UniqueFd fd(open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening ", target));
  return fd;
}

}  // namespace

std::string SpawnResult::Describe() const {
  std::string text;
  if (timed_out) {
    text = "timed out";
  } else if (signal != 0) {
    text = absl::StrCat("killed by signal ", signal);
  } else {
    text = absl::StrCat("exit code ", exit_code);
  }
  absl::string_view tail(err);
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.remove_suffix(1);
  if (tail.size() > 512) tail = tail.substr(tail.size() - 512);
  if (!tail.empty()) absl::StrAppend(&text, ": ", tail);
  return text;
}

absl::StatusOr<std::string> FindExecutable(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (name.find('/') != std::string::npos) return name;
  const char* path_env = getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(name, " not found in PATH"));
}

absl::StatusOr<SpawnResult> RunCommand(const SpawnOptions& options) {
  ASSIGN_OR_RETURN(PendingCommand command, PendingCommand::Start(options));
  return command.Finish(options.stdin_data);
}

absl::StatusOr<PendingCommand> PendingCommand::Start(const SpawnOptions& options) {
  IgnoreSigpipeOnce();
  ASSIGN_OR_RETURN(ChildPlan plan, MakePlan(options.argv, options.env, options.cwd));
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  PendingCommand command;
  UniqueFd in_read, out_write, err_write;
  if (!MakePipe(in_read, command.in_) || !MakePipe(command.out_, out_write) ||
      !MakePipe(command.err_, err_write)) {
    return ErrnoStatus(errno, "creating a pipe");
  }
  plan.stdin_fd = in_read.get();
  plan.stdout_fd = out_write.get();
  plan.stderr_fd = err_write.get();
  ASSIGN_OR_RETURN(command.pid_, ForkExec(plan));
  command.pidfd_.Reset(PidfdOpen(command.pid_));
  for (int fd : {command.in_.get(), command.out_.get(), command.err_.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  command.timeout_ = options.timeout;
  command.max_output_ = options.max_output;
  return command;
}

PendingCommand::PendingCommand(PendingCommand&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      in_(std::move(other.in_)),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)),
      timeout_(other.timeout_),
      max_output_(other.max_output_) {}

PendingCommand& PendingCommand::operator=(PendingCommand&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
    timeout_ = other.timeout_;
    max_output_ = other.max_output_;
  }
  return *this;
}

PendingCommand::~PendingCommand() { Kill(); }

void PendingCommand::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

absl::StatusOr<SpawnResult> PendingCommand::Finish(absl::string_view stdin_data) {
  if (pid_ <= 0) return absl::FailedPreconditionError("the command already finished");
  if (stdin_data.empty()) in_.Reset();
  SpawnResult result;
  size_t written = 0;
  absl::Time deadline = absl::Now() + timeout_;
  bool exited = false;
  while (!exited && (out_ || err_ || in_ || pidfd_)) {
    pollfd fds[4] = {{out_.get(), POLLIN, 0},
                     {err_.get(), POLLIN, 0},
                     {in_.get(), POLLOUT, 0},
                     {pidfd_.get(), POLLIN, 0}};
    int wait_ms = -1;
    if (timeout_ != absl::InfiniteDuration()) {
      wait_ms = static_cast<int>(
          std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1));
    }
    int ready = poll(fds, 4, wait_ms);
    if (ready < 0 && errno != EINTR) return ErrnoStatus(errno, "waiting for the child");
    if (ready == 0) {
      kill(pid_, SIGKILL);
      result.timed_out = true;
      break;
    }
    if (fds[0].revents && !Drain(out_.get(), result.out, max_output_, result.output_truncated)) {
      out_.Reset();
    }
    if (fds[1].revents && !Drain(err_.get(), result.err, max_output_, result.output_truncated)) {
      err_.Reset();
    }
    if (fds[2].revents) {
      ssize_t n = write(in_.get(), stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
        in_.Reset();
      }
    }
    // The child is gone: whatever a grandchild still holds open must not keep us here.
    if (fds[3].revents) exited = true;
  }
  if (out_) Drain(out_.get(), result.out, max_output_, result.output_truncated);
  if (err_) Drain(err_.get(), result.err, max_output_, result.output_truncated);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (!result.timed_out) FillResult(status, result);
  return result;
}

absl::StatusOr<Process> Process::Start(const StartOptions& options) {
  IgnoreSigpipeOnce();
  ASSIGN_OR_RETURN(ChildPlan plan, MakePlan(options.argv, options.env, options.cwd));
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.new_session = options.new_session;
  if (options.kill_with_parent) plan.kill_with_parent = getpid();
  UniqueFd null_in, out, err;
  if (options.stdin_fd < 0) {
    null_in.Reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null_in) return ErrnoStatus(errno, "opening /dev/null");
  }
  if (options.stdout_fd < 0) {
    ASSIGN_OR_RETURN(out, OpenOutput(options.stdout_path));
  }
  if (options.stderr_fd < 0) {
    ASSIGN_OR_RETURN(err, OpenOutput(options.stderr_path));
  }
  plan.stdin_fd = options.stdin_fd >= 0 ? options.stdin_fd : null_in.get();
  plan.stdout_fd = options.stdout_fd >= 0 ? options.stdout_fd : out.get();
  plan.stderr_fd = options.stderr_fd >= 0 ? options.stderr_fd : err.get();
  ASSIGN_OR_RETURN(pid_t pid, ForkExec(plan));
  int pidfd = PidfdOpen(pid);
  if (pidfd < 0) {
    absl::Status status = ErrnoStatus(errno, "opening a pidfd");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return status;
  }
  return Process(pid, pidfd);
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      exited_(other.exited_),
      wait_status_(other.wait_status_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Close();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    exited_ = other.exited_;
    wait_status_ = other.wait_status_;
  }
  return *this;
}

Process::~Process() { Close(); }

void Process::Close() {
  if (running()) {
    Signal(SIGKILL).IgnoreError();
    Wait().IgnoreError();
  }
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
  pid_ = -1;
}

absl::Status Process::Signal(int sig) {
  if (!running()) return absl::FailedPreconditionError("process is not running");
  if (syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) != 0) {
    return ErrnoStatus(errno, absl::StrCat("signalling pid ", pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> Process::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("no process");
  if (exited_) return wait_status_;
  pollfd pfd = {pidfd_, POLLIN, 0};
  int ms = timeout == absl::InfiniteDuration()
               ? -1
               : static_cast<int>(absl::ToInt64Milliseconds(timeout));
  int ready;
  do {
    ready = poll(&pfd, 1, ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " still running"));
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus(errno, absl::StrCat("waiting for pid ", pid_));
  }
  exited_ = true;
  wait_status_ = status;
  return status;
}

absl::StatusOr<int> Process::Stop(absl::Duration grace) {
  if (!running()) return Wait();
  Signal(SIGTERM).IgnoreError();
  absl::StatusOr<int> status = Wait(grace);
  if (status.ok()) return status;
  Signal(SIGKILL).IgnoreError();
  return Wait();
}

}  // namespace berth
