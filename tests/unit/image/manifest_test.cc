#include "image/manifest.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth::image {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Digest(char c) { return "sha256:" + std::string(64, c); }

json Desc(const std::string& media_type, char c, int64_t size = 10) {
  return json{{"mediaType", media_type}, {"digest", Digest(c)}, {"size", size}};
}

json OciManifest() {
  return json{
      {"schemaVersion", 2},
      {"mediaType", kOciManifestMediaType},
      {"config", Desc(kOciConfigMediaType, 'c')},
      {"layers", json::array({Desc(kOciLayerGzipMediaType, '1'), Desc(kOciLayerZstdMediaType, '2'),
                              Desc(kOciLayerMediaType, '3')})},
      {"annotations", {{"org.opencontainers.image.title", "t"}}}};
}

json DockerManifest() {
  return json{{"schemaVersion", 2},
              {"mediaType", kDockerManifestMediaType},
              {"config", Desc(kDockerConfigMediaType, 'c')},
              {"layers", json::array({Desc(kDockerLayerGzipMediaType, '1')})}};
}

json PlatformEntry(const std::string& media_type, char c, const std::string& os,
                   const std::string& arch, const std::string& variant = "") {
  json entry = Desc(media_type, c);
  entry["platform"] = {{"os", os}, {"architecture", arch}};
  if (!variant.empty()) entry["platform"]["variant"] = variant;
  return entry;
}

TEST(ManifestTest, ParsesOciManifest) {
  absl::StatusOr<Manifest> manifest = ParseManifest(OciManifest().dump(), kOciManifestMediaType);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->media_type, kOciManifestMediaType);
  EXPECT_EQ(manifest->config.digest, Digest('c'));
  EXPECT_EQ(manifest->config.size, 10);
  ASSERT_EQ(manifest->layers.size(), 3u);
  EXPECT_EQ(manifest->layers[1].media_type, kOciLayerZstdMediaType);
  EXPECT_EQ(manifest->annotations.at("org.opencontainers.image.title"), "t");
}

TEST(ManifestTest, ParsesDockerSchema2) {
  absl::StatusOr<Manifest> manifest =
      ParseManifest(DockerManifest().dump(), kDockerManifestMediaType);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->config.media_type, kDockerConfigMediaType);
  ASSERT_EQ(manifest->layers.size(), 1u);
  EXPECT_EQ(*LayerCompressionOf(manifest->layers[0].media_type), LayerCompression::kGzip);
}

TEST(ManifestTest, Schema1IsRefusedClearly) {
  json schema1 = {{"schemaVersion", 1}, {"name", "x"}, {"tag", "latest"}, {"fsLayers", {}}};
  for (const char* type : {kDockerSchema1MediaType, kDockerSchema1SignedMediaType}) {
    absl::Status status = ParseManifest(schema1.dump(), type).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("schema 1"));
    EXPECT_TRUE(absl::IsFailedPrecondition(DetectManifestMediaType(schema1.dump(), type).status()));
  }
  // Served as plain JSON, recognised by its schemaVersion.
  absl::Status detected = DetectManifestMediaType(schema1.dump(), "application/json").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(detected)) << detected;
  // A schemaVersion 1 document served under a schema 2 type.
  EXPECT_TRUE(
      absl::IsFailedPrecondition(ParseManifest(schema1.dump(), kDockerManifestMediaType).status()));
}

TEST(ManifestTest, DetectsMediaType) {
  EXPECT_EQ(*DetectManifestMediaType("{}", "application/vnd.oci.image.index.v1+json"),
            kOciIndexMediaType);
  EXPECT_EQ(
      *DetectManifestMediaType("{}", std::string(kDockerManifestMediaType) + "; charset=utf-8"),
      kDockerManifestMediaType);
  EXPECT_EQ(*DetectManifestMediaType(DockerManifest().dump(), "application/json"),
            kDockerManifestMediaType);
  json no_type = OciManifest();
  no_type.erase("mediaType");
  EXPECT_EQ(*DetectManifestMediaType(no_type.dump(), ""), kOciManifestMediaType);
  EXPECT_EQ(*DetectManifestMediaType(R"({"schemaVersion":2,"manifests":[]})", "text/plain"),
            kOciIndexMediaType);
  EXPECT_FALSE(DetectManifestMediaType(R"({"schemaVersion":2})", "").ok());
  EXPECT_FALSE(DetectManifestMediaType(R"({"mediaType":"application/x-helm"})", "").ok());
  EXPECT_FALSE(DetectManifestMediaType("not json", "").ok());
}

