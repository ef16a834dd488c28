#include "server/config_schema.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace berth::config_internal {
namespace {

const std::array<KeySpec, 24> kKeys = {{
    {"berth", "root", "Persistent state: images, layers, container and pod records.", &Config::root,
     Rule::kAbsolutePath},
    {"berth", "runroot", "Volatile state (a tmpfs): the socket, namespaces, runc state.",
     &Config::runroot, Rule::kAbsolutePath},
    {"berth", "log_level", "trace, debug, info, warn, error, fatal or off.", &Config::log_level,
     Rule::kLogLevel},
    {"berth.api", "listen", "The CRI gRPC unix socket (mode 0660). Empty: <runroot>/berth.sock.",
     &Config::listen, Rule::kAbsolutePathOrEmpty},
    {"berth.api", "stream_address", "Address of the streaming server (exec, attach, port-forward).",
     &Config::stream_address, Rule::kHost},
    {"berth.api", "stream_port", "Port of the streaming server; 0 picks a free port.",
     &Config::stream_port, Rule::kPortOrZero},
    {"berth.api", "stream_tls_cert",
     "PEM certificate (chain) of the streaming server; with stream_tls_key it serves HTTPS.",
     &Config::stream_tls_cert, Rule::kAbsolutePathOrEmpty},
    {"berth.api", "stream_tls_key", "PEM private key of stream_tls_cert.", &Config::stream_tls_key,
     Rule::kAbsolutePathOrEmpty},
    {"berth.api", "stream_idle_timeout",
     "A streaming session with no traffic for this long is closed (\"4h\", \"30m\").",
     &Config::stream_idle_timeout, Rule::kDuration},
    {"berth.api", "stream_max_sessions", "Streaming sessions served at once (1-4096).",
     &Config::stream_max_sessions, Rule::kSessions},
    {"berth.runtime", "default_runtime", "The runtime handler used when a pod names none.",
     &Config::default_runtime, Rule::kNone},
    {"berth.runtime", "cgroup_manager", "cgroupfs, or systemd where systemd is the init.",
     &Config::cgroup_manager, Rule::kCgroupManager},
    {"berth.runtime", "monitor_path",
     "The pod monitor binary (berth-mon); empty: beside berthd, else looked up in PATH.",
     &Config::monitor_path, Rule::kAbsolutePathOrEmpty},
    {"berth.image", "registries_conf", "containers-registries.conf(5): mirrors, short names.",
     &Config::registries_conf, Rule::kAbsolutePathOrEmpty},
    {"berth.image", "registries_conf_dir", "Drop-ins for registries_conf, read in lexical order.",
     &Config::registries_conf_dir, Rule::kAbsolutePathOrEmpty},
    {"berth.image", "global_auth_file",
     "Registry credentials (containers-auth.json) used when a pull brings none.",
     &Config::global_auth_file, Rule::kAbsolutePathOrEmpty},
    {"berth.image", "registry_certs_dir",
     "Per-registry TLS, as containers-certs.d(5): <dir>/<host[:port]>/*.crt are CAs trusted "
     "beside the system ones, <name>.cert + <name>.key a client certificate. Empty: system CAs "
     "only.",
     &Config::registry_certs_dir, Rule::kAbsolutePathOrEmpty},
    {"berth.image", "pinned_images", "Images never removed by garbage collection.",
     &Config::pinned_images, Rule::kImageList},
    {"berth.image", "max_parallel_downloads", "Layers of one image downloaded at once (1-64).",
     &Config::max_parallel_downloads, Rule::kParallelism},
    {"berth.network", "network_dir", "CNI network configurations; the first valid one is used.",
     &Config::network_dir, Rule::kAbsolutePath},
    {"berth.network", "plugin_dirs", "Where CNI plugin binaries are looked up, in order.",
     &Config::plugin_dirs, Rule::kAbsolutePathList},
    {"berth.metrics", "enable_metrics", "Serve Prometheus metrics over HTTP.",
     &Config::enable_metrics, Rule::kNone},
    {"berth.metrics", "metrics_host", "Address the metrics server listens on.",
     &Config::metrics_host, Rule::kHost},
    {"berth.metrics", "metrics_port", "Port the metrics server listens on.", &Config::metrics_port,
     Rule::kPort},
}};

const std::array<HandlerKeySpec, 3> kHandlerKeys = {{
    {"runtime_path", "The runtime binary; empty: the handler's name looked up in PATH.",
     &RuntimeHandler::runtime_path, Rule::kAbsolutePathOrEmpty},
    {"runtime_root", "The runtime's private state root; empty: <runroot>/<name>.",
     &RuntimeHandler::runtime_root, Rule::kAbsolutePathOrEmpty},
    {"runtime_type", "How the runtime is driven; \"oci\" (runc's command line).",
     &RuntimeHandler::runtime_type, Rule::kRuntimeType},
}};

const std::array<const char*, 6> kTables = {"berth",       "berth.api",     "berth.runtime",
                                            "berth.image", "berth.network", "berth.metrics"};

absl::Status CheckAbsolutePath(const std::string& value) {
  if (value.empty() || value[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is not an absolute path"));
  }
  for (absl::string_view part : absl::StrSplit(value, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" contains \"..\""));
    }
  }
  if (value.find('\0') != std::string::npos || value.size() > 4096) {
    return absl::InvalidArgumentError("path is not usable");
  }
  return absl::OkStatus();
}

}  // namespace

