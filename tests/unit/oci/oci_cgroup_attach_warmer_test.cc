#include "oci/cgroup_attach_warmer.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::oci {
namespace {

using ::testing::HasSubstr;

struct PathCase {
  const char* name;
  const char* proc_self_cgroup;
  CgroupMode mode;
  const char* want;  // nullptr: an error
};

TEST(OwnCgroupProcsPathTest, Table) {
  const char* kHybridHost =
      "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/ea03\n1:cpu:/\n0::/\n";
  const PathCase cases[] = {
      {"hybrid uses cgroup2 under unified", kHybridHost, CgroupMode::kHybrid,
       "/sys/fs/cgroup/unified/cgroup.procs"},
      {"unified", "0::/system.slice/berth.service\n", CgroupMode::kUnified,
       "/sys/fs/cgroup/system.slice/berth.service/cgroup.procs"},
      {"legacy prefers pids", kHybridHost, CgroupMode::kLegacy, "/sys/fs/cgroup/pids/cgroup.procs"},
      {"legacy without pids takes memory", "4:memory:/a/b\n2:cpu,cpuacct:/c\n",
       CgroupMode::kLegacy, "/sys/fs/cgroup/memory/a/b/cgroup.procs"},
      {"legacy co-mounted controllers", "2:cpu,cpuacct:/c\n", CgroupMode::kLegacy,
       "/sys/fs/cgroup/cpu,cpuacct/c/cgroup.procs"},
      {"legacy named hierarchy", "1:name=systemd:/user.slice\n", CgroupMode::kLegacy,
       "/sys/fs/cgroup/systemd/user.slice/cgroup.procs"},
      {"hybrid without a cgroup2 line falls back to v1", "8:pids:/p\n", CgroupMode::kHybrid,
       "/sys/fs/cgroup/pids/p/cgroup.procs"},
      {"a path holding ':'", "0::/a:b\n", CgroupMode::kUnified,
       "/sys/fs/cgroup/a:b/cgroup.procs"},
      {"unified without a cgroup2 line", "8:pids:/\n", CgroupMode::kUnified, nullptr},
      {"a '..' component is refused", "0::/a/../b\n", CgroupMode::kUnified, nullptr},
      {"a relative path is refused", "0::a\n", CgroupMode::kUnified, nullptr},
      {"nothing at all", "", CgroupMode::kHybrid, nullptr},
  };
  for (const PathCase& c : cases) {
    absl::StatusOr<std::string> path =
        OwnCgroupProcsPath(c.proc_self_cgroup, c.mode, "/sys/fs/cgroup");
    if (c.want == nullptr) {
      EXPECT_FALSE(path.ok()) << c.name << ": " << *path;
      if (!path.ok()) {
        EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
      }
    } else {
      ASSERT_TRUE(path.ok()) << c.name << ": " << path.status();
      EXPECT_EQ(*path, c.want) << c.name;
    }
  }
}

// Polls `done` for up to 10 s.
template <typename Fn>
bool Eventually(Fn done) {
  for (absl::Time deadline = absl::Now() + absl::Seconds(10); absl::Now() < deadline;) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return done();
}

class CgroupAttachWarmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("oci-warmer-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    // A regular file stands in for cgroup.procs: the writes land in it.
    procs_ = dir_->path() + "/cgroup.procs";
    ASSERT_TRUE(WriteFileAtomic(procs_, "").ok());
  }
  std::unique_ptr<TempDir> dir_;
  std::string procs_;
};

TEST_F(CgroupAttachWarmerTest, WritesOwnPidOnlyWhileHeld) {
  CgroupAttachWarmer warmer(procs_, absl::Milliseconds(1));
  ASSERT_TRUE(warmer.enabled());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(warmer.writes(), 0) << "nobody held it";
  {
    CgroupAttachWarmer::Lease lease = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
    ASSERT_TRUE(Eventually([&] { return warmer.writes() >= 3; }));
    absl::StatusOr<std::string> written = ReadFile(procs_);
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ(*written, absl::StrCat(::getpid()));
  }
  // Released: at most the write already under way lands.
  absl::SleepFor(absl::Milliseconds(10));
  int64_t after_release = warmer.writes();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(warmer.writes(), after_release);
}