TEST(ManifestTest, MediaTypeFieldMustAgree) {
  absl::Status status = ParseManifest(OciManifest().dump(), kDockerManifestMediaType).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("served as"));
  EXPECT_FALSE(ParseIndex(OciManifest().dump(), kOciIndexMediaType).ok());
  EXPECT_FALSE(ParseManifest(OciManifest().dump(), kOciIndexMediaType).ok());
}

TEST(ManifestTest, RefusesBadDigestsAndFields) {
  struct Case {
    std::string name;
    std::function<void(json&)> mutate;
  };
  std::vector<Case> cases = {
      {"uppercase hex", [](json& m) { m["config"]["digest"] = "sha256:" + std::string(64, 'A'); }},
      {"short hex", [](json& m) { m["layers"][0]["digest"] = "sha256:abc"; }},
      {"sha512", [](json& m) { m["layers"][0]["digest"] = "sha512:" + std::string(128, 'a'); }},
      {"no algorithm", [](json& m) { m["layers"][0]["digest"] = std::string(64, 'a'); }},
      {"trailing junk", [](json& m) { m["layers"][1]["digest"] = Digest('a') + "\n"; }},
      {"path in digest", [](json& m) { m["layers"][0]["digest"] = "sha256:../../etc/passwd"; }},
      {"digest not string", [](json& m) { m["layers"][0]["digest"] = 5; }},
      {"no config", [](json& m) { m.erase("config"); }},
      {"no layers", [](json& m) { m.erase("layers"); }},
      {"layers not array", [](json& m) { m["layers"] = json::object(); }},
      {"negative size", [](json& m) { m["layers"][0]["size"] = -1; }},
      {"size not integer", [](json& m) { m["layers"][0]["size"] = "10"; }},
      {"missing size", [](json& m) { m["layers"][0].erase("size"); }},
      {"missing media type", [](json& m) { m["layers"][0].erase("mediaType"); }},
      {"schema version 3", [](json& m) { m["schemaVersion"] = 3; }},
      {"no schema version", [](json& m) { m.erase("schemaVersion"); }},
      {"artifact config", [](json& m) { m["config"]["mediaType"] = "application/x-helm"; }},
      {"annotation not string", [](json& m) { m["annotations"]["a"] = 1; }},
      {"unknown layer type", [](json& m) { m["layers"][0]["mediaType"] = "application/x-tar"; }},
  };
  for (const Case& c : cases) {
    json manifest = OciManifest();
    c.mutate(manifest);
    absl::Status status = ParseManifest(manifest.dump(), kOciManifestMediaType).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << c.name << ": " << status;
  }
  EXPECT_FALSE(ParseManifest("not json", kOciManifestMediaType).ok());
  EXPECT_FALSE(ParseManifest("[]", kOciManifestMediaType).ok());
}

TEST(ManifestTest, ForeignLayersRefused) {
  for (const char* type : {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                           "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"}) {
    json manifest = OciManifest();
    manifest["layers"][0]["mediaType"] = type;
    absl::Status status = ParseManifest(manifest.dump(), kOciManifestMediaType).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status));
    EXPECT_THAT(status.message(), HasSubstr("foreign"));
  }
}

TEST(ManifestTest, OversizeRefused) {
  json manifest = OciManifest();
  manifest["annotations"]["pad"] = std::string(kMaxManifestBytes, 'x');
  absl::Status status = ParseManifest(manifest.dump(), kOciManifestMediaType).status();
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_THAT(status.message(), HasSubstr("limit"));
  json many = OciManifest();
  for (size_t i = 0; i <= kMaxDescriptors; ++i)
    many["layers"].push_back(Desc(kOciLayerMediaType, 'a'));
  EXPECT_FALSE(ParseManifest(many.dump(), kOciManifestMediaType).ok());
}

json TestIndex(const std::string& type = kOciIndexMediaType) {
  const std::string manifest_type =
      type == kOciIndexMediaType ? kOciManifestMediaType : kDockerManifestMediaType;
  return json{{"schemaVersion", 2},
              {"mediaType", type},
              {"manifests", json::array({PlatformEntry(manifest_type, '1', "linux", "amd64"),
                                         PlatformEntry(manifest_type, '2', "linux", "arm64", "v8"),
                                         PlatformEntry(manifest_type, '3', "linux", "arm", "v7"),
                                         PlatformEntry(manifest_type, '4', "linux", "arm", "v6"),
                                         PlatformEntry(manifest_type, '5', "linux", "ppc64le"),
                                         PlatformEntry(manifest_type, '6', "unknown", "unknown"),
                                         PlatformEntry(manifest_type, '7', "windows", "amd64")})}};
}

