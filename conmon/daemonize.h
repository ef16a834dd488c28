#ifndef BERTH_CONMON_DAEMONIZE_H_
#define BERTH_CONMON_DAEMONIZE_H_

#include "absl/status/status.h"

namespace berth::mon {

// Detaches berth-mon from berthd: setsid, then fork (the parent, berthd's child and the
// session leader, exits at once), so the monitor is neither berthd's child nor able to get a
// controlling terminal; then become a child subreaper, chdir("/") and point
// stdin/stdout/stderr at /dev/null. A process group leader (started from a shell) cannot
// setsid, so it forks once more first. Returns in the last child only; other fds stay open.
absl::Status Daemonize();

// Writes `adj` to /proc/self/oom_score_adj. PermissionDenied when the host refuses.
absl::Status SetOomScoreAdj(int adj);

}  // namespace berth::mon

#endif  // BERTH_CONMON_DAEMONIZE_H_
