#ifndef BERTH_CONMON_RUNTIME_CMD_H_
#define BERTH_CONMON_RUNTIME_CMD_H_

// Running the OCI runtime (runc) from berth-mon's loop: argv for each verb, fork/exec with
// chosen stdio, and an asynchronous run with a timeout whose result comes back on the loop.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "conmon/event_loop.h"

namespace berth::mon {

// Which runtime binary and state root.
struct RuntimeRef {
  std::string path;
  std::string root;
};

// `<runtime> --root <root> create --bundle B --pid-file P [--console-socket S] <id>`.
std::vector<std::string> RuntimeCreateArgv(const RuntimeRef& runtime, const std::string& id,
                                           const std::string& bundle, const std::string& pid_file,
                                           const std::string& console_socket);
std::vector<std::string> RuntimeStartArgv(const RuntimeRef& runtime, const std::string& id);
// `delete --force <id>`.
std::vector<std::string> RuntimeDeleteArgv(const RuntimeRef& runtime, const std::string& id);

// How a streaming exec runs: `[--log L] exec --detach --pid-file P [--tty --console-socket S]
// [--env E]... <id> <argv...>`. Detached: runc exits once the process runs, and the process
// is reparented to berth-mon (a subreaper).
struct RuntimeExecOptions {
  std::string pid_file;
  std::string log_file;        // runc's own log (its errors); empty: none
  std::string console_socket;  // tty: where runc sends the pty master; empty: no tty
  std::vector<std::string> env;
};
std::vector<std::string> RuntimeExecDetachedArgv(const RuntimeRef& runtime, const std::string& id,
                                                 const RuntimeExecOptions& options,
                                                 const std::vector<std::string>& argv);

// A child's stdio: each fd is dup2'ed onto 0, 1, 2; -1 means /dev/null.
struct ChildStdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

// From now on a child whose argv[0] is `path` is executed from `fd` (a sealed copy of that
// binary, common/sealed_copy.h; close-on-exec, kept open by the caller) instead of the file.
// Call before the loop runs: not thread-safe.
void UseRuntimeImage(const std::string& path, int fd);

// Starts `argv` (argv[0] absolute) with `stdio`, with vfork semantics (nothing copied; returns
// once the child exec'd); every other fd is closed in the child, its signal mask and
// dispositions are reset. Only async-signal-safe calls in the child before the exec.
// Returns the child's pid; the caller reaps it (EventLoop::OnExit).
absl::StatusOr<pid_t> SpawnChild(const std::vector<std::string>& argv, const ChildStdio& stdio);

// How an asynchronous runtime run ended.
struct RuntimeResult {
  int wait_status = 0;
  bool timed_out = false;
  std::string err;  // its stderr (when captured), trimmed

  bool success() const;
  // "runc start failed: exit code 1: <stderr>".
  std::string Describe(const std::string& what) const;
};

struct RuntimeRun {
  std::vector<std::string> argv;
  ChildStdio stdio;              // err is ignored when capture_stderr
  bool capture_stderr = true;    // through a pipe read on the loop (64 KiB kept)
  absl::Duration timeout = absl::Seconds(60);  // then SIGKILL, and timed_out
  // Runs at the timeout, just before the runtime is killed.
  std::function<void()> on_timeout;
};

using RuntimeDone = std::function<void(const RuntimeResult&)>;

// Starts `run` and calls `done` on the loop once the process has been reaped. Returns the
// pid, or an error (then `done` is never called).
absl::StatusOr<pid_t> RunRuntimeAsync(EventLoop* loop, RuntimeRun run, RuntimeDone done);

}  // namespace berth::mon

#endif  // BERTH_CONMON_RUNTIME_CMD_H_
