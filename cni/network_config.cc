#include "cni/network_config.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::cni {
namespace {

using nlohmann::json;

// Position of `version` in SupportedCniVersions(), or -1.
int VersionRank(absl::string_view version) {
  const std::vector<std::string>& versions = SupportedCniVersions();
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i] == version) return static_cast<int>(i);
  }
  return -1;
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the tag says nothing to
// an operator.
std::string JsonErrorText(const char* what) {
  absl::string_view text(what);
  if (absl::StartsWith(text, "[")) {
    size_t end = text.find("] ");
    if (end != absl::string_view::npos) text.remove_prefix(end + 2);
  }
  return std::string(text);
}

absl::StatusOr<json> ParseJsonObject(absl::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid JSON: ", JsonErrorText(e.what())));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the document is a JSON ", doc.type_name(), ", not an object"));
  }
  return doc;
}

// A flag such as "disableCheck": a boolean, or the strings "true"/"false" that some tools write.
absl::StatusOr<bool> ParseFlag(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const std::string& value = it->get_ref<const std::string&>();
    if (absl::EqualsIgnoreCase(value, "true")) return true;
    if (absl::EqualsIgnoreCase(value, "false")) return false;
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a boolean"));
}

absl::Status ParseName(const json& doc, NetworkConfig& net) {
  auto it = doc.find("name");
  if (it == doc.end()) return absl::InvalidArgumentError("missing \"name\"");
  if (!it->is_string()) return absl::InvalidArgumentError("\"name\" must be a string");
  net.name = it->get<std::string>();
  if (net.name.empty()) return absl::InvalidArgumentError("\"name\" is empty");
  if (!IsValidNetworkName(net.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid network name \"", absl::CHexEscape(net.name),
        "\": it must start with a letter or digit, followed by letters, digits, '_', '.' or '-'"));
  }
  return absl::OkStatus();
}

// Picks the version to speak: the highest supported entry of "cniVersions" (CNI 1.1 version
// negotiation), else "cniVersion", which must then be supported.
absl::Status ParseVersion(const json& doc, NetworkConfig& net) {
  auto it = doc.find("cniVersion");
  if (it == doc.end()) return absl::InvalidArgumentError("missing \"cniVersion\"");
  if (!it->is_string()) return absl::InvalidArgumentError("\"cniVersion\" must be a string");
  std::string declared = it->get<std::string>();

  int best = -1;
  if (auto list = doc.find("cniVersions"); list != doc.end() && !list->is_null()) {
    if (!list->is_array()) {
      return absl::InvalidArgumentError("\"cniVersions\" must be an array of strings");
    }
    for (const json& entry : *list) {
      if (!entry.is_string()) {
        return absl::InvalidArgumentError("\"cniVersions\" must be an array of strings");
      }
      best = std::max(best, VersionRank(entry.get_ref<const std::string&>()));
    }
  }
  if (best >= 0) {
    net.cni_version = SupportedCniVersions()[static_cast<size_t>(best)];
    return absl::OkStatus();
  }
  if (!IsSupportedCniVersion(declared)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported cniVersion \"", absl::CHexEscape(declared),
                     "\" (supported: ", absl::StrJoin(SupportedCniVersions(), ", "), ")"));
  }
  net.cni_version = std::move(declared);
  return absl::OkStatus();
}

absl::Status ValidatePluginType(const std::string& type) {
  if (type.empty()) return absl::InvalidArgumentError("\"type\" is empty");
  if (!IsValidPluginType(type)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid plugin type \"", absl::CHexEscape(type),
                     "\": it must be a plain file name without '/' or \"..\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<std::string>> ParseCapabilities(const json& plugin) {
  std::set<std::string> out;
  auto it = plugin.find("capabilities");
  if (it == plugin.end() || it->is_null()) return out;
  if (!it->is_object()) return absl::InvalidArgumentError("\"capabilities\" must be an object");
  for (const auto& [name, enabled] : it->items()) {
    if (!enabled.is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("capability \"", absl::CHexEscape(name), "\" must be true or false"));
    }
    if (enabled.get<bool>()) out.insert(name);
  }
  return out;
}

absl::StatusOr<PluginConfig> ParsePlugin(const json& doc) {
  if (!doc.is_object()) return absl::InvalidArgumentError("not a JSON object");
  PluginConfig plugin;
  auto it = doc.find("type");
  if (it == doc.end()) return absl::InvalidArgumentError("missing \"type\"");
  if (!it->is_string()) return absl::InvalidArgumentError("\"type\" must be a string");
  plugin.type = it->get<std::string>();
  RETURN_IF_ERROR(ValidatePluginType(plugin.type));
  ASSIGN_OR_RETURN(plugin.capabilities, ParseCapabilities(doc));
  plugin.raw = doc;
  return plugin;
}

