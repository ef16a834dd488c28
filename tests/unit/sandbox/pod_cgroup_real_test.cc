// Creates and removes a real pod cgroup under the host's cgroup v1 hierarchies.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/pod_cgroup.h"

namespace berth::sandbox {
namespace {

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The detected hierarchy whose directory name lists `controller`.
std::string HierarchyFor(const std::vector<std::string>& bases, absl::string_view controller) {
  for (const std::string& base : bases) {
    std::string name = base.substr(base.rfind('/') + 1);
    for (absl::string_view part : absl::StrSplit(name, ',')) {
      if (part == controller) return base;
    }
  }
  return "";
}

class RealCgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    bases_ = CgroupDirs(CgroupOptions{}, "");
    if (HierarchyFor(bases_, "memory").empty() || HierarchyFor(bases_, "cpu").empty()) {
      GTEST_SKIP() << "no cgroup v1 memory and cpu hierarchies under /sys/fs/cgroup";
    }
  }
  void TearDown() override {
    if (!created_.empty()) {
      EXPECT_TRUE(RemoveCgroups(created_).ok());
    }
  }
  std::vector<std::string> bases_;
  std::vector<std::string> created_;
};

// Every hierarchy runc makes a container cgroup in: the v1 controllers, the named ones and the
// hybrid unified one (runc creates the pod path there as the container cgroup's parent).
TEST_F(RealCgroupTest, DetectsEveryHierarchyRuncUses) {
  bool memory = false;
  for (const std::string& base : bases_) {
    EXPECT_TRUE(IsDir(base)) << base;
    memory = memory || absl::EndsWith(base, "/memory");
  }
  EXPECT_TRUE(memory);
  std::vector<std::string> sorted = bases_;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "duplicates";
}

TEST_F(RealCgroupTest, CreatesAndRemovesPodCgroup) {
  std::string top = absl::StrCat("berth-test-", ::getpid());
  std::string relative = top + "/pod1";
  absl::StatusOr<std::vector<std::string>> created = CreateCgroup(CgroupOptions{}, relative);
  ASSERT_TRUE(created.ok()) << created.status();
  created_ = *created;
  EXPECT_EQ(created->size(), 2 * bases_.size());
  std::string memory = HierarchyFor(bases_, "memory") + "/" + relative;
  std::string cpu = HierarchyFor(bases_, "cpu") + "/" + relative;
  EXPECT_TRUE(IsDir(memory));
  EXPECT_TRUE(IsDir(cpu));
  EXPECT_TRUE(::access((memory + "/tasks").c_str(), F_OK) == 0) << "a real cgroup directory";
  if (std::string cpuset = HierarchyFor(bases_, "cpuset"); !cpuset.empty()) {
    absl::StatusOr<std::string> cpus = ReadFile(cpuset + "/" + relative + "/cpuset.cpus");
    ASSERT_TRUE(cpus.ok()) << cpus.status();
    EXPECT_FALSE(absl::StripAsciiWhitespace(*cpus).empty()) << "cpuset.cpus copied";
  }
  ASSERT_TRUE(RemoveCgroups(*created).ok());
  created_.clear();
  EXPECT_FALSE(IsDir(memory));
  EXPECT_FALSE(IsDir(HierarchyFor(bases_, "cpu") + "/" + top));
}

}  // namespace
}  // namespace berth::sandbox
