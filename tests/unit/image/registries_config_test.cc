#include "image/registries_config.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::image {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kSha256 =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

RegistriesConfig Parsed(const std::string& text) {
  RegistriesConfig config;
  absl::Status status = config.MergeText(text, "test.conf");
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

Reference Ref(const std::string& input) {
  absl::StatusOr<Reference> ref = Reference::Parse(input);
  EXPECT_TRUE(ref.ok()) << ref.status();
  return *ref;
}

// "ref [insecure] [mirror]" for each endpoint, to compare whole lists at once.
std::vector<std::string> Endpoints(const RegistriesConfig& config, const std::string& input) {
  absl::StatusOr<std::vector<PullEndpoint>> endpoints = config.ResolvePull(Ref(input));
  EXPECT_TRUE(endpoints.ok()) << endpoints.status();
  std::vector<std::string> out;
  if (!endpoints.ok()) return out;
  for (const PullEndpoint& e : *endpoints) {
    out.push_back(absl::StrCat(e.reference.String(), e.insecure ? " insecure" : "",
                               e.mirror ? " mirror" : ""));
  }
  return out;
}

std::vector<std::string> Candidates(const RegistriesConfig& config, const std::string& input) {
  absl::StatusOr<std::vector<Reference>> refs = config.ShortNameCandidates(input);
  EXPECT_TRUE(refs.ok()) << refs.status();
  std::vector<std::string> out;
  if (!refs.ok()) return out;
  for (const Reference& ref : *refs) out.push_back(ref.String());
  return out;
}

void WriteFile(const std::string& path, const std::string& text) {
  ASSERT_TRUE(WriteFileAtomic(path, text).ok()) << path;
}

TEST(RegistriesConfigTest, EmptyConfigPullsAsWrittenAndSearchesDockerHub) {
  RegistriesConfig config;
  EXPECT_EQ(config.short_name_mode(), ShortNameMode::kPermissive);
  EXPECT_THAT(Endpoints(config, "busybox"), ElementsAre("docker.io/library/busybox:latest"));
  EXPECT_THAT(Endpoints(config, "quay.io/a/b@" + kSha256), ElementsAre("quay.io/a/b@" + kSha256));
  EXPECT_THAT(Candidates(config, "busybox"), ElementsAre("docker.io/library/busybox:latest"));
  EXPECT_THAT(Candidates(config, "user/app:1"), ElementsAre("docker.io/user/app:1"));
}

TEST(RegistriesConfigTest, ParsesEveryKey) {
  RegistriesConfig config = Parsed(R"(
unqualified-search-registries = ["quay.io", "docker.io"]
short-name-mode = "enforcing"
credential-helpers = ["containers-auth.json", "ecr-login"]
additional-layer-store-auth-helper = "als-helper"

[aliases]
"busybox" = "docker.io/library/busybox"
"team/tool" = "quay.io/team/tool"

[[registry]]
prefix = "example.com/foo"
location = "internal.example.net/bar"
insecure = true
blocked = false
mirror-by-digest-only = false

[[registry.mirror]]
location = "mirror-0.local/foo"

[[registry.mirror]]
location = "mirror-1.local:5000/mirrors/foo"
insecure = true
pull-from-mirror = "digest-only"

[[registry.mirror]]
location = "mirror-2.local"
pull-from-mirror = "tag-only"

[[registry]]
location = "registry.example.org/"
blocked = true
mirror-by-digest-only = true
)");
  EXPECT_THAT(config.unqualified_search_registries(), ElementsAre("quay.io", "docker.io"));
  EXPECT_EQ(config.short_name_mode(), ShortNameMode::kEnforcing);
  EXPECT_THAT(config.credential_helpers(), ElementsAre("containers-auth.json", "ecr-login"));
  EXPECT_EQ(config.additional_layer_store_auth_helper(), "als-helper");
  EXPECT_EQ(config.aliases().at("busybox"), "docker.io/library/busybox");
  EXPECT_EQ(config.aliases().at("team/tool"), "quay.io/team/tool");
  ASSERT_EQ(config.registries().size(), 2u);
  const RegistryEntry& foo = config.registries()[0];
  EXPECT_EQ(foo.prefix, "example.com/foo");
  EXPECT_EQ(foo.location, "internal.example.net/bar");
  EXPECT_TRUE(foo.insecure);
  EXPECT_FALSE(foo.blocked);
  EXPECT_FALSE(foo.mirror_by_digest_only);
  ASSERT_EQ(foo.mirrors.size(), 3u);
  EXPECT_EQ(foo.mirrors[0].location, "mirror-0.local/foo");
  EXPECT_FALSE(foo.mirrors[0].insecure);
  EXPECT_EQ(foo.mirrors[0].pull_from_mirror, PullFromMirror::kAll);
  EXPECT_EQ(foo.mirrors[1].location, "mirror-1.local:5000/mirrors/foo");
  EXPECT_TRUE(foo.mirrors[1].insecure);
  EXPECT_EQ(foo.mirrors[1].pull_from_mirror, PullFromMirror::kDigestOnly);
  EXPECT_EQ(foo.mirrors[2].pull_from_mirror, PullFromMirror::kTagOnly);
  const RegistryEntry& org = config.registries()[1];
  EXPECT_EQ(org.prefix, "registry.example.org");  // from location, trailing '/' dropped
  EXPECT_EQ(org.location, "registry.example.org");
  EXPECT_TRUE(org.blocked);
  EXPECT_TRUE(org.mirror_by_digest_only);
}

TEST(RegistriesConfigTest, ShortNameModes) {
  EXPECT_EQ(Parsed("short-name-mode = \"permissive\"").short_name_mode(),
            ShortNameMode::kPermissive);
  EXPECT_EQ(Parsed("short-name-mode = \"disabled\"").short_name_mode(), ShortNameMode::kDisabled);
  EXPECT_EQ(Parsed("short-name-mode = \"\"").short_name_mode(), ShortNameMode::kPermissive);
}

TEST(RegistriesConfigTest, PrefixDefaultsToLocationAndLocationToPrefix) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "a.example.com/ns/"
insecure = true
[[registry]]
location = "b.example.com"
)");
  ASSERT_EQ(config.registries().size(), 2u);
  EXPECT_EQ(config.registries()[0].prefix, "a.example.com/ns");
  EXPECT_EQ(config.registries()[0].location, "a.example.com/ns");
  EXPECT_EQ(config.registries()[1].prefix, "b.example.com");
  EXPECT_THAT(Endpoints(config, "a.example.com/ns/app"),
              ElementsAre("a.example.com/ns/app:latest insecure"));
}

