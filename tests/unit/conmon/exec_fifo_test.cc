#include "conmon/exec_fifo.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth::mon {
namespace {

class ExecFifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("exec-fifo-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
    runtime_ = {.path = "/usr/sbin/runc", .root = dir_->path()};
    ASSERT_EQ(::mkdir((dir_->path() + "/c1").c_str(), 0700), 0);
  }

  // runc's layout for c1: state.json beside the fifo.
  void MakeRuncLayout() {
    ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/c1/state.json", "{}").ok());
    ASSERT_EQ(::mkfifo(ExecFifoPath(runtime_, "c1").c_str(), 0600), 0);
  }

  std::optional<TempDir> dir_;
  RuntimeRef runtime_;
};

TEST_F(ExecFifoTest, PathIsUnderTheRootOrRuncsDefault) {
  EXPECT_EQ(ExecFifoPath(runtime_, "c1"), dir_->path() + "/c1/exec.fifo");
  EXPECT_EQ(ExecFifoPath({.path = "/usr/sbin/runc"}, "c1"), "/run/runc/c1/exec.fifo");
}

TEST_F(ExecFifoTest, NotRuncsLayoutIsNotFound) {
  // A fifo without state.json (another runtime's layout): run `<runtime> start` instead.
  ASSERT_EQ(::mkfifo(ExecFifoPath(runtime_, "c1").c_str(), 0600), 0);
  EXPECT_TRUE(absl::IsNotFound(OpenExecFifo(runtime_, "c1").status()));
  // state.json but no fifo: started already.
  ASSERT_EQ(::unlink(ExecFifoPath(runtime_, "c1").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomic(dir_->path() + "/c1/state.json", "{}").ok());
  EXPECT_TRUE(absl::IsNotFound(OpenExecFifo(runtime_, "c1").status()));
  // A regular file where the fifo should be.
  ASSERT_TRUE(WriteFileAtomic(ExecFifoPath(runtime_, "c1"), "0").ok());
  EXPECT_TRUE(absl::IsNotFound(OpenExecFifo(runtime_, "c1").status()));
  // A link is not followed.
  ASSERT_EQ(::unlink(ExecFifoPath(runtime_, "c1").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir_->path() + "/elsewhere").c_str(), 0600), 0);
  ASSERT_EQ(::symlink((dir_->path() + "/elsewhere").c_str(), ExecFifoPath(runtime_, "c1").c_str()),
            0);
  EXPECT_TRUE(absl::IsNotFound(OpenExecFifo(runtime_, "c1").status()));
}

TEST_F(ExecFifoTest, BadIdsAreRefused) {
  for (const char* id : {"", ".", "..", "a/b", "../c1"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(OpenExecFifo(runtime_, id).status())) << id;
  }
}

TEST_F(ExecFifoTest, OpensWithoutBlockingAndSeesInitsByte) {
  MakeRuncLayout();
  absl::StatusOr<UniqueFd> fifo = OpenExecFifo(runtime_, "c1");
  ASSERT_TRUE(fifo.ok()) << fifo.status();
  // init's side: its open for writing returns now that a reader is there.
  UniqueFd writer(::open(ExecFifoPath(runtime_, "c1").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer.valid());
  absl::StatusOr<ExecFifoState> state = ReadExecFifo(fifo->get());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, ExecFifoState::kWaiting);  // a writer, nothing written
  ASSERT_EQ(::write(writer.get(), "0", 1), 1);
  pollfd poller{.fd = fifo->get(), .events = POLLIN};
  ASSERT_EQ(::poll(&poller, 1, 5000), 1);
  state = ReadExecFifo(fifo->get());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, ExecFifoState::kStarted);
}

TEST_F(ExecFifoTest, AWriterGoneWithoutItsByteReadsClosed) {
  MakeRuncLayout();
  absl::StatusOr<UniqueFd> fifo = OpenExecFifo(runtime_, "c1");
  ASSERT_TRUE(fifo.ok()) << fifo.status();
  UniqueFd writer(::open(ExecFifoPath(runtime_, "c1").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  ASSERT_TRUE(writer.valid());
  writer.Reset();
  pollfd poller{.fd = fifo->get(), .events = POLLIN};
  ASSERT_EQ(::poll(&poller, 1, 5000), 1);
  EXPECT_TRUE(poller.revents & POLLHUP);
  absl::StatusOr<ExecFifoState> state = ReadExecFifo(fifo->get());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, ExecFifoState::kClosed);
}

}  // namespace
}  // namespace berth::mon
