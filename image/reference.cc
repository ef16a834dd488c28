#include "image/reference.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace berth::image {
namespace {

// Error messages quote the input; a hostile one is cut short and escaped.
constexpr size_t kMaxShownLength = 300;
constexpr size_t kMaxTagLength = 128;
constexpr size_t kMinDigestHexLength = 32;

std::string Shown(absl::string_view input) {
  if (input.size() <= kMaxShownLength) return absl::CHexEscape(input);
  return absl::StrCat(absl::CHexEscape(input.substr(0, kMaxShownLength)), "...");
}

absl::Status Invalid(absl::string_view input, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid image reference \"", Shown(input), "\": ", why));
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsLowerHex(char c) { return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9'); }
bool IsWordChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool AllOf(absl::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

bool HasUpper(absl::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

// What is wrong with one path component, or "" when it is fine.
std::string PathComponentProblem(absl::string_view component) {
  if (component.empty()) return "empty path component (\"//\", or a leading or trailing '/')";
  if (HasUpper(component)) return "repository name must be lowercase";
  if (!IsLowerAlnum(component.front()) || !IsLowerAlnum(component.back())) {
    return absl::StrCat("path component \"", Shown(component),
                        "\" must start and end with a lowercase letter or digit");
  }
  size_t i = 0;
  while (i < component.size()) {
    if (IsLowerAlnum(component[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < component.size() && !IsLowerAlnum(component[end])) ++end;
    absl::string_view sep = component.substr(i, end - i);
    bool dashes = sep.find_first_not_of('-') == absl::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) {
      return absl::StrCat("path component \"", Shown(component),
                          "\" may only separate letters and digits with '.', '_', '__' or "
                          "dashes, not \"",
                          Shown(sep), "\"");
    }
    i = end;
  }
  return "";
}

std::string PathProblem(absl::string_view path) {
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    absl::string_view component =
        path.substr(start, slash == absl::string_view::npos ? path.size() - start : slash - start);
    std::string problem = PathComponentProblem(component);
    if (!problem.empty()) return problem;
    if (slash == absl::string_view::npos) return "";
    start = slash + 1;
  }
}

std::string PortProblem(absl::string_view port) {
  if (port.empty()) return "empty port after ':'";
  if (port.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::StrCat("port \"", Shown(port), "\" is not a number");
  }
  return "";
}

std::string HostNameProblem(absl::string_view host) {
  if (host.empty()) return "empty host name";
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    absl::string_view label =
        host.substr(start, dot == absl::string_view::npos ? host.size() - start : dot - start);
    bool ok = !label.empty() && label.front() != '-' && label.back() != '-';
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') ok = false;
    }
    if (!ok) {
      return absl::StrCat("host \"", Shown(host),
                          "\" must be dot-separated labels of letters, digits and inner dashes");
    }
    if (dot == absl::string_view::npos) return "";
    start = dot + 1;
  }
}

// What is wrong with host[:port], or "".
std::string DomainProblem(absl::string_view domain) {
  if (domain.empty()) return "empty registry domain";
  absl::string_view rest;
  if (domain.front() == '[') {
    size_t close = domain.find(']');
    if (close == absl::string_view::npos) return "IPv6 address lacks its closing ']'";
    absl::string_view address = domain.substr(1, close - 1);
    if (address.empty() ||
        address.find_first_not_of("0123456789abcdefABCDEF:") != absl::string_view::npos) {
      return absl::StrCat("\"", Shown(address), "\" is not an IPv6 address");
    }
    rest = domain.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return "only a ':port' may follow a bracketed IPv6 address";
    }
  } else {
    size_t colon = domain.find(':');
    std::string problem = HostNameProblem(domain.substr(0, colon));
    if (!problem.empty()) return problem;
    if (colon != absl::string_view::npos) rest = domain.substr(colon);
  }
  if (rest.empty()) return "";
  return PortProblem(rest.substr(1));
}

