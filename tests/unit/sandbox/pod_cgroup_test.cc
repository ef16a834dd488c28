#include "sandbox/pod_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::sandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(CgroupRelativePathTest, CgroupfsAndSystemdForms) {
  struct Case {
    std::string parent;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"/kubepods/besteffort/pod123", "kubepods/besteffort/pod123"},
           {"kubepods/burstable", "kubepods/burstable"},
           {"//kubepods//pod1/", "kubepods/pod1"},
           {"kubepods-besteffort-pod12_34.slice",
            "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice"},
           {"kubepods.slice", "kubepods.slice"},
           {"kubepods-pod1.slice", "kubepods.slice/kubepods-pod1.slice"},
           {"/kubepods.slice/kubepods-pod1.slice", "kubepods.slice/kubepods-pod1.slice"},
           {"-.slice", ""},
           {"", ""},
           {"/", ""},
       }) {
    absl::StatusOr<std::string> path = CgroupRelativePath(c.parent);
    ASSERT_TRUE(path.ok()) << c.parent << ": " << path.status();
    EXPECT_EQ(*path, c.want) << c.parent;
  }
}

TEST(CgroupRelativePathTest, RejectsEscapes) {
  for (const std::string& parent : std::vector<std::string>{
           std::string(".."), std::string("/kubepods/../../etc"), std::string("a/./b"),
           std::string("a\0b", 3), std::string("a\nb"), std::string("-a.slice"),
           std::string("a-.slice"), std::string("a--b.slice"), std::string("..-x.slice")}) {
    absl::StatusOr<std::string> path = CgroupRelativePath(parent);
    EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << parent;
  }
}

class PodCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("pod-cgroup-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
  void Mkdir(const std::string& name) { ASSERT_TRUE(MakeDirs(Path(name)).ok()) << name; }
  void Write(const std::string& name, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomic(Path(name), data).ok()) << name;
  }
  std::string Read(const std::string& name) const {
    absl::StatusOr<std::string> data = ReadFile(Path(name));
    return data.ok() ? *data : "<missing>";
  }
  bool Exists(const std::string& name) const {
    struct stat st;
    return ::stat(Path(name).c_str(), &st) == 0;
  }
  CgroupOptions V1(std::vector<std::string> controllers) const {
    return CgroupOptions{.root = dir_->path(),
                         .version = CgroupVersion::kV1,
                         .v1_controllers = std::move(controllers)};
  }
  std::optional<TempDir> dir_;
};

TEST_F(PodCgroupTest, DirsPerVersion) {
  CgroupOptions v2{.root = dir_->path() + "/", .version = CgroupVersion::kV2};
  EXPECT_THAT(CgroupDirs(v2, "kubepods/pod1"), ElementsAre(Path("kubepods/pod1")));
  EXPECT_THAT(CgroupDirs(V1({"cpu,cpuacct", "memory"}), "kubepods/pod1"),
              ElementsAre(Path("cpu,cpuacct/kubepods/pod1"), Path("memory/kubepods/pod1")));
}

TEST_F(PodCgroupTest, FakeTreeHasNoDetectedHierarchies) {
  Mkdir("memory");
  EXPECT_THAT(CgroupDirs(V1({}), "pod"), IsEmpty());
  absl::StatusOr<std::vector<std::string>> created = CreateCgroup(V1({}), "pod");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Exists("memory/pod"));
}

TEST_F(PodCgroupTest, V1CreatesMissingDirsAndCopiesCpuset) {
  Mkdir("cpu,cpuacct");
  Mkdir("cpuset");
  Mkdir("memory/kubepods");
  Write("cpuset/cpuset.cpus", "0-3\n");
  Write("cpuset/cpuset.mems", "0\n");
  absl::StatusOr<std::vector<std::string>> created =
      CreateCgroup(V1({"cpu,cpuacct", "cpuset", "memory"}), "kubepods/pod1");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(*created, ElementsAre(Path("cpu,cpuacct/kubepods"), Path("cpu,cpuacct/kubepods/pod1"),
                                    Path("cpuset/kubepods"), Path("cpuset/kubepods/pod1"),
                                    Path("memory/kubepods/pod1")));
  EXPECT_EQ(Read("cpuset/kubepods/cpuset.cpus"), "0-3");
  EXPECT_EQ(Read("cpuset/kubepods/pod1/cpuset.cpus"), "0-3");
  EXPECT_EQ(Read("cpuset/kubepods/pod1/cpuset.mems"), "0");
  EXPECT_FALSE(Exists("memory/kubepods/pod1/cpuset.cpus"));
}

