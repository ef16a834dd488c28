#include "cni/config_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string List(const std::string& name, const std::string& type = "bridge") {
  return absl::StrCat(R"({"cniVersion":"1.0.0","name":")", name, R"(","plugins":[{"type":")", type,
                      R"("},{"type":"portmap","capabilities":{"portMappings":true}}]})");
}

std::string Conf(const std::string& name, const std::string& type = "bridge") {
  return absl::StrCat(R"({"cniVersion":"0.4.0","name":")", name, R"(","type":")", type, R"("})");
}

class ConfigDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("cni-dir-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    tmp_ = std::make_unique<TempDir>(*std::move(dir));
    net_dir_ = tmp_->path() + "/net.d";
    ASSERT_TRUE(MakeDirs(net_dir_).ok());
    options_.network_dir = net_dir_;
  }

  void Write(const std::string& name, const std::string& content) {
    ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/" + name, content).ok()) << name;
  }

  // Makes an executable (or not) plugin binary `type` in the plugin directory `dir`.
  std::string MakePlugin(const std::string& dir, const std::string& type, mode_t mode = 0755) {
    std::string path = tmp_->path() + "/" + dir;
    EXPECT_TRUE(MakeDirs(path).ok());
    EXPECT_TRUE(WriteFileAtomic(path + "/" + type, "#!/bin/sh\n", mode).ok());
    return path;
  }

  std::unique_ptr<TempDir> tmp_;
  std::string net_dir_;
  LoadOptions options_;
};

TEST_F(ConfigDirTest, EmptyDirectoryIsNotReady) {
  Write("README", "not a config");
  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_TRUE(set.dir_status.ok());
  EXPECT_EQ(set.Default(), nullptr);
  NetworkStatus status = set.Status();
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, "NetworkPluginNotReady");
  EXPECT_THAT(status.message, HasSubstr("no valid CNI network configuration in " + net_dir_));
  EXPECT_THAT(status.message, HasSubstr("no .conflist, .conf or .json files"));
  EXPECT_TRUE(status.default_network.empty());
}

TEST_F(ConfigDirTest, MissingDirectoryIsNotReady) {
  options_.network_dir = tmp_->path() + "/absent";
  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_TRUE(absl::IsNotFound(set.dir_status)) << set.dir_status;
  NetworkStatus status = set.Status();
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, kNetworkNotReadyReason);
  EXPECT_THAT(status.message, HasSubstr(options_.network_dir + ": the directory does not exist"));
}

TEST_F(ConfigDirTest, ValidConflistIsTheDefault) {
  Write("10-bridge.conflist", List("berth"));
  NetworkSet set = LoadNetworkDir(options_);
  ASSERT_EQ(set.networks.size(), 1u);
  EXPECT_THAT(set.skipped, IsEmpty());
  ASSERT_NE(set.Default(), nullptr);
  EXPECT_EQ(set.Default()->name, "berth");
  EXPECT_TRUE(set.Default()->HasCapability("portMappings"));
  NetworkStatus status = set.Status();
  EXPECT_TRUE(status.ready);
  EXPECT_TRUE(status.reason.empty());
  EXPECT_TRUE(status.message.empty());
  EXPECT_EQ(status.default_network, "berth");
  EXPECT_EQ(status.default_file, net_dir_ + "/10-bridge.conflist");
}

TEST_F(ConfigDirTest, SingleConfIsConverted) {
  Write("10-single.conf", Conf("single"));
  Write("20-json.json", Conf("other", "macvlan"));
  NetworkSet set = LoadNetworkDir(options_);
  ASSERT_EQ(set.networks.size(), 2u);
  EXPECT_EQ(set.Default()->name, "single");
  ASSERT_EQ(set.Default()->plugins.size(), 1u);
  EXPECT_EQ(set.Default()->plugins[0].type, "bridge");
  EXPECT_EQ(set.Default()->raw["plugins"][0]["type"], "bridge");
  ASSERT_NE(set.Find("other"), nullptr);
  EXPECT_EQ(set.Find("other")->plugins[0].type, "macvlan");
  EXPECT_EQ(set.Find("nope"), nullptr);
}

