#ifndef BERTH_SERVER_SANDBOX_VALIDATE_H_
#define BERTH_SERVER_SANDBOX_VALIDATE_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "cni/attachment.h"
#include "proto/cri/api.pb.h"
#include "server/config.h"

namespace berth {

// How a pod's namespaces are made, from its NamespaceOption.
struct PodNamespaces {
  bool host_network = false;
  bool host_ipc = false;
  bool host_pid = false;
  bool shared_pid = false;  // pid POD: one PID namespace (with an init) for the pod
};

PodNamespaces PodNamespacesOf(const runtime::v1::PodSandboxConfig& config);

// Checks everything about a RunPodSandbox request that can be checked before anything is made:
// metadata, runtime handler, hostname, sysctls, DNS config, port mappings, namespace modes.
// InvalidArgument (or NotFound for an unknown handler) naming what is wrong.
absl::Status ValidatePodConfig(const runtime::v1::PodSandboxConfig& config,
                               const std::string& runtime_handler, const Config& daemon_config);

// The pod's sysctls as a std::map.
std::map<std::string, std::string> PodSysctls(const runtime::v1::PodSandboxConfig& config);

// The CNI request for a pod: port mappings, DNS, bandwidth annotations.
cni::AttachRequest AttachRequestFor(const std::string& id, const std::string& netns,
                                    const runtime::v1::PodSandboxConfig& config);

}  // namespace berth

#endif  // BERTH_SERVER_SANDBOX_VALIDATE_H_
