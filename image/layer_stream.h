#ifndef BERTH_IMAGE_LAYER_STREAM_H_
#define BERTH_IMAGE_LAYER_STREAM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "image/manifest.h"  // LayerCompression

namespace berth::image {

namespace layer_stream_internal {
class Decoder;
}  // namespace layer_stream_internal
class Sha256;

// The identities of one layer, as "sha256:<hex>" strings, and its sizes.
struct LayerDigests {
  // sha256 of the bytes as read from the source (the blob digest in a manifest).
  std::string digest;
  // sha256 of the decompressed tar stream (the diff id in an image config).
  std::string diff_id;
  int64_t compressed_size = 0;
  int64_t uncompressed_size = 0;
};

// Uncompressed layers larger than this are refused unless the caller says otherwise.
inline constexpr int64_t kDefaultMaxUncompressedBytes = int64_t{64} << 30;

// Reads a layer blob from a file descriptor (a file or a pipe fed by a download), hashes the
// raw bytes (unless `hash_source` is false: the caller verifies them itself), detects and
// undoes gzip (concatenated members included) or zstd compression itself, and hashes the
// decompressed bytes it hands out. Memory use is a few fixed buffers
// whatever the layer's size. The source descriptor is borrowed, not closed.
//
// Errors: DataLoss for a truncated or corrupt compressed stream, InvalidArgument for data
// after the end of a gzip stream that is not another gzip member, ResourceExhausted when the
// decompressed stream exceeds `max_uncompressed_bytes`, an errno status when reading fails.
class LayerStream {
 public:
  LayerStream(int source_fd, int64_t max_uncompressed_bytes, bool hash_source = true);
  ~LayerStream();
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // Fills `buffer` with up to `capacity` decompressed bytes; 0 means the end of the layer,
  // after which the compressed source was read to its end and verified complete.
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity);

  // Reads and hashes whatever is left (the tar's end padding, trailing bytes) so the digests
  // cover the whole stream.
  absl::Status DrainToEnd();

  // The digests of everything read so far; complete once Read returned 0 or DrainToEnd
  // succeeded (`digest` is empty when the source is not hashed). Calling it finishes the
  // hashes: read nothing afterwards.
  LayerDigests Finish();

  // Detected from the first bytes (not the media type); known once the first Read returned.
  LayerCompression compression() const { return compression_; }

 private:
  using Decoder = layer_stream_internal::Decoder;

  // Reads raw bytes from the source into raw_, hashing them. Sets raw_eof_ at the end.
  absl::Status FillRaw();
  absl::Status DetectCompression();
  absl::StatusOr<size_t> ReadDecoded(char* buffer, size_t capacity);
  // The tar stream is the raw stream (no compression) and the raw stream is hashed: one sha256
  // gives both digests.
  bool SameBytesHashedRaw() const {
    return compression_ == LayerCompression::kNone && raw_hash_ != nullptr;
  }

  int source_fd_;
  int64_t max_uncompressed_bytes_;
  bool started_ = false;
  bool done_ = false;
  LayerCompression compression_ = LayerCompression::kNone;
  std::unique_ptr<Sha256> raw_hash_;  // null when the source is not hashed
  std::unique_ptr<Sha256> tar_hash_;
  std::unique_ptr<Decoder> decoder_;
  std::vector<char> raw_;  // compressed bytes read but not yet decoded: [raw_pos_, raw_end_)
  size_t raw_pos_ = 0;
  size_t raw_end_ = 0;
  bool raw_eof_ = false;
  int64_t compressed_size_ = 0;
  int64_t uncompressed_size_ = 0;
};

// Reads `source_fd` to its end and returns its digests without unpacking anything (for
// verifying imported blobs). Errors as LayerStream's.
absl::StatusOr<LayerDigests> DigestStream(
    int source_fd, int64_t max_uncompressed_bytes = kDefaultMaxUncompressedBytes);

}  // namespace berth::image

#endif  // BERTH_IMAGE_LAYER_STREAM_H_
