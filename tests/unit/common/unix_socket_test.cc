#include "common/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/files.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

UniqueFd Listen(const std::string& path, bool listen) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  if (listen) {
    EXPECT_EQ(::listen(fd.get(), 1), 0);
  }
  return fd;
}

class UnixSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("socket-test-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    path_ = dir_->path() + "/sub/test.sock";
  }
  std::optional<TempDir> dir_;
  std::string path_;
};

TEST_F(UnixSocketTest, MissingPathIsReadyAndDirectoryIsCreated) {
  ASSERT_TRUE(PrepareSocketPath(path_).ok());
  EXPECT_EQ(::access((dir_->path() + "/sub").c_str(), F_OK), 0);
}

TEST_F(UnixSocketTest, StaleSocketIsReplaced) {
  ASSERT_TRUE(MakeDirs(dir_->path() + "/sub").ok());
  { UniqueFd stale = Listen(path_, /*listen=*/true); }  // closed: nobody answers any more
  ASSERT_EQ(::access(path_.c_str(), F_OK), 0);
  EXPECT_FALSE(SocketIsLive(path_));
  ASSERT_TRUE(PrepareSocketPath(path_).ok());
  EXPECT_NE(::access(path_.c_str(), F_OK), 0) << "stale socket not removed";
}

TEST_F(UnixSocketTest, LiveSocketIsRefused) {
  ASSERT_TRUE(MakeDirs(dir_->path() + "/sub").ok());
  UniqueFd live = Listen(path_, /*listen=*/true);
  EXPECT_TRUE(SocketIsLive(path_));
  absl::Status status = PrepareSocketPath(path_);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("another server"), absl::string_view::npos) << status;
  EXPECT_EQ(::access(path_.c_str(), F_OK), 0) << "live socket must stay";
}

TEST_F(UnixSocketTest, NonSocketIsNotReplaced) {
  ASSERT_TRUE(MakeDirs(dir_->path() + "/sub").ok());
  ASSERT_TRUE(WriteFileAtomic(path_, "data").ok());
  EXPECT_EQ(PrepareSocketPath(path_).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadFile(path_), "data");
}

TEST_F(UnixSocketTest, BadPathsAreInvalid) {
  EXPECT_EQ(PrepareSocketPath("relative.sock").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrepareSocketPath("/" + std::string(200, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth
