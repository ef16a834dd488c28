#ifndef BERTH_SANDBOX_SYSCTL_H_
#define BERTH_SANDBOX_SYSCTL_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::sandbox {

// Which of the pod's namespaces are the host's.
struct HostNamespaces {
  bool network = false;
  bool ipc = false;
};

// Checks a pod's sysctls: only namespaced ones (net.*, kernel.shm*, kernel.msg*, kernel.sem,
// fs.mqueue.*); net.* refused with host network, the IPC ones with host IPC; names and values
// must not carry newlines, '=', '+', '..', NULs or other injection (the CVE-2022-0811 class).
// Names may use '.' or '/' as separators. InvalidArgument names the offending sysctl.
absl::Status ValidateSysctls(const std::map<std::string, std::string>& sysctls,
                             HostNamespaces host);

// The path under /proc/sys for a validated name: "net.ipv4.ip_forward" ->
// "net/ipv4/ip_forward"; "net/ipv4/conf/eth0.100/forwarding" keeps its dots.
std::string SysctlRelativePath(absl::string_view name);

}  // namespace berth::sandbox

#endif  // BERTH_SANDBOX_SYSCTL_H_
