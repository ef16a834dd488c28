#include "image/pull_source.h"

#include "image/layer_commit.h"

namespace berth::image {

absl::StatusOr<FetchedManifest> LocalPullSource::GetManifest(const PullEndpoint& endpoint,
                                                             const Credentials& creds) {
  return client_->GetManifest(endpoint, creds);
}

absl::StatusOr<std::string> LocalPullSource::FetchConfig(const PullEndpoint& endpoint,
                                                         const std::string& digest,
                                                         const Credentials& creds,
                                                         size_t max_bytes) {
  return client_->FetchBlobToString(endpoint, digest, creds, max_bytes);
}

absl::StatusOr<LayerDigests> LocalPullSource::FetchLayerInto(const PullEndpoint& endpoint,
                                                             const Credentials& creds,
                                                             const Descriptor& layer,
                                                             const UnpackOptions& options,
                                                             const std::string& dir) {
  return StreamIntoLayer(
      [&](const BlobSink& sink) {
        return client_->FetchBlob(endpoint, layer.digest, creds, sink, layer.size);
      },
      dir, options);
}

}  // namespace berth::image
