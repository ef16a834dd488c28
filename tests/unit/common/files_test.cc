#include "common/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("files-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::optional<TempDir> dir_;
};

TEST_F(FilesTest, AtomicWriteCreatesWithModeAndReplaces) {
  ASSERT_TRUE(WriteFileAtomic(Path("a"), "first", 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(Path("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(WriteFileAtomic(Path("a"), "second").ok());
  EXPECT_EQ(*ReadFile(Path("a")), "second");
}

TEST_F(FilesTest, AtomicWriteLeavesNoTemporaryFiles) {
  ASSERT_TRUE(WriteFileAtomic(Path("a"), std::string(100000, 'x')).ok());
  ASSERT_TRUE(RemoveAll(Path("a")).ok());
  EXPECT_EQ(::rmdir(dir_->path().c_str()), 0) << "directory not empty after one write";
  ASSERT_EQ(::mkdir(dir_->path().c_str(), 0700), 0);
}

TEST_F(FilesTest, AtomicWriteIntoMissingDirectoryFailsCleanly) {
  absl::Status status = WriteFileAtomic(Path("missing/a"), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find("missing/a"), absl::string_view::npos);
}

TEST_F(FilesTest, ReadFileRefusesLargeAndNonRegularFiles) {
  ASSERT_TRUE(WriteFileAtomic(Path("big"), std::string(100, 'x')).ok());
  EXPECT_EQ(ReadFile(Path("big"), 10).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadFile(dir_->path()).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFile(Path("nope")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FilesTest, MakeDirsCreatesParentsAndRejectsFiles) {
  ASSERT_TRUE(MakeDirs(Path("x/y/z")).ok());
  EXPECT_TRUE(MakeDirs(Path("x/y/z")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("file"), "").ok());
  EXPECT_EQ(MakeDirs(Path("file")).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(MakeDirs(Path("file/under")).ok());
  // Deepest first, then up: each missing level gets the mode; a trailing slash is fine.
  ASSERT_TRUE(MakeDirs(Path("m/n/o/"), 0700).ok());
  struct stat st;
  for (const char* dir : {"m", "m/n", "m/n/o"}) {
    ASSERT_EQ(::stat(Path(dir).c_str(), &st), 0) << dir;
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700) << dir;
  }
  ASSERT_TRUE(MakeDirs(Path("m/n/p")).ok());
  EXPECT_EQ(::access(Path("m/n/p").c_str(), F_OK), 0);
}

TEST_F(FilesTest, MakeDirsTakesRelativePaths) {
  char* saved = ::getcwd(nullptr, 0);
  ASSERT_NE(saved, nullptr);
  ASSERT_EQ(::chdir(dir_->path().c_str()), 0);
  absl::Status made = MakeDirs("rel/a/b");
  absl::Status again = MakeDirs("rel/a/b");
  ASSERT_EQ(::chdir(saved), 0);
  std::free(saved);
  ASSERT_TRUE(made.ok()) << made;
  EXPECT_TRUE(again.ok()) << again;
  EXPECT_EQ(::access(Path("rel/a/b").c_str(), F_OK), 0);
}

TEST_F(FilesTest, RemoveAllDoesNotFollowSymlinks) {
  ASSERT_TRUE(MakeDirs(Path("outside")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("outside/keep"), "keep").ok());
  ASSERT_TRUE(MakeDirs(Path("tree/sub")).ok());
  ASSERT_TRUE(WriteFileAtomic(Path("tree/sub/f"), "f").ok());
  ASSERT_EQ(::symlink(Path("outside").c_str(), Path("tree/link").c_str()), 0);
  ASSERT_TRUE(RemoveAll(Path("tree")).ok());
  EXPECT_NE(::access(Path("tree").c_str(), F_OK), 0);
  EXPECT_EQ(*ReadFile(Path("outside/keep")), "keep");
  EXPECT_TRUE(RemoveAll(Path("tree")).ok()) << "a missing path is fine";
}

}  // namespace
}  // namespace berth
