#ifndef BERTH_IMAGE_REGISTRIES_CONFIG_H_
#define BERTH_IMAGE_REGISTRIES_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "image/reference.h"

namespace berth::image {

// Where the containers tools (and so CRI-O, podman, skopeo) keep the registries
// configuration; Berth reads the same files.
inline constexpr absl::string_view kDefaultRegistriesConf = "/etc/containers/registries.conf";
inline constexpr absl::string_view kDefaultRegistriesConfDir = "/etc/containers/registries.conf.d";

// How short names ("busybox", "user/app") are resolved; see ShortNameCandidates.
enum class ShortNameMode { kEnforcing, kPermissive, kDisabled };

// Which pulls a mirror serves: all of them, only by-digest ones, or only by-tag ones.
enum class PullFromMirror { kAll, kDigestOnly, kTagOnly };

// One [[registry.mirror]] table.
struct RegistryMirror {
  std::string location;  // host[:port][/namespace...], replaces the registry's prefix
  bool insecure = false;
  PullFromMirror pull_from_mirror = PullFromMirror::kAll;
};

// One [[registry]] table, after defaults: a missing prefix is the location, a missing location
// (for a non-wildcard prefix) is the prefix, and trailing '/' are dropped.
struct RegistryEntry {
  // "example.com", "example.com:5000/ns", "example.com/ns/repo:tag", or "*.example.com".
  std::string prefix;
  // Where the prefix-rooted namespace really lives. Empty only for a wildcard prefix, which
  // then keeps references as they are and contributes only its other settings.
  std::string location;
  bool insecure = false;
  bool blocked = false;
  bool mirror_by_digest_only = false;
  std::vector<RegistryMirror> mirrors;
};

// One place to try a pull from, in the order returned by ResolvePull.
struct PullEndpoint {
  Reference reference;  // the reference rewritten for that registry
  bool insecure = false;
  bool mirror = false;  // false for the registry's primary location
};

// The registries configuration in the containers-registries.conf(5) version 2 format, with
// drop-ins as in containers-registries.conf.d(5). Supported keys: at top level
// unqualified-search-registries, short-name-mode, credential-helpers,
// additional-layer-store-auth-helper, [aliases] and [[registry]] (prefix, location, insecure,
// blocked, mirror-by-digest-only, [[registry.mirror]] with location, insecure and
// pull-from-mirror). Anything else, the version 1 format ([registries.search] ...), or a value
// of the wrong type is an InvalidArgument error naming the file, the line and the key.
//
// A default-constructed config has no entries: every reference is pulled as written over TLS
// and short names resolve to docker.io.
class RegistriesConfig {
 public:
  RegistriesConfig() = default;

  // Reads `main_file`, then every "*.conf" regular file in `drop_in_dir` in lexical order. A
  // missing file or directory is fine. Each later file overrides the top-level keys it sets,
  // replaces [[registry]] tables with the same prefix, adds the others, and sets (or, with "",
  // erases) aliases.
  static absl::StatusOr<RegistriesConfig> Load(
      const std::string& main_file = std::string(kDefaultRegistriesConf),
      const std::string& drop_in_dir = std::string(kDefaultRegistriesConfDir));

  // Merges one file over the current settings; a missing file is fine.
  absl::Status MergeFile(const std::string& path);
  // Merges one file's text; `source` names it in errors. On error nothing is merged.
  absl::Status MergeText(absl::string_view text, const std::string& source);

  // As configured; ShortNameCandidates uses docker.io when this is empty.
  const std::vector<std::string>& unqualified_search_registries() const {
    return unqualified_search_registries_;
  }
  ShortNameMode short_name_mode() const { return short_name_mode_; }
  // Parsed and kept for the registry client; not interpreted here.
  const std::vector<std::string>& credential_helpers() const { return credential_helpers_; }
  const std::string& additional_layer_store_auth_helper() const {
    return additional_layer_store_auth_helper_;
  }
  const std::vector<RegistryEntry>& registries() const { return registries_; }
  // Short name ("busybox") -> fully qualified repository ("docker.io/library/busybox").
  const std::map<std::string, std::string>& aliases() const { return aliases_; }

  // The [[registry]] table for `ref`: the one whose prefix matches the longest part of it (a
  // prefix matches only up to a '/', ':tag' or '@digest' boundary), a plain prefix winning over
  // a wildcard of the same length. nullptr when none matches.
  const RegistryEntry* FindRegistry(const Reference& ref) const;

  // Where to pull `ref` from, in order: the matching registry's mirrors that serve this kind of
  // pull (by digest when `ref` has a digest, else by tag), then its primary location. Without a
  // matching [[registry]], just `ref` over TLS. PermissionDenied, naming the reference and the
  // prefix, when the registry is blocked.
  absl::StatusOr<std::vector<PullEndpoint>> ResolvePull(const Reference& ref) const;

  // The fully qualified references to try for `input`, in order. A fully qualified input gives
  // itself. A short name gives its alias when one is configured, else one candidate per
  // unqualified-search registry (docker.io when the list is empty, the fallback the kubelet
  // expects of CRI-O and containerd).
  //
  // short-name-mode is not applied here: "enforcing" asks a user on a terminal to choose when
  // there is more than one search registry, and a CRI runtime has neither user nor terminal.
  // Failing every such pull would break clusters that rely on the search list, so all three
  // modes return every candidate in order, as "permissive" does for non-interactive callers.
  // The mode stays available through short_name_mode() for callers that want to be stricter.
  absl::StatusOr<std::vector<Reference>> ShortNameCandidates(absl::string_view input) const;

 private:
  std::vector<std::string> unqualified_search_registries_;
  ShortNameMode short_name_mode_ = ShortNameMode::kPermissive;
  std::vector<std::string> credential_helpers_;
  std::string additional_layer_store_auth_helper_;
  std::vector<RegistryEntry> registries_;
  std::map<std::string, std::string> aliases_;
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_REGISTRIES_CONFIG_H_
