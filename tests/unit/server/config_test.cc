#include "server/config.h"

#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("config-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    sources_.file = dir_->path() + "/berth.conf";
    sources_.drop_in_dir = dir_->path() + "/berth.conf.d";
  }
  void Write(const std::string& name, const std::string& text) {
    ASSERT_TRUE(MakeDirs(dir_->path() + "/berth.conf.d").ok());
    ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/" + name, text).ok());
  }
  std::optional<TempDir> dir_;
  ConfigSources sources_;
};

TEST_F(ConfigTest, DefaultsWithoutAnyFile) {
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->root, "/var/lib/berth");
  EXPECT_EQ(config->runroot, "/run/berth");
  EXPECT_EQ(config->listen, "/run/berth/berth.sock");
  EXPECT_EQ(config->stream_address, "127.0.0.1");
  EXPECT_EQ(config->stream_port, 0);
  EXPECT_EQ(config->default_runtime, "runc");
  EXPECT_EQ(config->cgroup_manager, "cgroupfs");
  EXPECT_EQ(config->runtimes.at("runc").runtime_root, "/run/berth/runc");
  EXPECT_EQ(config->runtimes.at("runc").runtime_type, "oci");
  EXPECT_EQ(config->network_dir, "/etc/cni/net.d");
  EXPECT_THAT(config->plugin_dirs, ::testing::ElementsAre("/opt/cni/bin", "/usr/lib/cni"));
  EXPECT_EQ(config->max_parallel_downloads, 3);
  EXPECT_EQ(config->registry_certs_dir, "/etc/containers/certs.d");
  EXPECT_FALSE(config->enable_metrics);
}

TEST_F(ConfigTest, RegistryCertsDirIsAPathOrEmpty) {
  Write("berth.conf", "[berth.image]\nregistry_certs_dir = \"/srv/certs.d\"\n");
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->registry_certs_dir, "/srv/certs.d");
  EXPECT_EQ(ConfigToJson(*config)["berth"]["image"]["registry_certs_dir"], "/srv/certs.d");
  EXPECT_THAT(RenderConfigToml(*config), HasSubstr("registry_certs_dir = \"/srv/certs.d\""));
  Write("berth.conf", "[berth.image]\nregistry_certs_dir = \"\"\n");
  config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->registry_certs_dir, "") << "empty: the system CAs only";
}

TEST_F(ConfigTest, MainFileThenDropInsInLexicalOrder) {
  Write("berth.conf", "[berth]\nlog_level = \"debug\"\n[berth.api]\nstream_port = 1000\n");
  Write("berth.conf.d/20-b.conf", "[berth.api]\nstream_port = 2000\n");
  Write("berth.conf.d/10-a.conf",
        "[berth.api]\nstream_port = 1500\n[berth.image]\npinned_images = [\"a\"]\n");
  Write("berth.conf.d/30-ignored.txt", "this is not TOML");
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->stream_port, 2000);
  EXPECT_THAT(config->pinned_images, ::testing::ElementsAre("a"));
}

TEST_F(ConfigTest, FlagsWinOverFiles) {
  Write("berth.conf", "[berth]\nroot = \"/srv/a\"\nrunroot = \"/run/a\"\n");
  sources_.flags.root = "/srv/flag";
  sources_.flags.log_level = "warn";
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->root, "/srv/flag");
  EXPECT_EQ(config->runroot, "/run/a");
  EXPECT_EQ(config->listen, "/run/a/berth.sock") << "listen follows the runroot";
  EXPECT_EQ(config->log_level, "warn");
}

TEST_F(ConfigTest, RuntimeHandlersMerge) {
  Write("berth.conf",
        "[berth.runtime]\ndefault_runtime = \"fast\"\n"
        "[berth.runtime.runtimes.fast]\nruntime_path = \"/usr/bin/fast\"\n");
  Write("berth.conf.d/a.conf",
        "[berth.runtime.runtimes.fast]\nruntime_root = \"/run/fast-root\"\n");
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_runtime, "fast");
  EXPECT_EQ(config->runtimes.at("fast").runtime_path, "/usr/bin/fast");
  EXPECT_EQ(config->runtimes.at("fast").runtime_root, "/run/fast-root");
  EXPECT_TRUE(config->runtimes.contains("runc"));
}

struct BadCase {
  const char* text;
  const char* expected;  // substring of the error
};

