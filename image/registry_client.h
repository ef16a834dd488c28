#ifndef BERTH_IMAGE_REGISTRY_CLIENT_H_
#define BERTH_IMAGE_REGISTRY_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "image/manifest.h"
#include "image/registries_config.h"
#include "image/registry_auth.h"

namespace berth::image {

// A manifest or index as the registry served it.
struct FetchedManifest {
  std::string bytes;
  std::string media_type;  // one of the four manifest/index types (schema 1 is refused)
  std::string digest;      // "sha256:" of `bytes`
};

// Receives a blob's bytes in order as they arrive. An error aborts the transfer.
using BlobSink = std::function<absl::Status(absl::string_view chunk)>;

// The pull side of the OCI distribution protocol over libcurl: /v2/ ping, Basic and Bearer
// auth (tokens cached per registry, scope and credentials until they expire), manifests and
// blobs verified against their digests while they stream. Thread-safe: every request uses its
// own curl handle; the token and ping caches are shared.
//
// Credentials go only to the registry they belong to (see Credentials::registry): never to a
// mirror they were not configured for, and never to another host a redirect leads to (redirects
// are followed here, not by libcurl, and Authorization is dropped when the origin changes).
//
// TLS is verified against the system CAs plus `<certs_dir>/<host[:port]>/*.crt`; a
// `<name>.cert` + `<name>.key` pair there is the client certificate. An `insecure` endpoint is
// tried over https without verification first and, when no TLS connection can be made at all,
// over plain http (what containers/image does); the choice is remembered per registry.
//
// Errors: 401 Unauthenticated and 403 PermissionDenied naming the registry, 404 NotFound naming
// the image or blob, network failures, 429 and 5xx (after retries) Unavailable, a digest
// mismatch or a truncated body DataLoss, a server certificate that does not verify (or an
// unusable client certificate) FailedPrecondition naming the certs.d directory consulted, never
// retried. Messages never hold credentials or tokens.
class RegistryClient {
 public:
  struct Options {
    std::string certs_dir = "/etc/containers/certs.d";
    absl::Duration connect_timeout = absl::Seconds(30);
    // Abort a transfer that moves less than one byte per second for this long.
    absl::Duration stall_timeout = absl::Seconds(60);
    // Extra attempts after a transient failure (connection error, 429, 5xx), with exponential
    // backoff from `retry_backoff`. 401, 403 and 404 are never retried, nor a blob transfer
    // after its first byte reached the sink.
    int retries = 3;
    absl::Duration retry_backoff = absl::Milliseconds(500);
    size_t max_manifest_bytes = kMaxManifestBytes;
  };

  RegistryClient() : RegistryClient(Options()) {}
  explicit RegistryClient(Options options);
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The manifest or index the endpoint's reference names (by digest when it has one, else by
  // tag). When the reference has a digest the bytes must match it (DataLoss otherwise).
  absl::StatusOr<FetchedManifest> GetManifest(const PullEndpoint& endpoint,
                                              const Credentials& creds);

  // Streams blob `digest` of the endpoint's repository into `sink`, verifying the digest (and
  // `expected_size` when not negative) as it goes: DataLoss for a mismatch, a truncated body or
  // a body larger than expected. Redirects (to blob storage) are followed.
  absl::Status FetchBlob(const PullEndpoint& endpoint, const std::string& digest,
                         const Credentials& creds, const BlobSink& sink,
                         int64_t expected_size = -1);

  // A whole blob in memory, for configs: ResourceExhausted when larger than `max_bytes`.
  absl::StatusOr<std::string> FetchBlobToString(const PullEndpoint& endpoint,
                                                const std::string& digest, const Credentials& creds,
                                                size_t max_bytes);

  const Options& options() const { return options_; }

 private:
  struct Target;
  struct Request;
  struct Response;
  struct PingResult {
    std::string base_url;  // "https://host:port"
    bool verify_tls = true;
    std::vector<AuthChallenge> challenges;
    absl::Time expires;
  };

  absl::StatusOr<Target> MakeTarget(const PullEndpoint& endpoint, const Credentials& creds);
  absl::StatusOr<PingResult> Ping(const Target& target);
  absl::StatusOr<std::string> Authorization(const Target& target,
                                            const std::vector<AuthChallenge>& challenges,
                                            bool fresh);
  absl::StatusOr<std::string> FetchToken(const Target& target, const AuthChallenge& challenge,
                                         const std::string& cache_key);
  // GET `path` under the registry's base URL with authorization, renewing it once on 401.
  absl::StatusOr<Response> AuthorizedGet(Target& target, const std::string& path,
                                         std::vector<std::string> headers, const BlobSink* sink,
                                         const std::function<bool()>& can_retry);
  absl::StatusOr<Response> SendWithRetries(const Request& request, const BlobSink* sink,
                                           const std::function<bool()>& can_retry);
  absl::StatusOr<Response> Execute(const Request& request, const BlobSink* sink);
  absl::StatusOr<Response> Exchange(const Request& request, const std::string& url, bool with_auth,
                                    const BlobSink* sink);

  const Options options_;
  TokenCache tokens_;
  absl::Mutex ping_mu_;
  std::map<std::string, PingResult> pings_ ABSL_GUARDED_BY(ping_mu_);
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_REGISTRY_CLIENT_H_
