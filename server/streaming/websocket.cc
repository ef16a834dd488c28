// OpenSSL 3 marks SHA1() deprecated in favour of EVP; EVP's first use initializes OpenSSL's
// provider machinery, ~1.9 MiB of code that would stay resident in berthd for a 20-byte hash
// per WebSocket handshake (see image/sha256.h).
#define OPENSSL_SUPPRESS_DEPRECATED

#include "server/streaming/websocket.h"

#include <errno.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status.h"

namespace berth::streaming {
namespace {

constexpr absl::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kReadChunk = 64 * 1024;

bool IsKnownOpcode(uint8_t op) {
  return op == 0x0 || op == 0x1 || op == 0x2 || op == 0x8 || op == 0x9 || op == 0xA;
}

bool IsControl(WsOpcode op) { return static_cast<uint8_t>(op) >= 0x8; }

uint64_t ReadBigEndian(absl::string_view data, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | static_cast<uint8_t>(data[i]);
  return value;
}

// Well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool IsUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t j = 1; j <= extra; ++j) {
      auto cc = static_cast<uint8_t>(text[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

bool IsValidCloseCode(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

// Masks and keys from the kernel's CSPRNG (OpenSSL's DRBG would cost berthd its provider
// machinery, see above).
void RandomBytes(void* out, size_t size) {
  auto* bytes = static_cast<char*>(out);
  size_t filled = 0;
  while (filled < size) {
    ssize_t n = ::getrandom(bytes + filled, size - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
}

bool HasToken(const std::vector<std::string>& values, absl::string_view token) {
  return std::any_of(values.begin(), values.end(),
                     [&](const std::string& v) { return absl::EqualsIgnoreCase(v, token); });
}

absl::Status RefusedByServer(Conn& conn, const HttpResponse& response, std::string leftover) {
  size_t length = 0;
  (void)absl::SimpleAtoi(response.Header("Content-Length"), &length);
  length = std::min<size_t>(length, 4096);
  char buffer[4096];
  while (leftover.size() < length) {
    absl::StatusOr<size_t> n =
        conn.Read(buffer, std::min(sizeof(buffer), length - leftover.size()));
    if (!n.ok() || *n == 0) break;
    leftover.append(buffer, *n);
  }
  std::string message =
      absl::StrCat("the stream server answered ", response.status, " ", response.reason, ": ",
                   absl::StripAsciiWhitespace(leftover.substr(0, length)));
  return StatusForRefusal(response.status, std::move(message));
}

}  // namespace

absl::StatusOr<std::optional<WsFrameHeader>> ParseWsFrameHeader(absl::string_view data,
                                                                WsRole sender,
                                                                uint64_t max_payload) {
  if (data.size() < 2) return std::nullopt;
  auto b0 = static_cast<uint8_t>(data[0]);
  auto b1 = static_cast<uint8_t>(data[1]);
  WsFrameHeader header;
  header.fin = (b0 & 0x80) != 0;
  if ((b0 & 0x70) != 0) {
    return absl::InvalidArgumentError("WebSocket frame with reserved bits set");
  }
  if (!IsKnownOpcode(b0 & 0x0F)) {
    return absl::InvalidArgumentError(absl::StrCat("WebSocket frame with opcode ", b0 & 0x0F));
  }
  header.opcode = static_cast<WsOpcode>(b0 & 0x0F);
  header.masked = (b1 & 0x80) != 0;
  if (sender == WsRole::kClient && !header.masked) {
    return absl::InvalidArgumentError("unmasked WebSocket frame from a client");
  }
  if (sender == WsRole::kServer && header.masked) {
    return absl::InvalidArgumentError("masked WebSocket frame from a server");
  }
  uint64_t size = b1 & 0x7F;
  if (IsControl(header.opcode) && (!header.fin || size > kWsMaxControlPayload)) {
    return absl::InvalidArgumentError("fragmented or oversized WebSocket control frame");
  }
  size_t at = 2;
  if (size == 126) {
    if (data.size() < at + 2) return std::nullopt;
    size = ReadBigEndian(data.substr(at), 2);
    at += 2;
    if (size < 126) return absl::InvalidArgumentError("WebSocket length not in shortest form");
  } else if (size == 127) {
    if (data.size() < at + 8) return std::nullopt;
    size = ReadBigEndian(data.substr(at), 8);
    at += 8;
    if (size >> 63) return absl::InvalidArgumentError("WebSocket length with its top bit set");
    if (size <= 0xFFFF) return absl::InvalidArgumentError("WebSocket length not in shortest form");
  }
  if (header.masked) {
    if (data.size() < at + 4) return std::nullopt;
    std::memcpy(header.mask.data(), data.data() + at, 4);
    at += 4;
  }
  if (size > max_payload) {
    return absl::ResourceExhaustedError(
        absl::StrCat("WebSocket frame of ", size, " bytes; the limit is ", max_payload));
  }
  header.payload_size = size;
  header.header_size = at;
  return header;
}

void ApplyWsMask(char* data, size_t size, const WsMaskKey& key, uint64_t offset) {
  uint8_t wide[8];
  for (size_t j = 0; j < 8; ++j) wide[j] = key[(offset + j) % 4];
  uint64_t wide_key;
  std::memcpy(&wide_key, wide, sizeof(wide_key));
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    word ^= wide_key;
    std::memcpy(data + i, &word, 8);
  }
  for (; i < size; ++i) data[i] = static_cast<char>(data[i] ^ key[(offset + i) % 4]);
}

void AppendWsFrame(std::string* out, WsOpcode opcode, bool fin,
                   std::initializer_list<absl::string_view> pieces,
                   const std::optional<WsMaskKey>& mask) {
  uint64_t size = 0;
  for (absl::string_view piece : pieces) size += piece.size();
  out->push_back(static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode)));
  const uint8_t mask_bit = mask ? 0x80 : 0;
  if (size < 126) {
    out->push_back(static_cast<char>(mask_bit | size));
  } else if (size <= 0xFFFF) {
    out->push_back(static_cast<char>(mask_bit | 126));
    for (int shift = 8; shift >= 0; shift -= 8) out->push_back(static_cast<char>(size >> shift));
  } else {
    out->push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(size >> shift));
  }
  if (mask) out->append(reinterpret_cast<const char*>(mask->data()), mask->size());
  size_t start = out->size();
  for (absl::string_view piece : pieces) out->append(piece.data(), piece.size());
  if (mask) ApplyWsMask(out->data() + start, size, *mask, 0);
}

std::string EncodeWsFrame(WsOpcode opcode, absl::string_view payload, bool fin,
                          const std::optional<WsMaskKey>& mask) {
  std::string out;
  out.reserve(payload.size() + 14);
  AppendWsFrame(&out, opcode, fin, {payload}, mask);
  return out;
}

uint16_t WsCloseCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kWsCloseProtocolError;
    case absl::StatusCode::kResourceExhausted:
      return kWsCloseTooBig;
    case absl::StatusCode::kDataLoss:
      return kWsCloseInvalidData;
    default:
      return kWsCloseInternalError;
  }
}

