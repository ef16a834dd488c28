// Renders a Config as commented TOML (berthd config) and as JSON (Status verbose info).
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/config.h"
#include "server/config_schema.h"

namespace berth {
namespace {

using config_internal::ConfigField;
using config_internal::KeySpec;

std::string TomlString(absl::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string TomlValue(const Config& config, const ConfigField& field) {
  if (auto* str = std::get_if<std::string Config::*>(&field)) return TomlString(config.*(*str));
  if (auto* num = std::get_if<int64_t Config::*>(&field)) return absl::StrCat(config.*(*num));
  if (auto* flag = std::get_if<bool Config::*>(&field)) return config.*(*flag) ? "true" : "false";
  const auto& list = config.*std::get<std::vector<std::string> Config::*>(field);
  std::vector<std::string> items;
  for (const std::string& item : list) items.push_back(TomlString(item));
  return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
}

nlohmann::json JsonValue(const Config& config, const ConfigField& field) {
  if (auto* str = std::get_if<std::string Config::*>(&field)) return config.*(*str);
  if (auto* num = std::get_if<int64_t Config::*>(&field)) return config.*(*num);
  if (auto* flag = std::get_if<bool Config::*>(&field)) return config.*(*flag);
  return config.*std::get<std::vector<std::string> Config::*>(field);
}

void RenderHandlers(const Config& config, std::string& out) {
  for (const auto& [name, handler] : config.runtimes) {
    absl::StrAppend(&out, "\n[", config_internal::kRuntimesTable, ".", name, "]\n");
    for (const auto& spec : config_internal::HandlerKeys()) {
      absl::StrAppend(&out, "# ", spec.help, "\n", spec.name, " = ",
                      TomlString(handler.*(spec.field)), "\n");
    }
  }
}

}  // namespace

std::string RenderConfigToml(const Config& config) {
  std::string out =
      "# berthd configuration (TOML). berthd reads /etc/berth/berth.conf, then\n"
      "# /etc/berth/berth.conf.d/*.conf, unless --config/--config-dir say otherwise.\n"
      "# Every key is optional; these are the values in effect.\n";
  std::string table;
  for (const KeySpec& spec : config_internal::Keys()) {
    if (table != spec.table) {
      if (table == "berth.runtime") RenderHandlers(config, out);
      table = spec.table;
      absl::StrAppend(&out, "\n[", table, "]\n");
    }
    absl::StrAppend(&out, "# ", spec.help, "\n", spec.name, " = ", TomlValue(config, spec.field),
                    "\n");
  }
  if (table == "berth.runtime") RenderHandlers(config, out);
  return out;
}

nlohmann::json ConfigToJson(const Config& config) {
  nlohmann::json root = nlohmann::json::object();
  for (const KeySpec& spec : config_internal::Keys()) {
    // "berth.api" -> /berth/api
    std::string pointer = "/" + std::string(spec.table);
    for (char& c : pointer) c = c == '.' ? '/' : c;
    root[nlohmann::json::json_pointer(absl::StrCat(pointer, "/", spec.name))] =
        JsonValue(config, spec.field);
  }
  nlohmann::json& runtimes = root["berth"]["runtime"]["runtimes"];
  runtimes = nlohmann::json::object();
  for (const auto& [name, handler] : config.runtimes) {
    for (const auto& spec : config_internal::HandlerKeys()) {
      runtimes[name][spec.name] = handler.*(spec.field);
    }
  }
  return root;
}

}  // namespace berth