TEST(IndexTest, ParsesOciIndexAndManifestList) {
  for (const char* type : {kOciIndexMediaType, kDockerManifestListMediaType}) {
    absl::StatusOr<Index> index = ParseIndex(TestIndex(type).dump(), type);
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_EQ(index->manifests.size(), 7u);
    ASSERT_TRUE(index->manifests[1].platform.has_value());
    EXPECT_EQ(index->manifests[1].platform->String(), "linux/arm64/v8");
  }
  json bad = TestIndex();
  bad["manifests"][2]["platform"].erase("os");
  EXPECT_FALSE(ParseIndex(bad.dump(), kOciIndexMediaType).ok());
  bad = TestIndex();
  bad["manifests"][0]["digest"] = "sha256:1234";
  EXPECT_FALSE(ParseIndex(bad.dump(), kOciIndexMediaType).ok());
  bad = TestIndex();
  bad.erase("manifests");
  EXPECT_FALSE(ParseIndex(bad.dump(), kOciIndexMediaType).ok());
  EXPECT_FALSE(ParseIndex(TestIndex().dump(), kOciManifestMediaType).ok());
}

TEST(PlatformTest, ChoiceTable) {
  absl::StatusOr<Index> index = ParseIndex(TestIndex().dump(), kOciIndexMediaType);
  ASSERT_TRUE(index.ok()) << index.status();
  struct Case {
    Platform want;
    char digest;  // 0: NotFound
  };
  for (const Case& c : std::vector<Case>{
           {{"linux", "amd64", ""}, '1'},
           {{"linux", "x86_64", ""}, '1'},
           {{"linux", "arm64", ""}, '2'},
           {{"linux", "aarch64", ""}, '2'},
           {{"linux", "arm64", "v8"}, '2'},
           {{"linux", "arm", "v7"}, '3'},
           {{"linux", "arm", ""}, '3'},
           {{"linux", "arm", "v6"}, '4'},
           {{"linux", "ppc64le", ""}, '5'},
           {{"LINUX", "AMD64", ""}, '1'},
           {{"linux", "arm", "v5"}, 0},
           {{"linux", "riscv64", ""}, 0},
           {{"windows", "arm64", ""}, 0},
       }) {
    absl::StatusOr<Descriptor> chosen = ChoosePlatform(*index, c.want);
    if (c.digest == 0) {
      EXPECT_TRUE(absl::IsNotFound(chosen.status())) << c.want.String();
      EXPECT_THAT(chosen.status().message(), HasSubstr("linux/arm64/v8"));
      EXPECT_THAT(chosen.status().message(), HasSubstr("linux/amd64"));
      continue;
    }
    ASSERT_TRUE(chosen.ok()) << c.want.String() << ": " << chosen.status();
    EXPECT_EQ(chosen->digest, Digest(c.digest)) << c.want.String();
  }
}

TEST(PlatformTest, Arm64WithoutVariantInIndexMatchesV8Node) {
  json index_json = {
      {"schemaVersion", 2},
      {"manifests", json::array({PlatformEntry(kOciManifestMediaType, '1', "linux", "arm64")})}};
  absl::StatusOr<Index> index = ParseIndex(index_json.dump(), kOciIndexMediaType);
  ASSERT_TRUE(index.ok()) << index.status();
  absl::StatusOr<Descriptor> chosen = ChoosePlatform(*index, Platform{"linux", "arm64", "v8"});
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->digest, Digest('1'));
}

TEST(PlatformTest, ExactVariantPreferredOverNoVariant) {
  json index_json = {
      {"schemaVersion", 2},
      {"manifests",
       json::array({PlatformEntry(kOciManifestMediaType, '1', "linux", "amd64"),
                    PlatformEntry(kOciManifestMediaType, '2', "linux", "amd64", "v3")})}};
  absl::StatusOr<Index> index = ParseIndex(index_json.dump(), kOciIndexMediaType);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(ChoosePlatform(*index, Platform{"linux", "amd64", "v3"})->digest, Digest('2'));
  EXPECT_EQ(ChoosePlatform(*index, Platform{"linux", "amd64", ""})->digest, Digest('1'));
  // No exact match: the entry without a variant.
  EXPECT_EQ(ChoosePlatform(*index, Platform{"linux", "amd64", "v2"})->digest, Digest('1'));
}

TEST(PlatformTest, NormalizeAndNode) {
  EXPECT_EQ(NormalizePlatform({"linux", "aarch64", ""}), (Platform{"linux", "arm64", "v8"}));
  EXPECT_EQ(NormalizePlatform({"linux", "arm64", "8"}), (Platform{"linux", "arm64", "v8"}));
  EXPECT_EQ(NormalizePlatform({"linux", "armhf", ""}), (Platform{"linux", "arm", "v7"}));
  EXPECT_EQ(NormalizePlatform({"linux", "armel", ""}), (Platform{"linux", "arm", "v6"}));
  EXPECT_EQ(NormalizePlatform({"linux", "i686", ""}), (Platform{"linux", "386", ""}));
  Platform node = NodePlatform();
  EXPECT_EQ(node.os, "linux");
  EXPECT_FALSE(node.architecture.empty());
#if defined(__x86_64__)
  EXPECT_EQ(node, (Platform{"linux", "amd64", ""}));
#elif defined(__aarch64__)
  EXPECT_EQ(node, (Platform{"linux", "arm64", "v8"}));
#endif
}

