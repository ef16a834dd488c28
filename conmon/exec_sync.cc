#include "conmon/exec_sync.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/files.h"

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

}  // namespace

absl::Status StartExecSync(EventLoop* loop, ExecSyncParams params, ExecSyncDone done) {
  RuntimeRun run{
      .argv = RuntimeExecArgv(params.runtime, params.container_id, params.pid_file, params.argv),
      .stdio = {.in = -1, .out = params.out.get(), .err = params.err.get()},
      .capture_stderr = false,
      .timeout = params.timeout,
  };
  std::string pid_file = params.pid_file;
  run.on_timeout = [pid_file] {
    // runc exec (a subreaper while it waits) still holds the exec'd process: signalling it by
    // pid before runc is killed reaches that process, or its unreaped zombie.
    pid_t pid = ReadPidFile(pid_file);
    if (pid > 0) ::kill(pid, SIGKILL);
  };
  absl::StatusOr<pid_t> pid =
      RunRuntimeAsync(loop, std::move(run), [pid_file, done = std::move(done)](
                                                const RuntimeResult& result) {
        ::unlink(pid_file.c_str());
        if (result.timed_out) {
          done(-1, true);
        } else if (WIFSIGNALED(result.wait_status)) {
          done(128 + WTERMSIG(result.wait_status), false);
        } else {
          done(WEXITSTATUS(result.wait_status), false);
        }
      });
  // Our copies go either way, so that the caller sees EOF when the process ends.
  params.out.Reset();
  params.err.Reset();
  return pid.status();
}

}  // namespace berth::mon
