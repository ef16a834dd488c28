#include "image/registry_auth.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace berth::image {
namespace {

// RFC 7230 tchar.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::StrContains("!#$%&'*+-.^_`|~", c);
}

bool IsToken68Char(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || absl::StrContains("-._~+/", c);
}

// A cursor over a WWW-Authenticate value.
class HeaderScanner {
 public:
  explicit HeaderScanner(absl::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  size_t pos() const { return pos_; }
  void Reset(size_t pos) { pos_ = pos; }
  void Advance() { ++pos_; }

  void SkipSpace() {
    while (!done() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  // Skips spaces and commas (empty list elements are allowed by RFC 7230).
  void SkipSeparators() {
    while (!done() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == ',')) ++pos_;
  }
  std::string Token() {
    size_t start = pos_;
    while (!done() && IsTokenChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  // After the opening quote: the unescaped content, consuming the closing quote.
  absl::StatusOr<std::string> QuotedRest() {
    std::string out;
    while (!done()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) break;
        c = text_[pos_++];
      }
      out.push_back(c);
    }
    return absl::InvalidArgumentError("WWW-Authenticate: unterminated quoted string");
  }
  // A token68 value ("abc+/==").
  bool Token68() {
    size_t start = pos_;
    while (!done() && IsToken68Char(text_[pos_])) ++pos_;
    if (pos_ == start) return false;
    while (!done() && text_[pos_] == '=') ++pos_;
    return true;
  }

 private:
  absl::string_view text_;
  size_t pos_ = 0;
};

// Parses the params after a scheme, up to the next challenge or the end.
absl::Status ParseParams(HeaderScanner& scan, AuthChallenge& challenge) {
  bool first = true;
  while (true) {
    scan.SkipSeparators();
    if (scan.done()) return absl::OkStatus();
    size_t start = scan.pos();
    std::string name = scan.Token();
    scan.SkipSpace();
    if (name.empty() || scan.peek() != '=') {
      // Not a param: a token68 right after the scheme, or the next challenge's scheme.
      scan.Reset(start);
      if (first && scan.Token68()) {
        scan.SkipSpace();
        if (scan.done() || scan.peek() == ',') return absl::OkStatus();
      }
      scan.Reset(start);
      if (name.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("WWW-Authenticate: unexpected character at offset ", start));
      }
      return absl::OkStatus();
    }
    scan.Advance();  // '='
    scan.SkipSpace();
    std::string value;
    if (scan.peek() == '"') {
      scan.Advance();
      absl::StatusOr<std::string> quoted = scan.QuotedRest();
      if (!quoted.ok()) return quoted.status();
      value = *std::move(quoted);
    } else {
      value = scan.Token();
      if (value.empty() && first) {
        // "abc==" after the scheme is a token68, not a param.
        scan.Reset(start);
        if (scan.Token68()) {
          scan.SkipSpace();
          if (scan.done() || scan.peek() == ',') return absl::OkStatus();
        }
      }
      if (value.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("WWW-Authenticate: parameter \"", name, "\" has no value"));
      }
    }
    challenge.params[absl::AsciiStrToLower(name)] = std::move(value);
    first = false;
    scan.SkipSpace();
    if (!scan.done() && scan.peek() != ',') {
      return absl::InvalidArgumentError(
          absl::StrCat("WWW-Authenticate: expected ',' after parameter \"", name, "\""));
    }
  }
}

}  // namespace

absl::StatusOr<Credentials> Credentials::FromAuth(absl::string_view base64) {
  std::string decoded;
  std::string trimmed(absl::StripAsciiWhitespace(base64));
  if (!absl::Base64Unescape(trimmed, &decoded)) {
    return absl::InvalidArgumentError("credentials: the auth value is not valid base64");
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        "credentials: the decoded auth value is not in the form user:password");
  }
  Credentials creds;
  creds.username = decoded.substr(0, colon);
  creds.password = decoded.substr(colon + 1);
  return creds;
}

