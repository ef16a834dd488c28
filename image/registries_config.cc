#include "image/registries_config.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/status.h"
#include "toml++/toml.h"

namespace berth::image {
namespace {

constexpr size_t kMaxConfigFileBytes = 1 << 20;

// What one file sets; unset optionals leave the earlier files' values alone.
struct FileSettings {
  std::optional<std::vector<std::string>> unqualified_search_registries;
  std::optional<ShortNameMode> short_name_mode;
  std::optional<std::vector<std::string>> credential_helpers;
  std::optional<std::string> additional_layer_store_auth_helper;
  std::vector<RegistryEntry> registries;
  std::vector<std::pair<std::string, std::string>> aliases;  // value "" erases
};

// Names a place in one file for error messages: "<file>:<line>".
class Where {
 public:
  explicit Where(const std::string& source) : source_(source) {}

  absl::Status Error(const toml::source_region& region, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", region.begin.line, ": ", message));
  }

 private:
  const std::string& source_;
};

absl::string_view TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

absl::Status WrongType(const Where& where, const toml::node& node, absl::string_view key,
                       absl::string_view context, absl::string_view want) {
  return where.Error(node.source(), absl::StrCat("key \"", key, "\" ", context, " must be ", want,
                                                 ", not ", TypeName(node)));
}

absl::StatusOr<bool> GetBool(const Where& where, const toml::node& node, absl::string_view key,
                             absl::string_view context) {
  if (const auto* value = node.as_boolean()) return value->get();
  return WrongType(where, node, key, context, "a boolean");
}

absl::StatusOr<std::string> GetString(const Where& where, const toml::node& node,
                                      absl::string_view key, absl::string_view context) {
  if (const auto* value = node.as_string()) return value->get();
  return WrongType(where, node, key, context, "a string");
}

absl::StatusOr<std::vector<std::string>> GetStringArray(const Where& where, const toml::node& node,
                                                        absl::string_view key,
                                                        absl::string_view context) {
  const toml::array* array = node.as_array();
  if (array == nullptr) return WrongType(where, node, key, context, "an array of strings");
  std::vector<std::string> out;
  for (const toml::node& element : *array) {
    const auto* value = element.as_string();
    if (value == nullptr) {
      return WrongType(where, element, key, context, "an array of strings");
    }
    out.push_back(value->get());
  }
  return out;
}

absl::Status UnknownKey(const Where& where, const toml::key& key, absl::string_view context) {
  return where.Error(key.source(),
                     absl::StrCat("unknown key \"", std::string(key.str()), "\" ", context));
}

bool IsWildcard(absl::string_view prefix) { return absl::StartsWith(prefix, "*."); }

// What is wrong with a location or non-wildcard prefix:
// host[:port][/namespace...][/repo][:tag|@digest]; "" when it is fine.
std::string LocationProblem(absl::string_view location) {
  if (location.empty()) return "empty";
  size_t slash = location.find('/');
  absl::string_view host = location.substr(0, slash);
  if (absl::Status status = ValidateDomain(host); !status.ok()) {
    return std::string(status.message());
  }
  if (!IsDomainComponent(host)) {
    return absl::StrCat(
        "must start with a registry host (with a '.', a ':port', or localhost), "
        "not \"",
        host, "\"");
  }
  if (slash == absl::string_view::npos) return "";
  absl::StatusOr<Reference> ref = Reference::Parse(location);
  if (!ref.ok()) return std::string(ref.status().message());
  return "";
}

std::string PrefixProblem(absl::string_view prefix) {
  if (!IsWildcard(prefix)) return LocationProblem(prefix);
  absl::string_view domain = prefix.substr(2);
  if (domain.find_first_of(":/*[") != absl::string_view::npos || !ValidateDomain(domain).ok()) {
    return "a wildcard prefix must be \"*.\" followed by a host name (no port, path, or "
           "other '*')";
  }
  return "";
}

std::string WithoutTrailingSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

absl::StatusOr<PullFromMirror> ParsePullFromMirror(const Where& where, const toml::node& node) {
  ASSIGN_OR_RETURN(std::string value,
                   GetString(where, node, "pull-from-mirror", "in [[registry.mirror]]"));
  if (value.empty() || value == "all") return PullFromMirror::kAll;
  if (value == "digest-only") return PullFromMirror::kDigestOnly;
  if (value == "tag-only") return PullFromMirror::kTagOnly;
  return where.Error(node.source(),
                     absl::StrCat("pull-from-mirror must be \"all\", \"digest-only\" or "
                                  "\"tag-only\", not \"",
                                  value, "\""));
}

// One [[registry.mirror]] table. `pull_from_mirror_set` tells whether the key was present.
absl::StatusOr<RegistryMirror> ParseMirror(const Where& where, const toml::node& node,
                                           bool& pull_from_mirror_set) {
  constexpr absl::string_view kContext = "in [[registry.mirror]]";
  RegistryMirror mirror;
  for (const auto& [key, value] : *node.as_table()) {
    absl::string_view name(key.str().data(), key.str().size());
    if (name == "location") {
      ASSIGN_OR_RETURN(mirror.location, GetString(where, value, name, kContext));
    } else if (name == "insecure") {
      ASSIGN_OR_RETURN(mirror.insecure, GetBool(where, value, name, kContext));
    } else if (name == "pull-from-mirror") {
      ASSIGN_OR_RETURN(mirror.pull_from_mirror, ParsePullFromMirror(where, value));
      pull_from_mirror_set = true;
    } else {
      return UnknownKey(where, key, kContext);
    }
  }
  mirror.location = WithoutTrailingSlashes(std::move(mirror.location));
  if (mirror.location.empty()) {
    return where.Error(node.source(), "a [[registry.mirror]] needs a location");
  }
  if (std::string problem = LocationProblem(mirror.location); !problem.empty()) {
    return where.Error(node.source(),
                       absl::StrCat("mirror location \"", mirror.location, "\": ", problem));
  }
  return mirror;
}

absl::Status ParseMirrors(const Where& where, const toml::node& node, RegistryEntry& entry) {
  const toml::array* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return WrongType(where, node, "mirror", "in [[registry]]",
                     "an array of tables ([[registry.mirror]])");
  }
  bool pull_from_mirror_set = false;
  for (const toml::node& element : *array) {
    ASSIGN_OR_RETURN(RegistryMirror mirror, ParseMirror(where, element, pull_from_mirror_set));
    entry.mirrors.push_back(std::move(mirror));
  }
  if (pull_from_mirror_set && entry.mirror_by_digest_only) {
    return where.Error(node.source(),
                       "pull-from-mirror may not be set on the mirrors of a [[registry]] that "
                       "sets mirror-by-digest-only = true");
  }
  return absl::OkStatus();
}

// Fills in the defaults of one [[registry]] and checks prefix and location.
absl::Status FinishRegistry(const Where& where, const toml::node& node, RegistryEntry& entry) {
  entry.prefix = WithoutTrailingSlashes(std::move(entry.prefix));
  entry.location = WithoutTrailingSlashes(std::move(entry.location));
  if (entry.prefix.empty()) {
    if (entry.location.empty()) {
      return where.Error(node.source(), "a [[registry]] needs a prefix or a location");
    }
    entry.prefix = entry.location;
  }
  if (std::string problem = PrefixProblem(entry.prefix); !problem.empty()) {
    return where.Error(node.source(),
                       absl::StrCat("registry prefix \"", entry.prefix, "\": ", problem));
  }
  if (entry.location.empty() && !IsWildcard(entry.prefix)) entry.location = entry.prefix;
  if (!entry.location.empty()) {
    if (std::string problem = LocationProblem(entry.location); !problem.empty()) {
      return where.Error(node.source(),
                         absl::StrCat("registry location \"", entry.location, "\": ", problem));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RegistryEntry> ParseRegistry(const Where& where, const toml::node& node) {
  constexpr absl::string_view kContext = "in [[registry]]";
  RegistryEntry entry;
  const toml::node* mirrors = nullptr;
  for (const auto& [key, value] : *node.as_table()) {
    absl::string_view name(key.str().data(), key.str().size());
    if (name == "prefix") {
      ASSIGN_OR_RETURN(entry.prefix, GetString(where, value, name, kContext));
    } else if (name == "location") {
      ASSIGN_OR_RETURN(entry.location, GetString(where, value, name, kContext));
    } else if (name == "insecure") {
      ASSIGN_OR_RETURN(entry.insecure, GetBool(where, value, name, kContext));
    } else if (name == "blocked") {
      ASSIGN_OR_RETURN(entry.blocked, GetBool(where, value, name, kContext));
    } else if (name == "mirror-by-digest-only") {
      ASSIGN_OR_RETURN(entry.mirror_by_digest_only, GetBool(where, value, name, kContext));
    } else if (name == "mirror") {
      mirrors = &value;  // parsed last: it needs mirror-by-digest-only
    } else {
      return UnknownKey(where, key, kContext);
    }
  }
  RETURN_IF_ERROR(FinishRegistry(where, node, entry));
  if (mirrors != nullptr) RETURN_IF_ERROR(ParseMirrors(where, *mirrors, entry));
  return entry;
}

absl::Status ParseRegistries(const Where& where, const toml::node& node, FileSettings& settings) {
  const toml::array* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    return WrongType(where, node, "registry", "at top level", "an array of tables ([[registry]])");
  }
  for (const toml::node& element : *array) {
    ASSIGN_OR_RETURN(RegistryEntry entry, ParseRegistry(where, element));
    for (const RegistryEntry& earlier : settings.registries) {
      if (earlier.prefix == entry.prefix) {
        return where.Error(element.source(), absl::StrCat("a second [[registry]] with prefix \"",
                                                          entry.prefix, "\" in the same file"));
      }
    }
    settings.registries.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

// Checks one alias: the name a short name without tag or digest (and not localhost), the value
// a fully qualified repository without tag or digest, or "" to erase.
std::string AliasProblem(absl::string_view name, absl::string_view value) {
  absl::StatusOr<Reference> short_name = Reference::Parse(name);
  if (!short_name.ok()) return std::string(short_name.status().message());
  if (short_name->fully_qualified() || name == "localhost") {
    return "the alias name must be a short name, without a registry";
  }
  if (!short_name->tag_defaulted()) return "the alias name may not have a tag or digest";
  if (value.empty()) return "";
  absl::StatusOr<Reference> target = Reference::Parse(value);
  if (!target.ok()) return std::string(target.status().message());
  if (!target->fully_qualified()) return "the alias value must name its registry";
  if (!target->tag_defaulted()) return "the alias value may not have a tag or digest";
  return "";
}

absl::Status ParseAliases(const Where& where, const toml::node& node, FileSettings& settings) {
  const toml::table* table = node.as_table();
  if (table == nullptr) return WrongType(where, node, "aliases", "at top level", "a table");
  for (const auto& [key, value] : *table) {
    std::string name(key.str());
    ASSIGN_OR_RETURN(std::string target, GetString(where, value, name, "in [aliases]"));
    if (std::string problem = AliasProblem(name, target); !problem.empty()) {
      return where.Error(key.source(), absl::StrCat("alias \"", name, "\": ", problem));
    }
    settings.aliases.emplace_back(std::move(name), std::move(target));
  }
  return absl::OkStatus();
}

absl::StatusOr<ShortNameMode> ParseShortNameMode(const Where& where, const toml::node& node) {
  ASSIGN_OR_RETURN(std::string value, GetString(where, node, "short-name-mode", "at top level"));
  if (value == "enforcing") return ShortNameMode::kEnforcing;
  if (value.empty() || value == "permissive") return ShortNameMode::kPermissive;
  if (value == "disabled") return ShortNameMode::kDisabled;
  return where.Error(node.source(),
                     absl::StrCat("short-name-mode must be \"enforcing\", \"permissive\" or "
                                  "\"disabled\", not \"",
                                  value, "\""));
}

absl::StatusOr<std::vector<std::string>> ParseSearchRegistries(const Where& where,
                                                               const toml::node& node) {
  constexpr absl::string_view kKey = "unqualified-search-registries";
  ASSIGN_OR_RETURN(std::vector<std::string> registries,
                   GetStringArray(where, node, kKey, "at top level"));
  for (const std::string& registry : registries) {
    absl::Status status = ValidateDomain(registry);
    if (!status.ok() || !IsDomainComponent(registry)) {
      return where.Error(node.source(),
                         absl::StrCat(kKey, ": \"", registry,
                                      "\" is not a registry host[:port] (it needs a '.', a "
                                      "':port', or to be localhost)"));
    }
  }
  return registries;
}

absl::Status ParseTopLevelKey(const Where& where, const toml::key& key, const toml::node& value,
                              FileSettings& settings) {
  absl::string_view name(key.str().data(), key.str().size());
  if (name == "unqualified-search-registries") {
    ASSIGN_OR_RETURN(settings.unqualified_search_registries, ParseSearchRegistries(where, value));
  } else if (name == "short-name-mode") {
    ASSIGN_OR_RETURN(settings.short_name_mode, ParseShortNameMode(where, value));
  } else if (name == "credential-helpers") {
    ASSIGN_OR_RETURN(settings.credential_helpers,
                     GetStringArray(where, value, name, "at top level"));
  } else if (name == "additional-layer-store-auth-helper") {
    ASSIGN_OR_RETURN(settings.additional_layer_store_auth_helper,
                     GetString(where, value, name, "at top level"));
  } else if (name == "registry") {
    RETURN_IF_ERROR(ParseRegistries(where, value, settings));
  } else if (name == "aliases") {
    RETURN_IF_ERROR(ParseAliases(where, value, settings));
  } else if (name == "registries") {
    return where.Error(key.source(),
                       "this is the version 1 format ([registries.search], "
                       "[registries.insecure], [registries.block]), which is not supported; "
                       "write unqualified-search-registries and [[registry]] tables instead "
                       "(containers-registries.conf(5), version 2)");
  } else {
    return UnknownKey(where, key, "at top level");
  }
  return absl::OkStatus();
}

absl::StatusOr<FileSettings> ParseSettings(absl::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(text.data(), text.size()), source);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", at.line, ":", at.column,
                     ": TOML syntax error: ", std::string(e.description())));
  }
  Where where(source);
  FileSettings settings;
  for (const auto& [key, value] : root) {
    RETURN_IF_ERROR(ParseTopLevelKey(where, key, value, settings));
  }
  return settings;
}

// Lists the "*.conf" regular files (or links to them) in `dir`, sorted. A missing directory
// gives none.
absl::StatusOr<std::vector<std::string>> ListDropIns(const std::string& dir) {
  std::vector<std::string> files;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) {
    if (errno == ENOENT) return files;
    return ErrnoStatus(errno, absl::StrCat("listing registries drop-in directory ", dir));
  }
  // readdir is safe on a stream no other thread uses.
  while (struct dirent* entry = ::readdir(handle)) {  // NOLINT(concurrency-mt-unsafe)
    absl::string_view name(entry->d_name);
    if (name.empty() || name.front() == '.' || !absl::EndsWith(name, ".conf")) continue;
    std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) files.push_back(std::move(path));
  }
  ::closedir(handle);
  std::sort(files.begin(), files.end());
  return files;
}

