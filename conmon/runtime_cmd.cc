#include "conmon/runtime_cmd.h"

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clone_child.h"
#include "common/status.h"
#include "common/unique_fd.h"

extern char** environ;

namespace berth::mon {
namespace {

constexpr size_t kMaxStderrBytes = 64 << 10;

std::vector<std::string> Base(const RuntimeRef& runtime) {
  std::vector<std::string> argv = {runtime.path};
  if (!runtime.root.empty()) {
    argv.push_back("--root");
    argv.push_back(runtime.root);
  }
  return argv;
}

// The child side of SpawnChild: async-signal-safe calls only, and nothing written to the memory
// it shares with the parent (it runs with vfork semantics). Signals arrive blocked: the
// handlers (the parent's code) are reset before they are unblocked.
[[noreturn]] BERTH_CLONE_CHILD void ExecChild(char* const* argv, const int (&stdio)[3],
                                             int error_pipe, int image_fd) {
  struct sigaction dfl;
  __builtin_memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Move the sources out of the way first: one of them may sit on 0, 1 or 2.
  int moved[3];
  for (int i = 0; i < 3; ++i) {
    moved[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
    if (moved[i] < 0) goto fail;
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(moved[i], i) < 0) goto fail;
  }
  // Everything else is close-on-exec or closed here (the error pipe and the image, both
  // close-on-exec, must stay open until the exec).
  {
    int last = error_pipe > image_fd ? error_pipe : image_fd;
    for (int fd = 3; fd < last; ++fd) {
      if (fd != error_pipe && fd != image_fd) close(fd);
    }
    syscall(SYS_close_range, static_cast<unsigned>(last) + 1, ~0U, 0);
  }
  if (image_fd >= 0) {
    syscall(SYS_execveat, image_fd, "", argv, environ, AT_EMPTY_PATH);
  } else {
    execve(argv[0], argv, environ);
  }
fail : {
  int err = errno;
  ssize_t ignored = write(error_pipe, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}
}

struct CloneArgs {
  char* const* argv;
  const int (*stdio)[3];
  int error_pipe;
  int image_fd;
};

BERTH_CLONE_CHILD int CloneChild(void* arg) {
  const auto* args = static_cast<const CloneArgs*>(arg);
  ExecChild(args->argv, *args->stdio, args->error_pipe, args->image_fd);
}

// The runtime run from a sealed copy (UseRuntimeImage); set once, before the loop runs.
struct RuntimeImage {
  std::string path;
  int fd = -1;
};
RuntimeImage& Image() {
  static RuntimeImage* image = new RuntimeImage();
  return *image;
}

// Starts the child with vfork semantics (CLONE_VM|CLONE_VFORK): it shares our memory until it
// execs, so no page table is copied and it runs at once, and we resume once it exec'd (or
// failed). On its own stack, with every signal blocked until it reset the handlers.
absl::StatusOr<pid_t> CloneExec(char* const* argv, const int (&stdio)[3], int error_pipe,
                                int image_fd) {
  constexpr size_t kStackSize = 64 << 10;
  void* stack = ::mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return ErrnoStatus(errno, "allocating a stack for a child");
  sigset_t all, old;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, &old);
  CloneArgs args{.argv = argv, .stdio = &stdio, .error_pipe = error_pipe, .image_fd = image_fd};
  pid_t pid = ::clone(CloneChild, static_cast<char*>(stack) + kStackSize,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  int clone_errno = errno;
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  ::munmap(stack, kStackSize);
  if (pid < 0) return ErrnoStatus(clone_errno, absl::StrCat("starting ", argv[0]));
  return pid;
}

}  // namespace

std::vector<std::string> RuntimeCreateArgv(const RuntimeRef& runtime, const std::string& id,
                                           const std::string& bundle, const std::string& pid_file,
                                           const std::string& console_socket) {
  std::vector<std::string> argv = Base(runtime);
  argv.insert(argv.end(), {"create", "--bundle", bundle, "--pid-file", pid_file});
  if (!console_socket.empty()) argv.insert(argv.end(), {"--console-socket", console_socket});
  argv.push_back(id);
  return argv;
}

std::vector<std::string> RuntimeStartArgv(const RuntimeRef& runtime, const std::string& id) {
  std::vector<std::string> argv = Base(runtime);
  argv.insert(argv.end(), {"start", id});
  return argv;
}

std::vector<std::string> RuntimeDeleteArgv(const RuntimeRef& runtime, const std::string& id) {
  std::vector<std::string> argv = Base(runtime);
  argv.insert(argv.end(), {"delete", "--force", id});
  return argv;
}

std::vector<std::string> RuntimeExecDetachedArgv(const RuntimeRef& runtime, const std::string& id,
                                                 const RuntimeExecOptions& options,
                                                 const std::vector<std::string>& argv) {
  std::vector<std::string> out = Base(runtime);
  if (!options.log_file.empty()) out.insert(out.end(), {"--log", options.log_file});
  out.insert(out.end(), {"exec", "--detach", "--pid-file", options.pid_file});
  if (!options.console_socket.empty()) {
    out.insert(out.end(), {"--tty", "--console-socket", options.console_socket});
  }
  for (const std::string& env : options.env) out.insert(out.end(), {"--env", env});
  out.push_back(id);
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

void UseRuntimeImage(const std::string& path, int fd) {
  Image().path = path;
  Image().fd = fd;
}

absl::StatusOr<pid_t> SpawnChild(const std::vector<std::string>& argv, const ChildStdio& stdio) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return absl::InvalidArgumentError("the runtime must be given by an absolute path");
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) return ErrnoStatus(errno, "opening /dev/null");
  int fds[3] = {stdio.in, stdio.out, stdio.err};
  for (int& fd : fds) {
    if (fd < 0) fd = null_fd.get();
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  UniqueFd error_r(pipe_fds[0]);
  UniqueFd error_w(pipe_fds[1]);
  int image_fd = Image().fd >= 0 && Image().path == argv[0] ? Image().fd : -1;
  ASSIGN_OR_RETURN(pid_t pid, CloneExec(args.data(), fds, error_w.get(), image_fd));
  error_w.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(error_r.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    // The child is exiting right away; it is ours, so waiting for it by pid is safe and brief.
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return ErrnoStatus(child_errno, absl::StrCat("executing ", argv[0]));
  }
  return pid;
}

bool RuntimeResult::success() const {
  return !timed_out && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string RuntimeResult::Describe(const std::string& what) const {
  std::string how;
  if (timed_out) {
    how = "timed out";
  } else if (WIFSIGNALED(wait_status)) {
    how = absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  } else {
    how = absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  }
  std::string out = absl::StrCat(what, " failed: ", how);
  if (!err.empty()) absl::StrAppend(&out, ": ", err);
  return out;
}

namespace {

struct AsyncRun {
  EventLoop* loop;
  pid_t pid = -1;
  UniqueFd err_r;
  std::string err;
  uint64_t timer = 0;
  bool timed_out = false;

  // Reads what stderr holds now; false at EOF or on an error.
  bool ReadErr() {
    char buffer[4096];
    while (true) {
      ssize_t n = ::read(err_r.get(), buffer, sizeof(buffer));
      if (n > 0) {
        if (err.size() < kMaxStderrBytes) {
          err.append(buffer, std::min(static_cast<size_t>(n), kMaxStderrBytes - err.size()));
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return n < 0 && errno == EAGAIN;
    }
  }
  void CloseErr() {
    if (!err_r) return;
    loop->Unwatch(err_r.get());
    err_r.Reset();
  }
};

}  // namespace

absl::StatusOr<pid_t> RunRuntimeAsync(EventLoop* loop, RuntimeRun run, RuntimeDone done) {
  auto state = std::make_shared<AsyncRun>();
  state->loop = loop;
  UniqueFd err_w;
  if (run.capture_stderr) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus(errno, "pipe2");
    state->err_r.Reset(fds[0]);
    err_w.Reset(fds[1]);
    run.stdio.err = err_w.get();
  }
  ASSIGN_OR_RETURN(state->pid, SpawnChild(run.argv, run.stdio));
  err_w.Reset();
  if (state->err_r) {
    AsyncRun* raw = state.get();
    absl::Status watched = loop->Watch(state->err_r.get(), EPOLLIN, [raw](uint32_t) {
      if (!raw->ReadErr()) raw->CloseErr();
    });
    if (!watched.ok()) state->CloseErr();  // stderr is then only read once it exited
  }
  if (run.timeout != absl::InfiniteDuration()) {
    state->timer = loop->AddTimer(run.timeout, [state, on_timeout = std::move(run.on_timeout)] {
      state->timer = 0;
      state->timed_out = true;
      if (on_timeout) on_timeout();
      ::kill(state->pid, SIGKILL);  // still our unreaped child: the pid cannot be reused
    });
  }
  loop->OnExit(state->pid, [state, done = std::move(done)](int wait_status) {
    if (state->timer != 0) state->loop->CancelTimer(state->timer);
    if (state->err_r) state->ReadErr();
    state->CloseErr();
    RuntimeResult result{.wait_status = wait_status,
                         .timed_out = state->timed_out,
                         .err = std::string(absl::StripAsciiWhitespace(state->err))};
    done(result);
  });
  return state->pid;
}

}  // namespace berth::mon
