#ifndef BERTH_CNI_RESULT_H_
#define BERTH_CNI_RESULT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth::cni {

// One address of a result ("ips" in 0.3.0+/1.x; "ip4"/"ip6" in 0.1/0.2 are refused).
struct IpConfig {
  std::string address;  // CIDR, e.g. "10.85.0.5/16"
  std::string gateway;  // may be empty
  int interface = -1;   // index into interfaces, -1 when absent
  bool ipv6 = false;
  std::string ip() const;  // address without the prefix length
};

struct Result {
  std::string cni_version;
  std::vector<IpConfig> ips;
  nlohmann::json raw;  // the whole result, for prevResult chaining and the cache

  // The pod's IPs as PodSandboxStatus.network wants them: IPv4 first, then IPv6, without
  // prefix lengths, without duplicates. Addresses on an interface of another sandbox (a
  // "sandbox" field that is not ours) are still reported: the plugins only return ours.
  std::vector<std::string> PodIps() const;
};

// Parses a plugin's ADD output for spec versions 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0.
// InvalidArgument names what is malformed.
absl::StatusOr<Result> ParseResult(absl::string_view text);

}  // namespace berth::cni

#endif  // BERTH_CNI_RESULT_H_