std::span<const KeySpec> Keys() { return kKeys; }

std::span<const HandlerKeySpec> HandlerKeys() { return kHandlerKeys; }

std::span<const char* const> Tables() { return kTables; }

absl::Status CheckString(Rule rule, const std::string& value) {
  switch (rule) {
    case Rule::kAbsolutePath:
      return CheckAbsolutePath(value);
    case Rule::kAbsolutePathOrEmpty:
      return value.empty() ? absl::OkStatus() : CheckAbsolutePath(value);
    case Rule::kLogLevel:
      if (IsValidLogLevel(value)) return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", value, "\" is not one of trace, debug, info, warn, error, fatal, off"));
    case Rule::kCgroupManager:
      if (value == "cgroupfs" || value == "systemd") return absl::OkStatus();
      return absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\" is not \"cgroupfs\" or \"systemd\""));
    case Rule::kRuntimeType:
      if (value == "oci") return absl::OkStatus();
      return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is not supported (\"oci\")"));
    case Rule::kDuration: {
      absl::Duration duration;
      if (absl::ParseDuration(value, &duration) && duration > absl::ZeroDuration()) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\" is not a positive duration (\"4h\", \"90s\")"));
    }
    case Rule::kHost:
      if (!value.empty() && value.find_first_of(" \t\r\n/") == std::string::npos) {
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is not a host address"));
    default:
      return absl::OkStatus();
  }
}

absl::Status CheckInt(Rule rule, int64_t value) {
  int64_t low = 0, high = 0;
  switch (rule) {
    case Rule::kPortOrZero:
      low = 0, high = 65535;
      break;
    case Rule::kPort:
      low = 1, high = 65535;
      break;
    case Rule::kParallelism:
      low = 1, high = 64;
      break;
    case Rule::kSessions:
      low = 1, high = 4096;
      break;
    default:
      return absl::OkStatus();
  }
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat(value, " is out of range (", low, " to ", high, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckStringList(Rule rule, const std::vector<std::string>& value) {
  for (const std::string& item : value) {
    if (rule == Rule::kAbsolutePathList) {
      absl::Status status = CheckAbsolutePath(item);
      if (!status.ok()) return status;
    } else if (rule == Rule::kImageList && item.empty()) {
      return absl::InvalidArgumentError("an element is empty");
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::config_internal
