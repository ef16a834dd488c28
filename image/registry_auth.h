#ifndef BERTH_IMAGE_REGISTRY_AUTH_H_
#define BERTH_IMAGE_REGISTRY_AUTH_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::image {

// Credentials for one registry, from a CRI AuthConfig or from an auth file. Never log them.
struct Credentials {
  std::string username;
  std::string password;
  // An OAuth2 refresh token, exchanged at the token endpoint (grant_type=refresh_token).
  std::string identity_token;
  // A bearer token sent to the registry as it is.
  std::string registry_token;
  // The registry ("host[:port]") these belong to. Empty: the registry of the reference being
  // pulled, so they go to primary endpoints only, never to a mirror. Either way they are never
  // sent to another host (a redirect target).
  std::string registry;

  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
  bool has_basic() const { return !username.empty() || !password.empty(); }

  // From the base64 "user:password" form (AuthConfig.auth, auth.json "auth"). InvalidArgument,
  // without the value, for bad base64 or a missing ':'.
  static absl::StatusOr<Credentials> FromAuth(absl::string_view base64);
};

// One challenge of a WWW-Authenticate header (RFC 7235).
struct AuthChallenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // names in lower case, values unquoted

  // The value of `name` (lower case), or "".
  std::string Param(const std::string& name) const;
};

// Parses a WWW-Authenticate value: one or more challenges, each a scheme followed by
// comma-separated name=value params (token or quoted-string with backslash escapes), or by a
// token68. InvalidArgument for malformed input.
absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticate(absl::string_view header);

struct BearerToken {
  std::string token;
  absl::Time expires;
};

// The default lifetime of a token whose response names no expires_in, as the token spec says.
inline constexpr absl::Duration kDefaultTokenLifetime = absl::Seconds(60);

// Parses a token endpoint response: "token" or "access_token", "expires_in" (seconds; default
// 60). The token expires `expires_in` after `now`.
absl::StatusOr<BearerToken> ParseTokenResponse(absl::string_view body, absl::Time now);

// How to ask a bearer challenge's realm for a token.
struct TokenRequest {
  std::string url;          // realm with service and scope in the query (GET), or the realm (POST)
  std::string post_form;    // non-empty: POST this application/x-www-form-urlencoded body
  bool basic_auth = false;  // send the credentials' username/password as HTTP basic auth
};

// The token request for `challenge` (a bearer challenge with a realm) and `scope`
// ("repository:<path>:pull"): a POST refresh_token grant when `creds` has an identity token, a
// GET with basic auth when it has a username/password, an anonymous GET otherwise.
// InvalidArgument when the realm is missing or not an http(s) URL.
absl::StatusOr<TokenRequest> BuildTokenRequest(const AuthChallenge& challenge,
                                               const std::string& scope, const Credentials& creds);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEncode(absl::string_view value);

// Bearer tokens by (registry, scope, credentials identity), until they expire. Thread-safe.
class TokenCache {
 public:
  // A token still valid at `now` (with a few seconds of margin), or nullopt.
  std::optional<std::string> Get(const std::string& key, absl::Time now) const;
  void Put(const std::string& key, BearerToken token);
  void Erase(const std::string& key);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, BearerToken> tokens_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_REGISTRY_AUTH_H_
