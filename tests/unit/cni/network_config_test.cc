#include "cni/network_config.h"

#include <string>

#include "absl/status/status.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kBridgeList[] = R"({
  "cniVersion": "1.0.0",
  "name": "berth-net",
  "disableCheck": true,
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "ipam": {"type": "host-local"}},
    {"type": "portmap", "capabilities": {"portMappings": true, "bandwidth": false}},
    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
  ]
})";

constexpr char kBridgeConf[] = R"({
  "cniVersion": "0.4.0",
  "name": "single",
  "type": "bridge",
  "bridge": "cni1",
  "capabilities": {"ipRanges": true}
})";

std::string ListError(const std::string& text) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfigList(text, "test.conflist");
  EXPECT_FALSE(net.ok()) << text;
  EXPECT_EQ(net.status().code(), absl::StatusCode::kInvalidArgument) << net.status();
  return std::string(net.status().message());
}

std::string ConfError(const std::string& text) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfig(text, "test.conf");
  EXPECT_FALSE(net.ok()) << text;
  EXPECT_EQ(net.status().code(), absl::StatusCode::kInvalidArgument) << net.status();
  return std::string(net.status().message());
}

TEST(ParseNetworkConfigListTest, ValidList) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfigList(kBridgeList, "/x/10.conflist");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "berth-net");
  EXPECT_EQ(net->cni_version, "1.0.0");
  EXPECT_EQ(net->file, "/x/10.conflist");
  EXPECT_TRUE(net->disable_check);
  EXPECT_FALSE(net->disable_gc);
  ASSERT_EQ(net->plugins.size(), 3u);
  EXPECT_EQ(net->plugins[0].type, "bridge");
  EXPECT_EQ(net->plugins[0].raw["bridge"], "cni0");
  EXPECT_EQ(net->plugins[0].raw["ipam"]["type"], "host-local");
  EXPECT_THAT(net->plugins[0].capabilities, IsEmpty());
  EXPECT_THAT(net->plugins[1].capabilities, ElementsAre("portMappings"));
  EXPECT_TRUE(net->plugins[1].HasCapability("portMappings"));
  EXPECT_FALSE(net->plugins[1].HasCapability("bandwidth"));
  EXPECT_THAT(net->Capabilities(), ElementsAre("bandwidth", "portMappings"));
  EXPECT_TRUE(net->HasCapability("bandwidth"));
  EXPECT_FALSE(net->HasCapability("dns"));
  EXPECT_EQ(net->raw["plugins"].size(), 3u);
}

TEST(ParseNetworkConfigListTest, FlagsAcceptBooleanStrings) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfigList(
      R"({"cniVersion":"1.1.0","name":"n","disableGC":"true","disableCheck":"false",
          "plugins":[{"type":"loopback"}]})",
      "");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_TRUE(net->disable_gc);
  EXPECT_FALSE(net->disable_check);
  EXPECT_THAT(ListError(R"({"cniVersion":"1.1.0","name":"n","disableGC":1,
                            "plugins":[{"type":"loopback"}]})"),
              HasSubstr("\"disableGC\" must be a boolean"));
}

TEST(ParseNetworkConfigListTest, VersionNegotiationPicksHighestSupported) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfigList(
      R"({"cniVersion":"1.0.0","cniVersions":["0.4.0","1.1.0","7.0.0"],"name":"n",
          "plugins":[{"type":"loopback"}]})",
      "");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->cni_version, "1.1.0");

  // A future cniVersion is fine when cniVersions names one we speak.
  net = ParseNetworkConfigList(
      R"({"cniVersion":"3.0.0","cniVersions":["1.0.0","3.0.0"],"name":"n",
          "plugins":[{"type":"loopback"}]})",
      "");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->cni_version, "1.0.0");

  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","cniVersions":"1.1.0","name":"n",
                            "plugins":[{"type":"loopback"}]})"),
              HasSubstr("\"cniVersions\" must be an array"));
}

