#ifndef BERTH_CONMON_EXEC_SYNC_H_
#define BERTH_CONMON_EXEC_SYNC_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "conmon/exec_stream.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

struct ExecSyncParams {
  RuntimeRef runtime;
  std::string container_id;
  std::vector<std::string> argv;
  // The container's bundle: runc's pid file and log for the exec live there meanwhile.
  std::string work_dir;
  // From the request's arrival: starting the process counts against it.
  absl::Duration timeout = absl::InfiniteDuration();
  // The caller's stdout and stderr write ends; closed here once the runtime has its copies.
  UniqueFd out;
  UniqueFd err;
};

struct ExecSyncExit {
  int exit_code = 0;  // 128+signal when a signal ended it; -1 with timed_out
  bool timed_out = false;
};

// An error when the process could not be started (runc's own message); else its exit.
using ExecSyncDone = std::function<void(absl::StatusOr<ExecSyncExit>)>;

// ExecSync on the streaming-exec path: `runc exec --detach` with stdin /dev/null, so runc is
// gone once the process runs and the monitor reaps the process itself (cheaper than a runc
// that waits in the foreground). At the timeout the process and its process group get
// SIGKILL and `done` says timed_out at once; the late exit is discarded. Returns an error
// (and never calls `done`) when runc cannot be started at all.
absl::Status StartExecSync(ExecStreams& execs, ExecSyncParams params, ExecSyncDone done);

}  // namespace berth::mon

#endif  // BERTH_CONMON_EXEC_SYNC_H_
