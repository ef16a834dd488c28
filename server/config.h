#ifndef BERTH_SERVER_CONFIG_H_
#define BERTH_SERVER_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth {

// One OCI runtime handler, [berth.runtime.runtimes.NAME].
struct RuntimeHandler {
  std::string runtime_path;  // empty: the handler's name looked up in PATH
  std::string runtime_root;  // empty: <runroot>/<name>
  std::string runtime_type = "oci";
};

// berthd's whole configuration. Every field has a default, so berthd runs with no file.
// Section and key names follow CRI-O's ([crio.api] listen -> [berth.api] listen).
struct Config {
  // [berth]
  std::string root = "/var/lib/berth";
  std::string runroot = "/run/berth";
  std::string log_level = "info";
  // [berth.api]
  std::string listen;  // empty: <runroot>/berth.sock
  std::string stream_address = "127.0.0.1";
  int64_t stream_port = 0;
  std::string stream_tls_cert;
  std::string stream_tls_key;
  std::string stream_idle_timeout = "4h";
  int64_t stream_max_sessions = 64;
  // [berth.runtime]
  std::string default_runtime = "runc";
  std::string cgroup_manager = "cgroupfs";
  // berth-mon; empty: beside berthd's own binary, else looked up in PATH.
  std::string monitor_path;
  std::map<std::string, RuntimeHandler> runtimes = {{"runc", RuntimeHandler{}}};
  // [berth.image]
  std::string registries_conf = "/etc/containers/registries.conf";
  std::string registries_conf_dir = "/etc/containers/registries.conf.d";
  std::string global_auth_file = "/run/containers/0/auth.json";
  // Per-registry TLS: <dir>/<host[:port]>/*.crt (CAs), <name>.cert + <name>.key (client).
  std::string registry_certs_dir = "/etc/containers/certs.d";
  std::vector<std::string> pinned_images;
  int64_t max_parallel_downloads = 3;
  // [berth.network]
  std::string network_dir = "/etc/cni/net.d";
  std::vector<std::string> plugin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  // [berth.metrics]
  bool enable_metrics = false;
  std::string metrics_host = "127.0.0.1";
  int64_t metrics_port = 9090;
};

// Values given on berthd's command line; they win over every file.
struct ConfigFlags {
  std::optional<std::string> root;
  std::optional<std::string> runroot;
  std::optional<std::string> listen;
  std::optional<std::string> log_level;
};

// Where the configuration comes from.
struct ConfigSources {
  // The main file. A missing file is fine unless `file_required`; empty: no main file.
  std::string file = "/etc/berth/berth.conf";
  bool file_required = false;
  // Drop-ins: *.conf in lexical order, each overriding what came before. Empty: none.
  std::string drop_in_dir = "/etc/berth/berth.conf.d";
  ConfigFlags flags;
};

// Defaults, then the main file, then the drop-ins, then the flags; then derived defaults are
// filled in and the whole is checked. An unknown key, a wrong type or an invalid value is
// InvalidArgument naming the file, line and key.
absl::StatusOr<Config> LoadConfig(const ConfigSources& sources);

// Merges TOML `text` into `config`; `origin` names it in errors (a file path).
absl::Status MergeConfigText(absl::string_view text, const std::string& origin, Config& config);

// Fills derived defaults (listen, runtime roots) and checks cross-key rules.
absl::Status FinalizeConfig(Config& config);

// The configuration as commented TOML that LoadConfig accepts back.
std::string RenderConfigToml(const Config& config);

// The configuration as JSON, keyed like the TOML (for Status' verbose info).
nlohmann::json ConfigToJson(const Config& config);

}  // namespace berth

#endif  // BERTH_SERVER_CONFIG_H_
