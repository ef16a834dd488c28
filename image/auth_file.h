#ifndef BERTH_IMAGE_AUTH_FILE_H_
#define BERTH_IMAGE_AUTH_FILE_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "image/reference.h"
#include "image/registry_auth.h"

namespace berth::image {

// Where CRI-O and podman keep root's registry logins.
inline constexpr absl::string_view kDefaultAuthFile = "/run/containers/0/auth.json";

// A containers-auth.json(5) file:
//
//   {"auths": {"registry.example.com": {"auth": "<base64 user:password>"},
//              "quay.io/team": {"auth": "...", "identitytoken": "..."}}}
//
// Keys are "host[:port]" optionally followed by a "/namespace/repo" path; legacy keys with a
// scheme ("https://index.docker.io/v1/") count for their host alone. Entries are decoded on
// lookup, so one bad entry only fails the pulls it would serve.
class AuthFile {
 public:
  AuthFile() = default;

  // Reads `path`; a missing file is an empty AuthFile.
  static absl::StatusOr<AuthFile> Load(const std::string& path);
  // Parses the JSON text; `source` names it in errors.
  static absl::StatusOr<AuthFile> Parse(absl::string_view text, const std::string& source);

  // The credentials for `ref`: the entry for "domain/path", else its parent namespaces from the
  // longest down, else "domain". nullopt when none matches. The credentials' `registry` is the
  // reference's domain. InvalidArgument naming the entry (never its value) when the matching
  // entry cannot be decoded.
  absl::StatusOr<std::optional<Credentials>> Lookup(const Reference& ref) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string key;  // as written in the file
    std::string auth;
    std::string identity_token;
    std::string registry_token;
  };

  std::string source_;
  std::map<std::string, Entry> entries_;  // by normalized key
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_AUTH_FILE_H_
