#ifndef BERTH_CONMON_NAMESPACES_H_
#define BERTH_CONMON_NAMESPACES_H_

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "proto/monitor.pb.h"

namespace berth::mon {

// A pod's namespaces, pinned by bind mounts at <ns_dir>/<type>/<pod_id>.
struct PodNamespaces {
  std::map<std::string, std::string> pins;  // "net" -> <ns_dir>/net/<pod_id>, ...
  pid_t init_pid = 0;  // the PID namespace's init (our child), 0 without one
};

// The holder process once the namespaces are pinned: it still brings `lo` up, then stays as the
// PID namespace's init or exits. FinishPodNamespaces waits for that.
struct NamespaceHolder {
  pid_t pid = 0;
  bool is_init = false;
  UniqueFd report;
};

// Clones a holder into the namespaces `config` asks for, which sets the hostname, applies the
// sysctls inside them, pins them all and reports; with a new PID namespace it is that
// namespace's init. The caller must be a child subreaper. Returns once the pins are in place,
// with `holder` still bringing `lo` up. On failure nothing is left (pins removed, the holder
// killed and reaped); the status carries a google.rpc code and names what failed
// (InvalidArgument for a sysctl the kernel refuses).
absl::StatusOr<PodNamespaces> CreatePodNamespaces(const monitor::v1::LaunchConfig& config,
                                                  NamespaceHolder* holder);

// Waits for the holder's last report (`lo` up) and reaps it unless it is the init. On failure
// the caller tears the namespaces down (DestroyPodNamespaces).
absl::Status FinishPodNamespaces(NamespaceHolder* holder);

// Kills and reaps the init, removes every pin. Best effort: failures are logged.
void DestroyPodNamespaces(PodNamespaces* namespaces);

// "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward"; names with a '/' keep their dots.
std::string SysctlPath(const std::string& name);

}  // namespace berth::mon

#endif  // BERTH_CONMON_NAMESPACES_H_
