#include "cni/result.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::cni {
namespace {

using nlohmann::json;

// The result versions whose "ips" entries carry a "version" field ("4" or "6").
bool HasIpVersionField(absl::string_view version) {
  return version == "0.3.0" || version == "0.3.1" || version == "0.4.0";
}

bool IsKnownResultVersion(absl::string_view version) {
  return HasIpVersionField(version) || version == "1.0.0" || version == "1.1.0";
}

// The address family of a plain IP literal: 4, 6, or 0 when it is not one.
int AddressFamily(const std::string& ip) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) return 4;
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) return 6;
  return 0;
}

// Checks a CIDR such as "10.0.0.5/24" and returns its family (4 or 6).
absl::StatusOr<int> CidrFamily(const std::string& cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", cidr, "\" has no prefix length"));
  }
  int family = AddressFamily(cidr.substr(0, slash));
  if (family == 0) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", cidr, "\" is not an IP address"));
  }
  absl::string_view prefix_text = absl::string_view(cidr).substr(slash + 1);
  uint32_t prefix = 0;
  bool digits = !prefix_text.empty() && prefix_text.size() <= 3 &&
                std::all_of(prefix_text.begin(), prefix_text.end(), absl::ascii_isdigit);
  if (!digits || !absl::SimpleAtoi(prefix_text, &prefix) || prefix > (family == 4 ? 32u : 128u)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", cidr, "\" has an invalid prefix length"));
  }
  return family;
}

absl::StatusOr<std::string> OptionalString(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is not a string"));
  }
  return it->get<std::string>();
}

// One entry of "ips". `interfaces` is the size of the "interfaces" array.
absl::StatusOr<IpConfig> ParseIpConfig(const json& entry, absl::string_view version,
                                       size_t interfaces) {
  if (!entry.is_object()) return absl::InvalidArgumentError("an entry is not an object");
  IpConfig ip;
  ASSIGN_OR_RETURN(ip.address, OptionalString(entry, "address"));
  if (ip.address.empty()) return absl::InvalidArgumentError("an entry has no \"address\"");
  ASSIGN_OR_RETURN(int family, CidrFamily(ip.address));
  ip.ipv6 = family == 6;
  ASSIGN_OR_RETURN(ip.gateway, OptionalString(entry, "gateway"));
  if (!ip.gateway.empty() && AddressFamily(ip.gateway) != family) {
    return absl::InvalidArgumentError(absl::StrCat("gateway \"", ip.gateway, "\" of ", ip.address,
                                                   " is not an address of the same family"));
  }
  if (HasIpVersionField(version)) {
    ASSIGN_OR_RETURN(std::string ip_version, OptionalString(entry, "version"));
    if (!ip_version.empty() && ip_version != absl::StrCat(family)) {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", ip.address, " has \"version\": \"", ip_version, "\""));
    }
  }
  if (auto it = entry.find("interface"); it != entry.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 ||
        static_cast<size_t>(it->get<int64_t>()) >= interfaces) {
      return absl::InvalidArgumentError(
          absl::StrCat("address ", ip.address, " names no entry of \"interfaces\""));
    }
    ip.interface = static_cast<int>(it->get<int64_t>());
  }
  return ip;
}

absl::Status ParseIps(const json& doc, Result& result) {
  size_t interfaces = 0;
  if (auto it = doc.find("interfaces"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return absl::InvalidArgumentError("\"interfaces\" is not an array");
    interfaces = it->size();
  }
  auto it = doc.find("ips");
  if (it == doc.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return absl::InvalidArgumentError("\"ips\" is not an array");
  for (const json& entry : *it) {
    absl::StatusOr<IpConfig> ip = ParseIpConfig(entry, result.cni_version, interfaces);
    if (!ip.ok()) return Annotate(ip.status(), "\"ips\"");
    result.ips.push_back(*std::move(ip));
  }
  return absl::OkStatus();
}

}  // namespace

std::string IpConfig::ip() const { return address.substr(0, address.find('/')); }

std::vector<std::string> Result::PodIps() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (bool want_v6 : {false, true}) {
    for (const IpConfig& config : ips) {
      if (config.ipv6 != want_v6) continue;
      std::string ip = config.ip();
      if (seen.insert(ip).second) out.push_back(std::move(ip));
    }
  }
  return out;
}

absl::StatusOr<Result> ParseResult(absl::string_view text) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("CNI result: invalid JSON");
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("CNI result: a JSON ", doc.type_name(), ", not an object"));
  }
  Result result;
  absl::StatusOr<std::string> version = OptionalString(doc, "cniVersion");
  if (!version.ok()) return Annotate(version.status(), "CNI result");
  result.cni_version = *std::move(version);
  if (result.cni_version.empty()) return absl::InvalidArgumentError("CNI result: no cniVersion");
  if (!IsKnownResultVersion(result.cni_version)) {
    return absl::InvalidArgumentError(
        absl::StrCat("CNI result: unsupported cniVersion \"", result.cni_version, "\""));
  }
  RETURN_IF_ERROR(Annotate(ParseIps(doc, result), "CNI result"));
  result.raw = std::move(doc);
  return result;
}

}  // namespace berth::cni
