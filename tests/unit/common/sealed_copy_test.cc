#include "common/sealed_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

std::string ReadFd(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  off_t offset = 0;
  while ((n = ::pread(fd, buffer, sizeof(buffer), offset)) > 0) {
    out.append(buffer, static_cast<size_t>(n));
    offset += n;
  }
  return out;
}

TEST(SealedCopyTest, CopiesTheFileAndSealsItAsRuncExpects) {
  absl::StatusOr<UniqueFd> copy = MakeSealedCopy("/bin/true");
  ASSERT_TRUE(copy.ok()) << copy.status();
  absl::StatusOr<std::string> original = ReadFile("/bin/true");
  ASSERT_TRUE(original.ok());
  EXPECT_EQ(ReadFd(copy->get()), *original);
  // Exactly runc 1.1's set: it compares F_GET_SEALS for equality.
  EXPECT_EQ(::fcntl(copy->get(), F_GET_SEALS), F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
                                                   F_SEAL_WRITE);
  EXPECT_TRUE(IsSealedCopy(copy->get()));
  EXPECT_TRUE(::fcntl(copy->get(), F_GETFD) & FD_CLOEXEC);
  // Nobody can change it, not even root through a writable reopen.
  EXPECT_EQ(::pwrite(copy->get(), "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_NE(::ftruncate(copy->get(), 0), 0);
  std::string reopened = "/proc/self/fd/" + std::to_string(copy->get());
  UniqueFd writable(::open(reopened.c_str(), O_WRONLY | O_CLOEXEC));
  if (writable.valid()) {
    EXPECT_EQ(::write(writable.get(), "x", 1), -1);
    EXPECT_EQ(errno, EPERM);
  }
  struct stat st;
  ASSERT_EQ(::fstat(copy->get(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR);
}

TEST(SealedCopyTest, OnlyRegularFiles) {
  EXPECT_TRUE(absl::IsNotFound(MakeSealedCopy("/no/such/runc").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(MakeSealedCopy("/dev/null").status()));
  EXPECT_FALSE(MakeSealedCopy("/tmp").ok());
}

TEST(SealedCopyTest, OtherFdsAreNotSealedCopies) {
  absl::StatusOr<TempDir> dir = TempDir::Make("sealed-copy-test-");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFileAtomic(dir->path() + "/f", "x").ok());
  UniqueFd file(::open((dir->path() + "/f").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  EXPECT_FALSE(IsSealedCopy(file.get()));
  // A memfd with fewer seals (still writable) is not one either.
  UniqueFd memfd(::memfd_create("partial", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  ASSERT_TRUE(memfd.valid());
  ASSERT_EQ(::fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  EXPECT_FALSE(IsSealedCopy(memfd.get()));
}

}  // namespace
}  // namespace berth