TEST_F(CgroupAttachWarmerTest, StopsAtTheLimitEvenWhileHeld) {
  CgroupAttachWarmer warmer(procs_, absl::Milliseconds(1));
  CgroupAttachWarmer::Lease lease = CgroupAttachWarmer::Hold(&warmer, absl::Milliseconds(30));
  ASSERT_TRUE(Eventually([&] { return warmer.writes() >= 1; }));
  absl::SleepFor(absl::Milliseconds(100));
  int64_t after_limit = warmer.writes();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(warmer.writes(), after_limit);
  // A new holder wakes it again.
  CgroupAttachWarmer::Lease again = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
  EXPECT_TRUE(Eventually([&] { return warmer.writes() > after_limit; }));
}

TEST_F(CgroupAttachWarmerTest, LeasesMoveAndOverlap) {
  CgroupAttachWarmer warmer(procs_, absl::Milliseconds(1));
  CgroupAttachWarmer::Lease first = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
  CgroupAttachWarmer::Lease second = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
  CgroupAttachWarmer::Lease moved = std::move(first);
  first = CgroupAttachWarmer::Lease();  // releases nothing: it was moved from
  second = CgroupAttachWarmer::Lease();  // one holder left
  int64_t before = warmer.writes();
  EXPECT_TRUE(Eventually([&] { return warmer.writes() > before + 2; }));
  moved = CgroupAttachWarmer::Lease();
  absl::SleepFor(absl::Milliseconds(10));
  int64_t after = warmer.writes();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(warmer.writes(), after);
}

TEST_F(CgroupAttachWarmerTest, OffWhenThePathCannotBeOpened) {
  CgroupAttachWarmer warmer(dir_->path() + "/missing/cgroup.procs");
  EXPECT_FALSE(warmer.enabled());
  CgroupAttachWarmer::Lease lease = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(1));
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(warmer.writes(), 0);
  CgroupAttachWarmer::Lease none = CgroupAttachWarmer::Hold(nullptr, absl::Seconds(1));
}

TEST_F(CgroupAttachWarmerTest, TurnsItselfOffWhenAWriteFails) {
  // /dev/full opens for writing and fails every write with ENOSPC.
  CgroupAttachWarmer warmer("/dev/full", absl::Milliseconds(1));
  ASSERT_TRUE(warmer.enabled());
  CgroupAttachWarmer::Lease lease = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
  EXPECT_TRUE(Eventually([&] { return !warmer.enabled(); }));
  EXPECT_EQ(warmer.writes(), 0);
  CgroupAttachWarmer::Lease later = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
}

TEST(CgroupAttachWarmerHostTest, OwnCgroupOfThisProcessIsWritable) {
  // The real thing, as berthd does it: a move of this process to the cgroup it is in.
  absl::StatusOr<CgroupMode> mode = DetectCgroupMode();
  ASSERT_TRUE(mode.ok()) << mode.status();
  absl::StatusOr<std::string> self = ReadFile("/proc/self/cgroup");
  ASSERT_TRUE(self.ok()) << self.status();
  absl::StatusOr<std::string> procs = OwnCgroupProcsPath(*self, *mode, "/sys/fs/cgroup");
  ASSERT_TRUE(procs.ok()) << procs.status();
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to write cgroup.procs";
  CgroupAttachWarmer warmer(*procs, absl::Milliseconds(1));
  ASSERT_TRUE(warmer.enabled());
  {
    CgroupAttachWarmer::Lease lease = CgroupAttachWarmer::Hold(&warmer, absl::Seconds(60));
    ASSERT_TRUE(Eventually([&] { return warmer.writes() >= 2; }));
  }
  EXPECT_TRUE(warmer.enabled());
  absl::StatusOr<std::string> after = ReadFile("/proc/self/cgroup");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *self) << "the process did not change cgroup";
}

}  // namespace
}  // namespace berth::oci
