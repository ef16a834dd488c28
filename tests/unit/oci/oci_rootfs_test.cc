// Real overlay mounts in a temp dir (needs root); every mount is undone by the test.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/mountinfo.h"
#include "oci/rootfs.h"

namespace berth::oci {
namespace {

bool IsMountPoint(const std::string& path) {
  struct stat a, b;
  if (::stat(path.c_str(), &a) != 0 || ::stat((path + "/..").c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev;
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount overlays";
    auto dir = TempDir::Make(absl::StrCat("oci-rootfs-", ::getpid(), "-"), "/var/tmp");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<TempDir>(std::move(*dir));
    root_ = dir_->path();
    target_ = root_ + "/merged";
    for (const char* d : {"/merged", "/upper", "/work"}) ASSERT_TRUE(MakeDirs(root_ + d).ok());
  }
  void TearDown() override {
    if (dir_ != nullptr) {
      EXPECT_TRUE(UnmountRootfs(target_).ok());
      EXPECT_FALSE(IsMountPoint(target_));
    }
  }
  void Write(const std::string& path, const std::string& data) {
    ASSERT_TRUE(MakeDirs(path.substr(0, path.find_last_of('/'))).ok());
    ASSERT_TRUE(WriteFileAtomic(path, data).ok());
  }
  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> data = ReadFile(path);
    return data.ok() ? *data : "<" + data.status().ToString() + ">";
  }
  // Three layers: l0 is the bottom. Returns them top-most first.
  std::vector<std::string> ThreeLayers() {
    Write(root_ + "/l0/etc/os", "base");
    Write(root_ + "/l0/bin/a", "a0");
    Write(root_ + "/l1/bin/a", "a1");
    Write(root_ + "/l1/bin/b", "b1");
    Write(root_ + "/l2/bin/b", "b2");
    Write(root_ + "/l2/usr/c", "c2");
    return {root_ + "/l2", root_ + "/l1", root_ + "/l0"};
  }

  std::unique_ptr<TempDir> dir_;
  std::string root_, target_;
};

TEST_F(RootfsTest, ThreeLayersMergedWritable) {
  absl::Status status =
      MountOverlay(ThreeLayers(), root_ + "/upper", root_ + "/work", target_, false);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(IsMountPoint(target_));
  EXPECT_EQ(Read(target_ + "/etc/os"), "base");
  EXPECT_EQ(Read(target_ + "/bin/a"), "a1");
  EXPECT_EQ(Read(target_ + "/bin/b"), "b2");
  EXPECT_EQ(Read(target_ + "/usr/c"), "c2");
  ASSERT_TRUE(WriteFileAtomic(target_ + "/new", "hello").ok());
  EXPECT_EQ(Read(root_ + "/upper/new"), "hello");
  absl::StatusOr<DiskUsage> usage = MeasureDir(root_ + "/upper");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->inodes, 2u);  // upper/ and new
  EXPECT_GT(usage->bytes, 0u);
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(target_.c_str(), &vfs), 0);
  EXPECT_EQ(vfs.f_flag & ST_RDONLY, 0u);
  // Volatile (this host's kernel has it): no syncfs of the upper filesystem at the unmount.
  absl::StatusOr<MountInfo> mount = MountContaining(target_);
  ASSERT_TRUE(mount.ok()) << mount.status();
  EXPECT_EQ(mount->mount_point, target_);
  EXPECT_THAT(mount->super_options, ::testing::HasSubstr("volatile"));
  ASSERT_TRUE(UnmountRootfs(target_).ok());
  EXPECT_FALSE(IsMountPoint(target_));
  EXPECT_TRUE(UnmountRootfs(target_).ok());  // not mounted: fine
  EXPECT_TRUE(UnmountRootfs(root_ + "/missing").ok());
}

TEST_F(RootfsTest, ReadonlyFlag) {
  ASSERT_TRUE(MountOverlay(ThreeLayers(), root_ + "/upper", root_ + "/work", target_, true).ok());
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(target_.c_str(), &vfs), 0);
  EXPECT_NE(vfs.f_flag & ST_RDONLY, 0u);
  EXPECT_EQ(Read(target_ + "/bin/b"), "b2");
  EXPECT_FALSE(WriteFileAtomic(target_ + "/new", "x").ok());
}

TEST_F(RootfsTest, ZeroLayersUsesAnEmptyLower) {
  ASSERT_TRUE(MountOverlay({}, root_ + "/upper", root_ + "/work", target_, false).ok());
  EXPECT_TRUE(IsMountPoint(target_));
  struct stat st;
  EXPECT_EQ(::stat((root_ + "/empty-lower").c_str(), &st), 0);
  ASSERT_TRUE(WriteFileAtomic(target_ + "/x", "1").ok());
  EXPECT_EQ(Read(root_ + "/upper/x"), "1");
}