TEST(ParseNetworkConfigListTest, RejectsInvalidDocuments) {
  EXPECT_THAT(ListError("{not json"), HasSubstr("invalid JSON"));
  EXPECT_THAT(ListError(""), HasSubstr("invalid JSON"));
  EXPECT_THAT(ListError("[1, 2]"), HasSubstr("not an object"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})"),
              HasSubstr("missing \"name\""));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"","plugins":[{"type":"bridge"}]})"),
              HasSubstr("\"name\" is empty"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":7,"plugins":[{"type":"bridge"}]})"),
              HasSubstr("\"name\" must be a string"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"-bad","plugins":[{"type":"bridge"}]})"),
              HasSubstr("invalid network name"));
  EXPECT_THAT(ListError(R"({"name":"n","plugins":[{"type":"bridge"}]})"),
              HasSubstr("missing \"cniVersion\""));
  EXPECT_THAT(ListError(R"({"cniVersion":"0.2.0","name":"n","plugins":[{"type":"bridge"}]})"),
              HasSubstr("unsupported cniVersion \"0.2.0\""));
  EXPECT_THAT(ListError(R"({"cniVersion":1,"name":"n","plugins":[{"type":"bridge"}]})"),
              HasSubstr("\"cniVersion\" must be a string"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n"})"), HasSubstr("missing \"plugins\""));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":{}})"),
              HasSubstr("\"plugins\" must be an array"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":[]})"),
              HasSubstr("\"plugins\" is empty"));
}

TEST(ParseNetworkConfigListTest, RejectsInvalidPlugins) {
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a"},{}]})"),
              HasSubstr("plugin 1: missing \"type\""));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":["bridge"]})"),
              HasSubstr("plugin 0: not a JSON object"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":3}]})"),
              HasSubstr("\"type\" must be a string"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":""}]})"),
              HasSubstr("\"type\" is empty"));
  for (const char* type : {"../../bin/sh", "/bin/sh", "sub/bridge", "..", "."}) {
    std::string doc =
        std::string(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":")") + type + R"("}]})";
    EXPECT_THAT(ListError(doc), HasSubstr("invalid plugin type")) << type;
  }
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n",
                            "plugins":[{"type":"portmap","capabilities":["portMappings"]}]})"),
              HasSubstr("\"capabilities\" must be an object"));
  EXPECT_THAT(ListError(R"({"cniVersion":"1.0.0","name":"n",
                            "plugins":[{"type":"portmap","capabilities":{"portMappings":1}}]})"),
              HasSubstr("capability \"portMappings\" must be true or false"));
}

TEST(ParseNetworkConfigTest, SingleConfigBecomesListOfOne) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfig(kBridgeConf, "/x/10.conf");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "single");
  EXPECT_EQ(net->cni_version, "0.4.0");
  EXPECT_FALSE(net->disable_check);
  ASSERT_EQ(net->plugins.size(), 1u);
  EXPECT_EQ(net->plugins[0].type, "bridge");
  EXPECT_EQ(net->plugins[0].raw["bridge"], "cni1");
  EXPECT_TRUE(net->HasCapability("ipRanges"));
  EXPECT_EQ(net->raw["name"], "single");
  EXPECT_EQ(net->raw["cniVersion"], "0.4.0");
  ASSERT_TRUE(net->raw["plugins"].is_array());
  ASSERT_EQ(net->raw["plugins"].size(), 1u);
  EXPECT_EQ(net->raw["plugins"][0]["type"], "bridge");
}

TEST(ParseNetworkConfigTest, ConfigWithPluginsArrayIsAList) {
  absl::StatusOr<NetworkConfig> net = ParseNetworkConfig(kBridgeList, "/x/10.conf");
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "berth-net");
  EXPECT_EQ(net->plugins.size(), 3u);
}