std::string WsAcceptKey(absl::string_view key) {
  std::string input = absl::StrCat(key, kWsGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::string NewWsKey() {
  char bytes[16];
  RandomBytes(bytes, sizeof(bytes));
  return absl::Base64Escape(absl::string_view(bytes, sizeof(bytes)));
}

bool IsWsUpgradeRequest(const HttpRequest& request) {
  return HasToken(request.HeaderValues("Upgrade"), "websocket") &&
         HasToken(request.HeaderValues("Connection"), "upgrade");
}

absl::Status WsRefuseUpgrade(Conn& conn, int code, absl::string_view reason,
                             absl::string_view message, HttpHeaders extra) {
  extra.emplace_back("Content-Type", "text/plain; charset=utf-8");
  extra.emplace_back("Connection", "close");
  (void)conn.Write(FormatResponse(code, reason, extra, absl::StrCat(message, "\n")));
  conn.ShutdownWrite();
  std::string text = absl::StrCat("WebSocket upgrade refused (", code, "): ", message);
  switch (code) {
    case 403:
      return absl::FailedPreconditionError(text);
    case 405:
      return absl::UnimplementedError(text);
    default:
      return absl::InvalidArgumentError(text);
  }
}

absl::StatusOr<std::string> WsServerHandshake(Conn& conn, const HttpRequest& request,
                                              const std::vector<absl::string_view>& supported) {
  if (request.method != "GET") {
    return WsRefuseUpgrade(conn, 405, "Method Not Allowed", "a WebSocket upgrade must be a GET",
                           {{"Allow", "GET"}});
  }
  if (!IsWsUpgradeRequest(request)) {
    return WsRefuseUpgrade(conn, 400, "Bad Request", "not a WebSocket upgrade request");
  }
  if (request.Header("Sec-WebSocket-Version") != "13") {
    return WsRefuseUpgrade(conn, 426, "Upgrade Required", "only WebSocket version 13 is supported",
                           {{"Sec-WebSocket-Version", "13"}});
  }
  std::string key = request.Header("Sec-WebSocket-Key");
  std::string raw_key;
  if (!absl::Base64Unescape(key, &raw_key) || raw_key.size() != 16) {
    return WsRefuseUpgrade(conn, 400, "Bad Request", "bad Sec-WebSocket-Key");
  }
  std::vector<std::string> offered = request.HeaderValues("Sec-WebSocket-Protocol");
  std::vector<std::string> candidates = offered.empty() ? std::vector<std::string>{""} : offered;
  std::optional<std::string> chosen;
  for (const std::string& protocol : candidates) {
    if (std::find(supported.begin(), supported.end(), protocol) != supported.end()) {
      chosen = protocol;
      break;
    }
  }
  if (!chosen) {
    std::vector<absl::string_view> named;
    for (absl::string_view p : supported) {
      if (!p.empty()) named.push_back(p);
    }
    return WsRefuseUpgrade(
        conn, 403, "Forbidden",
        absl::StrCat("requested protocol(s) are not supported: [", absl::StrJoin(offered, " "),
                     "]; supports [", absl::StrJoin(named, " "), "]"));
  }
  HttpHeaders headers = {{"Upgrade", "websocket"},
                         {"Connection", "Upgrade"},
                         {"Sec-WebSocket-Accept", WsAcceptKey(key)}};
  if (!chosen->empty()) headers.emplace_back("Sec-WebSocket-Protocol", *chosen);
  RETURN_IF_ERROR(conn.Write(FormatResponse(101, "Switching Protocols", headers)));
  return *chosen;
}

absl::StatusOr<WsDialed> WsClientHandshake(std::unique_ptr<Conn> conn, const std::string& host,
                                           const std::string& target,
                                           const std::vector<std::string>& offered) {
  std::string key = NewWsKey();
  HttpHeaders headers = {{"Upgrade", "websocket"},
                         {"Connection", "Upgrade"},
                         {"Sec-WebSocket-Key", key},
                         {"Sec-WebSocket-Version", "13"}};
  if (!offered.empty())
    headers.emplace_back("Sec-WebSocket-Protocol", absl::StrJoin(offered, ", "));
  RETURN_IF_ERROR(conn->Write(FormatRequest("GET", target, host, headers)));
  std::string leftover;
  ASSIGN_OR_RETURN(HttpResponse response, ReadResponse(*conn, &leftover));
  if (response.status != 101) return RefusedByServer(*conn, response, std::move(leftover));
  if (!HasToken(response.HeaderValues("Upgrade"), "websocket") ||
      !HasToken(response.HeaderValues("Connection"), "upgrade")) {
    return absl::UnavailableError("the stream server's 101 is not a WebSocket upgrade");
  }
  if (response.Header("Sec-WebSocket-Accept") != WsAcceptKey(key)) {
    return absl::UnavailableError("the stream server's Sec-WebSocket-Accept does not match");
  }
  std::string protocol = response.Header("Sec-WebSocket-Protocol");
  if (!protocol.empty() && std::find(offered.begin(), offered.end(), protocol) == offered.end()) {
    return absl::UnavailableError(
        absl::StrCat("the stream server chose protocol \"", protocol, "\", which was not offered"));
  }
  return WsDialed{.conn = WithPrefix(std::move(conn), std::move(leftover)), .protocol = protocol};
}

WebSocket::WebSocket(std::unique_ptr<Conn> conn, WsRole role, size_t max_message)
    : conn_(std::move(conn)), role_(role), max_message_(max_message) {
  Touch();
}

WebSocket::~WebSocket() { conn_->Shutdown(); }

void WebSocket::Touch() { last_activity_ns_.store(absl::ToUnixNanos(absl::Now())); }

absl::Time WebSocket::last_activity() const {
  return absl::FromUnixNanos(last_activity_ns_.load());
}

bool WebSocket::close_sent() const {
  absl::MutexLock lock(&write_mu_);
  return close_sent_;
}

std::string WebSocket::peer_close_reason() const {
  absl::MutexLock lock(&write_mu_);
  return peer_close_reason_;
}

absl::Status WebSocket::Fill(size_t size) {
  while (buffer_.size() - pos_ < size) {
    if (pos_ > 0) {  // keep the unread bytes at the front
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    absl::StatusOr<size_t> n = conn_->Read(buffer_.data() + old, kReadChunk);
    buffer_.resize(old + (n.ok() ? *n : 0));
    if (!n.ok())
      return absl::UnavailableError(absl::StrCat("WebSocket read: ", n.status().message()));
    if (*n == 0) return absl::UnavailableError("WebSocket connection closed without a close frame");
  }
  return absl::OkStatus();
}

absl::StatusOr<WsFrameHeader> WebSocket::ReadHeader() {
  const WsRole sender = role_ == WsRole::kServer ? WsRole::kClient : WsRole::kServer;
  for (size_t need = 2;;) {
    RETURN_IF_ERROR(Fill(need));
    absl::StatusOr<std::optional<WsFrameHeader>> header =
        ParseWsFrameHeader(absl::string_view(buffer_).substr(pos_), sender, max_message_);
    if (!header.ok()) return Fail(header.status());
    if (header->has_value()) {
      pos_ += (*header)->header_size;
      return **header;
    }
    need = buffer_.size() - pos_ + 1;
  }
}

absl::Status WebSocket::ReadPayload(const WsFrameHeader& header, std::string* out) {
  const size_t start = out->size();
  const size_t size = header.payload_size;
  size_t from_buffer = std::min(size, buffer_.size() - pos_);
  out->append(buffer_, pos_, from_buffer);
  pos_ += from_buffer;
  if (from_buffer < size) {
    out->resize(start + size);
    size_t done = from_buffer;
    while (done < size) {
      absl::StatusOr<size_t> n = conn_->Read(out->data() + start + done, size - done);
      if (!n.ok() || *n == 0) {
        out->resize(start);
        return absl::UnavailableError("WebSocket connection closed inside a frame");
      }
      done += *n;
    }
  }
  if (header.masked) ApplyWsMask(out->data() + start, size, header.mask, 0);
  return absl::OkStatus();
}

absl::StatusOr<bool> WebSocket::HandleControl(const WsFrameHeader& header, std::string payload) {
  switch (header.opcode) {
    case WsOpcode::kPing: {
      absl::Status pong = WriteFrame(WsOpcode::kPong, {payload});
      (void)pong;  // a peer that is gone shows up on the next read
      return false;
    }
    case WsOpcode::kPong:
      return false;
    case WsOpcode::kClose:
      break;
    default:
      return Fail(absl::InvalidArgumentError("unexpected WebSocket control frame"));
  }
  uint16_t code = kWsCloseNoStatus;
  std::string reason;
  if (payload.size() == 1)
    return Fail(absl::InvalidArgumentError("WebSocket close frame of 1 byte"));
  if (payload.size() >= 2) {
    code = static_cast<uint16_t>(ReadBigEndian(payload, 2));
    if (!IsValidCloseCode(code)) {
      return Fail(absl::InvalidArgumentError(absl::StrCat("WebSocket close code ", code)));
    }
    reason = payload.substr(2);
    if (!IsUtf8(reason)) return Fail(absl::DataLossError("WebSocket close reason is not UTF-8"));
  }
  {
    absl::MutexLock lock(&write_mu_);
    peer_close_reason_ = reason;
  }
  peer_close_code_.store(code);
  // Echo the code, as RFC 6455 section 5.5.1 asks; does nothing if we closed first.
  (void)Close(code == kWsCloseNoStatus ? kWsCloseNormal : code);
  return true;
}

absl::StatusOr<std::optional<WebSocket::Message>> WebSocket::Read() {
  for (;;) {
    ASSIGN_OR_RETURN(WsFrameHeader header, ReadHeader());
    Touch();
    if (IsControl(header.opcode)) {
      std::string payload;
      RETURN_IF_ERROR(ReadPayload(header, &payload));
      ASSIGN_OR_RETURN(bool closed, HandleControl(header, std::move(payload)));
      if (closed) return std::nullopt;
      continue;
    }
    if (header.opcode == WsOpcode::kContinuation) {
      if (!in_message_)
        return Fail(absl::InvalidArgumentError("WebSocket continuation out of a message"));
    } else {
      if (in_message_)
        return Fail(absl::InvalidArgumentError("WebSocket message inside a message"));
      in_message_ = true;
      message_text_ = header.opcode == WsOpcode::kText;
      message_.clear();
    }
    if (message_.size() + header.payload_size > max_message_) {
      return Fail(absl::ResourceExhaustedError(
          absl::StrCat("WebSocket message larger than ", max_message_, " bytes")));
    }
    RETURN_IF_ERROR(ReadPayload(header, &message_));
    if (!header.fin) continue;
    in_message_ = false;
    if (message_text_ && !IsUtf8(message_)) {
      return Fail(absl::DataLossError("WebSocket text message is not UTF-8"));
    }
    Message message{.text = message_text_, .data = std::move(message_)};
    message_ = std::string();
    return message;
  }
}

absl::Status WebSocket::Fail(absl::Status error) {
  (void)Close(WsCloseCodeFor(error), error.message());
  return error;
}

absl::Status WebSocket::WriteFrame(WsOpcode opcode,
                                   std::initializer_list<absl::string_view> pieces) {
  std::optional<WsMaskKey> mask;
  if (role_ == WsRole::kClient) {
    mask.emplace();
    RandomBytes(mask->data(), mask->size());
  }
  size_t size = 14;
  for (absl::string_view piece : pieces) size += piece.size();
  std::string frame;
  frame.reserve(size);
  AppendWsFrame(&frame, opcode, /*fin=*/true, pieces, mask);
  absl::MutexLock lock(&write_mu_);
  if (close_sent_) return absl::FailedPreconditionError("the WebSocket connection is closing");
  RETURN_IF_ERROR(conn_->Write(frame));
  Touch();
  return absl::OkStatus();
}

absl::Status WebSocket::Write(bool text, std::initializer_list<absl::string_view> pieces) {
  return WriteFrame(text ? WsOpcode::kText : WsOpcode::kBinary, pieces);
}

absl::Status WebSocket::Ping(absl::string_view payload) {
  if (payload.size() > kWsMaxControlPayload) {
    return absl::InvalidArgumentError("WebSocket ping payload over 125 bytes");
  }
  return WriteFrame(WsOpcode::kPing, {payload});
}

absl::Status WebSocket::Close(uint16_t code, absl::string_view reason) {
  char code_bytes[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  reason = reason.substr(0, kWsMaxControlPayload - 2);
  while (!reason.empty() && !IsUtf8(reason)) reason.remove_suffix(1);  // a cut character
  std::optional<WsMaskKey> mask;
  if (role_ == WsRole::kClient) {
    mask.emplace();
    RandomBytes(mask->data(), mask->size());
  }
  std::string frame;
  AppendWsFrame(&frame, WsOpcode::kClose, true, {absl::string_view(code_bytes, 2), reason}, mask);
  absl::MutexLock lock(&write_mu_);
  if (close_sent_) return absl::OkStatus();
  close_sent_ = true;
  absl::Status status = conn_->Write(frame);
  conn_->ShutdownWrite();
  Touch();
  return status;
}

void WebSocket::Shutdown() { conn_->Shutdown(); }

void WsPump::Start(std::function<void()> body, absl::Duration idle_timeout) {
  reader_ = std::thread([this, body = std::move(body)] {
    body();
    absl::MutexLock lock(&mu_);
    ended_ = true;
    cv_.SignalAll();
  });
  watchdog_ = std::thread([this, idle_timeout] { Watch(idle_timeout); });
}

void WsPump::Watch(absl::Duration idle_timeout) {
  {
    absl::MutexLock lock(&mu_);
    for (;;) {
      if (ended_ || stopping_) return;
      absl::Time now = absl::Now();
      absl::Time idle_deadline = idle_timeout == absl::InfiniteDuration()
                                     ? absl::InfiniteFuture()
                                     : ws_->last_activity() + idle_timeout;
      if (now >= forced_deadline_) break;
      if (now >= idle_deadline) {
        timed_out_ = true;
        break;
      }
      cv_.WaitWithDeadline(&mu_, std::min(idle_deadline, forced_deadline_));
    }
  }
  ws_->Shutdown();
}

void WsPump::ShutdownAfter(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  forced_deadline_ = std::min(forced_deadline_, absl::Now() + grace);
  cv_.SignalAll();
}

bool WsPump::WaitEnded(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (!ended_) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) return ended_;
  }
  return true;
}

bool WsPump::ended() const {
  absl::MutexLock lock(&mu_);
  return ended_;
}

bool WsPump::timed_out() const {
  absl::MutexLock lock(&mu_);
  return timed_out_;
}

void WsPump::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  ws_->Shutdown();
  for (std::thread* thread : {&reader_, &watchdog_}) {
    if (!thread->joinable()) continue;
    if (thread->get_id() == std::this_thread::get_id()) {
      thread->detach();
    } else {
      thread->join();
    }
  }
}

}  // namespace berth::streaming
