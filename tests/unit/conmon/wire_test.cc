#include "conmon/wire.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"

namespace berth::mon {
namespace {

TEST(WireTest, RoundTripWithFds) {
  UniqueFd a, b;
  ASSERT_TRUE(SeqpacketPair(&a, &b).ok());
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  std::string payload = "hello\0world";
  ASSERT_TRUE(SendRecord(a.get(), payload, {write_end.get(), read_end.get()}).ok());
  absl::StatusOr<Record> record = ReceiveRecord(b.get());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->payload, payload);
  ASSERT_EQ(record->fds.size(), 2u);
  // The received write end feeds the original pipe.
  ASSERT_EQ(::write(record->fds[0].get(), "x", 1), 1);
  char byte = 0;
  ASSERT_EQ(::read(read_end.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
  EXPECT_TRUE(::fcntl(record->fds[1].get(), F_GETFD) & FD_CLOEXEC);
}

TEST(WireTest, EmptyAndLargePayloads) {
  UniqueFd a, b;
  ASSERT_TRUE(SeqpacketPair(&a, &b).ok());
  ASSERT_TRUE(SendRecord(a.get(), "").ok());
  absl::StatusOr<Record> empty = ReceiveRecord(b.get());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->payload.empty());
  std::string big(100 << 10, 'z');
  ASSERT_TRUE(SendRecord(a.get(), big).ok());
  absl::StatusOr<Record> large = ReceiveRecord(b.get());
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(large->payload, big);
  EXPECT_TRUE(absl::IsInvalidArgument(SendRecord(a.get(), std::string(kMaxRecordBytes, 'x'))));
}

TEST(WireTest, BadLengthPrefixIsDataLoss) {
  UniqueFd a, b;
  ASSERT_TRUE(SeqpacketPair(&a, &b).ok());
  ASSERT_EQ(::send(a.get(), "\x09\x00\x00\x00" "abc", 7, 0), 7);  // says 9, carries 3
  EXPECT_TRUE(absl::IsDataLoss(ReceiveRecord(b.get()).status()));
  ASSERT_EQ(::send(a.get(), "ab", 2, 0), 2);  // shorter than the prefix
  EXPECT_TRUE(absl::IsDataLoss(ReceiveRecord(b.get()).status()));
  // The connection still works for the next good record.
  ASSERT_TRUE(SendRecord(a.get(), "ok").ok());
  absl::StatusOr<Record> record = ReceiveRecord(b.get());
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->payload, "ok");
}

TEST(WireTest, EofIsOutOfRangeAndEmptyNonBlockingIsUnavailable) {
  UniqueFd a, b;
  ASSERT_TRUE(SeqpacketPair(&a, &b).ok());
  ASSERT_EQ(::fcntl(b.get(), F_SETFL, O_NONBLOCK), 0);
  EXPECT_TRUE(absl::IsUnavailable(ReceiveRecord(b.get()).status()));
  a.Reset();
  EXPECT_TRUE(absl::IsOutOfRange(ReceiveRecord(b.get()).status()));
}

}  // namespace
}  // namespace berth::mon