struct ErrorCase {
  std::string name;
  std::string text;
  std::string error;  // a part of the message, usually "test.conf:<line>: ..."
};

TEST(RegistriesConfigTest, RejectsBadFiles) {
  std::vector<ErrorCase> cases = {
      {"unknown top-level key", "\nunqualified-search-registries = []\nfoo = 1\n",
       "test.conf:3: unknown key \"foo\" at top level"},
      {"unknown registry key", "[[registry]]\nprefix = \"example.com\"\n\nlocaton = \"x.com\"\n",
       "test.conf:4: unknown key \"locaton\" in [[registry]]"},
      {"unknown mirror key",
       "[[registry]]\nprefix = \"example.com\"\n[[registry.mirror]]\nlocation = \"m.com\"\n"
       "mirror-by-digest-only = true\n",
       "test.conf:5: unknown key \"mirror-by-digest-only\" in [[registry.mirror]]"},
      {"bool as string", "[[registry]]\nprefix = \"example.com\"\ninsecure = \"yes\"\n",
       "test.conf:3: key \"insecure\" in [[registry]] must be a boolean, not a string"},
      {"mirror bool as integer",
       "[[registry]]\nprefix = \"example.com\"\n[[registry.mirror]]\nlocation = \"m.com\"\n"
       "insecure = 1\n",
       "test.conf:5: key \"insecure\" in [[registry.mirror]] must be a boolean, not an integer"},
      {"prefix as array", "[[registry]]\nprefix = [\"example.com\"]\n",
       "test.conf:2: key \"prefix\" in [[registry]] must be a string, not an array"},
      {"search registries as string", "unqualified-search-registries = \"quay.io\"\n",
       "test.conf:1: key \"unqualified-search-registries\" at top level must be an array of "
       "strings"},
      {"search registries with a number", "unqualified-search-registries = [\"quay.io\", 1]\n",
       "must be an array of strings, not an integer"},
      {"search registry without a domain", "unqualified-search-registries = [\"registry\"]\n",
       "test.conf:1: unqualified-search-registries: \"registry\" is not a registry host"},
      {"short-name-mode value", "short-name-mode = \"strict\"\n",
       "test.conf:1: short-name-mode must be \"enforcing\", \"permissive\" or \"disabled\""},
      {"short-name-mode type", "short-name-mode = true\n", "must be a string, not a boolean"},
      {"pull-from-mirror value",
       "[[registry]]\nprefix = \"example.com\"\n[[registry.mirror]]\nlocation = \"m.com\"\n"
       "pull-from-mirror = \"sometimes\"\n",
       "test.conf:5: pull-from-mirror must be \"all\", \"digest-only\" or \"tag-only\""},
      {"version 1 format", "[registries.search]\nregistries = [\"quay.io\"]\n",
       "test.conf:1: this is the version 1 format"},
      {"version 1 insecure", "[registries.insecure]\nregistries = []\n", "version 1 format"},
      {"registry as a number", "registry = 5\n",
       "test.conf:1: key \"registry\" at top level must be an array of tables"},
      {"registry as a single table", "[registry]\nprefix = \"example.com\"\n",
       "must be an array of tables ([[registry]])"},
      {"mirror as a single table",
       "[[registry]]\nprefix = \"example.com\"\n[registry.mirror]\nlocation = \"m.com\"\n",
       "must be an array of tables ([[registry.mirror]])"},
      {"neither prefix nor location", "[[registry]]\ninsecure = true\n",
       "test.conf:1: a [[registry]] needs a prefix or a location"},
      {"wildcard with a path", "[[registry]]\nprefix = \"*.example.com/foo\"\n",
       "registry prefix \"*.example.com/foo\": a wildcard prefix must be"},
      {"wildcard with a port", "[[registry]]\nprefix = \"*.example.com:5000\"\n",
       "a wildcard prefix must be"},
      {"wildcard in the middle", "[[registry]]\nprefix = \"example.*.com\"\n",
       "registry prefix \"example.*.com\""},
      {"prefix without a registry host", "[[registry]]\nprefix = \"registry/foo\"\n",
       "must start with a registry host"},
      {"prefix with uppercase path", "[[registry]]\nprefix = \"example.com/Foo\"\n",
       "must be lowercase"},
      {"bad location", "[[registry]]\nprefix = \"example.com\"\nlocation = \"bad host.com\"\n",
       "registry location \"bad host.com\""},
      {"mirror without location",
       "[[registry]]\nprefix = \"example.com\"\n[[registry.mirror]]\ninsecure = true\n",
       "test.conf:3: a [[registry.mirror]] needs a location"},
      {"pull-from-mirror with mirror-by-digest-only",
       "[[registry]]\nprefix = \"example.com\"\nmirror-by-digest-only = true\n"
       "[[registry.mirror]]\nlocation = \"m.com\"\npull-from-mirror = \"tag-only\"\n",
       "pull-from-mirror may not be set"},
      {"duplicate prefix",
       "[[registry]]\nprefix = \"example.com\"\n[[registry]]\nlocation = \"example.com\"\n",
       "test.conf:3: a second [[registry]] with prefix \"example.com\""},
      {"alias with a registry in its name", "[aliases]\n\"quay.io/app\" = \"quay.io/app\"\n",
       "test.conf:2: alias \"quay.io/app\": the alias name must be a short name"},
      {"alias to a short name", "[aliases]\n\"app\" = \"other/app\"\n",
       "the alias value must name its registry"},
      {"alias with a tag", "[aliases]\n\"app\" = \"quay.io/app:v1\"\n",
       "the alias value may not have a tag or digest"},
      {"alias name with a tag", "[aliases]\n\"app:v1\" = \"quay.io/app\"\n",
       "the alias name may not have a tag or digest"},
      {"alias value type", "[aliases]\n\"app\" = 1\n",
       "key \"app\" in [aliases] must be a string, not an integer"},
      {"TOML syntax", "unqualified-search-registries = [\"quay.io\"\nfoo =\n", "test.conf:2:"},
      {"TOML duplicate key", "short-name-mode = \"enforcing\"\nshort-name-mode = \"disabled\"\n",
       "TOML syntax error"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    RegistriesConfig config;
    absl::Status status = config.MergeText(c.text, "test.conf");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.error));
  }
}

