#include "cni/config_watcher.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::testing::HasSubstr;

constexpr char kList[] = R"({"cniVersion":"1.0.0","name":"berth",
  "plugins":[{"type":"bridge"},{"type":"portmap","capabilities":{"portMappings":true}}]})";

// Polls `done` until it holds or ten seconds pass.
bool WaitFor(const std::function<bool()>& done) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return done();
}

class ConfigWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("cni-watch-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    tmp_ = std::make_unique<TempDir>(*std::move(dir));
    net_dir_ = tmp_->path() + "/net.d";
    options_.load.network_dir = net_dir_;
    options_.retry_interval = absl::Milliseconds(20);
    options_.settle = absl::Milliseconds(10);
    options_.on_change = [this](const std::shared_ptr<const NetworkSet>& set) {
      ASSERT_NE(set, nullptr);
      changes_.fetch_add(1);
    };
  }

  std::unique_ptr<ConfigWatcher> StartWatcher() {
    absl::StatusOr<std::unique_ptr<ConfigWatcher>> watcher = ConfigWatcher::Start(options_);
    EXPECT_TRUE(watcher.ok()) << watcher.status();
    return watcher.ok() ? *std::move(watcher) : nullptr;
  }

  static bool Ready(const ConfigWatcher& watcher) { return watcher.Status().ready; }

  std::unique_ptr<TempDir> tmp_;
  std::string net_dir_;
  ConfigWatcher::Options options_;
  std::atomic<int> changes_{0};
};

TEST_F(ConfigWatcherTest, TurnsReadyWhenAFileAppearsAndNotReadyWhenRemoved) {
  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(watcher->Current(), nullptr);
  EXPECT_FALSE(Ready(*watcher));
  EXPECT_EQ(watcher->Status().reason, kNetworkNotReadyReason);

  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  ASSERT_TRUE(WaitFor([&] { return Ready(*watcher); }));
  std::shared_ptr<const NetworkSet> set = watcher->Current();
  ASSERT_NE(set->Default(), nullptr);
  EXPECT_EQ(set->Default()->name, "berth");
  EXPECT_TRUE(set->Default()->HasCapability("portMappings"));
  EXPECT_EQ(watcher->Status().default_file, net_dir_ + "/10-berth.conflist");
  EXPECT_GE(changes_.load(), 1);

  ASSERT_EQ(::unlink((net_dir_ + "/10-berth.conflist").c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return !Ready(*watcher); }));
  EXPECT_THAT(watcher->Status().message, HasSubstr("no .conflist, .conf or .json files"));
  // The old snapshot stays valid for whoever holds it.
  EXPECT_EQ(set->Default()->name, "berth");
}

TEST_F(ConfigWatcherTest, FollowsEditsAndRenames) {
  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/20-b.conflist", kList).ok());
  std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
  ASSERT_NE(watcher, nullptr);
  ASSERT_TRUE(Ready(*watcher));

  // A broken edit makes it not ready; renaming a valid file in makes it ready again.
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/20-b.conflist", "{").ok());
  ASSERT_TRUE(WaitFor([&] { return !Ready(*watcher); }));
  EXPECT_THAT(watcher->Status().message, HasSubstr("20-b.conflist: invalid JSON"));

  ASSERT_TRUE(WriteFileAtomic(tmp_->path() + "/staged", R"({"cniVersion":"0.4.0",
      "name":"moved","type":"bridge"})")
                  .ok());
  ASSERT_EQ(std::rename((tmp_->path() + "/staged").c_str(), (net_dir_ + "/10-a.conf").c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return Ready(*watcher); }));
  EXPECT_EQ(watcher->Status().default_network, "moved");
}

TEST_F(ConfigWatcherTest, MissingDirectoryThatAppearsLaterAndGoesAway) {
  std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
  ASSERT_NE(watcher, nullptr);
  EXPECT_FALSE(Ready(*watcher));
  EXPECT_THAT(watcher->Status().message, HasSubstr("does not exist"));

  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  ASSERT_TRUE(WaitFor([&] { return Ready(*watcher); }));

  ASSERT_TRUE(RemoveAll(net_dir_).ok());
  ASSERT_TRUE(WaitFor([&] { return !Ready(*watcher); }));
  EXPECT_THAT(watcher->Status().message, HasSubstr("does not exist"));

  // And back again: the watch is set up anew.
  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  ASSERT_TRUE(WaitFor([&] { return Ready(*watcher); }));
}

TEST_F(ConfigWatcherTest, RechecksPluginsThatAppearLater) {
  std::string bin = tmp_->path() + "/bin";
  ASSERT_TRUE(MakeDirs(bin).ok());
  ASSERT_TRUE(WriteFileAtomic(bin + "/portmap", "#!/bin/sh\n", 0755).ok());
  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  options_.load.plugin_dirs = {bin};
  options_.load.check_plugins = true;
  std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
  ASSERT_NE(watcher, nullptr);
  EXPECT_FALSE(Ready(*watcher));
  EXPECT_THAT(watcher->Status().message, HasSubstr("plugin bridge not found in " + bin));

  ASSERT_TRUE(WriteFileAtomic(bin + "/bridge", "#!/bin/sh\n", 0755).ok());
  ASSERT_TRUE(WaitFor([&] { return Ready(*watcher); }));
}

TEST_F(ConfigWatcherTest, UnchangedContentDoesNotNotify) {
  ASSERT_TRUE(MakeDirs(net_dir_).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
  ASSERT_NE(watcher, nullptr);
  std::shared_ptr<const NetworkSet> first = watcher->Current();

  // Rewrite the same bytes, then make a real change; only the real change is published.
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/10-berth.conflist", kList).ok());
  ASSERT_TRUE(WriteFileAtomic(net_dir_ + "/20-other.conf",
                              R"({"cniVersion":"1.0.0","name":"other","type":"bridge"})")
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return watcher->Current()->networks.size() == 2; }));
  EXPECT_EQ(changes_.load(), 1);
  EXPECT_EQ(watcher->Status().default_network, "berth");
}

TEST_F(ConfigWatcherTest, StopsPromptly) {
  options_.retry_interval = absl::Hours(1);
  absl::Time start = absl::Now();
  {
    std::unique_ptr<ConfigWatcher> watcher = StartWatcher();
    ASSERT_NE(watcher, nullptr);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace berth::cni