std::string AuthChallenge::Param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticate(absl::string_view header) {
  HeaderScanner scan(header);
  std::vector<AuthChallenge> challenges;
  while (true) {
    scan.SkipSeparators();
    if (scan.done()) break;
    AuthChallenge challenge;
    challenge.scheme = absl::AsciiStrToLower(scan.Token());
    if (challenge.scheme.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("WWW-Authenticate: expected an auth scheme at offset ", scan.pos()));
    }
    if (!scan.done() && scan.peek() != ' ' && scan.peek() != '\t' && scan.peek() != ',') {
      return absl::InvalidArgumentError(absl::StrCat(
          "WWW-Authenticate: unexpected character after scheme \"", challenge.scheme, "\""));
    }
    if (absl::Status status = ParseParams(scan, challenge); !status.ok()) return status;
    challenges.push_back(std::move(challenge));
  }
  if (challenges.empty()) return absl::InvalidArgumentError("WWW-Authenticate: empty header");
  return challenges;
}

absl::StatusOr<BearerToken> ParseTokenResponse(absl::string_view body, absl::Time now) {
  nlohmann::json doc =
      nlohmann::json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("token response: not a JSON object");
  }
  BearerToken out;
  for (const char* key : {"token", "access_token"}) {
    auto it = doc.find(key);
    if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
      out.token = it->get<std::string>();
      break;
    }
  }
  if (out.token.empty()) {
    return absl::InvalidArgumentError("token response: no \"token\" or \"access_token\"");
  }
  absl::Duration lifetime = kDefaultTokenLifetime;
  if (auto it = doc.find("expires_in"); it != doc.end() && !it->is_null()) {
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      return absl::InvalidArgumentError("token response: \"expires_in\" is not a number");
    }
    double seconds = it->get<double>();
    // Honour what the server says (capped at a day); zero or less means the default.
    if (seconds > 0) lifetime = absl::Seconds(std::min(seconds, 86400.0));
  }
  out.expires = now + lifetime;
  return out;
}

std::string UrlEncode(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

absl::StatusOr<TokenRequest> BuildTokenRequest(const AuthChallenge& challenge,
                                               const std::string& scope, const Credentials& creds) {
  std::string realm = challenge.Param("realm");
  if (realm.empty()) {
    return absl::InvalidArgumentError("bearer challenge without a realm");
  }
  if (!absl::StartsWith(realm, "https://") && !absl::StartsWith(realm, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bearer challenge realm \"", realm.substr(0, 200), "\" is not an http(s) URL"));
  }
  std::string service = challenge.Param("service");
  TokenRequest request;
  if (!creds.identity_token.empty()) {
    request.url = realm;
    request.post_form = absl::StrCat(
        "grant_type=refresh_token&client_id=berth&service=", UrlEncode(service),
        "&scope=", UrlEncode(scope), "&refresh_token=", UrlEncode(creds.identity_token));
    return request;
  }
  std::string query;
  if (!service.empty()) absl::StrAppend(&query, "service=", UrlEncode(service));
  if (!scope.empty()) {
    absl::StrAppend(&query, query.empty() ? "" : "&", "scope=", UrlEncode(scope));
  }
  request.url = realm;
  if (!query.empty()) {
    absl::StrAppend(&request.url, absl::StrContains(realm, '?') ? "&" : "?", query);
  }
  request.basic_auth = creds.has_basic();
  return request;
}

std::optional<std::string> TokenCache::Get(const std::string& key, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = tokens_.find(key);
  if (it == tokens_.end() || it->second.expires - absl::Seconds(5) <= now) return std::nullopt;
  return it->second.token;
}

void TokenCache::Put(const std::string& key, BearerToken token) {
  absl::MutexLock lock(&mu_);
  // Drop expired entries so the map stays small.
  absl::Time now = absl::Now();
  for (auto it = tokens_.begin(); it != tokens_.end();) {
    it = it->second.expires <= now ? tokens_.erase(it) : std::next(it);
  }
  tokens_[key] = std::move(token);
}

void TokenCache::Erase(const std::string& key) {
  absl::MutexLock lock(&mu_);
  tokens_.erase(key);
}

}  // namespace berth::image