TEST(RegistriesConfigTest, FailedMergeChangesNothing) {
  RegistriesConfig config = Parsed("unqualified-search-registries = [\"quay.io\"]\n");
  EXPECT_FALSE(
      config.MergeText("unqualified-search-registries = [\"a.io\"]\nbad = 1\n", "x.conf").ok());
  EXPECT_THAT(config.unqualified_search_registries(), ElementsAre("quay.io"));
}

TEST(RegistriesConfigTest, MissingFileAndDirectoryGiveDefaults) {
  absl::StatusOr<TempDir> dir = TempDir::Make("registries-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<RegistriesConfig> config =
      RegistriesConfig::Load(dir->path() + "/none.conf", dir->path() + "/none.d");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->unqualified_search_registries(), IsEmpty());
  EXPECT_THAT(config->registries(), IsEmpty());
}

TEST(RegistriesConfigTest, DropInsOverrideInLexicalOrder) {
  absl::StatusOr<TempDir> dir = TempDir::Make("registries-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string main = dir->path() + "/registries.conf";
  std::string drop_ins = dir->path() + "/registries.conf.d";
  ASSERT_TRUE(MakeDirs(drop_ins + "/sub.conf").ok());  // a directory: ignored
  WriteFile(main, R"(
unqualified-search-registries = ["a.example.com"]
short-name-mode = "enforcing"
credential-helpers = ["main-helper"]
[aliases]
"keep" = "a.example.com/keep"
"drop" = "a.example.com/drop"
[[registry]]
prefix = "example.com"
location = "x.example.com"
insecure = true
[[registry]]
prefix = "other.example.com"
blocked = true
)");
  WriteFile(drop_ins + "/20-second.conf", R"(
short-name-mode = "permissive"
[aliases]
"drop" = ""
[[registry]]
prefix = "new.example.com"
location = "newer.example.com"
)");
  WriteFile(drop_ins + "/10-first.conf", R"(
unqualified-search-registries = ["b.example.com", "docker.io"]
short-name-mode = "disabled"
[[registry]]
prefix = "example.com"
location = "y.example.com"
)");
  WriteFile(drop_ins + "/30-ignored.txt", "this is not toml = [");
  WriteFile(drop_ins + "/.hidden.conf", "this is not toml = [");

  absl::StatusOr<RegistriesConfig> config = RegistriesConfig::Load(main, drop_ins);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->unqualified_search_registries(), ElementsAre("b.example.com", "docker.io"));
  EXPECT_EQ(config->short_name_mode(), ShortNameMode::kPermissive);       // 20 after 10
  EXPECT_THAT(config->credential_helpers(), ElementsAre("main-helper"));  // never overridden
  EXPECT_EQ(config->aliases().count("keep"), 1u);
  EXPECT_EQ(config->aliases().count("drop"), 0u);
  ASSERT_EQ(config->registries().size(), 3u);
  // The drop-in's example.com replaced the whole table, insecure included.
  EXPECT_THAT(Endpoints(*config, "example.com/app"), ElementsAre("y.example.com/app:latest"));
  EXPECT_THAT(Endpoints(*config, "new.example.com/app"),
              ElementsAre("newer.example.com/app:latest"));
  EXPECT_FALSE(config->ResolvePull(Ref("other.example.com/app")).ok());
}

