#ifndef BERTH_CNI_NETWORK_CONFIG_H_
#define BERTH_CNI_NETWORK_CONFIG_H_

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace berth::cni {

// Configuration files larger than this are refused.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// The CNI specification versions Berth can speak, oldest first.
const std::vector<std::string>& SupportedCniVersions();
bool IsSupportedCniVersion(absl::string_view version);

// A network name as the CNI spec defines it: an alphanumeric first character, then
// alphanumerics, '_', '.' or '-'.
bool IsValidNetworkName(absl::string_view name);

// A plugin type names an executable in a plugin directory: non-empty, no '/', no "..".
bool IsValidPluginType(absl::string_view type);

// One plugin of a network: the object from the configuration, kept whole so that the plugin
// execution code can build the plugin's stdin from it (adding name, cniVersion, prevResult,
// runtimeConfig).
struct PluginConfig {
  std::string type;
  // The enabled entries of the plugin's "capabilities" object (portMappings, bandwidth, dns,
  // ipRanges, mac, ...). Entries set to false are left out.
  std::set<std::string> capabilities;
  nlohmann::json raw;

  bool HasCapability(absl::string_view name) const;
};

// One network: a configuration list, or a single plugin configuration turned into a list of one.
struct NetworkConfig {
  std::string name;
  // The version to use when talking to the plugins: the highest supported entry of
  // "cniVersions" when there is one, else "cniVersion".
  std::string cni_version;
  bool disable_check = false;
  bool disable_gc = false;
  std::vector<PluginConfig> plugins;
  // The file it came from; empty for configurations parsed from memory.
  std::string file;
  // The list as a JSON object; for a single plugin configuration, the synthesized list
  // {"cniVersion", "name", "plugins": [<the file's object>]}.
  nlohmann::json raw;

  // The union of the plugins' capabilities.
  std::set<std::string> Capabilities() const;
  bool HasCapability(absl::string_view name) const;
};

// Parses a network configuration list (a ".conflist" file). `source` names the input in error
// messages and fills NetworkConfig::file. InvalidArgument says what is wrong.
absl::StatusOr<NetworkConfig> ParseNetworkConfigList(absl::string_view text, std::string source);

// Parses a single plugin configuration (a ".conf" or ".json" file) and turns it into a list of
// one plugin. A document that has a "plugins" array is parsed as a list instead.
absl::StatusOr<NetworkConfig> ParseNetworkConfig(absl::string_view text, std::string source);

// Reads `path` (at most `max_bytes`) and parses it according to its extension: ".conflist" as
// a list, ".conf" and ".json" as a single plugin configuration. Other extensions are
// InvalidArgument.
absl::StatusOr<NetworkConfig> LoadNetworkConfigFile(const std::string& path,
                                                    size_t max_bytes = kMaxConfigFileBytes);

// Whether `filename` has one of the extensions loaded from a configuration directory.
bool IsNetworkConfigFileName(absl::string_view filename);

}  // namespace berth::cni

#endif  // BERTH_CNI_NETWORK_CONFIG_H_
