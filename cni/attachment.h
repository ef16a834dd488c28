#ifndef BERTH_CNI_ATTACHMENT_H_
#define BERTH_CNI_ATTACHMENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cni/network_config.h"
#include "cni/result.h"

namespace berth::cni {

struct PortMapping {
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol = "tcp";  // "tcp", "udp", "sctp" (lower case, as portmap wants)
  std::string host_ip;           // empty: all
};

// What a pod asks of the network; the runtimeConfig capabilities are passed only to plugins
// that declare them.
struct AttachRequest {
  std::string container_id;  // the sandbox id (CNI_CONTAINERID)
  std::string netns;         // the pinned network namespace path (CNI_NETNS)
  std::string ifname = "eth0";
  std::string pod_name;
  std::string pod_namespace;
  std::string pod_uid;
  std::vector<PortMapping> port_mappings;  // "portMappings"
  // "bandwidth": bits per second, 0 when unset (from the kubernetes.io/ingress-bandwidth and
  // egress-bandwidth pod annotations).
  int64_t ingress_bps = 0;
  int64_t egress_bps = 0;
  // "dns"
  std::vector<std::string> dns_servers;
  std::vector<std::string> dns_searches;
  std::vector<std::string> dns_options;
  // "ipRanges": subnets (e.g. the node's pod CIDR); empty: none passed.
  std::vector<std::string> ip_ranges;
};

struct ExecOptions {
  std::vector<std::string> plugin_dirs;  // CNI_PATH, and where plugins are looked up
  absl::Duration timeout = absl::Seconds(60);  // per plugin call
};

// One pod attached to one network: everything DEL needs, even after a restart or a change of
// the configuration directory. Saved as JSON in the sandbox's directory.
struct Attachment {
  AttachRequest request;
  NetworkConfig network;  // as it was used for ADD (raw kept whole)
  Result result;
};

// CNI ADD of the whole list: each plugin in order with prevResult chaining, the env
// (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH, CNI_ARGS with
// IgnoreUnknown=1;K8S_POD_NAMESPACE;K8S_POD_NAME;K8S_POD_INFRA_CONTAINER_ID;K8S_POD_UID) and the
// stdin config (name, cniVersion, runtimeConfig). When a plugin fails, DEL runs for the list (so
// no IP stays allocated) and the error carries the plugin's code and message.
//
// Plugins are started ahead of their turn where that is safe (plugin_exec.h StartsEarly), so
// that their start-up overlaps the previous plugin's work. With `netns_ready`, the first one is
// started before request.netns exists and is called only once `netns_ready` returns OK; its
// error is returned as it is, before any plugin acted.
absl::StatusOr<Attachment> Add(const NetworkConfig& network, const AttachRequest& request,
                               const ExecOptions& options,
                               const std::function<absl::Status()>& netns_ready = nullptr);

// CNI DEL of the list in reverse order, with the cached result as prevResult. Idempotent: a
// missing netns is passed as empty CNI_NETNS (plugins then only release what they hold).
absl::Status Del(const Attachment& attachment, const ExecOptions& options);

// CNI CHECK (0.4.0+; a no-op for older versions or with disableCheck).
absl::Status Check(const Attachment& attachment, const ExecOptions& options);

// CNI GC (1.1.0 networks that do not disableGC): every plugin gets the attachments that are
// still valid ("cni.dev/valid-attachments": containerID + ifname). Other versions: Unimplemented
// (the caller then runs DEL for each stale attachment it knows of).
absl::Status Gc(const NetworkConfig& network, const std::vector<Attachment>& valid,
                const ExecOptions& options);

// The cache file: Attachment <-> JSON, written atomically (0600) without fsync.
absl::Status SaveAttachment(const std::string& path, const Attachment& attachment);
absl::StatusOr<Attachment> LoadAttachment(const std::string& path);

}  // namespace berth::cni

#endif  // BERTH_CNI_ATTACHMENT_H_