TEST_F(RootfsTest, BusyMountIsDetached) {
  ASSERT_TRUE(MountOverlay(ThreeLayers(), root_ + "/upper", root_ + "/work", target_, false).ok());
  int fd = ::open((target_ + "/bin").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(UnmountRootfs(target_).ok());  // the open fd keeps it busy
  EXPECT_FALSE(IsMountPoint(target_));
  ::close(fd);
  EXPECT_FALSE(IsMountPoint(target_));
}

// 200 layers whose joined lowerdir string is far over a page.
TEST_F(RootfsTest, TwoHundredLayersBeyondOnePage) {
  std::vector<std::string> lowers;
  std::string long_part(40, 'x');
  for (int i = 199; i >= 0; --i) {
    std::string dir = absl::StrCat(root_, "/layers/", long_part, "/layer-", i);
    Write(absl::StrCat(dir, "/files/f", i), absl::StrCat(i));
    Write(dir + "/top", absl::StrCat(i));
    lowers.push_back(dir);  // top-most (199) first
  }
  size_t joined = 0;
  for (const auto& l : lowers) joined += l.size() + 1;
  ASSERT_GT(joined, 4096u);
  absl::Status status = MountOverlay(lowers, root_ + "/upper", root_ + "/work", target_, false);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Read(target_ + "/top"), "199");
  EXPECT_EQ(Read(target_ + "/files/f0"), "0");
  EXPECT_EQ(Read(target_ + "/files/f123"), "123");
  // The mount(2) fallback cannot express it and says so.
  ASSERT_TRUE(UnmountRootfs(target_).ok());
  status = internal::MountOverlayLegacy(lowers, root_ + "/upper", root_ + "/work", target_, false);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("200 layers"));
  EXPECT_FALSE(IsMountPoint(target_));
}

TEST_F(RootfsTest, LegacyFallbackWritableIsVolatile) {
  absl::Status status = internal::MountOverlayLegacy(ThreeLayers(), root_ + "/upper",
                                                     root_ + "/work", target_, false);
  ASSERT_TRUE(status.ok()) << status;
  absl::StatusOr<MountInfo> mount = MountContaining(target_);
  ASSERT_TRUE(mount.ok()) << mount.status();
  EXPECT_THAT(mount->super_options, ::testing::HasSubstr("volatile"));
  ASSERT_TRUE(WriteFileAtomic(target_ + "/new", "hello").ok());
  ASSERT_TRUE(UnmountRootfs(target_).ok());
  EXPECT_EQ(Read(root_ + "/upper/new"), "hello");
}

TEST_F(RootfsTest, LegacyFallbackMountsThreeLayers) {
  absl::Status status =
      internal::MountOverlayLegacy(ThreeLayers(), root_ + "/upper", root_ + "/work", target_, true);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Read(target_ + "/bin/a"), "a1");
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(target_.c_str(), &vfs), 0);
  EXPECT_NE(vfs.f_flag & ST_RDONLY, 0u);
}

TEST_F(RootfsTest, MissingLowerDirErrorNamesIt) {
  absl::Status status =
      MountOverlay({root_ + "/no-such-layer"}, root_ + "/upper", root_ + "/work", target_, false);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("no-such-layer"));
  EXPECT_FALSE(IsMountPoint(target_));
}

TEST(MeasureDirTest, CountsWithoutFollowingLinksOrCountingHardLinksTwice) {
  auto dir = TempDir::Make("oci-du-");
  ASSERT_TRUE(dir.ok());
  std::string d = dir->path();
  ASSERT_TRUE(MakeDirs(d + "/a/b").ok());
  ASSERT_TRUE(WriteFileAtomic(d + "/a/b/f", std::string(10000, 'x')).ok());
  ASSERT_EQ(::link((d + "/a/b/f").c_str(), (d + "/a/hard").c_str()), 0);
  ASSERT_EQ(::symlink("/usr", (d + "/a/link").c_str()), 0);
  absl::StatusOr<DiskUsage> usage = MeasureDir(d);
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->inodes, 5u);  // d, a, b, f (once), link
  EXPECT_GE(usage->bytes, 10000u);
  EXPECT_LT(usage->bytes, 1u << 20);  // /usr was not followed
  EXPECT_FALSE(MeasureDir(d + "/missing").ok());
}

}  // namespace
}  // namespace berth::oci
