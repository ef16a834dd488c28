#include "image/auth_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace berth::image {
namespace {

constexpr size_t kMaxAuthFileBytes = 1 << 20;

// "https://index.docker.io/v1/" -> "docker.io"; "quay.io/team/" -> "quay.io/team".
std::string NormalizeKey(absl::string_view key) {
  bool had_scheme = absl::ConsumePrefix(&key, "https://") || absl::ConsumePrefix(&key, "http://");
  if (had_scheme) key = key.substr(0, key.find('/'));  // legacy form: the host only
  while (absl::ConsumeSuffix(&key, "/")) {
  }
  std::string out(key);
  if (out == kLegacyDefaultDomain || absl::StartsWith(out, "index.docker.io/")) {
    out = absl::StrCat(kDefaultDomain, out.substr(kLegacyDefaultDomain.size()));
  }
  return out;
}

absl::Status OptionalString(const nlohmann::json& obj, const char* key, const std::string& where,
                            std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": \"", key, "\" is not a string"));
  }
  *out = it->get<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AuthFile> AuthFile::Load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) return AuthFile();
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxAuthFileBytes));
  return Parse(text, path);
}

absl::StatusOr<AuthFile> AuthFile::Parse(absl::string_view text, const std::string& source) {
  nlohmann::json doc =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("auth file ", source, ": not a JSON object"));
  }
  AuthFile file;
  file.source_ = source;
  auto auths = doc.find("auths");
  if (auths == doc.end() || auths->is_null()) return file;
  if (!auths->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("auth file ", source, ": \"auths\" is not an object"));
  }
  for (const auto& [key, value] : auths->items()) {
    std::string where = absl::StrCat("auth file ", source, ": entry \"", key, "\"");
    if (!value.is_object())
      return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
    Entry entry{.key = key};
    RETURN_IF_ERROR(OptionalString(value, "auth", where, &entry.auth));
    RETURN_IF_ERROR(OptionalString(value, "identitytoken", where, &entry.identity_token));
    RETURN_IF_ERROR(OptionalString(value, "registrytoken", where, &entry.registry_token));
    std::string normalized = NormalizeKey(key);
    if (normalized.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty key"));
    file.entries_[normalized] = std::move(entry);
  }
  return file;
}

absl::StatusOr<std::optional<Credentials>> AuthFile::Lookup(const Reference& ref) const {
  std::string candidate = ref.repository();  // domain/path
  while (true) {
    auto it = entries_.find(candidate);
    if (it != entries_.end()) {
      const Entry& entry = it->second;
      Credentials creds;
      if (!entry.auth.empty()) {
        absl::StatusOr<Credentials> decoded = Credentials::FromAuth(entry.auth);
        if (!decoded.ok()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "auth file ", source_, ": entry \"", entry.key, "\": ", decoded.status().message()));
        }
        creds = *std::move(decoded);
      }
      creds.identity_token = entry.identity_token;
      creds.registry_token = entry.registry_token;
      // With an identity token, "auth" holds a placeholder user name and no password.
      if (!creds.identity_token.empty()) creds.password.clear();
      creds.registry = ref.domain();
      if (creds.empty()) return std::optional<Credentials>();
      return std::optional<Credentials>(std::move(creds));
    }
    size_t slash = candidate.rfind('/');
    if (slash == std::string::npos) return std::optional<Credentials>();
    candidate.resize(slash);
  }
}

}  // namespace berth::image