// The reference text after the part a prefix of `entry` matched, put behind `location`; for a
// wildcard prefix the whole host[:port] is replaced.
absl::StatusOr<Reference> Rewrite(const RegistryEntry& entry, const Reference& ref,
                                  const std::string& location) {
  std::string full = ref.String();
  size_t replaced = IsWildcard(entry.prefix) ? ref.domain().size() : entry.prefix.size();
  std::string rewritten = absl::StrCat(location, absl::string_view(full).substr(replaced));
  absl::StatusOr<Reference> out = Reference::Parse(rewritten);
  if (!out.ok()) {
    return Annotate(out.status(),
                    absl::StrCat("rewriting ", full, " for location \"", location,
                                 "\" of registries.conf prefix \"", entry.prefix, "\""));
  }
  return out;
}

// Whether `prefix` ends in ":tag" or "@digest" (and so must match a whole reference).
bool PrefixNamesTagOrDigest(absl::string_view prefix) {
  if (prefix.find('@') != absl::string_view::npos) return true;
  size_t slash = prefix.rfind('/');
  return slash != absl::string_view::npos && prefix.find(':', slash) != absl::string_view::npos;
}

// How many characters of `ref` the prefix of `entry` covers, or 0 when it does not match.
size_t MatchLength(const RegistryEntry& entry, const Reference& ref) {
  const std::string& prefix = entry.prefix;
  if (IsWildcard(prefix)) {
    absl::string_view host = ref.domain();
    if (absl::StartsWith(host, "[")) return 0;
    host = host.substr(0, host.find(':'));
    absl::string_view suffix = absl::string_view(prefix).substr(1);  // ".example.com"
    return host.size() > suffix.size() && absl::EndsWith(host, suffix) ? host.size() : 0;
  }
  if (PrefixNamesTagOrDigest(prefix)) {
    std::string full = ref.String();
    bool match = full == prefix || (absl::StartsWith(full, prefix) && full[prefix.size()] == '@');
    return match ? prefix.size() : 0;
  }
  std::string repository = ref.repository();
  bool match = repository == prefix ||
               (absl::StartsWith(repository, prefix) && repository[prefix.size()] == '/');
  return match ? prefix.size() : 0;
}

