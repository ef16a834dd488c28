#ifndef BERTH_IMAGE_REFERENCE_H_
#define BERTH_IMAGE_REFERENCE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::image {

// The registry that names without a domain belong to, and its legacy alias.
inline constexpr absl::string_view kDefaultDomain = "docker.io";
inline constexpr absl::string_view kLegacyDefaultDomain = "index.docker.io";
// The namespace of Docker Hub's official images ("busybox" is "docker.io/library/busybox").
inline constexpr absl::string_view kOfficialRepoPrefix = "library/";
inline constexpr absl::string_view kDefaultTag = "latest";
// The longest repository ("domain/path") the grammar allows.
inline constexpr size_t kMaxNameLength = 255;

// An image reference as the kubelet and crictl send it, following the docker/distribution
// grammar:
//
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] path
//   domain    := host [":" port]; host is a DNS name, an IPv4 address or "[" IPv6 "]"
//   path      := component ("/" component)*, component := [a-z0-9]+ (sep [a-z0-9]+)*,
//                sep := "." | "_" | "__" | "-"+
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := algorithm ":" hex (sha256, sha384 or sha512 with lowercase hex)
//
// Parsing normalizes the way Docker does: the first path element is a domain only when it
// holds a '.' or a ':', is "localhost", or has an uppercase letter; otherwise the domain is
// docker.io. "index.docker.io" becomes docker.io, and a one-element docker.io path gets the
// "library/" namespace. A name with neither tag nor digest gets the tag "latest"; a name with a
// digest and no tag stays digest-only; a name with both keeps both.
class Reference {
 public:
  // Parses and normalizes `input`. InvalidArgument, naming the input and the fault, for anything
  // the grammar rejects, including a bare image id (see LooksLikeImageId).
  static absl::StatusOr<Reference> Parse(absl::string_view input);

  // "docker.io", "registry.example.com:5000", "[::1]:5000".
  const std::string& domain() const { return domain_; }
  // The repository path inside the registry: "library/busybox".
  const std::string& path() const { return path_; }
  // domain/path: "docker.io/library/busybox".
  std::string repository() const;
  // The tag; empty for a digest-only reference.
  const std::string& tag() const { return tag_; }
  // "sha256:<hex>"; empty when the reference names no digest.
  const std::string& digest() const { return digest_; }
  bool has_tag() const { return !tag_.empty(); }
  bool has_digest() const { return !digest_.empty(); }
  // True when the tag is the default "latest" because the input named neither tag nor digest.
  bool tag_defaulted() const { return tag_defaulted_; }
  // True when the input named its registry (a short name like "busybox" or "user/app" is not).
  bool fully_qualified() const { return fully_qualified_; }

  // The canonical form: domain/path[:tag][@digest].
  std::string String() const;
  // The short form Docker shows: docker.io/ and library/ dropped where that parses back to the
  // same reference ("busybox:latest", "user/app:1"); otherwise String().
  std::string Familiar() const;

  // Compares domain, path, tag and digest (not how the input was written).
  friend bool operator==(const Reference& a, const Reference& b) {
    return a.domain_ == b.domain_ && a.path_ == b.path_ && a.tag_ == b.tag_ &&
           a.digest_ == b.digest_;
  }
  friend bool operator!=(const Reference& a, const Reference& b) { return !(a == b); }

 private:
  Reference() = default;

  std::string domain_;
  std::string path_;
  std::string tag_;
  std::string digest_;
  bool tag_defaulted_ = false;
  bool fully_qualified_ = false;
};

// True for an image id rather than a name: 64 lowercase hex digits, bare or after "sha256:".
// Callers that accept either (ImageStatus, RemoveImage) check this before Reference::Parse.
bool LooksLikeImageId(absl::string_view input);

// Checks "algorithm:hex": the algorithm grammar, a supported algorithm (sha256, sha384,
// sha512) and its exact count of lowercase hex digits. InvalidArgument otherwise.
absl::Status ValidateDigest(absl::string_view digest);

// Checks a registry host with an optional port: a DNS name or IPv4 address, or a bracketed
// IPv6 address, then ":digits". InvalidArgument otherwise.
absl::Status ValidateDomain(absl::string_view domain);

// True when `component` (the text before the first '/' of a name) is taken as a registry
// domain rather than the first path element: it holds '.' or ':', is "localhost", or has an
// uppercase letter.
bool IsDomainComponent(absl::string_view component);

}  // namespace berth::image

#endif  // BERTH_IMAGE_REFERENCE_H_