TEST_F(PodCgroupTest, V1FailureRemovesWhatItCreated) {
  Mkdir("cpu");
  Mkdir("memory");
  absl::StatusOr<std::vector<std::string>> created =
      CreateCgroup(V1({"cpu", "missing", "memory"}), "kubepods/pod1");
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("missing/kubepods"));
  EXPECT_FALSE(Exists("cpu/kubepods"));
  EXPECT_FALSE(Exists("memory/kubepods"));
}

TEST_F(PodCgroupTest, RejectsPathsLeavingTheRoot) {
  Mkdir("cpu");
  for (const char* relative : {"../x", "a/../../x", "/abs", "a//b", "a\nb"}) {
    EXPECT_EQ(CreateCgroup(V1({"cpu"}), relative).status().code(),
              absl::StatusCode::kInvalidArgument)
        << relative;
  }
  EXPECT_FALSE(Exists("x"));
}

TEST_F(PodCgroupTest, V2EnablesControllersInAncestors) {
  Write("cgroup.controllers", "cpu memory pids\n");
  Write("cgroup.subtree_control", "");
  Mkdir("kubepods");
  Write("kubepods/cgroup.controllers", "cpu memory\n");
  Write("kubepods/cgroup.subtree_control", "");
  CgroupOptions v2{.root = dir_->path(), .version = CgroupVersion::kV2};
  absl::StatusOr<std::vector<std::string>> created = CreateCgroup(v2, "kubepods/pod1/extra");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(*created, ElementsAre(Path("kubepods/pod1"), Path("kubepods/pod1/extra")));
  EXPECT_EQ(Read("cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(Read("kubepods/cgroup.subtree_control"), "+cpu +memory");
  // No controllers listed in the new directory (a fake tree): nothing is written, and the
  // leaf is left alone so that processes may join it.
  EXPECT_FALSE(Exists("kubepods/pod1/cgroup.subtree_control"));
  EXPECT_FALSE(Exists("kubepods/pod1/extra/cgroup.subtree_control"));
}

TEST_F(PodCgroupTest, RemoveDeepestFirstAndTwice) {
  Mkdir("cpu");
  Mkdir("memory");
  absl::StatusOr<std::vector<std::string>> created =
      CreateCgroup(V1({"cpu", "memory"}), "kubepods/pod1");
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->size(), 4u);
  ASSERT_TRUE(RemoveCgroups(*created).ok());
  EXPECT_FALSE(Exists("cpu/kubepods"));
  EXPECT_FALSE(Exists("memory/kubepods"));
  EXPECT_TRUE(Exists("memory"));
  EXPECT_TRUE(RemoveCgroups(*created).ok()) << "already gone is fine";
}

TEST_F(PodCgroupTest, RemoveReportsTheDirThatStays) {
  Mkdir("cpu");
  Mkdir("memory");
  absl::StatusOr<std::vector<std::string>> created =
      CreateCgroup(V1({"cpu", "memory"}), "kubepods/pod1");
  ASSERT_TRUE(created.ok()) << created.status();
  Write("cpu/kubepods/pod1/busy", "x");
  absl::Status status = RemoveCgroups(*created);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(Path("cpu/kubepods/pod1")));
  EXPECT_TRUE(Exists("cpu/kubepods/pod1"));
  EXPECT_FALSE(Exists("memory/kubepods")) << "other hierarchies are still removed";
}

}  // namespace
}  // namespace berth::sandbox
