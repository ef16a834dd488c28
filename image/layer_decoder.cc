#include "image/layer_decoder.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace berth::image::layer_stream_internal {
namespace {

constexpr unsigned char kGzipMagic[] = {0x1f, 0x8b};
constexpr size_t kGzipFixedHeaderSize = 10;
constexpr unsigned char kGzipDeflate = 8;
// RFC 1952 FLG bits.
constexpr unsigned char kFlagHeaderCrc = 0x02;
constexpr unsigned char kFlagExtra = 0x04;
constexpr unsigned char kFlagName = 0x08;
constexpr unsigned char kFlagComment = 0x10;
constexpr unsigned char kFlagReserved = 0xe0;

uint32_t ClampToU32(size_t n) {
  return static_cast<uint32_t>(std::min<size_t>(n, std::numeric_limits<uint32_t>::max()));
}

class PassthroughDecoder : public Decoder {
 public:
  absl::StatusOr<size_t> Decode(const char* in, size_t in_size, bool /*eof*/, size_t* consumed,
                                char* out, size_t out_capacity) override {
    size_t n = std::min(in_size, out_capacity);
    if (n > 0) std::memcpy(out, in, n);
    *consumed = n;
    return n;
  }
  absl::Status Finish() override { return absl::OkStatus(); }
};

// Parses one gzip member header (RFC 1952 2.3) fed in pieces of any size. igzip's own header
// parser is not used: ISA-L 2.30 rejects a valid FHCRC when the header arrives split.
class GzipHeaderParser {
 public:
  // Consumes header bytes from `in`, setting `used`; true once the header is complete.
  absl::StatusOr<bool> Consume(const unsigned char* in, size_t size, size_t* used) {
    size_t pos = 0;
    while (pos < size && part_ != Part::kDone) {
      size_t take = 0;
      switch (part_) {
        case Part::kFixed:
        case Part::kExtraLength:
        case Part::kHeaderCrc:
          take = std::min(PartSize(part_) - have_, size - pos);
          std::memcpy(bytes_ + have_, in + pos, take);
          have_ += take;
          break;
        case Part::kExtra:
          take = std::min<size_t>(extra_left_, size - pos);
          extra_left_ -= static_cast<uint32_t>(take);
          break;
        case Part::kName:
        case Part::kComment: {
          const void* nul = std::memchr(in + pos, '\0', size - pos);
          take =
              nul != nullptr ? static_cast<const unsigned char*>(nul) - (in + pos) + 1 : size - pos;
          if (nul != nullptr) have_ = 1;  // the terminator is in
          break;
        }
        case Part::kDone:
          break;
      }
      if (part_ != Part::kHeaderCrc) crc_ = crc32_gzip_refl(crc_, in + pos, take);
      pos += take;
      absl::Status finished = FinishPartIfComplete();
      if (!finished.ok()) {
        *used = pos;
        return finished;
      }
    }
    *used = pos;
    return part_ == Part::kDone;
  }

 private:
  enum class Part { kFixed, kExtraLength, kExtra, kName, kComment, kHeaderCrc, kDone };

  static size_t PartSize(Part part) {
    return part == Part::kFixed ? kGzipFixedHeaderSize : 2;  // XLEN and CRC16 are two bytes
  }

  // The part after `part` that this header's flags include.
  Part Next(Part part) const {
    if (part < Part::kExtraLength && (flags_ & kFlagExtra) != 0) return Part::kExtraLength;
    if (part < Part::kName && (flags_ & kFlagName) != 0) return Part::kName;
    if (part < Part::kComment && (flags_ & kFlagComment) != 0) return Part::kComment;
    if (part < Part::kHeaderCrc && (flags_ & kFlagHeaderCrc) != 0) return Part::kHeaderCrc;
    return Part::kDone;
  }

  void Advance(Part next) {
    part_ = next;
    have_ = 0;
  }

