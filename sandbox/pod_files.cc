#include "sandbox/pod_files.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::sandbox {
namespace {

constexpr size_t kMaxHostnameLength = 253;
constexpr size_t kMaxLabelLength = 63;
// glibc before 2.26 reads at most six search domains.
constexpr int kMaxSearches = 6;

bool IsIpAddress(const std::string& text) {
  unsigned char buf[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// One resolv.conf word: printable ASCII without whitespace, so it cannot end its line or start
// another directive.
bool IsWord(const std::string& text) {
  if (text.empty()) return false;
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

absl::Status BadDns(absl::string_view what, const std::string& value) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid DNS ", what, " \"", absl::CEscape(value), "\""));
}

absl::Status ValidateDns(const runtime::v1::DNSConfig& dns) {
  for (const std::string& server : dns.servers()) {
    if (!IsIpAddress(server)) return BadDns("server", server);
  }
  if (dns.searches_size() > kMaxSearches) {
    return absl::InvalidArgumentError(absl::StrCat("too many DNS searches: ", dns.searches_size(),
                                                   " (at most ", kMaxSearches, ")"));
  }
  for (const std::string& search : dns.searches()) {
    if (!IsWord(search)) return BadDns("search", search);
  }
  for (const std::string& option : dns.options()) {
    if (!IsWord(option)) return BadDns("option", option);
  }
  return absl::OkStatus();
}

bool HasDns(const runtime::v1::DNSConfig* dns) {
  return dns != nullptr &&
         (dns->servers_size() > 0 || dns->searches_size() > 0 || dns->options_size() > 0);
}

// The host's file, or empty when it has none.
absl::StatusOr<std::string> ReadHostFile(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (absl::IsNotFound(data.status())) return std::string();
  if (!data.ok()) return Annotate(data.status(), absl::StrCat("reading the host's ", path));
  return data;
}

absl::Status WriteOne(const std::string& dir, absl::string_view name, absl::string_view data) {
  std::string path = absl::StrCat(dir, "/", name);
  // Under the runroot: gone with a reboot, so never worth an fsync.
  return Annotate(WriteFileAtomic(path, data, 0644, Durability::kVolatile),
                  absl::StrCat("writing ", path));
}

}  // namespace

absl::Status ValidateHostname(const std::string& hostname) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid hostname \"", absl::CEscape(hostname), "\": ", why));
  };
  if (hostname.empty()) return bad("empty");
  if (hostname.size() > kMaxHostnameLength) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= hostname.size()) {
    size_t end = hostname.find('.', start);
    if (end == std::string::npos) end = hostname.size();
    absl::string_view label(hostname.data() + start, end - start);
    if (label.empty()) return bad("empty label");
    if (label.size() > kMaxLabelLength) return bad("label longer than 63 characters");
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-') return bad("only letters, digits, '-' and '.'");
    }
    if (label.front() == '-' || label.back() == '-') return bad("label starts or ends with '-'");
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderResolvConf(const runtime::v1::DNSConfig& dns,
                                             const std::string& host_resolv_conf) {
  if (!HasDns(&dns)) return host_resolv_conf;
  RETURN_IF_ERROR(ValidateDns(dns));
  std::string out;
  if (dns.searches_size() > 0)
    absl::StrAppend(&out, "search ", absl::StrJoin(dns.searches(), " "), "\n");
  for (const std::string& server : dns.servers())
    absl::StrAppend(&out, "nameserver ", server, "\n");
  if (dns.options_size() > 0)
    absl::StrAppend(&out, "options ", absl::StrJoin(dns.options(), " "), "\n");
  return out;
}

absl::StatusOr<std::string> RenderHosts(const std::string& hostname,
                                        const std::vector<std::string>& ips) {
  RETURN_IF_ERROR(ValidateHostname(hostname));
  std::string out =
      "# Kubernetes-managed hosts file.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  for (const std::string& ip : ips) {
    if (!IsIpAddress(ip)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid pod IP \"", absl::CEscape(ip), "\" for /etc/hosts"));
    }
    absl::StrAppend(&out, ip, "\t", hostname, "\n");
  }
  return out;
}

absl::Status WritePodFiles(const PodFilesOptions& options) {
  RETURN_IF_ERROR(ValidateHostname(options.hostname));
  std::string hosts;
  if (options.host_network) {
    ASSIGN_OR_RETURN(hosts, ReadHostFile(options.host_hosts_path));
  } else {
    ASSIGN_OR_RETURN(hosts, RenderHosts(options.hostname, options.ips));
  }
  std::string resolv;
  if (HasDns(options.dns)) {
    ASSIGN_OR_RETURN(resolv, RenderResolvConf(*options.dns, ""));
  } else {
    ASSIGN_OR_RETURN(resolv, ReadHostFile(options.host_resolv_conf_path));
  }
  RETURN_IF_ERROR(WriteOne(options.dir, "hostname", absl::StrCat(options.hostname, "\n")));
  RETURN_IF_ERROR(WriteOne(options.dir, "hosts", hosts));
  RETURN_IF_ERROR(WriteOne(options.dir, "resolv.conf", resolv));
  return absl::OkStatus();
}

}  // namespace berth::sandbox