TEST(RegistriesConfigTest, DropInsWithoutMainFile) {
  absl::StatusOr<TempDir> dir = TempDir::Make("registries-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  WriteFile(dir->path() + "/a.conf", "unqualified-search-registries = [\"quay.io\"]\n");
  absl::StatusOr<RegistriesConfig> config =
      RegistriesConfig::Load(dir->path() + "/missing.conf", dir->path());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->unqualified_search_registries(), ElementsAre("quay.io"));
}

TEST(RegistriesConfigTest, ErrorInDropInNamesFileAndLine) {
  absl::StatusOr<TempDir> dir = TempDir::Make("registries-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string bad = dir->path() + "/50-bad.conf";
  WriteFile(bad, "[[registry]]\nprefix = \"example.com\"\nblock = true\n");
  absl::StatusOr<RegistriesConfig> config =
      RegistriesConfig::Load(dir->path() + "/missing.conf", dir->path());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr(bad + ":3: unknown key \"block\" in [[registry]]"));
}

TEST(RegistriesConfigTest, WildcardPrefixes) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "*.example.com"
insecure = true
[[registry.mirror]]
location = "mirror.local/cache"
[[registry]]
prefix = "*.rewrite.test"
location = "real.rewrite.test"
)");
  EXPECT_EQ(config.FindRegistry(Ref("foo.example.com/app")), &config.registries()[0]);
  EXPECT_EQ(config.FindRegistry(Ref("a.b.example.com:5000/app")), &config.registries()[0]);
  EXPECT_EQ(config.FindRegistry(Ref("example.com/app")), nullptr);
  EXPECT_EQ(config.FindRegistry(Ref("fooexample.com/app")), nullptr);
  EXPECT_EQ(config.FindRegistry(Ref("foo.example.com.evil.net/app")), nullptr);
  // No location: the reference is kept, the other settings apply.
  EXPECT_THAT(
      Endpoints(config, "foo.example.com/ns/app:1"),
      ElementsAre("mirror.local/cache/ns/app:1 mirror", "foo.example.com/ns/app:1 insecure"));
  // With a location, the whole host[:port] is replaced.
  EXPECT_THAT(Endpoints(config, "eu.rewrite.test:5000/app"),
              ElementsAre("real.rewrite.test/app:latest"));
}

