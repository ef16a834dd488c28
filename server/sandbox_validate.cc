#include "server/sandbox_validate.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "sandbox/pod_files.h"
#include "sandbox/sysctl.h"

namespace berth {
namespace {

using runtime::v1::NamespaceMode;

absl::Status ValidateMetadata(const runtime::v1::PodSandboxConfig& config) {
  if (!config.has_metadata()) return absl::InvalidArgumentError("pod sandbox metadata is missing");
  const runtime::v1::PodSandboxMetadata& metadata = config.metadata();
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"name", &metadata.name()},
                                     {"namespace", &metadata.namespace_()},
                                     {"uid", &metadata.uid()}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("pod sandbox metadata.", field, " is empty"));
    }
    // The name becomes part of file names and CNI_ARGS: no separators, no control bytes.
    for (char c : *value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '/' || c == ';' || c == '=' || c == 0x7f) {
        return absl::InvalidArgumentError(absl::StrCat("pod sandbox metadata.", field, " \"",
                                                       absl::CEscape(*value),
                                                       "\" holds a forbidden character"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePorts(const runtime::v1::PodSandboxConfig& config) {
  for (const runtime::v1::PortMapping& port : config.port_mappings()) {
    if (port.container_port() <= 0 || port.container_port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("port mapping: container port ", port.container_port(), " is out of range"));
    }
    if (port.host_port() < 0 || port.host_port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("port mapping: host port ", port.host_port(), " is out of range"));
    }
    if (port.host_ip().find_first_of("\n\r\t ;") != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("port mapping: host IP \"", absl::CEscape(port.host_ip()), "\" is invalid"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNamespaces(const runtime::v1::PodSandboxConfig& config) {
  const runtime::v1::NamespaceOption& ns = config.linux().security_context().namespace_options();
  if (ns.pid() == runtime::v1::TARGET || ns.network() == runtime::v1::TARGET ||
      ns.ipc() == runtime::v1::TARGET) {
    return absl::InvalidArgumentError("namespace mode TARGET is only for containers, not pods");
  }
  if (ns.network() == runtime::v1::CONTAINER || ns.ipc() == runtime::v1::CONTAINER) {
    return absl::InvalidArgumentError("network and IPC namespace mode CONTAINER is not valid");
  }
  return absl::OkStatus();
}

// Kubernetes bandwidth annotations: "10M", "1G", "500k" (decimal SI), bits per second.
int64_t ParseBandwidth(const std::string& text) {
  if (text.empty()) return 0;
  int64_t multiplier = 1;
  std::string number = text;
  switch (absl::ascii_toupper(text.back())) {
    case 'K': multiplier = 1000; break;
    case 'M': multiplier = 1000 * 1000; break;
    case 'G': multiplier = 1000 * 1000 * 1000; break;
    case 'T': multiplier = int64_t{1000} * 1000 * 1000 * 1000; break;
    default: multiplier = 0; break;
  }
  if (multiplier != 0) {
    number.pop_back();
  } else {
    multiplier = 1;
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(number, &value) || value <= 0) return 0;
  return value * multiplier;
}

std::string LowerProtocol(runtime::v1::Protocol protocol) {
  switch (protocol) {
    case runtime::v1::UDP: return "udp";
    case runtime::v1::SCTP: return "sctp";
    default: return "tcp";
  }
}

}  // namespace

PodNamespaces PodNamespacesOf(const runtime::v1::PodSandboxConfig& config) {
  const runtime::v1::NamespaceOption& ns = config.linux().security_context().namespace_options();
  return PodNamespaces{
      .host_network = ns.network() == runtime::v1::NODE,
      .host_ipc = ns.ipc() == runtime::v1::NODE,
      .host_pid = ns.pid() == runtime::v1::NODE,
      .shared_pid = ns.pid() == runtime::v1::POD,
  };
}

std::map<std::string, std::string> PodSysctls(const runtime::v1::PodSandboxConfig& config) {
  return std::map<std::string, std::string>(config.linux().sysctls().begin(),
                                            config.linux().sysctls().end());
}

absl::Status ValidatePodConfig(const runtime::v1::PodSandboxConfig& config,
                               const std::string& runtime_handler, const Config& daemon_config) {
  RETURN_IF_ERROR(ValidateMetadata(config));
  if (!runtime_handler.empty() && daemon_config.runtimes.count(runtime_handler) == 0) {
    return absl::NotFoundError(
        absl::StrCat("runtime handler \"", runtime_handler, "\" is not configured"));
  }
  RETURN_IF_ERROR(ValidateNamespaces(config));
  PodNamespaces ns = PodNamespacesOf(config);
  if (!ns.host_network && !config.hostname().empty()) {
    RETURN_IF_ERROR(sandbox::ValidateHostname(config.hostname()));
  }
  RETURN_IF_ERROR(sandbox::ValidateSysctls(
      PodSysctls(config), sandbox::HostNamespaces{.network = ns.host_network, .ipc = ns.host_ipc}));
  if (config.has_dns_config()) {
    RETURN_IF_ERROR(sandbox::RenderResolvConf(config.dns_config(), "").status());
  }
  RETURN_IF_ERROR(ValidatePorts(config));
  if (!config.log_directory().empty() && config.log_directory()[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("log_directory \"", config.log_directory(), "\" is not an absolute path"));
  }
  return absl::OkStatus();
}

cni::AttachRequest AttachRequestFor(const std::string& id, const std::string& netns,
                                    const runtime::v1::PodSandboxConfig& config) {
  cni::AttachRequest request;
  request.container_id = id;
  request.netns = netns;
  request.pod_name = config.metadata().name();
  request.pod_namespace = config.metadata().namespace_();
  request.pod_uid = config.metadata().uid();
  for (const runtime::v1::PortMapping& port : config.port_mappings()) {
    if (port.host_port() <= 0) continue;  // only host ports need the portmap plugin
    request.port_mappings.push_back(cni::PortMapping{.host_port = port.host_port(),
                                                     .container_port = port.container_port(),
                                                     .protocol = LowerProtocol(port.protocol()),
                                                     .host_ip = port.host_ip()});
  }
  const auto& annotations = config.annotations();
  if (auto it = annotations.find("kubernetes.io/ingress-bandwidth"); it != annotations.end()) {
    request.ingress_bps = ParseBandwidth(it->second);
  }
  if (auto it = annotations.find("kubernetes.io/egress-bandwidth"); it != annotations.end()) {
    request.egress_bps = ParseBandwidth(it->second);
  }
  if (config.has_dns_config()) {
    const runtime::v1::DNSConfig& dns = config.dns_config();
    request.dns_servers.assign(dns.servers().begin(), dns.servers().end());
    request.dns_searches.assign(dns.searches().begin(), dns.searches().end());
    request.dns_options.assign(dns.options().begin(), dns.options().end());
  }
  return request;
}

}  // namespace berth
