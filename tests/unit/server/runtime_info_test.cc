#include "server/runtime_info.h"

#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth {
namespace {

class RuntimeInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("runtime-info-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    config_.root = dir_->path();
    config_.runroot = dir_->path() + "/run";
    config_.runtimes["runc"].runtime_path = "/bin/true";
    ASSERT_TRUE(FinalizeConfig(config_).ok());
  }
  RuntimeInfo Make() {
    return RuntimeInfo(config_, [this] { return network_; });
  }
  std::optional<TempDir> dir_;
  Config config_;
  NetworkCondition network_{false, "NetworkPluginNotReady", "no network"};
};

TEST_F(RuntimeInfoTest, Version) {
  runtime::v1::VersionResponse version = Make().Version();
  EXPECT_EQ(version.runtime_name(), "berth");
  EXPECT_EQ(version.runtime_api_version(), "v1");
  EXPECT_FALSE(version.runtime_version().empty());
}

TEST_F(RuntimeInfoTest, StatusReportsBothConditions) {
  runtime::v1::StatusResponse status = Make().Status(false);
  ASSERT_EQ(status.status().conditions_size(), 2);
  EXPECT_EQ(status.status().conditions(0).type(), "RuntimeReady");
  EXPECT_TRUE(status.status().conditions(0).status());
  EXPECT_EQ(status.status().conditions(1).type(), "NetworkReady");
  EXPECT_FALSE(status.status().conditions(1).status());
  EXPECT_EQ(status.status().conditions(1).reason(), "NetworkPluginNotReady");
  EXPECT_TRUE(status.info().empty()) << "info only when verbose";
  ASSERT_GE(status.runtime_handlers_size(), 2);
  EXPECT_EQ(status.runtime_handlers(0).name(), "");

  network_ = {true, "", ""};
  EXPECT_TRUE(Make().Status(false).status().conditions(1).status());
}

TEST_F(RuntimeInfoTest, MissingRuntimeBinaryMakesRuntimeNotReady) {
  config_.runtimes["runc"].runtime_path = dir_->path() + "/no-runc";
  runtime::v1::RuntimeCondition condition = Make().Status(false).status().conditions(0);
  EXPECT_FALSE(condition.status());
  EXPECT_EQ(condition.reason(), "RuntimeBinaryMissing");
  EXPECT_THAT(condition.message(), ::testing::HasSubstr("no-runc"));
}

TEST_F(RuntimeInfoTest, VerboseStatusCarriesConfigAsJson) {
  runtime::v1::StatusResponse status = Make().Status(true);
  ASSERT_TRUE(status.info().contains("config"));
  nlohmann::json config = nlohmann::json::parse(status.info().at("config"));
  EXPECT_EQ(config["berth"]["root"], dir_->path());
  nlohmann::json runtime = nlohmann::json::parse(status.info().at("runtime"));
  EXPECT_EQ(runtime["name"], "berth");
}

TEST_F(RuntimeInfoTest, RuntimeConfigReportsCgroupDriver) {
  EXPECT_EQ(Make().RuntimeConfig().linux().cgroup_driver(), runtime::v1::CGROUPFS);
  config_.cgroup_manager = "systemd";
  EXPECT_EQ(Make().RuntimeConfig().linux().cgroup_driver(), runtime::v1::SYSTEMD);
}

TEST_F(RuntimeInfoTest, PodCidrIsValidatedPersistedAndShown) {
  runtime::v1::UpdateRuntimeConfigRequest request;
  auto* network = request.mutable_runtime_config()->mutable_network_config();
  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "hello/8", "10.0.0.0/24,", "fd00::/129"}) {
    network->set_pod_cidr(bad);
    EXPECT_EQ(Make().UpdateRuntimeConfig(request).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  network->set_pod_cidr("10.244.1.0/24,fd00:1::/64");
  {
    RuntimeInfo info = Make();
    ASSERT_TRUE(info.UpdateRuntimeConfig(request).ok());
  }
  RuntimeInfo reloaded = Make();
  ASSERT_TRUE(reloaded.Load().ok());
  nlohmann::json runtime = nlohmann::json::parse(reloaded.Status(true).info().at("runtime"));
  EXPECT_EQ(runtime["podCIDR"], "10.244.1.0/24,fd00:1::/64");
  // An empty CIDR keeps the one we have.
  network->set_pod_cidr("");
  ASSERT_TRUE(reloaded.UpdateRuntimeConfig(request).ok());
  runtime = nlohmann::json::parse(reloaded.Status(true).info().at("runtime"));
  EXPECT_EQ(runtime["podCIDR"], "10.244.1.0/24,fd00:1::/64");
}

TEST_F(RuntimeInfoTest, CorruptRecordIsDataLoss) {
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/runtime.pb", "\xff\xff\xff").ok());
  EXPECT_EQ(Make().Load().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace berth