TEST_F(ConfigDirTest, LexicalOrderPicksFirstValid) {
  Write("05-notes.txt", List("ignored"));
  Write("10-broken.conf", "{");
  Write("20-b.conflist", List("b"));
  Write("30-a.conf", Conf("a"));
  Write("9-last.conflist", List("nine"));  // '9' sorts after '3'
  NetworkSet set = LoadNetworkDir(options_);
  std::vector<std::string> names;
  for (const NetworkConfig& net : set.networks) names.push_back(net.name);
  EXPECT_THAT(names, ElementsAre("b", "a", "nine"));
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_EQ(set.skipped[0].file, net_dir_ + "/10-broken.conf");
  EXPECT_THAT(set.skipped[0].reason, HasSubstr("invalid JSON"));
  EXPECT_EQ(set.Status().default_network, "b");
}

struct InvalidCase {
  const char* file;
  std::string content;
  const char* reason;
};

TEST_F(ConfigDirTest, InvalidFilesAreSkippedWithTheReason) {
  const std::vector<InvalidCase> cases = {
      {"01-bad-json.conflist", R"({"cniVersion": "1.0.0",)", "invalid JSON"},
      {"02-no-name.conflist", R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})",
       "missing \"name\""},
      {"03-version.conflist", R"({"cniVersion":"0.1.0","name":"v","plugins":[{"type":"x"}]})",
       "unsupported cniVersion \"0.1.0\""},
      {"04-no-version.conf", R"({"name":"v","type":"bridge"})", "missing \"cniVersion\""},
      {"05-no-type.conf", R"({"cniVersion":"1.0.0","name":"t"})", "missing \"type\""},
      {"06-slash.conflist", List("s", "../../usr/bin/evil"), "invalid plugin type"},
      {"07-no-plugins.conflist", R"({"cniVersion":"1.0.0","name":"p","plugins":[]})",
       "\"plugins\" is empty"},
      {"08-array.json", "[]", "not an object"},
      {"09-too-big.conflist", List("big").insert(1, std::string(kMaxConfigFileBytes, ' ')),
       "over the limit"},
  };
  for (const InvalidCase& c : cases) Write(c.file, c.content);
  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_THAT(set.networks, IsEmpty());
  ASSERT_EQ(set.skipped.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(set.skipped[i].file, net_dir_ + "/" + cases[i].file);
    EXPECT_THAT(set.skipped[i].reason, HasSubstr(cases[i].reason)) << cases[i].file;
    EXPECT_FALSE(set.skipped[i].missing_plugin);
  }
  NetworkStatus status = set.Status();
  EXPECT_FALSE(status.ready);
  EXPECT_EQ(status.reason, kNetworkNotReadyReason);
  EXPECT_THAT(status.message, HasSubstr("01-bad-json.conflist: invalid JSON"));
  EXPECT_THAT(status.message, HasSubstr("02-no-name.conflist: missing \"name\""));
  EXPECT_THAT(status.message, HasSubstr("and 4 more"));
}

TEST_F(ConfigDirTest, SmallerSizeLimit) {
  options_.max_file_bytes = 64;
  Write("10-big.conflist", List("big-network-name-that-is-long"));
  NetworkSet set = LoadNetworkDir(options_);
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_THAT(set.skipped[0].reason, HasSubstr("over the limit of 64 bytes"));
}

TEST_F(ConfigDirTest, DuplicateNameSkipsTheLaterFile) {
  Write("10-a.conflist", List("same"));
  Write("20-b.conf", Conf("same"));
  NetworkSet set = LoadNetworkDir(options_);
  ASSERT_EQ(set.networks.size(), 1u);
  EXPECT_EQ(set.networks[0].file, net_dir_ + "/10-a.conflist");
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_THAT(set.skipped[0].reason, HasSubstr("already defined by 10-a.conflist"));
}

