// Real tmpfs mounts: needs root (CAP_SYS_ADMIN), skipped otherwise.
#include "sandbox/shm.h"

#include <linux/magic.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth::sandbox {
namespace {

class ShmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    auto dir = TempDir::Make("shm-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
    path_ = dir_->path() + "/shm";
  }
  void TearDown() override {
    if (dir_) {
      EXPECT_TRUE(UnmountShm(path_).ok());
    }
  }
  std::optional<TempDir> dir_;
  std::string path_;
};

TEST_F(ShmTest, MountsTmpfsWithOptions) {
  ASSERT_TRUE(MountShm(path_, 8 << 20).ok());
  struct statfs fs;
  ASSERT_EQ(::statfs(path_.c_str(), &fs), 0);
  EXPECT_EQ(fs.f_type, TMPFS_MAGIC);
  EXPECT_EQ(static_cast<int64_t>(fs.f_blocks) * fs.f_bsize, 8 << 20);
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(path_.c_str(), &vfs), 0);
  EXPECT_TRUE(vfs.f_flag & ST_NOSUID);
  EXPECT_TRUE(vfs.f_flag & ST_NODEV);
  EXPECT_TRUE(vfs.f_flag & ST_NOEXEC);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST_F(ShmTest, MountTwiceIsRefused) {
  ASSERT_TRUE(MountShm(path_).ok());
  EXPECT_EQ(MountShm(path_).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(ShmTest, UnmountRemovesMountAndDirectory) {
  ASSERT_TRUE(MountShm(path_).ok());
  ASSERT_TRUE(UnmountShm(path_).ok());
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(UnmountShm(path_).ok()) << "nothing there is fine";
}

TEST_F(ShmTest, UnmountsWhileBusy) {
  ASSERT_TRUE(MountShm(path_).ok());
  std::string file = path_ + "/held";
  int fd = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(UnmountShm(path_).ok());
  ::close(fd);
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

TEST_F(ShmTest, PlainDirectoryIsRemoved) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0755), 0);
  EXPECT_TRUE(UnmountShm(path_).ok());
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

TEST_F(ShmTest, RejectsBadSize) {
  EXPECT_EQ(MountShm(path_, 0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MountShm(path_, -1).code(), absl::StatusCode::kInvalidArgument);
  struct stat st;
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

TEST_F(ShmTest, FailedMountLeavesNoDirectory) {
  std::string file = dir_->path() + "/file";
  int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_FALSE(MountShm(file + "/shm").ok());
}

}  // namespace
}  // namespace berth::sandbox
