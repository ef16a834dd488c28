#include "image/safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/status/status.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth::image {
namespace {

TEST(CleanEntryPathTest, NormalizesNames) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"a", "a"},       {"./a", "a"},       {"./a/b/", "a/b"},  {"a//b", "a/b"},
      {"a/./b", "a/b"}, {"./", ""},         {".", ""},          {"././x", "x"},
      {"a..b", "a..b"}, {"..a/b", "..a/b"}, {".wh.x", ".wh.x"}, {"a/...", "a/..."},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> clean = CleanEntryPath(c.in);
    ASSERT_TRUE(clean.ok()) << c.in << ": " << clean.status();
    EXPECT_EQ(*clean, c.out) << c.in;
  }
}

TEST(CleanEntryPathTest, RefusesHostileNames) {
  for (const char* name :
       {"", "/etc/passwd", "/", "..", "../x", "a/../../x", "a/..", "./..", "a/b/../c", "//x"}) {
    absl::StatusOr<std::string> clean = CleanEntryPath(name);
    EXPECT_FALSE(clean.ok()) << name;
    EXPECT_EQ(clean.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(CleanEntryPath("../etc/passwd").status().message(), "path escapes the layer root");
  EXPECT_EQ(CleanEntryPath("/etc/passwd").status().message(), "absolute path");
}

TEST(SplitParentTest, Splits) {
  EXPECT_EQ(SplitParent("a/b/c").first, "a/b");
  EXPECT_EQ(SplitParent("a/b/c").second, "c");
  EXPECT_EQ(SplitParent("c").first, "");
  EXPECT_EQ(SplitParent("c").second, "c");
  EXPECT_EQ(SplitParent("").second, "");
}

class SafePathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("berth-safe-path-", "/var/tmp");
    ASSERT_TRUE(dir.ok()) << dir.status();
    base_ = std::make_unique<TempDir>(std::move(*dir));
    root_ = base_->path() + "/root";
    outside_ = base_->path() + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
    root_fd_.Reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }

  bool Exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  std::unique_ptr<TempDir> base_;
  std::string root_;
  std::string outside_;
  UniqueFd root_fd_;
};

TEST_F(SafePathTest, OpensInsideTheRoot) {
  ASSERT_TRUE(MakeDirs(root_ + "/a/b").ok());
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd_.get(), "a/b", O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_TRUE(OpenInRoot(root_fd_.get(), "", O_RDONLY | O_DIRECTORY).ok());
  EXPECT_TRUE(absl::IsNotFound(OpenInRoot(root_fd_.get(), "a/c", O_RDONLY).status()));
}

TEST_F(SafePathTest, RefusesSymlinksUnlessAskedAndThenStaysInside) {
  ASSERT_EQ(::symlink("/outside", (root_ + "/abs").c_str()), 0);
  ASSERT_EQ(::symlink("../outside", (root_ + "/rel").c_str()), 0);
  ASSERT_EQ(::mkdir((root_ + "/outside").c_str(), 0755), 0);  // where links land in the root
  for (const char* path : {"abs", "rel", "abs/x"}) {
    absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd_.get(), path, O_RDONLY | O_DIRECTORY);
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument) << path;
  }
  // Followed, an absolute link and a ".." link both resolve inside the root.
  for (const char* path : {"abs", "rel"}) {
    absl::StatusOr<UniqueFd> fd =
        OpenInRoot(root_fd_.get(), path, O_RDONLY | O_DIRECTORY, /*follow_symlinks=*/true);
    ASSERT_TRUE(fd.ok()) << path << ": " << fd.status();
    struct stat inside, got;
    ASSERT_EQ(::stat((root_ + "/outside").c_str(), &inside), 0);
    ASSERT_EQ(::fstat(fd->get(), &got), 0);
    EXPECT_EQ(inside.st_ino, got.st_ino) << path;
  }
}

TEST_F(SafePathTest, CreatesMissingDirectories) {
  absl::StatusOr<UniqueFd> fd = OpenOrCreateDirInRoot(root_fd_.get(), "x/y/z");
  ASSERT_TRUE(fd.ok()) << fd.status();
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/x/y/z").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_TRUE(OpenOrCreateDirInRoot(root_fd_.get(), "x/y/z").ok());
}

TEST_F(SafePathTest, NeverCreatesThroughSymlinksOrFiles) {
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/link").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(root_ + "/file", "x").ok());
  for (const char* path : {"link/sub", "link", "file/sub", "file"}) {
    absl::StatusOr<UniqueFd> fd = OpenOrCreateDirInRoot(root_fd_.get(), path);
    EXPECT_EQ(fd.status().code(), absl::StatusCode::kInvalidArgument) << path << fd.status();
  }
  EXPECT_FALSE(Exists(outside_ + "/sub"));
}

TEST_F(SafePathTest, RemoveAtDoesNotFollowLinks) {
  ASSERT_TRUE(WriteFileAtomic(outside_ + "/keep", "x").ok());
  ASSERT_TRUE(MakeDirs(root_ + "/d/e").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ + "/d/e/f", "x").ok());
  ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/d/link").c_str()), 0);
  ASSERT_TRUE(RemoveAt(root_fd_.get(), "d").ok());
  EXPECT_FALSE(Exists(root_ + "/d"));
  EXPECT_TRUE(Exists(outside_ + "/keep"));
  EXPECT_TRUE(RemoveAt(root_fd_.get(), "missing").ok());
}

TEST_F(SafePathTest, StatAt) {
  EXPECT_TRUE(absl::IsNotFound(StatAt(root_fd_.get(), "nope").status()));
  ASSERT_EQ(::symlink("/nowhere", (root_ + "/l").c_str()), 0);
  absl::StatusOr<struct stat> st = StatAt(root_fd_.get(), "l");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(S_ISLNK(st->st_mode));
}

}  // namespace
}  // namespace berth::image
