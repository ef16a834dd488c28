#ifndef BERTH_CONMON_DAEMONIZE_H_
#define BERTH_CONMON_DAEMONIZE_H_

#include "absl/status/status.h"

namespace berth::mon {

// Detaches berth-mon from berthd: fork (the parent, berthd's child, exits at once), setsid,
// fork again (the session leader exits), then become a child subreaper, chdir("/") and point
// stdin/stdout/stderr at /dev/null. Returns in the grandchild only; other fds stay open.
absl::Status Daemonize();

// Writes `adj` to /proc/self/oom_score_adj. PermissionDenied when the host refuses.
absl::Status SetOomScoreAdj(int adj);

}  // namespace berth::mon

#endif  // BERTH_CONMON_DAEMONIZE_H_