TEST(RegistriesConfigTest, LongestPrefixWins) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "example.com"
location = "root.test"
[[registry]]
prefix = "example.com/foo"
location = "foo.test"
[[registry]]
prefix = "example.com/foo/bar"
location = "bar.test"
[[registry]]
prefix = "example.com/foo/bar:v1"
location = "barv1.test/x:pinned"
[[registry]]
prefix = "*.example.com"
location = "wild.test"
[[registry]]
prefix = "sub.example.com"
location = "sub.test"
[[registry]]
prefix = "localhost:5000"
location = "local.test"
)");
  struct Case {
    std::string input;
    std::string want;  // the prefix chosen, "" for none
  };
  std::vector<Case> cases = {
      {"example.com/app", "example.com"},
      {"example.com/foobar", "example.com"},  // "foo" only at a '/' boundary
      {"example.com/foo", "example.com/foo"},
      {"example.com/foo/baz", "example.com/foo"},
      {"example.com/foo/bar", "example.com/foo/bar"},
      {"example.com/foo/bar/baz", "example.com/foo/bar"},
      {"example.com/foo/bar:v2", "example.com/foo/bar"},
      {"example.com/foo/bar:v1", "example.com/foo/bar:v1"},
      {"example.com/foo/bar:v1@" + kSha256, "example.com/foo/bar:v1"},
      {"example.com/foo/bar@" + kSha256, "example.com/foo/bar"},
      {"example.com:5000/foo", ""},                // a host prefix does not match another port
      {"sub.example.com/app", "sub.example.com"},  // plain beats wildcard of equal length
      {"deep.sub.example.com/app", "*.example.com"},
      {"localhost:5000/app", "localhost:5000"},
      {"localhost/app", ""},
      {"busybox", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    const RegistryEntry* entry = config.FindRegistry(Ref(c.input));
    EXPECT_EQ(entry == nullptr ? "" : entry->prefix, c.want);
  }
  EXPECT_THAT(Endpoints(config, "example.com/foo/bar/baz:1"), ElementsAre("bar.test/baz:1"));
  EXPECT_THAT(Endpoints(config, "example.com/foo/bar:v1@" + kSha256),
              ElementsAre("barv1.test/x:pinned@" + kSha256));
}

