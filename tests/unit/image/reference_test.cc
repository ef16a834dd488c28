#include "image/reference.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::image {
namespace {

using ::testing::HasSubstr;

const std::string kHex64("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
const std::string kSha256 = "sha256:" + kHex64;
const std::string kSha384 = "sha384:" + kHex64.substr(0, 32) + kHex64;
const std::string kSha512 = "sha512:" + kHex64 + kHex64;

struct ValidCase {
  std::string input;
  std::string domain;
  std::string path;
  std::string tag;
  std::string digest;
  bool fully_qualified;
};

std::vector<ValidCase> ValidCases() {
  return {
      {"busybox", "docker.io", "library/busybox", "latest", "", false},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", false},
      {"library/busybox", "docker.io", "library/busybox", "latest", "", false},
      {"user/app", "docker.io", "user/app", "latest", "", false},
      {"a/b/c", "docker.io", "a/b/c", "latest", "", false},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", "", true},
      {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", "", true},
      {"index.docker.io/user/app:v1", "docker.io", "user/app", "v1", "", true},
      {"docker.io/library/busybox:latest", "docker.io", "library/busybox", "latest", "", true},
      {"localhost/app", "localhost", "app", "latest", "", true},
      {"localhost:5000/app", "localhost:5000", "app", "latest", "", true},
      {"localhost:5000/app:dev", "localhost:5000", "app", "dev", "", true},
      {"registry.example.com:443/a/b/c:tag", "registry.example.com:443", "a/b/c", "tag", "", true},
      {"quay.io/coreos/etcd", "quay.io", "coreos/etcd", "latest", "", true},
      {"registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", "", true},
      {"127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", "", true},
      {"[::1]:5000/app", "[::1]:5000", "app", "latest", "", true},
      {"[2001:db8::1]/ns/app:1.0", "[2001:db8::1]", "ns/app", "1.0", "", true},
      {"Foo/bar", "Foo", "bar", "latest", "", true},  // an uppercase first part is a domain
      {"my-registry.example.com/app", "my-registry.example.com", "app", "latest", "", true},
      {"example.com/a.b/c_d/e__f/g-h/i---j", "example.com", "a.b/c_d/e__f/g-h/i---j", "latest", "",
       true},
      {"name@" + kSha256, "docker.io", "library/name", "", kSha256, false},
      {"name:tag@" + kSha256, "docker.io", "library/name", "tag", kSha256, false},
      {"example.com/app@" + kSha512, "example.com", "app", "", kSha512, true},
      {"busybox@" + kSha384, "docker.io", "library/busybox", "", kSha384, false},
      {"localhost:5000/app:v1@" + kSha256, "localhost:5000", "app", "v1", kSha256, true},
      {"app:_tag", "docker.io", "library/app", "_tag", "", false},
      {"app:v1.2-rc_3", "docker.io", "library/app", "v1.2-rc_3", "", false},
      {"app:" + std::string(128, 'x'), "docker.io", "library/app", std::string(128, 'x'), "",
       false},
      {"localhost", "docker.io", "library/localhost", "latest", "", false},
      {"localhost:5000", "docker.io", "library/localhost", "5000", "", false},
      {"example.com", "docker.io", "library/example.com", "latest", "", false},
      {"sha256", "docker.io", "library/sha256", "latest", "", false},
      {kHex64.substr(0, 63), "docker.io", "library/" + kHex64.substr(0, 63), "latest", "", false},
  };
}

TEST(ReferenceTest, ParsesValidReferences) {
  for (const ValidCase& c : ValidCases()) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Reference> ref = Reference::Parse(c.input);
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_EQ(ref->domain(), c.domain);
    EXPECT_EQ(ref->path(), c.path);
    EXPECT_EQ(ref->tag(), c.tag);
    EXPECT_EQ(ref->digest(), c.digest);
    EXPECT_EQ(ref->has_tag(), !c.tag.empty());
    EXPECT_EQ(ref->has_digest(), !c.digest.empty());
    EXPECT_EQ(ref->fully_qualified(), c.fully_qualified);
    EXPECT_EQ(ref->repository(), c.domain + "/" + c.path);
  }
}

TEST(ReferenceTest, StringAndFamiliarParseBackToTheSameReference) {
  for (const ValidCase& c : ValidCases()) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Reference> ref = Reference::Parse(c.input);
    ASSERT_TRUE(ref.ok()) << ref.status();
    absl::StatusOr<Reference> again = Reference::Parse(ref->String());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *ref);
    EXPECT_TRUE(again->fully_qualified());
    absl::StatusOr<Reference> familiar = Reference::Parse(ref->Familiar());
    ASSERT_TRUE(familiar.ok()) << familiar.status();
    EXPECT_EQ(*familiar, *ref);
  }
}

