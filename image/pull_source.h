#ifndef BERTH_IMAGE_PULL_SOURCE_H_
#define BERTH_IMAGE_PULL_SOURCE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "image/layer_stream.h"
#include "image/layer_unpack.h"
#include "image/manifest.h"
#include "image/registries_config.h"
#include "image/registry_auth.h"
#include "image/registry_client.h"

namespace berth::image {

// What the Puller needs of a registry: the network and tar half of a pull. The Puller keeps the
// rest (names, endpoints, credentials, leases, staging, commits, the image record).
// Implementations are thread-safe: a pull fetches several layers at once. Errors are the
// RegistryClient's and UnpackLayer's, unchanged.
class PullSource {
 public:
  virtual ~PullSource() = default;

  // RegistryClient::GetManifest.
  virtual absl::StatusOr<FetchedManifest> GetManifest(const PullEndpoint& endpoint,
                                                      const Credentials& creds) = 0;
  // RegistryClient::FetchBlobToString.
  virtual absl::StatusOr<std::string> FetchConfig(const PullEndpoint& endpoint,
                                                  const std::string& digest,
                                                  const Credentials& creds, size_t max_bytes) = 0;
  // Downloads blob `layer` (checking its digest and size as it streams) and unpacks it into
  // `dir`, an empty directory the caller staged and removes on failure.
  virtual absl::StatusOr<LayerDigests> FetchLayerInto(const PullEndpoint& endpoint,
                                                      const Credentials& creds,
                                                      const Descriptor& layer,
                                                      const UnpackOptions& options,
                                                      const std::string& dir) = 0;
};

// Makes the source for one Puller::Pull call (a pull worker, or an in-process source).
using PullSourceFactory = std::function<absl::StatusOr<std::unique_ptr<PullSource>>()>;

// The in-process source: `client` (which must outlive it) and UnpackLayer in this process.
// It is what the pull worker runs; berthd itself uses the worker (image/pull_worker_client.h).
class LocalPullSource : public PullSource {
 public:
  explicit LocalPullSource(RegistryClient* client) : client_(client) {}

  absl::StatusOr<FetchedManifest> GetManifest(const PullEndpoint& endpoint,
                                              const Credentials& creds) override;
  absl::StatusOr<std::string> FetchConfig(const PullEndpoint& endpoint, const std::string& digest,
                                          const Credentials& creds, size_t max_bytes) override;
  absl::StatusOr<LayerDigests> FetchLayerInto(const PullEndpoint& endpoint,
                                              const Credentials& creds, const Descriptor& layer,
                                              const UnpackOptions& options,
                                              const std::string& dir) override;

 private:
  RegistryClient* client_;
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_PULL_SOURCE_H_
