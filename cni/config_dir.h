#ifndef BERTH_CNI_CONFIG_DIR_H_
#define BERTH_CNI_CONFIG_DIR_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cni/network_config.h"

namespace berth::cni {

// The condition reason the CRI reports for a network that is not ready.
inline constexpr char kNetworkNotReadyReason[] = "NetworkPluginNotReady";

struct LoadOptions {
  // Where the configuration files live (e.g. /etc/cni/net.d).
  std::string network_dir;
  // Where plugin binaries live (e.g. /opt/cni/bin, /usr/lib/cni); searched in order.
  std::vector<std::string> plugin_dirs;
  // Skip networks whose plugins are not executables in one of `plugin_dirs`.
  bool check_plugins = false;
  size_t max_file_bytes = kMaxConfigFileBytes;
  // Log a warning for every skipped file.
  bool log_skipped = true;
};

// A configuration file that was not loaded, and why.
struct SkippedFile {
  std::string file;  // full path
  std::string reason;
  // The file itself is valid but one of its plugins is not installed (yet).
  bool missing_plugin = false;

  bool operator==(const SkippedFile&) const = default;
};

// What the daemon reports as the NetworkReady runtime condition.
struct NetworkStatus {
  bool ready = false;
  std::string reason;   // kNetworkNotReadyReason when not ready, else empty
  std::string message;  // why not ready, else empty
  std::string default_network;
  std::string default_file;
};

// The networks of one configuration directory at one moment.
struct NetworkSet {
  std::string dir;
  // Valid networks in lexical file order; the first is the default.
  std::vector<NetworkConfig> networks;
  std::vector<SkippedFile> skipped;
  // Set when the directory itself could not be listed (e.g. it does not exist).
  absl::Status dir_status;

  // The default network, or null when there is none.
  const NetworkConfig* Default() const;
  // The network called `name`, or null.
  const NetworkConfig* Find(absl::string_view name) const;
  bool HasMissingPlugins() const;
  NetworkStatus Status() const;
  // Same files, same content, same skip reasons.
  bool SameAs(const NetworkSet& other) const;
};

// Loads every *.conflist, *.conf and *.json file of `options.network_dir` in lexical order.
// Never fails: problems end up in NetworkSet::skipped and NetworkSet::dir_status. A later file
// that repeats an earlier network's name is skipped.
NetworkSet LoadNetworkDir(const LoadOptions& options);

// Logs a warning for each skipped file of `set`.
void LogSkipped(const NetworkSet& set);

// The path of the executable plugin `type` in the first of `plugin_dirs` that has one;
// NotFound ("plugin bridge not found in /opt/cni/bin:/usr/lib/cni") otherwise.
absl::StatusOr<std::string> FindPlugin(const std::string& type,
                                       const std::vector<std::string>& plugin_dirs);

}  // namespace berth::cni

#endif  // BERTH_CNI_CONFIG_DIR_H_
