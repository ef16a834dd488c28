#include "server/config.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "server/config_schema.h"
#include "toml++/toml.h"

namespace berth {
namespace {

using config_internal::ConfigField;
using config_internal::HandlerKeys;
using config_internal::Keys;
using config_internal::KeySpec;
using config_internal::Rule;

constexpr size_t kMaxConfigBytes = 1 << 20;

absl::Status KeyError(const std::string& origin, const toml::source_region& where,
                      absl::string_view key, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat(origin, ":", where.begin.line, ": ", key, ": ", message));
}

const char* TypeName(const ConfigField& field) {
  switch (field.index()) {
    case 0:
      return "a string";
    case 1:
      return "an integer";
    case 2:
      return "a boolean";
    default:
      return "an array of strings";
  }
}

// Reads `node` into the field, checking type and rule. The error lacks the location.
absl::Status AssignField(const toml::node& node, const ConfigField& field, Rule rule,
                         Config& config) {
  std::string expected = absl::StrCat("must be ", TypeName(field));
  if (auto* str = std::get_if<std::string Config::*>(&field)) {
    if (!node.is_string()) return absl::InvalidArgumentError(expected);
    std::string value = **node.as_string();
    RETURN_IF_ERROR(config_internal::CheckString(rule, value));
    config.*(*str) = std::move(value);
  } else if (auto* num = std::get_if<int64_t Config::*>(&field)) {
    if (!node.is_integer()) return absl::InvalidArgumentError(expected);
    int64_t value = **node.as_integer();
    RETURN_IF_ERROR(config_internal::CheckInt(rule, value));
    config.*(*num) = value;
  } else if (auto* flag = std::get_if<bool Config::*>(&field)) {
    if (!node.is_boolean()) return absl::InvalidArgumentError(expected);
    config.*(*flag) = **node.as_boolean();
  } else if (auto* list = std::get_if<std::vector<std::string> Config::*>(&field)) {
    if (!node.is_array()) return absl::InvalidArgumentError(expected);
    std::vector<std::string> value;
    for (const toml::node& item : *node.as_array()) {
      if (!item.is_string()) return absl::InvalidArgumentError(expected);
      value.push_back(**item.as_string());
    }
    RETURN_IF_ERROR(config_internal::CheckStringList(rule, value));
    config.*(*list) = std::move(value);
  }
  return absl::OkStatus();
}

bool ValidHandlerName(absl::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

absl::Status MergeHandlers(const toml::table& table, const std::string& origin, Config& config) {
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    std::string path = absl::StrCat(config_internal::kRuntimesTable, ".", name);
    if (!node.is_table()) return KeyError(origin, key.source(), path, "must be a table");
    if (!ValidHandlerName(name)) {
      return KeyError(origin, key.source(), path,
                      "a runtime handler name may hold only letters, digits, '-', '_' and '.'");
    }
    RuntimeHandler& handler = config.runtimes[name];
    for (auto&& [sub_key, value] : *node.as_table()) {
      std::string sub_path = absl::StrCat(path, ".", std::string(sub_key.str()));
      auto spec = std::find_if(HandlerKeys().begin(), HandlerKeys().end(),
                               [&](const auto& s) { return sub_key.str() == s.name; });
      if (spec == HandlerKeys().end()) {
        return KeyError(origin, sub_key.source(), sub_path, "unknown key");
      }
      if (!value.is_string()) {
        return KeyError(origin, value.source(), sub_path, "must be a string");
      }
      std::string text = **value.as_string();
      absl::Status status = config_internal::CheckString(spec->rule, text);
      if (!status.ok()) return KeyError(origin, value.source(), sub_path, status.message());
      handler.*(spec->field) = std::move(text);
    }
  }
  return absl::OkStatus();
}

absl::Status MergeTable(const toml::table& table, const std::string& path,
                        const std::string& origin, Config& config) {
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    std::string full = path.empty() ? name : absl::StrCat(path, ".", name);
    auto spec = std::find_if(Keys().begin(), Keys().end(), [&](const KeySpec& s) {
      return path == s.table && key.str() == s.name;
    });
    if (spec != Keys().end()) {
      absl::Status status = AssignField(node, spec->field, spec->rule, config);
      if (!status.ok()) return KeyError(origin, node.source(), full, status.message());
      continue;
    }
    bool known_table =
        std::any_of(config_internal::Tables().begin(), config_internal::Tables().end(),
                    [&](const char* t) { return full == t; });
    if (full == config_internal::kRuntimesTable && node.is_table()) {
      RETURN_IF_ERROR(MergeHandlers(*node.as_table(), origin, config));
    } else if (known_table && node.is_table()) {
      RETURN_IF_ERROR(MergeTable(*node.as_table(), full, origin, config));
    } else if (known_table) {
      return KeyError(origin, node.source(), full, "must be a table");
    } else {
      return KeyError(origin, key.source(), full, "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::Status MergeFile(const std::string& path, Config& config) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxConfigBytes));
  return MergeConfigText(text, path, config);
}

absl::StatusOr<std::vector<std::string>> DropIns(const std::string& dir) {
  std::vector<std::string> files;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return files;
    return ErrnoStatus(errno, absl::StrCat("listing ", dir));
  }
  while (struct dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.size() > 5 && absl::EndsWith(name, ".conf") && name[0] != '.') {
      files.push_back(absl::StrCat(dir, "/", name));
    }
  }
  ::closedir(handle);
  std::sort(files.begin(), files.end());
  return files;
}

absl::Status ApplyFlag(const std::optional<std::string>& value, absl::string_view flag,
                       absl::string_view key_name, Config& config) {
  if (!value.has_value()) return absl::OkStatus();
  for (const KeySpec& spec : Keys()) {
    if (key_name != spec.name) continue;
    absl::Status status = config_internal::CheckString(spec.rule, *value);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("flag --", flag, ": ", status.message()));
    }
    config.*std::get<std::string Config::*>(spec.field) = *value;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MergeConfigText(absl::string_view text, const std::string& origin, Config& config) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text.data(), text.size()), origin);
  } catch (const toml::parse_error& error) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ":", error.source().begin.line, ":",
                                                   error.source().begin.column, ": ",
                                                   std::string(error.description())));
  }
  return MergeTable(root, "", origin, config);
}

