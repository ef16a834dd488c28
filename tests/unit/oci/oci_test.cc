#include <linux/magic.h>
#include <sys/statfs.h>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/cgroup_mode.h"
#include "oci/runtime_binary.h"

namespace berth::oci {
namespace {

TEST(RuntimeBinaryTest, FindsInPathOrConfiguredPath) {
  absl::StatusOr<std::string> sh = ResolveRuntimeBinary("sh", "");
  ASSERT_TRUE(sh.ok()) << sh.status();
  EXPECT_EQ((*sh)[0], '/');
  EXPECT_EQ(*ResolveRuntimeBinary("whatever", "/bin/sh"), "/bin/sh");
}

TEST(RuntimeBinaryTest, ErrorsNameTheHandler) {
  absl::StatusOr<std::string> missing = ResolveRuntimeBinary("no-such-runtime-xyz", "");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("no-such-runtime"));
  auto dir = TempDir::Make("oci-test-");
  ASSERT_TRUE(dir.ok());
  std::string file = dir->path() + "/not-exec";
  ASSERT_TRUE(WriteFileAtomic(file, "", 0644).ok());
  EXPECT_EQ(ResolveRuntimeBinary("x", file).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ResolveRuntimeBinary("x", dir->path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RuntimeBinaryTest, VersionIsFirstLine) {
  auto dir = TempDir::Make("oci-test-");
  ASSERT_TRUE(dir.ok());
  std::string fake = dir->path() + "/fake-runtime";
  ASSERT_TRUE(
      WriteFileAtomic(fake, "#!/bin/sh\necho 'fake version 9'\necho commit: x\n", 0755).ok());
  EXPECT_EQ(*RuntimeVersion(fake), "fake version 9");
}

TEST(CgroupModeTest, RejectsNonCgroupDirectoryAndNamesModes) {
  auto dir = TempDir::Make("oci-test-", "/var/tmp");
  ASSERT_TRUE(dir.ok());
  struct statfs fs;
  ASSERT_EQ(statfs(dir->path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "/var/tmp is a tmpfs on this host";
  absl::StatusOr<CgroupMode> mode = DetectCgroupMode(dir->path());
  EXPECT_EQ(mode.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DetectCgroupMode(dir->path() + "/missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_STREQ(CgroupModeName(CgroupMode::kUnified), "v2");
}

TEST(CgroupModeTest, DetectsThisHost) {
  absl::StatusOr<CgroupMode> mode = DetectCgroupMode();
  ASSERT_TRUE(mode.ok()) << mode.status();
}

}  // namespace
}  // namespace berth::oci
