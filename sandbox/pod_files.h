#ifndef BERTH_SANDBOX_POD_FILES_H_
#define BERTH_SANDBOX_POD_FILES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/cri/api.pb.h"

namespace berth::sandbox {

// A hostname as RFC 1123 allows (what the kubelet sends): InvalidArgument otherwise, and for
// newlines or any byte that could inject a line into /etc/hosts.
absl::Status ValidateHostname(const std::string& hostname);

// /etc/resolv.conf for a pod: from `dns` when it has servers, searches or options (each
// checked: no whitespace inside a server or search, no newline anywhere, at most 6 searches as
// glibc reads them... InvalidArgument names the bad value), else `host_resolv_conf` unchanged.
absl::StatusOr<std::string> RenderResolvConf(const runtime::v1::DNSConfig& dns,
                                             const std::string& host_resolv_conf);

// /etc/hosts: localhost lines (IPv4 and IPv6), then "<ip>\t<hostname>" for each pod IP (none
// for a host-network pod, which gets the host's /etc/hosts instead: see WritePodFiles).
absl::StatusOr<std::string> RenderHosts(const std::string& hostname,
                                        const std::vector<std::string>& ips);

struct PodFilesOptions {
  // Where to write: <dir>/hostname, <dir>/hosts, <dir>/resolv.conf (created 0644, atomically).
  std::string dir;
  std::string hostname;
  std::vector<std::string> ips;
  const runtime::v1::DNSConfig* dns = nullptr;  // may be null
  bool host_network = false;
  // The host's files, read when needed (tests point them elsewhere).
  std::string host_resolv_conf_path = "/etc/resolv.conf";
  std::string host_hosts_path = "/etc/hosts";
};

// Writes the three files. A host-network pod gets copies of the host's hosts file.
absl::Status WritePodFiles(const PodFilesOptions& options);

}  // namespace berth::sandbox

#endif  // BERTH_SANDBOX_POD_FILES_H_
