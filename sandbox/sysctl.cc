#include "sandbox/sysctl.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::sandbox {
namespace {

// The longest name Kubernetes accepts, and a value that fits in one page of /proc/sys.
constexpr size_t kMaxNameLength = 253;
constexpr size_t kMaxValueLength = 4095;

enum class SysctlNamespace { kNone, kNet, kIpc };

bool IsSegmentChar(char c) {
  return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-' || c == '_';
}

bool IsSegmentEdge(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }

// Kubernetes' sysctl name grammar: segments of [a-z0-9]([-_a-z0-9]*[a-z0-9])? joined by '.'
// or '/'. This rules out empty segments (so "..", "//", leading or trailing separators) and
// every byte that could smuggle another key=value into a writer of /proc/sys.
bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find_first_of("./", start);
    if (end == absl::string_view::npos) end = name.size();
    absl::string_view segment = name.substr(start, end - start);
    if (segment.empty() || !IsSegmentEdge(segment.front()) || !IsSegmentEdge(segment.back())) {
      return false;
    }
    for (char c : segment) {
      if (!IsSegmentChar(c)) return false;
    }
    start = end + 1;
  }
  return true;
}

// Printable ASCII, spaces and tabs (for multi-number values such as kernel.sem), but no '='
// or '+' that a key=value list (pinns, CVE-2022-0811) would split on.
bool IsValidValue(absl::string_view value) {
  if (value.empty() || value.size() > kMaxValueLength) return false;
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '=' || c == '+') return false;
    if (c == '\t' || c == ' ') continue;
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

std::string SwapSeparators(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.') {
      c = '/';
    } else if (c == '/') {
      c = '.';
    }
  }
  return out;
}

// Whether the first separator is '/' ("net/ipv4/conf/eth0.100/forwarding").
bool IsSlashForm(absl::string_view name) {
  size_t first = name.find_first_of("./");
  return first != absl::string_view::npos && name[first] == '/';
}

// The name with '.' separators ("net/ipv4/conf/eth0.100/forwarding" ->
// "net.ipv4.conf.eth0/100.forwarding"), as Kubernetes classifies them.
std::string DotForm(absl::string_view name) {
  return IsSlashForm(name) ? SwapSeparators(name) : std::string(name);
}

SysctlNamespace NamespaceOf(absl::string_view dotted) {
  if (absl::StartsWith(dotted, "net.")) return SysctlNamespace::kNet;
  if (dotted == "kernel.sem" || absl::StartsWith(dotted, "kernel.shm") ||
      absl::StartsWith(dotted, "kernel.msg") || absl::StartsWith(dotted, "fs.mqueue.")) {
    return SysctlNamespace::kIpc;
  }
  return SysctlNamespace::kNone;
}

absl::Status ValidateOne(const std::string& name, const std::string& value, HostNamespaces host) {
  if (!IsValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid sysctl name \"", absl::CEscape(name), "\""));
  }
  if (!IsValidValue(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value \"", absl::CEscape(value), "\" for sysctl \"", name, "\""));
  }
  switch (NamespaceOf(DotForm(name))) {
    case SysctlNamespace::kNone:
      return absl::InvalidArgumentError(
          absl::StrCat("sysctl \"", name, "\" is not namespaced and cannot be set for a pod"));
    case SysctlNamespace::kNet:
      if (host.network) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sysctl \"", name, "\" cannot be set for a pod that uses the host network"));
      }
      break;
    case SysctlNamespace::kIpc:
      if (host.ipc) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sysctl \"", name, "\" cannot be set for a pod that uses the host IPC namespace"));
      }
      break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSysctls(const std::map<std::string, std::string>& sysctls,
                             HostNamespaces host) {
  for (const auto& [name, value] : sysctls) {
    if (absl::Status status = ValidateOne(name, value, host); !status.ok()) return status;
  }
  return absl::OkStatus();
}

std::string SysctlRelativePath(absl::string_view name) {
  // In dot form a '/' stands for a dot inside a segment ("net.ipv4.conf.eth0/100.forwarding").
  return IsSlashForm(name) ? std::string(name) : SwapSeparators(name);
}

}  // namespace berth::sandbox