TEST(RegistriesConfigTest, ManPageExampleRewritesAndOrdersMirrors) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "example.com/foo"
insecure = false
blocked = false
location = "internal-registry-for-example.com/bar"

[[registry.mirror]]
location = "example-mirror-0.local/mirror-for-foo"

[[registry.mirror]]
location = "example-mirror-1.local/mirrors/foo"
insecure = true

[[registry]]
location = "registry.com"

[[registry.mirror]]
location = "mirror.registry.com"
)");
  EXPECT_THAT(Endpoints(config, "example.com/foo/image:latest"),
              ElementsAre("example-mirror-0.local/mirror-for-foo/image:latest mirror",
                          "example-mirror-1.local/mirrors/foo/image:latest insecure mirror",
                          "internal-registry-for-example.com/bar/image:latest"));
  EXPECT_THAT(Endpoints(config, "registry.com/image:latest"),
              ElementsAre("mirror.registry.com/image:latest mirror", "registry.com/image:latest"));
}

TEST(RegistriesConfigTest, PullFromMirrorFiltersByDigestOrTag) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "docker.io"
[[registry.mirror]]
location = "all.local/hub"
[[registry.mirror]]
location = "digest.local"
insecure = true
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "tag.local"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "explicit-all.local"
pull-from-mirror = "all"
)");
  EXPECT_THAT(Endpoints(config, "busybox:1.36"),
              ElementsAre("all.local/hub/library/busybox:1.36 mirror",
                          "tag.local/library/busybox:1.36 mirror",
                          "explicit-all.local/library/busybox:1.36 mirror",
                          "docker.io/library/busybox:1.36"));
  EXPECT_THAT(Endpoints(config, "busybox@" + kSha256),
              ElementsAre("all.local/hub/library/busybox@" + kSha256 + " mirror",
                          "digest.local/library/busybox@" + kSha256 + " insecure mirror",
                          "explicit-all.local/library/busybox@" + kSha256 + " mirror",
                          "docker.io/library/busybox@" + kSha256));
  // A tag with a digest is a pull by digest.
  EXPECT_THAT(Endpoints(config, "busybox:1.36@" + kSha256),
              ElementsAre("all.local/hub/library/busybox:1.36@" + kSha256 + " mirror",
                          "digest.local/library/busybox:1.36@" + kSha256 + " insecure mirror",
                          "explicit-all.local/library/busybox:1.36@" + kSha256 + " mirror",
                          "docker.io/library/busybox:1.36@" + kSha256));
}