struct InvalidCase {
  std::string input;
  std::string error;  // a part of the message
};

TEST(ReferenceTest, RejectsInvalidReferences) {
  std::vector<InvalidCase> cases = {
      {"", "empty reference"},
      {"Busybox", "must be lowercase"},
      {"docker.io/Library/busybox", "must be lowercase"},
      {"user/App:v1", "must be lowercase"},
      {"busybox:", "empty tag"},
      {"busybox:-tag", "must start with a letter, digit or '_'"},
      {"busybox:.tag", "must start with a letter, digit or '_'"},
      {"busybox:tag!", "may only hold"},
      {"busybox:" + std::string(129, 'x'), "more than 128"},
      {"busybox@", "must be algorithm:hex"},
      {"busybox@" + kHex64, "must be algorithm:hex"},
      {"busybox@sha256:abc", "64 lowercase hex"},
      {"busybox@sha256:" + std::string(64, 'A'), "64 lowercase hex"},
      {"busybox@sha256:" + kHex64 + "0", "64 lowercase hex"},
      {"busybox@sha512:" + kHex64, "128 lowercase hex"},
      {"busybox@md5:" + kHex64.substr(0, 32), "unsupported digest algorithm"},
      {"busybox@256:" + kHex64, "malformed"},
      {"busybox@sha256+:" + kHex64, "malformed"},
      {"app@" + kSha256 + "@" + kSha256, "64 lowercase hex"},
      {"a//b", "empty path component"},
      {"/busybox", "empty path component"},
      {"busybox/", "empty path component"},
      {"example.com/", "empty path component"},
      {"-app", "must start and end"},
      {"app-", "must start and end"},
      {"a..b", "may only separate"},
      {"a___b", "may only separate"},
      {"a_-b", "may only separate"},
      {"app with space", "may only separate"},
      {"example.com:abc/app", "is not a number"},
      {"example.com:/app", "empty port"},
      {"[::1/app", "closing ']'"},
      {"[zz::1]:5000/app", "not an IPv6 address"},
      {"[]:5000/app", "not an IPv6 address"},
      {"[::1]x:5000/app", "only a ':port'"},
      {"-bad.com/app", "dot-separated labels"},
      {"bad..com/app", "dot-separated labels"},
      {"ex_ample.com/app", "dot-separated labels"},
      {kHex64, "image id"},
      {kSha256, "image id"},
      {":tag", "empty repository name"},
      {"@" + kSha256, "empty repository name"},
      {"example.com/" + std::string(250, 'a'), "more than 255"},
      {std::string(250, 'a'), "more than 255"},  // counted with docker.io/library/
  };
  for (const InvalidCase& c : cases) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Reference> ref = Reference::Parse(c.input);
    ASSERT_FALSE(ref.ok()) << ref->String();
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ref.status().message(), HasSubstr(c.error));
    EXPECT_THAT(ref.status().message(), HasSubstr("invalid image reference"));
  }
}

TEST(ReferenceTest, ErrorNamesTheReference) {
  absl::StatusOr<Reference> ref = Reference::Parse("quay.io/Team/app:v1");
  ASSERT_FALSE(ref.ok());
  EXPECT_THAT(ref.status().message(), HasSubstr("\"quay.io/Team/app:v1\""));
}

TEST(ReferenceTest, ErrorCutsAHugeReferenceShort) {
  std::string huge(100000, 'A');
  absl::StatusOr<Reference> ref = Reference::Parse(huge);
  ASSERT_FALSE(ref.ok());
  EXPECT_LT(ref.status().message().size(), 1000u);
}

TEST(ReferenceTest, NameAtTheLengthLimitIsAccepted) {
  // "example.com/" is 12 characters; 243 more make 255.
  EXPECT_TRUE(Reference::Parse("example.com/" + std::string(243, 'a')).ok());
  EXPECT_FALSE(Reference::Parse("example.com/" + std::string(244, 'a')).ok());
}