TEST_F(ConfigDirTest, DirectoriesAndDanglingLinksAreIgnored) {
  ASSERT_TRUE(MakeDirs(net_dir_ + "/05-dir.conf").ok());
  ASSERT_EQ(::symlink("/nonexistent/x.conf", (net_dir_ + "/06-dangling.conf").c_str()), 0);
  Write("10-ok.conf", Conf("ok"));
  ASSERT_EQ(::symlink((net_dir_ + "/10-ok.conf").c_str(), (net_dir_ + "/07-link.conf").c_str()), 0);
  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_THAT(set.skipped, testing::SizeIs(1));  // 10-ok.conf repeats the linked network
  ASSERT_EQ(set.networks.size(), 1u);
  EXPECT_EQ(set.networks[0].file, net_dir_ + "/07-link.conf");
}

TEST_F(ConfigDirTest, MissingPluginBinaryWhenChecked) {
  std::string bin1 = tmp_->path() + "/opt-cni-bin";
  std::string bin2 = MakePlugin("usr-lib-cni", "portmap");
  MakePlugin("usr-lib-cni", "bridge", 0644);  // not executable: does not count
  options_.plugin_dirs = {bin1, bin2};
  options_.check_plugins = true;
  Write("10-bridge.conflist", List("berth"));

  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_THAT(set.networks, IsEmpty());
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_TRUE(set.skipped[0].missing_plugin);
  EXPECT_TRUE(set.HasMissingPlugins());
  EXPECT_EQ(set.skipped[0].reason, absl::StrCat("plugin bridge not found in ", bin1, ":", bin2));
  NetworkStatus status = set.Status();
  EXPECT_FALSE(status.ready);
  EXPECT_THAT(status.message, HasSubstr("10-bridge.conflist: plugin bridge not found in " + bin1));

  MakePlugin("opt-cni-bin", "bridge");
  set = LoadNetworkDir(options_);
  ASSERT_EQ(set.networks.size(), 1u);
  EXPECT_FALSE(set.HasMissingPlugins());
  EXPECT_TRUE(set.Status().ready);
}

TEST_F(ConfigDirTest, PluginsNotCheckedByDefault) {
  options_.plugin_dirs = {tmp_->path() + "/empty"};
  Write("10-bridge.conflist", List("berth"));
  NetworkSet set = LoadNetworkDir(options_);
  EXPECT_EQ(set.networks.size(), 1u);
  EXPECT_TRUE(set.Status().ready);
}

TEST_F(ConfigDirTest, FindPluginSearchesInOrder) {
  std::string first = MakePlugin("first", "bridge");
  std::string second = MakePlugin("second", "bridge");
  absl::StatusOr<std::string> found = FindPlugin("bridge", {first, second});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, first + "/bridge");
  found = FindPlugin("bridge", {tmp_->path() + "/none", second});
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, second + "/bridge");
  EXPECT_TRUE(absl::IsNotFound(FindPlugin("vlan", {first}).status()));
  EXPECT_TRUE(absl::IsNotFound(FindPlugin("bridge", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(FindPlugin("../first/bridge", {second}).status()));
}

TEST_F(ConfigDirTest, SameAsComparesContent) {
  Write("10-a.conflist", List("a"));
  Write("20-bad.conf", "{");
  NetworkSet one = LoadNetworkDir(options_);
  NetworkSet two = LoadNetworkDir(options_);
  EXPECT_TRUE(one.SameAs(two));
  Write("10-a.conflist", List("a", "macvlan"));
  NetworkSet three = LoadNetworkDir(options_);
  EXPECT_FALSE(one.SameAs(three));
}

}  // namespace
}  // namespace berth::cni
