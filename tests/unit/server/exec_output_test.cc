#include "server/exec_output.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

struct Pipe {
  UniqueFd read, write;
  Pipe() {
    int fds[2];
    if (::pipe(fds) == 0) {
      read.Reset(fds[0]);
      write.Reset(fds[1]);
    }
  }
};

int64_t NanosFromNow(absl::Duration d) { return absl::ToUnixNanos(absl::Now() + d); }

TEST(ReadExecOutputsTest, ReadsBothStreamsToEof) {
  Pipe out, err;
  ASSERT_EQ(::write(out.write.get(), "hello\n", 6), 6);
  ASSERT_EQ(::write(err.write.get(), "oops\n", 5), 5);
  out.write.Reset();
  err.write.Reset();
  std::atomic<int64_t> deadline{0};
  std::string got_out, got_err;
  ReadExecOutputs(out.read.get(), err.read.get(), &got_out, &got_err, &deadline, 1 << 20);
  EXPECT_EQ(got_out, "hello\n");
  EXPECT_EQ(got_err, "oops\n");
}

// The reader may run only after the deadline already passed (a busy host): what the process
// wrote before it ended is still in the pipe and must be returned, though a background child
// keeps the write end open.
TEST(ReadExecOutputsTest, WhatIsBufferedIsReadEvenWhenTheDeadlineHasPassed) {
  Pipe out, err;
  ASSERT_EQ(::write(out.write.get(), "44 50 1000 3000\n", 16), 16);
  ASSERT_EQ(::write(err.write.get(), "warning\n", 8), 8);
  std::atomic<int64_t> deadline{NanosFromNow(-absl::Seconds(1))};
  std::string got_out, got_err;
  absl::Time start = absl::Now();
  ReadExecOutputs(out.read.get(), err.read.get(), &got_out, &got_err, &deadline, 1 << 20);
  EXPECT_EQ(got_out, "44 50 1000 3000\n");
  EXPECT_EQ(got_err, "warning\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "it stops though the pipes stay open";
}

TEST(ReadExecOutputsTest, KeepsAtMostMaxBytesAndDrainsTheRest) {
  Pipe out, err;
  std::string chunk(4096, 'x');
  std::thread writer([&] {
    for (int i = 0; i < 64; ++i) {
      ASSERT_EQ(::write(out.write.get(), chunk.data(), chunk.size()), 4096);
    }
    out.write.Reset();
    err.write.Reset();
  });
  std::atomic<int64_t> deadline{0};
  std::string got_out, got_err;
  ReadExecOutputs(out.read.get(), err.read.get(), &got_out, &got_err, &deadline, 10000);
  writer.join();
  EXPECT_EQ(got_out.size(), 10000u);
  EXPECT_EQ(got_err, "");
}

// A child that writes without end: reading stops some time after the deadline.
TEST(ReadExecOutputsTest, AnEndlessWriterDoesNotHoldItPastTheDeadline) {
  ::signal(SIGPIPE, SIG_IGN);
  Pipe out, err;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::string chunk(65536, 'y');
    while (!stop) {
      if (::write(out.write.get(), chunk.data(), chunk.size()) < 0) break;
    }
  });
  std::atomic<int64_t> deadline{NanosFromNow(absl::Milliseconds(100))};
  std::string got_out, got_err;
  absl::Time start = absl::Now();
  ReadExecOutputs(out.read.get(), err.read.get(), &got_out, &got_err, &deadline, 1 << 20);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  EXPECT_EQ(got_out.size(), 1u << 20);
  stop = true;
  out.read.Reset();  // the writer's next write fails with EPIPE
  writer.join();
}

}  // namespace
}  // namespace berth