TEST(ReferenceTest, DefaultTagOnlyWithoutTagOrDigest) {
  absl::StatusOr<Reference> plain = Reference::Parse("busybox");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->tag_defaulted());
  absl::StatusOr<Reference> tagged = Reference::Parse("busybox:latest");
  ASSERT_TRUE(tagged.ok());
  EXPECT_FALSE(tagged->tag_defaulted());
  EXPECT_EQ(*plain, *tagged);
  absl::StatusOr<Reference> digested = Reference::Parse("busybox@" + kSha256);
  ASSERT_TRUE(digested.ok());
  EXPECT_FALSE(digested->tag_defaulted());
  EXPECT_FALSE(digested->has_tag());
}

struct FormCase {
  std::string input;
  std::string string;
  std::string familiar;
};

TEST(ReferenceTest, CanonicalAndFamiliarForms) {
  std::vector<FormCase> cases = {
      {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
      {"docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1"},
      {"index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
      {"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
      {"docker.io/foo.bar/app", "docker.io/foo.bar/app:latest", "docker.io/foo.bar/app:latest"},
      {"docker.io/localhost/app", "docker.io/localhost/app:latest",
       "docker.io/localhost/app:latest"},
      {"quay.io/x/y", "quay.io/x/y:latest", "quay.io/x/y:latest"},
      {"name@" + kSha256, "docker.io/library/name@" + kSha256, "name@" + kSha256},
      {"name:tag@" + kSha256, "docker.io/library/name:tag@" + kSha256, "name:tag@" + kSha256},
      {"docker.io/library/sha256:" + kHex64, "docker.io/library/sha256:" + kHex64,
       "docker.io/library/sha256:" + kHex64},
      {"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"},
  };
  for (const FormCase& c : cases) {
    SCOPED_TRACE(c.input);
    absl::StatusOr<Reference> ref = Reference::Parse(c.input);
    ASSERT_TRUE(ref.ok()) << ref.status();
    EXPECT_EQ(ref->String(), c.string);
    EXPECT_EQ(ref->Familiar(), c.familiar);
  }
}

TEST(ReferenceTest, LooksLikeImageId) {
  EXPECT_TRUE(LooksLikeImageId(kHex64));
  EXPECT_TRUE(LooksLikeImageId(kSha256));
  EXPECT_FALSE(LooksLikeImageId(kHex64.substr(1)));
  EXPECT_FALSE(LooksLikeImageId(kHex64 + "0"));
  EXPECT_FALSE(LooksLikeImageId(std::string(64, 'A')));
  EXPECT_FALSE(LooksLikeImageId("sha512:" + kHex64));
  EXPECT_FALSE(LooksLikeImageId("busybox"));
  EXPECT_FALSE(LooksLikeImageId("docker.io/library/" + kHex64));
  EXPECT_FALSE(LooksLikeImageId(""));
}

TEST(ReferenceTest, ValidateDigestAndDomain) {
  EXPECT_TRUE(ValidateDigest(kSha256).ok());
  EXPECT_TRUE(ValidateDigest(kSha384).ok());
  EXPECT_TRUE(ValidateDigest(kSha512).ok());
  EXPECT_EQ(ValidateDigest("sha256:xyz").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDigest("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDomain("example.com:5000").ok());
  EXPECT_TRUE(ValidateDomain("[fe80::1]:443").ok());
  EXPECT_TRUE(ValidateDomain("localhost").ok());
  EXPECT_FALSE(ValidateDomain("example.com:").ok());
  EXPECT_FALSE(ValidateDomain("exa mple.com").ok());
  EXPECT_FALSE(ValidateDomain("").ok());
}

TEST(ReferenceTest, IsDomainComponent) {
  EXPECT_TRUE(IsDomainComponent("localhost"));
  EXPECT_TRUE(IsDomainComponent("example.com"));
  EXPECT_TRUE(IsDomainComponent("registry:5000"));
  EXPECT_TRUE(IsDomainComponent("[::1]"));
  EXPECT_TRUE(IsDomainComponent("Registry"));
  EXPECT_FALSE(IsDomainComponent("library"));
  EXPECT_FALSE(IsDomainComponent("my-user"));
}

}  // namespace
}  // namespace berth::image
