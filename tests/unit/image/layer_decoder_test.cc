#include "image/layer_decoder.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::image::layer_stream_internal {
namespace {

using ::testing::HasSubstr;

// Feeds `blob` to `decoder` as LayerStream does, `chunk` more bytes each time the decoder asks
// for input, into an output buffer of `out_capacity`; the decoded bytes, or the first error.
absl::StatusOr<std::string> Feed(Decoder& decoder, const std::string& blob, size_t chunk,
                                 size_t out_capacity = 64 * 1024) {
  std::string out;
  std::vector<char> buffer(out_capacity);
  size_t pos = 0;
  size_t end = std::min(chunk, blob.size());
  while (true) {
    if (pos == end && end < blob.size()) end = std::min(end + chunk, blob.size());
    bool eof = end == blob.size();
    size_t consumed = 0;
    absl::StatusOr<size_t> produced =
        decoder.Decode(blob.data() + pos, end - pos, eof, &consumed, buffer.data(), buffer.size());
    if (!produced.ok()) return produced.status();
    pos += consumed;
    out.append(buffer.data(), *produced);
    if (*produced > 0 || consumed > 0) continue;
    if (!eof) {
      end = std::min(end + chunk, blob.size());
      continue;
    }
    if (absl::Status finished = decoder.Finish(); !finished.ok()) return finished;
    if (pos != blob.size()) return absl::DataLossError("undecodable data at the end");
    return out;
  }
}

absl::StatusOr<std::string> Gunzip(const std::string& blob, size_t chunk,
                                   size_t out_capacity = 64 * 1024) {
  std::unique_ptr<Decoder> decoder = MakeGzipDecoder();
  return Feed(*decoder, blob, chunk, out_capacity);
}

// Compressible text and incompressible bytes, so both stored and Huffman blocks appear.
std::string Payload() {
  std::string data;
  for (int i = 0; i < 20000; ++i) absl::StrAppend(&data, "line ", i, " of the layer\n");
  std::mt19937_64 random(7);
  for (int i = 0; i < 40000; ++i) data.push_back(static_cast<char>(random()));
  return data;
}

std::string RawDeflate(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void AppendLe(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

struct GzipOptions {
  unsigned char flags = 0;  // FHCRC 0x02, FEXTRA 0x04, FNAME 0x08, FCOMMENT 0x10
  std::string extra = std::string("\x41\x42\x03\x00xyz", 7);  // one subfield: id "AB", 3 bytes
  unsigned char method = 8;
};

// One gzip member of `data`, its header built by hand so every optional field can appear.
std::string GzipMember(const std::string& data, const GzipOptions& options = {}) {
  std::string out = {'\x1f', '\x8b', static_cast<char>(options.method),
                     static_cast<char>(options.flags)};
  AppendLe(out, 1'600'000'000, 4);  // MTIME
  out += '\0';                      // XFL
  out += '\x03';                    // OS: Unix
  if (options.flags & 0x04) {
    AppendLe(out, static_cast<uint32_t>(options.extra.size()), 2);
    out += options.extra;
  }
  if (options.flags & 0x08) out += std::string("layer.tar") + '\0';
  if (options.flags & 0x10) out += std::string("a comment") + '\0';
  if (options.flags & 0x02) {
    uLong crc = crc32(0, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size()));
    AppendLe(out, static_cast<uint32_t>(crc & 0xffff), 2);
  }
  out += RawDeflate(data);
  uLong crc = crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  AppendLe(out, static_cast<uint32_t>(crc), 4);
  AppendLe(out, static_cast<uint32_t>(data.size()), 4);
  return out;
}

TEST(GzipDecoderTest, EveryHeaderFieldInPiecesOfAnySize) {
  std::string data = Payload();
  for (unsigned char flags : {0x00, 0x02, 0x04, 0x08, 0x10, 0x1e}) {
    GzipOptions options{.flags = flags};
    std::string blob = GzipMember(data, options);
    for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{4096}, blob.size()}) {
      absl::StatusOr<std::string> out = Gunzip(blob, chunk);
      ASSERT_TRUE(out.ok()) << "flags " << int{flags} << " chunk " << chunk << ": " << out.status();
      EXPECT_TRUE(*out == data) << "flags " << int{flags} << " chunk " << chunk;
    }
  }
  // An output buffer of one byte at a time.
  absl::StatusOr<std::string> tiny =
      Gunzip(GzipMember(data.substr(0, 5000), {.flags = 0x1e}), 5, 1);
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_TRUE(*tiny == data.substr(0, 5000));
}

TEST(GzipDecoderTest, EmptyExtraFieldAndEmptyMember) {
  GzipOptions options{.flags = 0x06, .extra = ""};
  absl::StatusOr<std::string> out = Gunzip(GzipMember("abc", options), 1);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, "abc");
  absl::StatusOr<std::string> empty = Gunzip(GzipMember(""), 1);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
}

TEST(GzipDecoderTest, ConcatenatedMembers) {
  std::string data = Payload();
  std::string blob = GzipMember(data.substr(0, 1000), {.flags = 0x08}) +
                     GzipMember(data.substr(1000, 200000)) +
                     GzipMember(data.substr(201000), {.flags = 0x1e});
  for (size_t chunk : {size_t{1}, size_t{5}, size_t{65536}, blob.size()}) {
    absl::StatusOr<std::string> out = Gunzip(blob, chunk);
    ASSERT_TRUE(out.ok()) << "chunk " << chunk << ": " << out.status();
    EXPECT_TRUE(*out == data) << "chunk " << chunk;
  }
}