  absl::Status FinishPartIfComplete() {
    switch (part_) {
      case Part::kFixed:
        if (have_ < kGzipFixedHeaderSize) return absl::OkStatus();
        if (std::memcmp(bytes_, kGzipMagic, sizeof(kGzipMagic)) != 0) {
          return absl::DataLossError("corrupt gzip stream: bad magic");
        }
        if (bytes_[2] != kGzipDeflate) {
          return absl::DataLossError("corrupt gzip stream: unknown compression method");
        }
        flags_ = bytes_[3];
        if ((flags_ & kFlagReserved) != 0) {
          return absl::DataLossError("corrupt gzip stream: reserved header flags set");
        }
        Advance(Next(Part::kFixed));
        return absl::OkStatus();
      case Part::kExtraLength:
        if (have_ < 2) return absl::OkStatus();
        extra_left_ = bytes_[0] | (uint32_t{bytes_[1]} << 8);
        Advance(extra_left_ > 0 ? Part::kExtra : Next(Part::kExtra));
        return absl::OkStatus();
      case Part::kExtra:
        if (extra_left_ == 0) Advance(Next(Part::kExtra));
        return absl::OkStatus();
      case Part::kName:
      case Part::kComment:
        if (have_ == 1) Advance(Next(part_));
        return absl::OkStatus();
      case Part::kHeaderCrc: {
        if (have_ < 2) return absl::OkStatus();
        uint32_t stored = bytes_[0] | (uint32_t{bytes_[1]} << 8);
        if (stored != (crc_ & 0xffff)) {
          return absl::DataLossError("corrupt gzip stream: header checksum mismatch");
        }
        Advance(Part::kDone);
        return absl::OkStatus();
      }
      case Part::kDone:
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  Part part_ = Part::kFixed;
  unsigned char bytes_[kGzipFixedHeaderSize] = {};
  size_t have_ = 0;  // bytes of the current part seen (for a name or comment: 1 once ended)
  unsigned char flags_ = 0;
  uint32_t extra_left_ = 0;
  uint32_t crc_ = 0;  // CRC-32 of the header bytes so far, for FHCRC
};

class GzipDecoder : public Decoder {
 public:
  GzipDecoder() : state_(std::make_unique<inflate_state>()) {}

  absl::StatusOr<size_t> Decode(const char* in, size_t in_size, bool eof, size_t* consumed,
                                char* out, size_t out_capacity) override {
    *consumed = 0;
    const auto* input = reinterpret_cast<const unsigned char*>(in);
    if (phase_ == Phase::kBetweenMembers) {
      if (in_size == 0 || (in_size < sizeof(kGzipMagic) && !eof)) return 0;
      if (in_size < sizeof(kGzipMagic) || std::memcmp(in, kGzipMagic, sizeof(kGzipMagic)) != 0) {
        return absl::InvalidArgumentError("data after the end of the gzip stream");
      }
      header_ = GzipHeaderParser();
      phase_ = Phase::kHeader;
    }
    size_t pos = 0;
    if (phase_ == Phase::kHeader) {
      absl::StatusOr<bool> done = header_.Consume(input, in_size, &pos);
      *consumed = pos;
      if (!done.ok()) return done.status();
      if (!*done) return 0;
      isal_inflate_init(state_.get());
      // Raw deflate, then the member's CRC-32 and length trailer checked by igzip.
      state_->crc_flag = ISAL_GZIP_NO_HDR_VER;
      phase_ = Phase::kBody;
    }
    uint32_t given = ClampToU32(in_size - pos);
    uint32_t room = ClampToU32(out_capacity);
    state_->next_in = const_cast<uint8_t*>(input + pos);
    state_->avail_in = given;
    state_->next_out = reinterpret_cast<uint8_t*>(out);
    state_->avail_out = room;
    int rc = isal_inflate(state_.get());
    *consumed = pos + (given - state_->avail_in);
    if (rc != ISAL_DECOMP_OK) return InflateError(rc);
    if (state_->block_state == ISAL_BLOCK_FINISH) phase_ = Phase::kBetweenMembers;
    return static_cast<size_t>(room - state_->avail_out);
  }

  absl::Status Finish() override {
    if (phase_ != Phase::kBetweenMembers) return absl::DataLossError("truncated gzip stream");
    return absl::OkStatus();
  }

 private:
  enum class Phase { kHeader, kBody, kBetweenMembers };

  static absl::Status InflateError(int rc) {
    switch (rc) {
      case ISAL_INCORRECT_CHECKSUM:
        return absl::DataLossError("corrupt gzip stream: CRC-32 or length mismatch");
      case ISAL_INVALID_BLOCK:
        return absl::DataLossError("corrupt gzip stream: invalid deflate block");
      case ISAL_INVALID_SYMBOL:
        return absl::DataLossError("corrupt gzip stream: invalid deflate symbol");
      case ISAL_INVALID_LOOKBACK:
        return absl::DataLossError("corrupt gzip stream: invalid distance");
      default:
        return absl::DataLossError(absl::StrCat("corrupt gzip stream: inflate failed (", rc, ")"));
    }
  }

  std::unique_ptr<inflate_state> state_;  // about 90 KiB: kept off the stack
  GzipHeaderParser header_;
  Phase phase_ = Phase::kHeader;
};

class ZstdDecoder : public Decoder {
 public:
  ZstdDecoder() : ds_(ZSTD_createDStream()) {
    init_ok_ = ds_ != nullptr &&
               !ZSTD_isError(ZSTD_DCtx_setParameter(ds_, ZSTD_d_windowLogMax, kZstdMaxWindowLog));
  }
  ~ZstdDecoder() override { ZSTD_freeDStream(ds_); }
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  absl::StatusOr<size_t> Decode(const char* in, size_t in_size, bool /*eof*/, size_t* consumed,
                                char* out, size_t out_capacity) override {
    *consumed = 0;
    if (!init_ok_) return absl::InternalError("initializing zstd failed");
    ZSTD_inBuffer input{in, in_size, 0};
    ZSTD_outBuffer output{out, out_capacity, 0};
    size_t rc = ZSTD_decompressStream(ds_, &output, &input);
    if (ZSTD_getErrorCode(rc) == ZSTD_error_frameParameter_windowTooLarge) {
      return absl::ResourceExhaustedError(
          absl::StrCat("zstd frame needs a window larger than the limit of ",
                       (size_t{1} << kZstdMaxWindowLog) >> 20, " MiB"));
    }
    if (ZSTD_isError(rc)) {
      return absl::DataLossError(absl::StrCat("corrupt zstd stream: ", ZSTD_getErrorName(rc)));
    }
    *consumed = input.pos;
    if (input.pos > 0 || output.pos > 0) frame_complete_ = rc == 0;
    return output.pos;
  }

  absl::Status Finish() override {
    if (!frame_complete_) return absl::DataLossError("truncated zstd stream");
    return absl::OkStatus();
  }

 private:
  ZSTD_DStream* ds_;
  bool init_ok_ = false;
  bool frame_complete_ = false;
};

}  // namespace

std::unique_ptr<Decoder> MakePassthroughDecoder() { return std::make_unique<PassthroughDecoder>(); }
std::unique_ptr<Decoder> MakeGzipDecoder() { return std::make_unique<GzipDecoder>(); }
std::unique_ptr<Decoder> MakeZstdDecoder() { return std::make_unique<ZstdDecoder>(); }

}  // namespace berth::image::layer_stream_internal
