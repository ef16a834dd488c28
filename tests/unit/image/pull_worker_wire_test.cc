#include "image/pull_worker_wire.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::image {
namespace {

using ::testing::HasSubstr;

std::pair<UniqueFd, UniqueFd> Pair(int type = SOCK_STREAM) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void WriteRaw(int fd, const std::string& bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

std::string LittleEndian(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

TEST(PullWorkerWireTest, FrameRoundTrip) {
  auto [a, b] = Pair();
  pullworker::v1::Response response;
  response.mutable_manifest()->set_bytes(std::string(100000, 'm'));
  response.mutable_manifest()->set_digest("sha256:abc");
  ASSERT_TRUE(WriteFrame(a.get(), response).ok());
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 1 << 20, "peer");
  ASSERT_TRUE(frame.ok()) << frame.status();
  pullworker::v1::Response parsed;
  ASSERT_TRUE(parsed.ParseFromString(*frame));
  EXPECT_EQ(parsed.manifest().bytes().size(), 100000u);
  EXPECT_EQ(parsed.manifest().digest(), "sha256:abc");
}

TEST(PullWorkerWireTest, EmptyMessageIsAnEmptyFrame) {
  auto [a, b] = Pair();
  ASSERT_TRUE(WriteFrame(a.get(), pullworker::v1::Response()).ok());
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 16, "peer");
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_TRUE(frame->empty());
}

TEST(PullWorkerWireTest, LengthOverTheCapIsRefusedBeforeReadingIt) {
  auto [a, b] = Pair();
  // A hostile length (4 GiB - 1) with no body: refused at once, nothing allocated or awaited.
  WriteRaw(a.get(), LittleEndian(0xffffffffu));
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 1 << 20, "the worker");
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kResourceExhausted) << frame.status();
  EXPECT_THAT(frame.status().message(), HasSubstr("the worker"));
  EXPECT_THAT(frame.status().message(), HasSubstr("4294967295"));
}

TEST(PullWorkerWireTest, LengthJustAtTheCapIsRead) {
  auto [a, b] = Pair();
  WriteRaw(a.get(), LittleEndian(8) + "12345678");
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 8, "peer");
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(*frame, "12345678");
  WriteRaw(a.get(), LittleEndian(9) + "123456789");
  EXPECT_EQ(ReadFrame(b.get(), 8, "peer").status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(PullWorkerWireTest, CloseBeforeAnyByteIsUnavailable) {
  auto [a, b] = Pair();
  a.Reset();
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 1 << 20, "the worker");
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kUnavailable) << frame.status();
  EXPECT_THAT(frame.status().message(), HasSubstr("the worker closed"));
}

TEST(PullWorkerWireTest, LengthCutShortIsDataLoss) {
  auto [a, b] = Pair();
  WriteRaw(a.get(), std::string("\x10\x00", 2));
  a.Reset();
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 1 << 20, "peer");
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kDataLoss) << frame.status();
}

TEST(PullWorkerWireTest, BodyCutShortIsDataLoss) {
  auto [a, b] = Pair();
  WriteRaw(a.get(), LittleEndian(100) + std::string(40, 'x'));
  a.Reset();
  absl::StatusOr<std::string> frame = ReadFrame(b.get(), 1 << 20, "peer");
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kDataLoss) << frame.status();
  EXPECT_THAT(frame.status().message(), HasSubstr("40 of a frame's 100 bytes"));
}

TEST(PullWorkerWireTest, FdPassing) {
  auto [control_a, control_b] = Pair(SOCK_SEQPACKET);
  auto [x, y] = Pair();
  ASSERT_TRUE(SendFd(control_a.get(), y.get()).ok());
  absl::StatusOr<UniqueFd> received = ReceiveFd(control_b.get());
  ASSERT_TRUE(received.ok()) << received.status();
  ASSERT_TRUE(*received);
  EXPECT_EQ(::fcntl(received->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  WriteRaw(x.get(), "hi");
  char buf[2];
  ASSERT_EQ(::read(received->get(), buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
  // EOF on the control socket: an invalid fd, no error.
  control_a.Reset();
  absl::StatusOr<UniqueFd> eof = ReceiveFd(control_b.get());
  ASSERT_TRUE(eof.ok()) << eof.status();
  EXPECT_FALSE(*eof);
}

TEST(PullWorkerWireTest, ControlMessageWithoutAnFdIsRefused) {
  auto [a, b] = Pair(SOCK_SEQPACKET);
  WriteRaw(a.get(), "F");
  absl::StatusOr<UniqueFd> received = ReceiveFd(b.get());
  EXPECT_EQ(received.status().code(), absl::StatusCode::kInvalidArgument) << received.status();
}

TEST(PullWorkerWireTest, ControlMessageWithTwoFdsIsRefused) {
  auto [a, b] = Pair(SOCK_SEQPACKET);
  auto [x, y] = Pair();
  char byte = 'F';
  iovec iov{.iov_base = &byte, .iov_len = 1};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {x.get(), y.get()};
  std::memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
  ASSERT_EQ(::sendmsg(a.get(), &msg, 0), 1);
  absl::StatusOr<UniqueFd> received = ReceiveFd(b.get());
  EXPECT_EQ(received.status().code(), absl::StatusCode::kInvalidArgument) << received.status();
}

TEST(PullWorkerWireTest, StatusTravelsUnchanged) {
  absl::Status status = absl::NotFoundError("image example.com/app:v1 not found");
  absl::Status back = ResponseStatus(ErrorResponse(status));
  EXPECT_EQ(back, status);
  EXPECT_TRUE(ResponseStatus(pullworker::v1::Response()).ok());
  pullworker::v1::Response hostile;
  hostile.set_code(99);
  hostile.set_message("what");
  EXPECT_EQ(ResponseStatus(hostile).code(), absl::StatusCode::kInternal);
  hostile.set_code(-1);
  EXPECT_EQ(ResponseStatus(hostile).code(), absl::StatusCode::kInternal);
}

TEST(PullWorkerWireTest, EndpointAndCredentialsRoundTrip) {
  absl::StatusOr<Reference> ref = Reference::Parse("mirror.example.com:5000/lib/app:v1");
  ASSERT_TRUE(ref.ok());
  PullEndpoint endpoint{.reference = *ref, .insecure = true, .mirror = true};
  absl::StatusOr<PullEndpoint> back = EndpointFromProto(EndpointToProto(endpoint));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->reference.String(), ref->String());
  EXPECT_TRUE(back->insecure);
  EXPECT_TRUE(back->mirror);

  pullworker::v1::Endpoint bad;
  bad.set_reference("UPPER/Case:::");
  EXPECT_EQ(EndpointFromProto(bad).status().code(), absl::StatusCode::kInvalidArgument);

  Credentials creds{.username = "u", .password = "p", .identity_token = "i",
                    .registry_token = "t", .registry = "r:5000"};
  Credentials creds_back = CredentialsFromProto(CredentialsToProto(creds));
  EXPECT_EQ(creds_back.username, "u");
  EXPECT_EQ(creds_back.password, "p");
  EXPECT_EQ(creds_back.identity_token, "i");
  EXPECT_EQ(creds_back.registry_token, "t");
  EXPECT_EQ(creds_back.registry, "r:5000");
}

}  // namespace
}  // namespace berth::image
