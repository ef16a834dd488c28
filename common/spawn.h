#ifndef BERTH_COMMON_SPAWN_H_
#define BERTH_COMMON_SPAWN_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace berth {

// What to run. argv[0] is an absolute path or a name looked up in PATH (before the fork).
struct SpawnOptions {
  std::vector<std::string> argv;
  // The child's whole environment; unset means the caller's.
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  // Written to the child's stdin, which is then closed. Empty: stdin is /dev/null.
  std::string stdin_data;
  // After this the child is killed (SIGKILL) and the result says timed_out.
  absl::Duration timeout = absl::InfiniteDuration();
  // Each captured stream keeps at most this many bytes; the rest is read and dropped.
  size_t max_output = 16 << 20;
};

struct SpawnResult {
  int exit_code = -1;  // valid when signal == 0 and !timed_out
  int signal = 0;      // the signal that ended the child, if one did
  bool timed_out = false;
  bool output_truncated = false;
  std::string out;
  std::string err;

  bool success() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit code 3", "killed by signal 9", "timed out"; with stderr's tail when there is one.
  std::string Describe() const;
};

// Runs a program to completion, capturing stdout and stderr. Fails only when the program
// cannot be started; a non-zero exit is a SpawnResult. The child side of the fork only makes
// async-signal-safe calls. The process ignores SIGPIPE from the first call on.
absl::StatusOr<SpawnResult> RunCommand(const SpawnOptions& options);

// RunCommand in two steps: Start execs the program with its stdin left open, so that its
// start-up (exec, a language runtime's initialization) overlaps whatever decides its input;
// Finish writes the input, closes stdin and runs it to completion as RunCommand does
// (options.timeout counts from Finish). A program that acts before reading its stdin gains
// nothing from this and must not be started early. Destroying an unfinished one kills and
// reaps it.
class PendingCommand {
 public:
  // `options.stdin_data` is ignored: Finish gives the input.
  static absl::StatusOr<PendingCommand> Start(const SpawnOptions& options);

  PendingCommand(PendingCommand&& other) noexcept;
  PendingCommand& operator=(PendingCommand&& other) noexcept;
  PendingCommand(const PendingCommand&) = delete;
  PendingCommand& operator=(const PendingCommand&) = delete;
  ~PendingCommand();

  // Once only.
  absl::StatusOr<SpawnResult> Finish(absl::string_view stdin_data);

 private:
  PendingCommand() = default;
  void Kill();

  pid_t pid_ = -1;  // ours until reaped
  UniqueFd pidfd_;
  UniqueFd in_, out_, err_;
  absl::Duration timeout_ = absl::InfiniteDuration();
  size_t max_output_ = 0;
};

// How to start a long-running child.
struct StartOptions {
  std::vector<std::string> argv;
  std::optional<std::vector<std::string>> env;
  std::string cwd;
  // Files that receive the child's stdout and stderr (appended); empty means /dev/null.
  std::string stdout_path;
  std::string stderr_path;
  // Puts the child in a session of its own (setsid), so terminal signals do not reach it.
  bool new_session = false;
  // When >= 0, the child's stdin / stdout / stderr instead of /dev/null and the paths above
  // (the caller keeps its fd).
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // The child gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), or at once
  // when this process died before the child could ask for that.
  bool kill_with_parent = false;
};

// A child process that this process started and still owns. Destroying a Process that is
// still running kills it with SIGKILL and reaps it.
class Process {
 public:
  static absl::StatusOr<Process> Start(const StartOptions& options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }

  // Sends `sig` to the child (never to anything else: the pid is still ours until reaped).
  absl::Status Signal(int sig);
  // Waits for the child to exit. Returns its wait status (as from waitpid), or
  // DeadlineExceeded when it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::InfiniteDuration());
  // SIGTERM, then SIGKILL after `grace`; returns the wait status.
  absl::StatusOr<int> Stop(absl::Duration grace);

 private:
  Process(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  void Close();

  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
};

// The absolute path of `name` found in PATH (or `name` itself when it has a slash).
absl::StatusOr<std::string> FindExecutable(const std::string& name);

}  // namespace berth

#endif  // BERTH_COMMON_SPAWN_H_
