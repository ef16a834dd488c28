#ifndef BERTH_IMAGE_LAYER_DECODER_H_
#define BERTH_IMAGE_LAYER_DECODER_H_

#include <cstddef>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::image::layer_stream_internal {

// The largest zstd window a layer may ask for, as a log2: 32 MiB. Real registries' zstd layers
// use far less (zstd -3 has 2 MiB, -19 8 MiB, Go's klauspost encoder 8 MiB); only `zstd --long`
// and `--ultra -21/-22` go above it. 2^25 is the largest window that keeps one layer's pull
// within the daemon's 64 MiB memory budget, so a hostile frame cannot make the decoder allocate
// more.
inline constexpr int kZstdMaxWindowLog = 25;

// Turns compressed input into decompressed output, one call at a time. Memory use is fixed
// whatever the stream's size.
class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes from `in` (`eof`: no input follows it) into `out`; sets `consumed` and returns the
  // bytes produced. Returning 0 with nothing consumed means "give me more input".
  virtual absl::StatusOr<size_t> Decode(const char* in, size_t in_size, bool eof, size_t* consumed,
                                        char* out, size_t out_capacity) = 0;
  // Called once all input was consumed: is the compressed stream complete?
  virtual absl::Status Finish() = 0;
};

// Copies its input.
std::unique_ptr<Decoder> MakePassthroughDecoder();

// gzip (RFC 1952), member after member: a blob may be several gzip members end to end (pigz,
// appended layers), which together decompress to one stream. Each member's header is checked
// (method, reserved flags, header crc), its CRC-32 and length trailer verified. Inflates with
// ISA-L's igzip. Errors: DataLoss for a corrupt or truncated stream, InvalidArgument for data
// after a member that is not another gzip member.
std::unique_ptr<Decoder> MakeGzipDecoder();

// zstd; several frames (and skippable frames) in a row are one stream. A frame whose window
// exceeds 2^kZstdMaxWindowLog fails with ResourceExhausted before anything is allocated for it.
std::unique_ptr<Decoder> MakeZstdDecoder();

}  // namespace berth::image::layer_stream_internal

#endif  // BERTH_IMAGE_LAYER_DECODER_H_
