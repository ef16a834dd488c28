#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/cgroup_stats.h"
#include "oci/runtime_cli.h"

namespace berth::oci {
namespace {

class CgroupStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("oci-cgroup-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<TempDir>(std::move(*dir));
  }
  void Write(const std::string& relative, const std::string& data) {
    std::string path = dir_->path() + "/" + relative;
    ASSERT_TRUE(MakeDirs(path.substr(0, path.find_last_of('/'))).ok());
    ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  }
  std::unique_ptr<TempDir> dir_;
};

TEST_F(CgroupStatsTest, V1FakeTree) {
  // A v1 layout: controllers co-mounted, a compatibility symlink, the container's cgroup.
  const std::string path = "/kubepods/pod1/berth-c1";
  Write("cpu,cpuacct" + path + "/cpuacct.usage", "123456789\n");
  Write("memory" + path + "/memory.usage_in_bytes", "10000\n");
  Write("memory" + path + "/memory.stat",
        "cache 4000\nrss 6000\ntotal_rss 6500\ntotal_inactive_file 3000\n"
        "total_pgfault 77\ntotal_pgmajfault 2\n");
  ASSERT_TRUE(MakeDirs(dir_->path() + "/pids").ok());
  ASSERT_EQ(::symlink("cpu,cpuacct", (dir_->path() + "/cpuacct").c_str()), 0);
  absl::StatusOr<ContainerCgroupDirs> dirs =
      FindContainerCgroupDirs(dir_->path(), CgroupMode::kHybrid, path);
  ASSERT_TRUE(dirs.ok()) << dirs.status();
  EXPECT_FALSE(dirs->v2);
  EXPECT_EQ(dirs->cpuacct, dir_->path() + "/cpu,cpuacct" + path);
  EXPECT_EQ(dirs->cpu, dir_->path() + "/cpu,cpuacct" + path);
  EXPECT_EQ(dirs->memory, dir_->path() + "/memory" + path);
  EXPECT_EQ(dirs->pids, dir_->path() + "/pids" + path);
  EXPECT_TRUE(dirs->cpuset.empty());
  absl::StatusOr<CgroupStats> stats = ReadCgroupStats(*dirs);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->cpu_usage_ns, 123456789u);
  EXPECT_EQ(stats->memory_usage_bytes, 10000u);
  EXPECT_EQ(stats->memory_working_set_bytes, 7000u);
  EXPECT_EQ(stats->memory_rss, 6500u);
  EXPECT_EQ(stats->memory_page_faults, 77u);
  EXPECT_EQ(stats->memory_major_page_faults, 2u);
  EXPECT_GT(stats->timestamp, absl::Now() - absl::Minutes(1));
}

TEST_F(CgroupStatsTest, V2FakeTree) {
  const std::string path = "/kubepods/pod1/berth-c1";
  Write(path.substr(1) + "/cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
  Write(path.substr(1) + "/memory.current", "8192\n");
  Write(path.substr(1) + "/memory.stat",
        "anon 4096\nfile 4096\ninactive_file 10000\npgfault 5\npgmajfault 1\n");
  absl::StatusOr<ContainerCgroupDirs> dirs =
      FindContainerCgroupDirs(dir_->path(), CgroupMode::kUnified, path);
  ASSERT_TRUE(dirs.ok()) << dirs.status();
  EXPECT_TRUE(dirs->v2);
  EXPECT_EQ(dirs->unified, dir_->path() + path);
  absl::StatusOr<CgroupStats> stats = ReadCgroupStats(*dirs);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->cpu_usage_ns, 2500000u);
  EXPECT_EQ(stats->memory_usage_bytes, 8192u);
  EXPECT_EQ(stats->memory_working_set_bytes, 0u);  // inactive_file above usage: floor at 0
  EXPECT_EQ(stats->memory_rss, 4096u);
  EXPECT_EQ(stats->memory_page_faults, 5u);
}

TEST_F(CgroupStatsTest, MissingOrGarbledFilesAreErrors) {
  EXPECT_FALSE(ReadCgroupV2Stats(dir_->path() + "/missing").ok());
  Write("bad/cpu.stat", "usage_usec 1\n");
  Write("bad/memory.current", "lots\n");
  Write("bad/memory.stat", "");
  EXPECT_EQ(ReadCgroupV2Stats(dir_->path() + "/bad").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(FindContainerCgroupDirs(dir_->path(), CgroupMode::kLegacy, "/x").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(CgroupsPathToDirTest, SystemdAndCgroupfs) {
  EXPECT_EQ(CgroupsPathToDir("kubepods-burstable-pod1.slice:berth:abc"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
            "berth-abc.scope");
  EXPECT_EQ(CgroupsPathToDir("system.slice:berth:abc"), "/system.slice/berth-abc.scope");
  EXPECT_EQ(CgroupsPathToDir("/kubepods/berth-abc"), "/kubepods/berth-abc");
  EXPECT_EQ(CgroupsPathToDir("kubepods/berth-abc"), "/kubepods/berth-abc");
}

TEST(RuntimeCliTest, UpdateResourcesInvocation) {
  runtime::v1::LinuxContainerResources resources;
  resources.set_cpu_quota(20000);
  resources.set_memory_limit_in_bytes(1 << 20);
  RuntimeInvocation inv =
      UpdateResourcesInvocation("/usr/sbin/runc", "/run/berth/runc", "c1", resources);
  EXPECT_THAT(inv.argv, ::testing::ElementsAre("/usr/sbin/runc", "--root", "/run/berth/runc",
                                               "update", "--resources", "-", "c1"));
  EXPECT_EQ(nlohmann::json::parse(inv.stdin_data),
            nlohmann::json::parse(R"({"cpu":{"quota":20000},"memory":{"limit":1048576}})"));
  EXPECT_THAT(StateInvocation("runc", "", "c1").argv,
              ::testing::ElementsAre("runc", "state", "c1"));
}

TEST(RuntimeCliTest, ParsesState) {
  absl::StatusOr<RuntimeState> state = ParseRuntimeState(
      R"({"ociVersion":"1.0.2","id":"c1","pid":4242,"status":"running","bundle":"/b",
          "rootfs":"/b/rootfs","created":"2024-01-01T00:00:00Z","owner":""})");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->id, "c1");
  EXPECT_EQ(state->pid, 4242);
  EXPECT_EQ(state->status, "running");
  EXPECT_EQ(state->bundle, "/b");
  state = ParseRuntimeState(R"({"id":"c1","pid":0,"status":"stopped"})");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pid, 0);
  for (const char* bad : {"", "nope", "[]", R"({"id":"c1"})", R"({"status":"x","pid":"1"})",
                          R"({"status":"x","pid":-4})"}) {
    EXPECT_EQ(ParseRuntimeState(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace berth::oci
