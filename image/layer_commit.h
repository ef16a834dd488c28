#ifndef BERTH_IMAGE_LAYER_COMMIT_H_
#define BERTH_IMAGE_LAYER_COMMIT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "image/store.h"

namespace berth::image {

// One layer to unpack and commit into the Store.
struct LayerToCommit {
  std::string digest;      // "sha256:" of the blob; empty: not known in advance (not checked)
  std::string media_type;  // recorded in the layer record
  std::string diff_id;     // from the image config; always checked
  std::string chain_id;
  std::string parent;  // the parent chain id; empty for a base layer
  // The source checks the blob against `digest` as it streams it and fails when it does not
  // match (RegistryClient::FetchBlob does): the unpacker then hashes only the tar stream.
  bool source_verifies_digest = false;
};

// (The same type as RegistryClient's BlobSink.) Where the blob's bytes come from: calls `sink` with
// each chunk, in order, and returns when the blob is complete (or the first error, including the
// sink's).
using BlobSink = std::function<absl::Status(absl::string_view chunk)>;
using BlobSource = std::function<absl::Status(const BlobSink& sink)>;

// Streams the blob from `source` (on its own thread) through a pipe into UnpackLayer, which
// verifies the digest and diff id, into a staged directory committed as `layer.chain_id` only
// when whole. The caller holds the layer's lease. Returns the blob digest actually read
// through `digest` when given (useful when `layer.digest` was empty). `on_unpacked`, when given,
// is called once the source is done and the unpacker stopped (whatever the outcome), before
// the commit.
absl::Status UnpackAndCommitLayer(Store* store, const LayerToCommit& layer,
                                  const BlobSource& source, std::string* digest = nullptr,
                                  const std::function<void()>& on_unpacked = nullptr);

}  // namespace berth::image

#endif  // BERTH_IMAGE_LAYER_COMMIT_H_