bool MirrorServes(const RegistryEntry& entry, const RegistryMirror& mirror, bool by_digest) {
  if (entry.mirror_by_digest_only) return by_digest;
  switch (mirror.pull_from_mirror) {
    case PullFromMirror::kDigestOnly:
      return by_digest;
    case PullFromMirror::kTagOnly:
      return !by_digest;
    case PullFromMirror::kAll:
      break;
  }
  return true;
}

// "busybox:1.36@sha256:..." -> "busybox": the name with its tag and digest cut off.
absl::string_view NameOnly(absl::string_view input) {
  input = input.substr(0, input.find('@'));
  size_t colon = input.rfind(':');
  size_t slash = input.rfind('/');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    input = input.substr(0, colon);
  }
  return input;
}

}  // namespace

absl::StatusOr<RegistriesConfig> RegistriesConfig::Load(const std::string& main_file,
                                                        const std::string& drop_in_dir) {
  RegistriesConfig config;
  RETURN_IF_ERROR(config.MergeFile(main_file));
  ASSIGN_OR_RETURN(std::vector<std::string> drop_ins, ListDropIns(drop_in_dir));
  for (const std::string& path : drop_ins) RETURN_IF_ERROR(config.MergeFile(path));
  return config;
}

absl::Status RegistriesConfig::MergeFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path, kMaxConfigFileBytes);
  if (absl::IsNotFound(text.status())) return absl::OkStatus();
  if (!text.ok()) return Annotate(text.status(), "reading registries configuration");
  return MergeText(*text, path);
}

