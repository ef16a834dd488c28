#ifndef BERTH_CONMON_EXEC_STREAM_H_
#define BERTH_CONMON_EXEC_STREAM_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "conmon/event_loop.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

// What a streaming exec runs.
struct ExecStreamParams {
  RuntimeRef runtime;
  std::string container_id;
  std::vector<std::string> argv;
  // A directory of the container's (its bundle) for runc's pid file and log, removed after.
  std::string work_dir;
  bool tty = false;
  // Not tty: the process's stdio (invalid: /dev/null). Closed once the runtime has its copies.
  UniqueFd in, out, err;
  // How long runc may take to start the process (then it and the process are killed).
  absl::Duration start_timeout = absl::Seconds(60);
};

struct ExecStarted {
  uint64_t exec_id = 0;
  pid_t pid = 0;
  UniqueFd pty_master;  // tty only; the monitor keeps no copy
};

struct ExecExit {
  int exit_code = 0;  // 128+signal when a signal ended it
  int signal = 0;
};

// The streaming execs of one monitor (all its containers): `runc exec --detach`, so that
// runc is gone once the process runs and the process itself is the monitor's child (reaped on
// the loop, no runc left waiting per exec). Exit results are kept until someone waits for
// them, at most kMaxUnwaitedResults (oldest dropped first). Lives on the loop.
class ExecStreams {
 public:
  static constexpr size_t kMaxUnwaitedResults = 128;
  // How long after runc exited its pid file and log are removed.
  static constexpr absl::Duration kRemoveFilesAfter = absl::Milliseconds(20);

  using StartDone = std::function<void(absl::StatusOr<ExecStarted>)>;
  using WaitDone = std::function<void(absl::StatusOr<ExecExit>)>;

  explicit ExecStreams(EventLoop* loop) : loop_(loop) {}
  ~ExecStreams();
  ExecStreams(const ExecStreams&) = delete;
  ExecStreams& operator=(const ExecStreams&) = delete;

  // Starts the process; `done` runs (later, on the loop) once it runs or failed to start.
  // Returns an error (and never calls `done`) when runc cannot be started at all.
  absl::Status Start(ExecStreamParams params, StartDone done);
  // `done` runs with the exit once the process has exited (now, if it has), or with
  // DeadlineExceeded after `timeout` (the result is then kept for a later Wait). NotFound for
  // an unknown id, or one whose result was given out already.
  void Wait(uint64_t exec_id, absl::Duration timeout, WaitDone done);
  // SIGKILL to the process and its process group (runc makes it a session leader). Nothing
  // when it has exited or the id is unknown; while runc still starts it, once it runs.
  void Kill(uint64_t exec_id);

  // Execs known (running, starting, or with a result not yet waited for); for tests.
  size_t size() const { return execs_.size(); }

 private:
  struct Waiter {
    uint64_t id;
    uint64_t timer = 0;
    WaitDone done;
  };
  struct Exec {
    pid_t pid = 0;        // 0 while runc runs
    bool reaped = false;  // the pid is not ours any more: never signal it
    bool kill_requested = false;
    bool abandoned = false;  // its start failed: the result goes when it exits
    bool finished = false;
    ExecExit exit;
    std::vector<Waiter> waiters;
  };

  struct Pending;  // what Start hands to Started
  void Started(uint64_t id, const RuntimeResult& result, Pending& pending);
  void Exited(uint64_t id, int wait_status);
  // Unlinks runc's pid file and log a little later, off the answer's path.
  void RemoveLater(const std::string& pid_file, const std::string& log_file);
  void Signal(Exec& exec);

  EventLoop* loop_;
  uint64_t next_id_ = 1;
  uint64_t next_waiter_ = 1;
  std::map<uint64_t, Exec> execs_;
  std::deque<uint64_t> unwaited_;  // finished, in order, nobody waited yet
  std::shared_ptr<char> life_ = std::make_shared<char>();
};

}  // namespace berth::mon

#endif  // BERTH_CONMON_EXEC_STREAM_H_