TEST(ParseNetworkConfigTest, RejectsInvalidSingleConfigs) {
  EXPECT_THAT(ConfError(R"({"cniVersion":"1.0.0","name":"n"})"), HasSubstr("missing \"type\""));
  EXPECT_THAT(ConfError(R"({"cniVersion":"1.0.0","name":"n","type":"a/b"})"),
              HasSubstr("invalid plugin type"));
  EXPECT_THAT(ConfError(R"({"cniVersion":"9.9.9","name":"n","type":"bridge"})"),
              HasSubstr("unsupported cniVersion"));
  EXPECT_THAT(ConfError(R"({"cniVersion":"1.0.0","type":"bridge"})"),
              HasSubstr("missing \"name\""));
}

TEST(NetworkNameTest, FollowsTheSpec) {
  EXPECT_TRUE(IsValidNetworkName("cbr0"));
  EXPECT_TRUE(IsValidNetworkName("k8s-pod-network"));
  EXPECT_TRUE(IsValidNetworkName("a.b_c-d"));
  EXPECT_TRUE(IsValidNetworkName("9"));
  EXPECT_FALSE(IsValidNetworkName(""));
  EXPECT_FALSE(IsValidNetworkName("-net"));
  EXPECT_FALSE(IsValidNetworkName(".net"));
  EXPECT_FALSE(IsValidNetworkName("my net"));
  EXPECT_FALSE(IsValidNetworkName("a/b"));
}

TEST(SupportedVersionsTest, KnownVersions) {
  for (const char* version : {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}) {
    EXPECT_TRUE(IsSupportedCniVersion(version)) << version;
  }
  EXPECT_FALSE(IsSupportedCniVersion("0.2.0"));
  EXPECT_FALSE(IsSupportedCniVersion(""));
  EXPECT_FALSE(IsSupportedCniVersion("1.0"));
}

TEST(LoadNetworkConfigFileTest, ChoosesParserByExtension) {
  absl::StatusOr<TempDir> dir = TempDir::Make("cni-test-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string conf = dir->path() + "/10-single.conf";
  std::string list = dir->path() + "/20-list.conflist";
  std::string other = dir->path() + "/30-other.yaml";
  ASSERT_TRUE(WriteFileAtomic(conf, kBridgeConf).ok());
  ASSERT_TRUE(WriteFileAtomic(list, kBridgeList).ok());
  ASSERT_TRUE(WriteFileAtomic(other, kBridgeList).ok());

  absl::StatusOr<NetworkConfig> net = LoadNetworkConfigFile(conf);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "single");
  EXPECT_EQ(net->file, conf);
  net = LoadNetworkConfigFile(list);
  ASSERT_TRUE(net.ok()) << net.status();
  EXPECT_EQ(net->name, "berth-net");
  EXPECT_FALSE(LoadNetworkConfigFile(other).ok());

  // A .conflist must be a list: a single plugin configuration is not one.
  ASSERT_TRUE(WriteFileAtomic(list, kBridgeConf).ok());
  net = LoadNetworkConfigFile(list);
  ASSERT_FALSE(net.ok());
  EXPECT_THAT(net.status().message(), HasSubstr(list));
  EXPECT_THAT(net.status().message(), HasSubstr("missing \"plugins\""));

  net = LoadNetworkConfigFile(conf, /*max_bytes=*/16);
  EXPECT_EQ(net.status().code(), absl::StatusCode::kResourceExhausted) << net.status();
}

TEST(ConfigFileNameTest, Extensions) {
  EXPECT_TRUE(IsNetworkConfigFileName("10-bridge.conflist"));
  EXPECT_TRUE(IsNetworkConfigFileName("10-bridge.conf"));
  EXPECT_TRUE(IsNetworkConfigFileName("10-bridge.json"));
  EXPECT_FALSE(IsNetworkConfigFileName(".conf"));
  EXPECT_FALSE(IsNetworkConfigFileName("10-bridge.conf.bak"));
  EXPECT_FALSE(IsNetworkConfigFileName("10-bridge.conflist.tmp-abc123"));
  EXPECT_FALSE(IsNetworkConfigFileName("README"));
}

}  // namespace
}  // namespace berth::cni