TEST(GzipDecoderTest, CorruptHeadersAndTrailersAreDataLoss) {
  std::string data = Payload().substr(0, 50000);
  struct Case {
    std::string name;
    std::string blob;
    std::string message;
  };
  std::string good = GzipMember(data, {.flags = 0x1e});
  std::string bad_header_crc = good;
  // The header CRC sits right before the deflate data: after 10 fixed bytes, the extra field
  // (2 + 7), "layer.tar\0" and "a comment\0".
  bad_header_crc[10 + 2 + 7 + 10 + 10] ^= 0x01;
  std::string bad_crc = good;
  bad_crc[bad_crc.size() - 8] ^= 0x01;
  std::string bad_length = good;
  bad_length[bad_length.size() - 4] ^= 0x01;
  std::string bad_body = good;
  bad_body[good.size() / 2] ^= 0x55;
  std::vector<Case> cases = {
      {"header crc", bad_header_crc, "header checksum"},
      {"crc", bad_crc, "CRC-32 or length"},
      {"length", bad_length, "CRC-32 or length"},
      {"method", GzipMember(data, {.method = 7}), "compression method"},
      {"reserved flag", GzipMember(data, {.flags = 0x20}), "reserved header flags"},
      {"body", bad_body, "corrupt gzip stream"},
      {"truncated in the header", good.substr(0, 15), "truncated"},
      {"truncated in the body", good.substr(0, good.size() / 2), ""},
      {"truncated in the trailer", good.substr(0, good.size() - 3), "truncated"},
      {"second member truncated", good + good.substr(0, 12), "truncated"},
  };
  for (const Case& c : cases) {
    for (size_t chunk : {size_t{1}, size_t{4096}}) {
      absl::StatusOr<std::string> out = Gunzip(c.blob, chunk);
      EXPECT_EQ(out.status().code(), absl::StatusCode::kDataLoss)
          << c.name << " chunk " << chunk << ": " << out.status();
      EXPECT_THAT(std::string(out.status().message()), HasSubstr(c.message)) << c.name;
    }
  }
}

TEST(GzipDecoderTest, TrailingBytesThatAreNotAMemberAreRefused) {
  std::string good = GzipMember("data");
  for (const std::string& tail :
       {std::string("garbage"), std::string("\x1f"), std::string(1, '\0')}) {
    absl::StatusOr<std::string> out = Gunzip(good + tail, 1);
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << out.status();
  }
}

// A zstd frame of `data` whose header declares a window of 2^window_log (the size is not
// pledged, so the encoder cannot shrink the window to the input).
std::string ZstdWithWindow(const std::string& data, int window_log) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  EXPECT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log)));
  std::string out(ZSTD_compressBound(data.size()) + 1024, '\0');
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  ZSTD_inBuffer input{data.data(), data.size(), 0};
  EXPECT_FALSE(ZSTD_isError(ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue)));
  ZSTD_inBuffer none{nullptr, 0, 0};
  EXPECT_EQ(ZSTD_compressStream2(cctx, &output, &none, ZSTD_e_end), 0u);
  ZSTD_freeCCtx(cctx);
  out.resize(output.pos);
  // RFC 8878 3.1.1.1: the descriptor byte after the magic, then (without Single_Segment_flag)
  // the Window_Descriptor, whose exponent is the window's log2 minus 10 (mantissa 0 here).
  EXPECT_GE(out.size(), 6u);
  EXPECT_EQ(out[4] & 0x20, 0) << "a single-segment frame has no window descriptor";
  EXPECT_EQ(static_cast<unsigned char>(out[5]), (window_log - 10) << 3)
      << "the frame must declare a window of 2^" << window_log;
  return out;
}

TEST(ZstdDecoderTest, RefusesAWindowAboveTheLimit) {
  std::string data = Payload();
  std::unique_ptr<Decoder> decoder = MakeZstdDecoder();
  absl::StatusOr<std::string> too_large =
      Feed(*decoder, ZstdWithWindow(data, kZstdMaxWindowLog + 1), 4096);
  EXPECT_EQ(too_large.status().code(), absl::StatusCode::kResourceExhausted) << too_large.status();
  EXPECT_THAT(std::string(too_large.status().message()), HasSubstr("32 MiB"));

  std::unique_ptr<Decoder> at_limit = MakeZstdDecoder();
  absl::StatusOr<std::string> out = Feed(*at_limit, ZstdWithWindow(data, kZstdMaxWindowLog), 4096);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(*out == data);
}

TEST(ZstdDecoderTest, FramesInPiecesAndTruncation) {
  std::string data = Payload();
  std::string frames = ZstdWithWindow(data.substr(0, 7000), 20) + ZstdWithWindow(data, 21);
  for (size_t chunk : {size_t{1}, size_t{333}, frames.size()}) {
    std::unique_ptr<Decoder> decoder = MakeZstdDecoder();
    absl::StatusOr<std::string> out = Feed(*decoder, frames, chunk);
    ASSERT_TRUE(out.ok()) << "chunk " << chunk << ": " << out.status();
    EXPECT_TRUE(*out == data.substr(0, 7000) + data) << "chunk " << chunk;
  }
  std::unique_ptr<Decoder> decoder = MakeZstdDecoder();
  EXPECT_EQ(Feed(*decoder, frames.substr(0, frames.size() - 2), 100).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace berth::image::layer_stream_internal