class BadConfigTest : public ConfigTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(BadConfigTest, IsRejectedNamingFileLineAndKey) {
  Write("berth.conf", GetParam().text);
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(GetParam().expected));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("berth.conf:"));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConfigTest,
    ::testing::Values(
        BadCase{"[berth]\nrooot = \"/x\"\n", "berth.conf:2: berth.rooot: unknown key"},
        BadCase{"[berth.api]\n\nlisen = \"/x\"\n", "berth.conf:3: berth.api.lisen: unknown key"},
        BadCase{"[crio]\nroot = \"/x\"\n", "crio: unknown key"},
        BadCase{"[berth.api]\nstream_port = \"80\"\n", "stream_port: must be an integer"},
        BadCase{"[berth.api]\nstream_port = 70000\n", "out of range"},
        BadCase{"[berth]\nroot = \"relative\"\n", "berth.root: \"relative\" is not an absolute"},
        BadCase{"[berth]\nrunroot = \"/run/../etc\"\n", "contains \"..\""},
        BadCase{"[berth]\nlog_level = \"loud\"\n", "berth.log_level: \"loud\" is not one of"},
        BadCase{"[berth.runtime]\ncgroup_manager = \"cgroupv3\"\n", "cgroup_manager"},
        BadCase{"[berth.image]\nmax_parallel_downloads = 0\n", "max_parallel_downloads"},
        BadCase{"[berth.image]\npinned_images = \"a\"\n", "must be an array of strings"},
        BadCase{"[berth.image]\nregistry_certs_dir = \"certs.d\"\n",
                "berth.conf:2: berth.image.registry_certs_dir: \"certs.d\" is not an absolute"},
        BadCase{"[berth.image]\nregistry_certs_dir = \"/etc/../certs\"\n", "contains \"..\""},
        BadCase{"[berth.image]\nregistry_certs_dir = 1\n", "registry_certs_dir: must be a string"},
        BadCase{"[berth.network]\nplugin_dirs = [\"/ok\", \"bad\"]\n", "plugin_dirs"},
        BadCase{"[berth.metrics]\nenable_metrics = \"yes\"\n", "must be a boolean"},
        BadCase{"[berth.runtime.runtimes.x]\nruntime_type = \"vm\"\n", "runtime_type"},
        BadCase{"[berth.runtime.runtimes.x]\nruntime_pth = \"/x\"\n",
                "berth.runtime.runtimes.x.runtime_pth: unknown key"},
        BadCase{"[berth.runtime.runtimes.\"a/b\"]\n", "runtime handler name"},
        BadCase{"[berth]\nroot = \n", "berth.conf:2:"},
        BadCase{"berth = 1\n", "berth: must be a table"}));

TEST_F(ConfigTest, DefaultRuntimeMustExist) {
  Write("berth.conf", "[berth.runtime]\ndefault_runtime = \"nope\"\n");
  absl::StatusOr<Config> config = LoadConfig(sources_);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("\"nope\""));
}

TEST_F(ConfigTest, ErrorInDropInNamesTheDropIn) {
  Write("berth.conf.d/50-bad.conf", "[berth]\nbogus = 1\n");
  absl::StatusOr<Config> config = LoadConfig(sources_);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("50-bad.conf:2: berth.bogus"));
}

TEST_F(ConfigTest, BadFlagIsRejected) {
  sources_.flags.log_level = "chatty";
  EXPECT_THAT(std::string(LoadConfig(sources_).status().message()), HasSubstr("--log-level"));
  sources_.flags.log_level.reset();
  sources_.flags.root = "rel";
  EXPECT_THAT(std::string(LoadConfig(sources_).status().message()), HasSubstr("--root"));
}

TEST_F(ConfigTest, RequiredFileMustExist) {
  sources_.file_required = true;
  EXPECT_EQ(LoadConfig(sources_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ConfigTest, RenderedConfigIsAcceptedBackUnchanged) {
  Write("berth.conf",
        "[berth]\nlog_level = \"debug\"\n[berth.image]\npinned_images = [\"a\\\"b\", \"c\"]\n"
        "[berth.runtime.runtimes.kata]\nruntime_path = \"/opt/kata\"\n"
        "[berth.metrics]\nenable_metrics = true\nmetrics_port = 9100\n");
  absl::StatusOr<Config> first = LoadConfig(sources_);
  ASSERT_TRUE(first.ok()) << first.status();
  std::string rendered = RenderConfigToml(*first);
  EXPECT_THAT(rendered, HasSubstr("# "));
  Write("berth.conf", rendered);
  absl::StatusOr<Config> second = LoadConfig(sources_);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << rendered;
  EXPECT_EQ(RenderConfigToml(*second), rendered);
  EXPECT_EQ(ConfigToJson(*second), ConfigToJson(*first));
  EXPECT_THAT(second->pinned_images, ::testing::ElementsAre("a\"b", "c"));
  EXPECT_EQ(second->runtimes.at("kata").runtime_path, "/opt/kata");
}

TEST_F(ConfigTest, JsonUsesTheTomlKeys) {
  absl::StatusOr<Config> config = LoadConfig(sources_);
  ASSERT_TRUE(config.ok());
  nlohmann::json json = ConfigToJson(*config);
  EXPECT_EQ(json["berth"]["api"]["listen"], "/run/berth/berth.sock");
  EXPECT_EQ(json["berth"]["runtime"]["runtimes"]["runc"]["runtime_type"], "oci");
  EXPECT_EQ(json["berth"]["image"]["max_parallel_downloads"], 3);
}

}  // namespace
}  // namespace berth