absl::Status RegistriesConfig::MergeText(absl::string_view text, const std::string& source) {
  ASSIGN_OR_RETURN(FileSettings settings, ParseSettings(text, source));
  if (settings.unqualified_search_registries) {
    unqualified_search_registries_ = std::move(*settings.unqualified_search_registries);
  }
  if (settings.short_name_mode) short_name_mode_ = *settings.short_name_mode;
  if (settings.credential_helpers) credential_helpers_ = std::move(*settings.credential_helpers);
  if (settings.additional_layer_store_auth_helper) {
    additional_layer_store_auth_helper_ = std::move(*settings.additional_layer_store_auth_helper);
  }
  for (RegistryEntry& entry : settings.registries) {
    auto same = std::find_if(registries_.begin(), registries_.end(),
                             [&](const RegistryEntry& e) { return e.prefix == entry.prefix; });
    if (same != registries_.end()) {
      *same = std::move(entry);
    } else {
      registries_.push_back(std::move(entry));
    }
  }
  for (auto& [name, target] : settings.aliases) {
    if (target.empty()) {
      aliases_.erase(name);
    } else {
      aliases_[name] = std::move(target);
    }
  }
  return absl::OkStatus();
}

const RegistryEntry* RegistriesConfig::FindRegistry(const Reference& ref) const {
  const RegistryEntry* best = nullptr;
  size_t best_length = 0;
  for (const RegistryEntry& entry : registries_) {
    size_t length = MatchLength(entry, ref);
    if (length == 0) continue;
    bool better = length > best_length ||
                  (length == best_length && IsWildcard(best->prefix) && !IsWildcard(entry.prefix));
    if (better) {
      best = &entry;
      best_length = length;
    }
  }
  return best;
}