absl::Status FinalizeConfig(Config& config) {
  if (config.listen.empty()) config.listen = absl::StrCat(config.runroot, "/berth.sock");
  for (auto& [name, handler] : config.runtimes) {
    if (handler.runtime_root.empty()) {
      handler.runtime_root = absl::StrCat(config.runroot, "/", name);
    }
  }
  if (!config.runtimes.contains(config.default_runtime)) {
    return absl::InvalidArgumentError(
        absl::StrCat("berth.runtime.default_runtime: \"", config.default_runtime,
                     "\" names no [berth.runtime.runtimes.", config.default_runtime, "] table"));
  }
  if (config.root == config.runroot) {
    return absl::InvalidArgumentError("berth.root and berth.runroot must differ");
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> LoadConfig(const ConfigSources& sources) {
  Config config;
  if (!sources.file.empty()) {
    struct stat st;
    if (::stat(sources.file.c_str(), &st) == 0) {
      RETURN_IF_ERROR(MergeFile(sources.file, config));
    } else if (errno != ENOENT || sources.file_required) {
      return ErrnoStatus(errno, absl::StrCat("reading configuration file ", sources.file));
    }
  }
  if (!sources.drop_in_dir.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> files, DropIns(sources.drop_in_dir));
    for (const std::string& file : files) RETURN_IF_ERROR(MergeFile(file, config));
  }
  const ConfigFlags& flags = sources.flags;
  RETURN_IF_ERROR(ApplyFlag(flags.root, "root", "root", config));
  RETURN_IF_ERROR(ApplyFlag(flags.runroot, "runroot", "runroot", config));
  RETURN_IF_ERROR(ApplyFlag(flags.listen, "listen", "listen", config));
  RETURN_IF_ERROR(ApplyFlag(flags.log_level, "log-level", "log_level", config));
  RETURN_IF_ERROR(FinalizeConfig(config));
  return config;
}

}  // namespace berth