absl::StatusOr<NetworkConfig> ListFromJson(json doc, std::string file) {
  NetworkConfig net;
  net.file = std::move(file);
  RETURN_IF_ERROR(ParseName(doc, net));
  RETURN_IF_ERROR(ParseVersion(doc, net));
  ASSIGN_OR_RETURN(net.disable_check, ParseFlag(doc, "disableCheck"));
  ASSIGN_OR_RETURN(net.disable_gc, ParseFlag(doc, "disableGC"));

  auto it = doc.find("plugins");
  if (it == doc.end()) return absl::InvalidArgumentError("missing \"plugins\"");
  if (!it->is_array()) return absl::InvalidArgumentError("\"plugins\" must be an array");
  if (it->empty()) return absl::InvalidArgumentError("\"plugins\" is empty");
  net.plugins.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    absl::StatusOr<PluginConfig> plugin = ParsePlugin((*it)[i]);
    if (!plugin.ok()) return Annotate(plugin.status(), absl::StrCat("plugin ", i));
    net.plugins.push_back(*std::move(plugin));
  }
  net.raw = std::move(doc);
  return net;
}

absl::StatusOr<NetworkConfig> SingleFromJson(json doc, std::string file) {
  NetworkConfig net;
  net.file = std::move(file);
  RETURN_IF_ERROR(ParseName(doc, net));
  RETURN_IF_ERROR(ParseVersion(doc, net));
  ASSIGN_OR_RETURN(PluginConfig plugin, ParsePlugin(doc));

  json list = json::object();
  list["cniVersion"] = doc["cniVersion"];
  if (auto versions = doc.find("cniVersions"); versions != doc.end()) {
    list["cniVersions"] = *versions;
  }
  list["name"] = net.name;
  list["plugins"] = json::array({std::move(doc)});
  net.plugins.push_back(std::move(plugin));
  net.raw = std::move(list);
  return net;
}

bool HasSuffix(absl::string_view name, absl::string_view suffix) {
  return name.size() > suffix.size() && absl::EndsWith(name, suffix);
}

}  // namespace

const std::vector<std::string>& SupportedCniVersions() {
  static const std::vector<std::string>* const kVersions =
      new std::vector<std::string>{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return *kVersions;
}

bool IsSupportedCniVersion(absl::string_view version) { return VersionRank(version) >= 0; }

bool IsValidNetworkName(absl::string_view name) {
  if (name.empty() || !absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin() + 1, name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool IsValidPluginType(absl::string_view type) {
  return !type.empty() && type != "." && !absl::StrContains(type, "..") &&
         !absl::StrContains(type, '/') && !absl::StrContains(type, '\0');
}

bool PluginConfig::HasCapability(absl::string_view name) const {
  return capabilities.count(std::string(name)) > 0;
}

std::set<std::string> NetworkConfig::Capabilities() const {
  std::set<std::string> out;
  for (const PluginConfig& plugin : plugins) {
    out.insert(plugin.capabilities.begin(), plugin.capabilities.end());
  }
  return out;
}

bool NetworkConfig::HasCapability(absl::string_view name) const {
  return std::any_of(plugins.begin(), plugins.end(),
                     [name](const PluginConfig& plugin) { return plugin.HasCapability(name); });
}

absl::StatusOr<NetworkConfig> ParseNetworkConfigList(absl::string_view text, std::string source) {
  ASSIGN_OR_RETURN(json doc, ParseJsonObject(text));
  return ListFromJson(std::move(doc), std::move(source));
}

absl::StatusOr<NetworkConfig> ParseNetworkConfig(absl::string_view text, std::string source) {
  ASSIGN_OR_RETURN(json doc, ParseJsonObject(text));
  if (auto plugins = doc.find("plugins"); plugins != doc.end() && plugins->is_array()) {
    return ListFromJson(std::move(doc), std::move(source));
  }
  return SingleFromJson(std::move(doc), std::move(source));
}

bool IsNetworkConfigFileName(absl::string_view filename) {
  return HasSuffix(filename, ".conflist") || HasSuffix(filename, ".conf") ||
         HasSuffix(filename, ".json");
}

absl::StatusOr<NetworkConfig> LoadNetworkConfigFile(const std::string& path, size_t max_bytes) {
  size_t slash = path.rfind('/');
  absl::string_view base(path);
  if (slash != std::string::npos) base.remove_prefix(slash + 1);
  if (!IsNetworkConfigFileName(base)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a .conflist, .conf or .json file"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, max_bytes));
  absl::StatusOr<NetworkConfig> net = HasSuffix(base, ".conflist")
                                          ? ParseNetworkConfigList(text, path)
                                          : ParseNetworkConfig(text, path);
  if (!net.ok()) return Annotate(net.status(), path);
  return net;
}

}  // namespace berth::cni