absl::StatusOr<std::vector<PullEndpoint>> RegistriesConfig::ResolvePull(
    const Reference& ref) const {
  const RegistryEntry* entry = FindRegistry(ref);
  if (entry == nullptr) return std::vector<PullEndpoint>{PullEndpoint{ref, false, false}};
  if (entry->blocked) {
    return absl::PermissionDeniedError(absl::StrCat("pulling ", ref.String(),
                                                    " is blocked: registries.conf blocks prefix \"",
                                                    entry->prefix, "\""));
  }
  std::vector<PullEndpoint> endpoints;
  for (const RegistryMirror& mirror : entry->mirrors) {
    if (!MirrorServes(*entry, mirror, ref.has_digest())) continue;
    ASSIGN_OR_RETURN(Reference rewritten, Rewrite(*entry, ref, mirror.location));
    endpoints.push_back(PullEndpoint{std::move(rewritten), mirror.insecure, true});
  }
  if (entry->location.empty()) {
    endpoints.push_back(PullEndpoint{ref, entry->insecure, false});
  } else {
    ASSIGN_OR_RETURN(Reference primary, Rewrite(*entry, ref, entry->location));
    endpoints.push_back(PullEndpoint{std::move(primary), entry->insecure, false});
  }
  return endpoints;
}

absl::StatusOr<std::vector<Reference>> RegistriesConfig::ShortNameCandidates(
    absl::string_view input) const {
  ASSIGN_OR_RETURN(Reference ref, Reference::Parse(input));
  if (ref.fully_qualified()) return std::vector<Reference>{ref};
  absl::string_view name = NameOnly(input);
  absl::string_view tag_and_digest = input.substr(name.size());
  if (auto alias = aliases_.find(std::string(name)); alias != aliases_.end()) {
    ASSIGN_OR_RETURN(Reference target,
                     Reference::Parse(absl::StrCat(alias->second, tag_and_digest)));
    return std::vector<Reference>{target};
  }
  std::vector<std::string> search = unqualified_search_registries_;
  if (search.empty()) search.emplace_back(kDefaultDomain);
  std::vector<Reference> candidates;
  for (const std::string& registry : search) {
    ASSIGN_OR_RETURN(Reference candidate, Reference::Parse(absl::StrCat(registry, "/", input)));
    if (std::find(candidates.begin(), candidates.end(), candidate) == candidates.end()) {
      candidates.push_back(std::move(candidate));
    }
  }
  return candidates;
}

}  // namespace berth::image