std::string TagProblem(absl::string_view tag) {
  if (tag.empty()) return "empty tag after ':'";
  if (tag.size() > kMaxTagLength) {
    return absl::StrCat("tag is ", tag.size(), " characters, more than ", kMaxTagLength);
  }
  if (!IsWordChar(tag.front())) {
    return absl::StrCat("tag \"", Shown(tag), "\" must start with a letter, digit or '_'");
  }
  for (char c : tag) {
    if (!IsWordChar(c) && c != '.' && c != '-') {
      return absl::StrCat("tag \"", Shown(tag),
                          "\" may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return "";
}

bool IsAlgorithmSeparator(char c) { return c == '+' || c == '.' || c == '-' || c == '_'; }

std::string AlgorithmProblem(absl::string_view algorithm) {
  bool at_component_start = true;
  for (char c : algorithm) {
    bool alpha = absl::ascii_isalpha(static_cast<unsigned char>(c));
    bool ok = at_component_start ? alpha
                                 : alpha || absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
                                       IsAlgorithmSeparator(c);
    if (!ok) {
      return absl::StrCat("digest algorithm \"", Shown(algorithm), "\" is malformed");
    }
    at_component_start = IsAlgorithmSeparator(c);
  }
  if (algorithm.empty() || at_component_start) {
    return absl::StrCat("digest algorithm \"", Shown(algorithm), "\" is malformed");
  }
  return "";
}

std::string DigestProblem(absl::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == absl::string_view::npos) {
    return absl::StrCat("digest \"", Shown(digest), "\" must be algorithm:hex");
  }
  absl::string_view algorithm = digest.substr(0, colon);
  absl::string_view hex = digest.substr(colon + 1);
  std::string problem = AlgorithmProblem(algorithm);
  if (!problem.empty()) return problem;
  size_t want = 0;
  if (algorithm == "sha256") {
    want = 64;
  } else if (algorithm == "sha384") {
    want = 96;
  } else if (algorithm == "sha512") {
    want = 128;
  } else {
    return absl::StrCat("unsupported digest algorithm \"", Shown(algorithm),
                        "\" (sha256, sha384 and sha512 are)");
  }
  if (hex.size() < kMinDigestHexLength || hex.size() != want || !AllOf(hex, IsLowerHex)) {
    return absl::StrCat(algorithm, " digest must be ", want, " lowercase hex digits, got \"",
                        Shown(hex), "\"");
  }
  return "";
}

// Splits "name[:tag][@digest]" into its parts; the tag's ':' is the last one after the last
// '/', so a registry port is never taken for a tag.
struct RawParts {
  absl::string_view name;
  absl::string_view tag;
  absl::string_view digest;
  bool has_tag = false;
  bool has_digest = false;
};

RawParts SplitRaw(absl::string_view input) {
  RawParts parts;
  absl::string_view rest = input;
  if (size_t at = rest.find('@'); at != absl::string_view::npos) {
    parts.digest = rest.substr(at + 1);
    parts.has_digest = true;
    rest = rest.substr(0, at);
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos &&
      (last_slash == absl::string_view::npos || colon > last_slash)) {
    parts.tag = rest.substr(colon + 1);
    parts.has_tag = true;
    rest = rest.substr(0, colon);
  }
  parts.name = rest;
  return parts;
}

bool IsBareImageId(absl::string_view s) { return s.size() == 64 && AllOf(s, IsLowerHex); }

}  // namespace

bool IsDomainComponent(absl::string_view component) {
  return component == "localhost" || component.find_first_of(".:") != absl::string_view::npos ||
         HasUpper(component);
}

bool LooksLikeImageId(absl::string_view input) {
  absl::ConsumePrefix(&input, "sha256:");
  return IsBareImageId(input);
}

absl::Status ValidateDigest(absl::string_view digest) {
  std::string problem = DigestProblem(digest);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(problem);
}

absl::Status ValidateDomain(absl::string_view domain) {
  std::string problem = DomainProblem(domain);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid registry domain \"", Shown(domain), "\": ", problem));
}

absl::StatusOr<Reference> Reference::Parse(absl::string_view input) {
  if (input.empty()) return Invalid(input, "empty reference");
  if (LooksLikeImageId(input)) {
    return Invalid(input, "this is a 64-hex image id, not a name; look it up by id instead");
  }
  RawParts raw = SplitRaw(input);
  if (raw.has_digest) {
    std::string problem = DigestProblem(raw.digest);
    if (!problem.empty()) return Invalid(input, problem);
  }
  if (raw.has_tag) {
    std::string problem = TagProblem(raw.tag);
    if (!problem.empty()) return Invalid(input, problem);
  }
  if (raw.name.empty()) return Invalid(input, "empty repository name");

  Reference ref;
  absl::string_view path = raw.name;
  size_t slash = raw.name.find('/');
  if (slash != absl::string_view::npos && IsDomainComponent(raw.name.substr(0, slash))) {
    absl::string_view domain = raw.name.substr(0, slash);
    std::string problem = DomainProblem(domain);
    if (!problem.empty()) return Invalid(input, problem);
    ref.domain_ =
        domain == kLegacyDefaultDomain ? std::string(kDefaultDomain) : std::string(domain);
    ref.fully_qualified_ = true;
    path = raw.name.substr(slash + 1);
  } else {
    ref.domain_ = std::string(kDefaultDomain);
  }
  std::string problem = PathProblem(path);
  if (!problem.empty()) return Invalid(input, problem);
  if (ref.domain_ == kDefaultDomain && path.find('/') == absl::string_view::npos) {
    ref.path_ = absl::StrCat(kOfficialRepoPrefix, path);
  } else {
    ref.path_ = std::string(path);
  }
  if (ref.domain_.size() + 1 + ref.path_.size() > kMaxNameLength) {
    return Invalid(input, absl::StrCat("repository name must not be more than ", kMaxNameLength,
                                       " characters"));
  }
  ref.digest_ = std::string(raw.digest);
  ref.tag_ = std::string(raw.tag);
  if (!raw.has_tag && !raw.has_digest) {
    ref.tag_ = std::string(kDefaultTag);
    ref.tag_defaulted_ = true;
  }
  return ref;
}

std::string Reference::repository() const { return absl::StrCat(domain_, "/", path_); }

std::string Reference::String() const {
  std::string out = repository();
  if (!tag_.empty()) absl::StrAppend(&out, ":", tag_);
  if (!digest_.empty()) absl::StrAppend(&out, "@", digest_);
  return out;
}

std::string Reference::Familiar() const {
  if (domain_ != kDefaultDomain) return String();
  absl::string_view name = path_;
  absl::string_view official = name;
  if (absl::ConsumePrefix(&official, kOfficialRepoPrefix) &&
      official.find('/') == absl::string_view::npos) {
    name = official;
  } else if (size_t slash = name.find('/');
             slash != absl::string_view::npos && IsDomainComponent(name.substr(0, slash))) {
    // "docker.io/foo.bar/app" without its domain would read as registry foo.bar.
    return String();
  }
  std::string out(name);
  if (!tag_.empty()) absl::StrAppend(&out, ":", tag_);
  if (!digest_.empty()) absl::StrAppend(&out, "@", digest_);
  // "docker.io/library/sha256:<hex>" must not turn into something read as an image id.
  if (LooksLikeImageId(out)) return String();
  return out;
}

}  // namespace berth::image
