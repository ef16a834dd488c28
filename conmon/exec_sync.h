#ifndef BERTH_CONMON_EXEC_SYNC_H_
#define BERTH_CONMON_EXEC_SYNC_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "conmon/exec_stream.h"

namespace berth::mon {

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
// (and never calls `done`) when runc cannot be started at all. `timeout` counts from now:
// starting the process counts against it.
absl::Status StartExecSync(ExecStreams& execs, ExecStreamParams params, absl::Duration timeout,
                           ExecSyncDone done);

}  // namespace berth::mon

#endif  // BERTH_CONMON_EXEC_SYNC_H_
