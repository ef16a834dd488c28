#ifndef BERTH_CONMON_EXEC_SYNC_H_
#define BERTH_CONMON_EXEC_SYNC_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "conmon/event_loop.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

struct ExecSyncParams {
  RuntimeRef runtime;
  std::string container_id;
  std::vector<std::string> argv;
  // Where `runc exec --pid-file` writes the exec'd process's pid; removed afterwards.
  std::string pid_file;
  absl::Duration timeout = absl::InfiniteDuration();
  // The caller's stdout and stderr write ends; closed here once the runtime has its copies.
  UniqueFd out;
  UniqueFd err;
};

// exit_code: the process's (128+signal when a signal ended it); -1 with timed_out.
using ExecSyncDone = std::function<void(int exit_code, bool timed_out)>;

// `runc exec` of `params.argv` with stdin /dev/null. At the timeout the exec'd process (by the
// pid runc wrote) and runc are killed with SIGKILL and `done` says timed_out once runc is
// reaped. Returns an error (and never calls `done`) when runc cannot be started.
absl::Status StartExecSync(EventLoop* loop, ExecSyncParams params, ExecSyncDone done);

}  // namespace berth::mon

#endif  // BERTH_CONMON_EXEC_SYNC_H_