json TestConfig() {
  return json{{"architecture", "amd64"},
              {"os", "linux"},
              {"created", "2024-01-01T00:00:00Z"},
              {"config",
               {{"User", "1000:1000"},
                {"Env", {"PATH=/bin", "A=b"}},
                {"Entrypoint", {"/bin/sh", "-c"}},
                {"Cmd", {"sleep 1"}},
                {"WorkingDir", "/var"},
                {"Labels", {{"a", "b"}}},
                {"StopSignal", "SIGUSR1"},
                {"Volumes", {{"/data", json::object()}, {"/cache", json::object()}}},
                {"ExposedPorts", {{"8080/tcp", json::object()}}}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {Digest('a'), Digest('b')}}}},
              {"history", json::array()}};
}

TEST(ImageConfigTest, ParsesEverything) {
  absl::StatusOr<ImageConfig> config = ParseImageConfig(TestConfig().dump());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->os, "linux");
  EXPECT_EQ(config->architecture, "amd64");
  EXPECT_EQ(config->user, "1000:1000");
  EXPECT_THAT(config->env, ElementsAre("PATH=/bin", "A=b"));
  EXPECT_THAT(config->entrypoint, ElementsAre("/bin/sh", "-c"));
  EXPECT_THAT(config->cmd, ElementsAre("sleep 1"));
  EXPECT_EQ(config->working_dir, "/var");
  EXPECT_EQ(config->labels.at("a"), "b");
  EXPECT_EQ(config->stop_signal, "SIGUSR1");
  EXPECT_THAT(config->volumes, ElementsAre("/cache", "/data"));
  EXPECT_THAT(config->exposed_ports, ElementsAre("8080/tcp"));
  EXPECT_THAT(config->diff_ids, ElementsAre(Digest('a'), Digest('b')));
}

TEST(ImageConfigTest, NullsAndMissingConfigAreFine) {
  json config = TestConfig();
  config["config"]["Entrypoint"] = nullptr;
  config["config"]["Labels"] = nullptr;
  absl::StatusOr<ImageConfig> parsed = ParseImageConfig(config.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->entrypoint.empty());
  config.erase("config");
  EXPECT_TRUE(ParseImageConfig(config.dump()).ok());
}

TEST(ImageConfigTest, RefusesBadConfigs) {
  std::vector<std::function<void(json&)>> mutations = {
      [](json& c) { c.erase("rootfs"); },
      [](json& c) { c["rootfs"]["type"] = "other"; },
      [](json& c) { c["rootfs"].erase("diff_ids"); },
      [](json& c) { c["rootfs"]["diff_ids"][0] = "sha256:XYZ"; },
      [](json& c) { c["rootfs"]["diff_ids"][0] = 1; },
      [](json& c) { c["config"]["Env"] = "PATH=/bin"; },
      [](json& c) {
        c["config"]["Cmd"] = {1, 2};
      },
      [](json& c) { c["config"]["User"] = 0; },
      [](json& c) {
        c["config"]["Labels"] = {{"a", 1}};
      },
      [](json& c) { c["config"]["Volumes"] = {"/data"}; },
      [](json& c) { c["config"] = "x"; },
      [](json& c) { c["os"] = 1; },
  };
  for (size_t i = 0; i < mutations.size(); ++i) {
    json config = TestConfig();
    mutations[i](config);
    EXPECT_TRUE(absl::IsInvalidArgument(ParseImageConfig(config.dump()).status())) << i;
  }
  EXPECT_FALSE(ParseImageConfig(std::string(kMaxConfigBytes + 1, ' ')).ok());
  EXPECT_FALSE(ParseImageConfig("").ok());
}

TEST(DigestTest, Sha256Validation) {
  EXPECT_TRUE(ValidateSha256Digest(Digest('0')).ok());
  EXPECT_FALSE(ValidateSha256Digest("sha256:" + std::string(63, '0')).ok());
  EXPECT_FALSE(ValidateSha256Digest("sha256:" + std::string(65, '0')).ok());
  EXPECT_FALSE(ValidateSha256Digest("SHA256:" + std::string(64, '0')).ok());
  EXPECT_FALSE(ValidateSha256Digest("sha256:" + std::string(63, '0') + "g").ok());
  EXPECT_FALSE(ValidateSha256Digest("").ok());
}

}  // namespace
}  // namespace berth::image
