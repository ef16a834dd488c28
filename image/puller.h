#ifndef BERTH_IMAGE_PULLER_H_
#define BERTH_IMAGE_PULLER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "image/auth_file.h"
#include "image/manifest.h"
#include "image/pull_source.h"
#include "image/registries_config.h"
#include "image/registry_auth.h"
#include "image/store.h"

namespace berth::image {

struct PullerOptions {
  // Layers of one image downloaded and unpacked at once.
  int max_parallel_downloads = 3;
  // The platform chosen from an index.
  Platform platform = NodePlatform();
  size_t max_config_bytes = 8 << 20;
};

// Pulls images into the Store: resolve the name (short names, mirrors, blocked registries),
// fetch the manifest (choosing a platform from an index), the config and every layer not yet
// stored; each layer is downloaded and unpacked by the PullSource (UnpackLayer checks its
// digest and diff id) into a directory staged here, committed only when whole. Each Pull call
// that reaches a registry makes its own source (in berthd, a pull worker process that lives
// as long as the call). Pulls of the same name share one pull; pulls of images sharing a
// layer unpack it once (LayerLease). Thread-safe.
class Puller {
 public:
  Puller(Store* store, PullSourceFactory sources, const RegistriesConfig* registries,
         const AuthFile* auth_file, PullerOptions options);

  // Returns the image id ("sha256:" of the config). `creds` (from the CRI request) win over the
  // auth file; they go to the image's own registry only.
  absl::StatusOr<std::string> Pull(absl::string_view image, const Credentials& creds);

 private:
  struct InFlight {
    absl::Notification done;
    absl::StatusOr<std::string> result = absl::UnknownError("pull in flight");
  };
  struct Fetched;  // manifest, config and where they came from

  absl::StatusOr<std::string> PullCandidates(absl::string_view image, const Credentials& creds);
  absl::StatusOr<std::string> PullReference(PullSource& source, const Reference& ref,
                                            const Credentials& creds);
  absl::StatusOr<std::string> PullFrom(PullSource& source, const Reference& ref,
                                       const PullEndpoint& endpoint, const Credentials& creds);
  // Fetches the layers and records the image described by `record` (digests and chain ids set).
  absl::StatusOr<std::string> StoreImage(PullSource& source, const PullEndpoint& endpoint,
                                         const Credentials& creds, const Fetched& fetched,
                                         state::v1::ImageRecord record);
  absl::StatusOr<Fetched> FetchMetadata(PullSource& source, const PullEndpoint& endpoint,
                                        const Credentials& creds);
  absl::Status FetchLayers(PullSource& source, const PullEndpoint& endpoint,
                           const Credentials& creds, const Fetched& fetched,
                           const std::vector<std::string>& chain_ids,
                           std::vector<LayerLease>& leases);
  // `downloaded` is called once the blob is read and unpacked, before the commit.
  absl::Status FetchLayer(PullSource& source, const PullEndpoint& endpoint,
                          const Credentials& creds, const Descriptor& layer,
                          const std::string& diff_id, const std::string& chain_id,
                          const std::string& parent, const std::function<void()>& downloaded);

  Store* store_;
  const PullSourceFactory sources_;
  const RegistriesConfig* registries_;
  const AuthFile* auth_file_;
  const PullerOptions options_;

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_PULLER_H_