TEST(RegistriesConfigTest, MirrorByDigestOnly) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "m1.local"
[[registry.mirror]]
location = "m2.local"
)");
  EXPECT_THAT(Endpoints(config, "quay.io/a/b:v1"), ElementsAre("quay.io/a/b:v1"));
  EXPECT_THAT(Endpoints(config, "quay.io/a/b@" + kSha256),
              ElementsAre("m1.local/a/b@" + kSha256 + " mirror",
                          "m2.local/a/b@" + kSha256 + " mirror", "quay.io/a/b@" + kSha256));
}

TEST(RegistriesConfigTest, BlockedRegistry) {
  RegistriesConfig config = Parsed(R"(
[[registry]]
prefix = "example.com/bad"
blocked = true
[[registry]]
prefix = "*.blocked.test"
blocked = true
)");
  absl::StatusOr<std::vector<PullEndpoint>> blocked =
      config.ResolvePull(Ref("example.com/bad/app:1"));
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(blocked.status().message(), HasSubstr("example.com/bad/app:1"));
  EXPECT_THAT(blocked.status().message(), HasSubstr("\"example.com/bad\""));
  EXPECT_EQ(config.ResolvePull(Ref("x.blocked.test/app")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Endpoints(config, "example.com/good/app:1"), ElementsAre("example.com/good/app:1"));
  EXPECT_THAT(Endpoints(config, "example.com/badge"), ElementsAre("example.com/badge:latest"));
}

TEST(RegistriesConfigTest, ShortNameCandidatesFollowTheSearchList) {
  RegistriesConfig config = Parsed(R"(
unqualified-search-registries = ["quay.io", "docker.io", "localhost:5000"]
short-name-mode = "enforcing"
)");
  // Enforcing still yields every candidate, in order: a CRI runtime cannot prompt.
  EXPECT_THAT(Candidates(config, "busybox:1.0"),
              ElementsAre("quay.io/busybox:1.0", "docker.io/library/busybox:1.0",
                          "localhost:5000/busybox:1.0"));
  EXPECT_THAT(Candidates(config, "user/app@" + kSha256),
              ElementsAre("quay.io/user/app@" + kSha256, "docker.io/user/app@" + kSha256,
                          "localhost:5000/user/app@" + kSha256));
  EXPECT_THAT(Candidates(config, "registry.example.com/app"),
              ElementsAre("registry.example.com/app:latest"));
  EXPECT_THAT(Candidates(config, "docker.io/busybox"),
              ElementsAre("docker.io/library/busybox:latest"));
  absl::StatusOr<std::vector<Reference>> bad = config.ShortNameCandidates("Bad Name");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RegistriesConfigTest, ShortNameCandidatesDeduplicate) {
  RegistriesConfig config =
      Parsed("unqualified-search-registries = [\"docker.io\", \"index.docker.io\"]\n");
  EXPECT_THAT(Candidates(config, "busybox"), ElementsAre("docker.io/library/busybox:latest"));
}

TEST(RegistriesConfigTest, AliasesWinOverTheSearchList) {
  RegistriesConfig config = Parsed(R"(
unqualified-search-registries = ["quay.io"]
[aliases]
"busybox" = "docker.io/library/busybox"
"tools/dig" = "registry.example.com/net/dig"
)");
  EXPECT_THAT(Candidates(config, "busybox"), ElementsAre("docker.io/library/busybox:latest"));
  EXPECT_THAT(Candidates(config, "busybox:1.36"), ElementsAre("docker.io/library/busybox:1.36"));
  EXPECT_THAT(Candidates(config, "busybox:1.36@" + kSha256),
              ElementsAre("docker.io/library/busybox:1.36@" + kSha256));
  EXPECT_THAT(Candidates(config, "tools/dig@" + kSha256),
              ElementsAre("registry.example.com/net/dig@" + kSha256));
  EXPECT_THAT(Candidates(config, "alpine"), ElementsAre("quay.io/alpine:latest"));
}

}  // namespace
}  // namespace berth::image
