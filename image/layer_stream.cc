#include "image/layer_stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "image/layer_decoder.h"
#include "image/sha256.h"

namespace berth::image {
namespace {

constexpr size_t kRawBufferSize = 128 * 1024;
constexpr size_t kDrainBufferSize = 64 * 1024;

constexpr unsigned char kGzipMagic[] = {0x1f, 0x8b};
constexpr unsigned char kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};

bool HasPrefix(const char* data, size_t size, const unsigned char* magic, size_t magic_size) {
  return size >= magic_size && std::memcmp(data, magic, magic_size) == 0;
}

}  // namespace

LayerStream::LayerStream(int source_fd, int64_t max_uncompressed_bytes, bool hash_source)
    : source_fd_(source_fd),
      max_uncompressed_bytes_(max_uncompressed_bytes),
      raw_hash_(hash_source ? std::make_unique<Sha256>() : nullptr),
      tar_hash_(std::make_unique<Sha256>()),
      raw_(kRawBufferSize) {}

LayerStream::~LayerStream() = default;

absl::Status LayerStream::FillRaw() {
  if (raw_pos_ > 0) {
    std::memmove(raw_.data(), raw_.data() + raw_pos_, raw_end_ - raw_pos_);
    raw_end_ -= raw_pos_;
    raw_pos_ = 0;
  }
  if (raw_end_ == raw_.size()) return absl::InternalError("layer stream buffer full");
  while (true) {
    ssize_t n = ::read(source_fd_, raw_.data() + raw_end_, raw_.size() - raw_end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "reading the layer");
    if (n == 0) {
      raw_eof_ = true;
    } else {
      if (raw_hash_ != nullptr) raw_hash_->Update(raw_.data() + raw_end_, static_cast<size_t>(n));
      raw_end_ += static_cast<size_t>(n);
      compressed_size_ += n;
    }
    return absl::OkStatus();
  }
}

absl::Status LayerStream::DetectCompression() {
  while (raw_end_ < sizeof(kZstdMagic) && !raw_eof_) RETURN_IF_ERROR(FillRaw());
  const char* head = raw_.data();
  if (HasPrefix(head, raw_end_, kGzipMagic, sizeof(kGzipMagic))) {
    compression_ = LayerCompression::kGzip;
    decoder_ = layer_stream_internal::MakeGzipDecoder();
  } else if (HasPrefix(head, raw_end_, kZstdMagic, sizeof(kZstdMagic))) {
    compression_ = LayerCompression::kZstd;
    decoder_ = layer_stream_internal::MakeZstdDecoder();
  } else {
    compression_ = LayerCompression::kNone;
    decoder_ = layer_stream_internal::MakePassthroughDecoder();
  }
  started_ = true;
  return absl::OkStatus();
}

absl::StatusOr<size_t> LayerStream::ReadDecoded(char* buffer, size_t capacity) {
  while (true) {
    if (raw_pos_ == raw_end_ && !raw_eof_) RETURN_IF_ERROR(FillRaw());
    size_t consumed = 0;
    ASSIGN_OR_RETURN(size_t produced, decoder_->Decode(raw_.data() + raw_pos_, raw_end_ - raw_pos_,
                                                       raw_eof_, &consumed, buffer, capacity));
    raw_pos_ += consumed;
    if (produced > 0) return produced;
    if (consumed > 0) continue;
    if (raw_eof_) {
      RETURN_IF_ERROR(decoder_->Finish());
      if (raw_pos_ != raw_end_) return absl::DataLossError("undecodable data at the layer's end");
      return 0;
    }
    RETURN_IF_ERROR(FillRaw());
  }
}

absl::StatusOr<size_t> LayerStream::Read(char* buffer, size_t capacity) {
  if (done_ || capacity == 0) return 0;
  if (!started_) RETURN_IF_ERROR(DetectCompression());
  ASSIGN_OR_RETURN(size_t n, ReadDecoded(buffer, capacity));
  if (n == 0) {
    done_ = true;
    return 0;
  }
  uncompressed_size_ += static_cast<int64_t>(n);
  if (uncompressed_size_ > max_uncompressed_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "layer decompresses to more than the limit of ", max_uncompressed_bytes_, " bytes"));
  }
  // An uncompressed layer is its own tar: the raw hash already covers these bytes.
  if (!SameBytesHashedRaw()) tar_hash_->Update(buffer, n);
  return n;
}

absl::Status LayerStream::DrainToEnd() {
  std::vector<char> scratch(kDrainBufferSize);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, Read(scratch.data(), scratch.size()));
    if (n == 0) return absl::OkStatus();
  }
}

LayerDigests LayerStream::Finish() {
  LayerDigests digests;
  if (raw_hash_ != nullptr) digests.digest = raw_hash_->FinishDigest();
  digests.diff_id = SameBytesHashedRaw() ? digests.digest : tar_hash_->FinishDigest();
  digests.compressed_size = compressed_size_;
  digests.uncompressed_size = uncompressed_size_;
  return digests;
}

absl::StatusOr<LayerDigests> DigestStream(int source_fd, int64_t max_uncompressed_bytes) {
  LayerStream stream(source_fd, max_uncompressed_bytes);
  RETURN_IF_ERROR(Annotate(stream.DrainToEnd(), "digesting layer"));
  return stream.Finish();
}

}  // namespace berth::image
