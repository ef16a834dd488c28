#ifndef BERTH_IMAGE_LAYER_COMMIT_H_
#define BERTH_IMAGE_LAYER_COMMIT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "image/layer_stream.h"
#include "image/layer_unpack.h"
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

// Unpacks a layer into `dir` (an empty staged directory) and returns its digests; the caller
// removes the directory on failure.
using LayerUnpacker = std::function<absl::StatusOr<LayerDigests>(const std::string& dir)>;

// Streams the blob from `source` (on its own thread) through a pipe into UnpackLayer, which
// verifies it against `options`, into `dir`. A source failure wins over the unpacker's early
// end; an unpacker that stopped first (a hostile entry) wins over the broken pipe.
absl::StatusOr<LayerDigests> StreamIntoLayer(const BlobSource& source, const std::string& dir,
                                             const UnpackOptions& options);

// Stages a directory, runs `unpack` into it, and commits it as `layer.chain_id` only when
// whole (the staged directory is removed otherwise). The caller holds the layer's lease.
// Errors are annotated with the layer. Returns the blob digest actually read through `digest`
// when given (useful when `layer.digest` was empty). `on_unpacked`, when given, is called once
// `unpack` returned (whatever the outcome), before the commit.
absl::Status CommitUnpackedLayer(Store* store, const LayerToCommit& layer,
                                 const LayerUnpacker& unpack, std::string* digest = nullptr,
                                 const std::function<void()>& on_unpacked = nullptr);

// CommitUnpackedLayer with StreamIntoLayer from `source` (the importer's in-process path).
absl::Status UnpackAndCommitLayer(Store* store, const LayerToCommit& layer,
                                  const BlobSource& source, std::string* digest = nullptr,
                                  const std::function<void()>& on_unpacked = nullptr);

// The unpack options that check `layer`.
UnpackOptions UnpackOptionsFor(const LayerToCommit& layer);

}  // namespace berth::image

#endif  // BERTH_IMAGE_LAYER_COMMIT_H_
