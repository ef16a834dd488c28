#ifndef BERTH_CONMON_NAMESPACES_H_
#define BERTH_CONMON_NAMESPACES_H_

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "proto/monitor.pb.h"

namespace berth::mon {

// A pod's namespaces, pinned by bind mounts at <ns_dir>/<type>/<pod_id>.
struct PodNamespaces {
  std::map<std::string, std::string> pins;  // "net" -> <ns_dir>/net/<pod_id>, ...
  pid_t init_pid = 0;  // the PID namespace's init (our child), 0 without one
};

// Unshares the namespaces `config` asks for in a holder child (hostname, `lo` up and the
// sysctls applied inside them), which starts the PID namespace's init, pins them all and
// exits. The caller
// must be a child subreaper, so that the init becomes its child. On failure nothing is left
// (pins removed, children killed and reaped); the status carries a google.rpc code and names
// what failed (InvalidArgument for a sysctl the kernel refuses).
absl::StatusOr<PodNamespaces> CreatePodNamespaces(const monitor::v1::LaunchConfig& config);

// Kills and reaps the init, removes every pin. Best effort: failures are logged.
void DestroyPodNamespaces(PodNamespaces* namespaces);

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward"; names with a '/' keep their dots.
std::string SysctlPath(const std::string& name);

}  // namespace berth::mon

#endif  // BERTH_CONMON_NAMESPACES_H_
