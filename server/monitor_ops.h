#ifndef BERTH_SERVER_MONITOR_OPS_H_
#define BERTH_SERVER_MONITOR_OPS_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "conmon/client.h"

namespace berth {

// Ends a pod's monitor: asks it to shut down (it unpins the namespaces and kills the PID
// namespace's init); when it does not answer, kills it by pid (after checking the pid is still
// that pod's berth-mon) and cleans up after it: the PID namespace's processes are killed and
// the pins are unmounted and removed. Succeeds when nothing is left.
struct MonitorStopRequest {
  mon::MonitorClient* client = nullptr;  // may be null (not connected)
  int monitor_pid = 0;
  std::string pod_dir;
  std::map<std::string, std::string> namespaces;  // type -> pin path
};
absl::Status StopMonitor(const MonitorStopRequest& request);

// Kills every process in the PID namespace pinned at `pin` (SIGKILL to all of them).
void KillPidNamespace(const std::string& pin);

// Unmounts and removes one namespace pin; fine when it is gone.
absl::Status Unpin(const std::string& pin);

}  // namespace berth

#endif  // BERTH_SERVER_MONITOR_OPS_H_
