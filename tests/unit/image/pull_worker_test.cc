#include "image/pull_worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/pull_worker_wire.h"

namespace berth::image {
namespace {

namespace wire = pullworker::v1;
using ::testing::HasSubstr;

std::pair<UniqueFd, UniqueFd> Pair(int type) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Answers from fixed values; FetchLayerInto waits until `layers_to_wait_for` calls are in.
class FakeSource : public PullSource {
 public:
  absl::StatusOr<FetchedManifest> GetManifest(const PullEndpoint& endpoint,
                                              const Credentials& creds) override {
    if (creds.password != "pw") return absl::UnauthenticatedError("wrong password for r:5000");
    if (endpoint.reference.String() != "r:5000/app:v1") {
      return absl::NotFoundError(absl::StrCat("image ", endpoint.reference.String(), " not found"));
    }
    return FetchedManifest{.bytes = "{}", .media_type = "m", .digest = "sha256:1"};
  }
  absl::StatusOr<std::string> FetchConfig(const PullEndpoint&, const std::string& digest,
                                          const Credentials&, size_t max_bytes) override {
    if (max_bytes < 10) return absl::ResourceExhaustedError("config too large");
    return "config of " + digest;
  }
  absl::StatusOr<LayerDigests> FetchLayerInto(const PullEndpoint&, const Credentials&,
                                              const Descriptor& layer,
                                              const UnpackOptions& options,
                                              const std::string& dir) override {
    absl::MutexLock lock(&mu_);
    ++layers_in_;
    mu_.Await(absl::Condition(
        +[](FakeSource* self) { return self->layers_in_ >= self->layers_to_wait_for; }, this));
    if (options.expected_diff_id == "sha256:bad") return absl::DataLossError("diff id mismatch");
    return LayerDigests{.digest = layer.digest,
                        .diff_id = options.expected_diff_id,
                        .compressed_size = layer.size,
                        .uncompressed_size = options.max_entries};
  }

  absl::Mutex mu_;
  int layers_in_ ABSL_GUARDED_BY(mu_) = 0;
  int layers_to_wait_for = 1;
};

class PullWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [ours, theirs] = Pair(SOCK_SEQPACKET);
    control_ = std::move(ours);
    server_ = std::thread([this, fd = std::move(theirs)] {
      served_ = ServePullWorker(fd.get(), source_);
    });
  }
  void TearDown() override {
    control_.Reset();
    server_.join();
    EXPECT_TRUE(served_.ok()) << served_;
  }

  // Opens a channel and sends `bytes` as the request frame's payload.
  UniqueFd Open() {
    auto [ours, theirs] = Pair(SOCK_STREAM);
    EXPECT_TRUE(SendFd(control_.get(), theirs.get()).ok());
    return std::move(ours);
  }
  absl::StatusOr<wire::Response> Call(const wire::Request& request) {
    UniqueFd channel = Open();
    RETURN_IF_ERROR(WriteFrame(channel.get(), request));
    ASSIGN_OR_RETURN(std::string frame, ReadFrame(channel.get(), 1 << 20, "worker"));
    wire::Response response;
    if (!response.ParseFromString(frame)) return absl::InternalError("bad response");
    return response;
  }
  static wire::Request ManifestRequest(const std::string& ref, const std::string& password) {
    wire::Request request;
    request.mutable_endpoint()->set_reference(ref);
    request.mutable_credentials()->set_password(password);
    request.mutable_get_manifest();
    return request;
  }

  FakeSource source_;
  UniqueFd control_;
  std::thread server_;
  absl::Status served_;
};

TEST_F(PullWorkerTest, ManifestAnswered) {
  absl::StatusOr<wire::Response> response = Call(ManifestRequest("r:5000/app:v1", "pw"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(ResponseStatus(*response).ok());
  EXPECT_EQ(response->manifest().bytes(), "{}");
  EXPECT_EQ(response->manifest().digest(), "sha256:1");
}

TEST_F(PullWorkerTest, ErrorsKeepTheirCodeAndMessage) {
  absl::StatusOr<wire::Response> response = Call(ManifestRequest("r:5000/other:v1", "pw"));
  ASSERT_TRUE(response.ok()) << response.status();
  absl::Status status = ResponseStatus(*response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "image r:5000/other:v1 not found");
  response = Call(ManifestRequest("r:5000/app:v1", "nope"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(ResponseStatus(*response).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(PullWorkerTest, ConfigAnswered) {
  wire::Request request;
  request.mutable_endpoint()->set_reference("r:5000/app:v1");
  request.mutable_fetch_config()->set_digest("sha256:c");
  request.mutable_fetch_config()->set_max_bytes(100);
  absl::StatusOr<wire::Response> response = Call(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->config(), "config of sha256:c");
}

TEST_F(PullWorkerTest, BadRequestsAreAnsweredWithInvalidArgument) {
  UniqueFd channel = Open();
  const std::string garbage("\x05\x00\x00\x00\xff\xff\xff\xff\xff", 9);
  ASSERT_EQ(::write(channel.get(), garbage.data(), garbage.size()),
            static_cast<ssize_t>(garbage.size()));
  absl::StatusOr<std::string> frame = ReadFrame(channel.get(), 1 << 20, "worker");
  ASSERT_TRUE(frame.ok()) << frame.status();
  wire::Response response;
  ASSERT_TRUE(response.ParseFromString(*frame));
  EXPECT_EQ(ResponseStatus(response).code(), absl::StatusCode::kInvalidArgument);

  wire::Request no_call;
  no_call.mutable_endpoint()->set_reference("r:5000/app:v1");
  absl::StatusOr<wire::Response> answered = Call(no_call);
  ASSERT_TRUE(answered.ok());
  EXPECT_EQ(ResponseStatus(*answered).code(), absl::StatusCode::kInvalidArgument);

  wire::Request relative;
  relative.mutable_endpoint()->set_reference("r:5000/app:v1");
  relative.mutable_fetch_layer()->set_target_dir("tmp/x");
  answered = Call(relative);
  ASSERT_TRUE(answered.ok());
  EXPECT_EQ(ResponseStatus(*answered).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PullWorkerTest, HostileRequestLengthGetsNoAnswerAndTheWorkerGoesOn) {
  UniqueFd channel = Open();
  std::string huge = "\xff\xff\xff\x7f";
  ASSERT_EQ(::write(channel.get(), huge.data(), huge.size()), 4);
  absl::StatusOr<std::string> frame = ReadFrame(channel.get(), 1 << 20, "worker");
  EXPECT_EQ(frame.status().code(), absl::StatusCode::kUnavailable) << frame.status();
  // A channel closed with half a request, then one closed with nothing.
  UniqueFd half = Open();
  ASSERT_EQ(::write(half.get(), "\x10\x00", 2), 2);
  half.Reset();
  Open().Reset();
  absl::StatusOr<wire::Response> response = Call(ManifestRequest("r:5000/app:v1", "pw"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_TRUE(ResponseStatus(*response).ok());
}

TEST_F(PullWorkerTest, LayersRunConcurrently) {
  source_.layers_to_wait_for = 2;
  auto layer_call = [&](const std::string& diff_id) {
    wire::Request request;
    request.mutable_endpoint()->set_reference("r:5000/app:v1");
    wire::FetchLayer* layer = request.mutable_fetch_layer();
    layer->set_digest("sha256:blob");
    layer->set_size(42);
    layer->set_target_dir("/staged/diff");
    layer->set_expected_diff_id(diff_id);
    layer->set_max_entries(7);
    return Call(request);
  };
  absl::StatusOr<wire::Response> first;
  // Each waits for the other inside the source: they only finish if served at once.
  std::thread other([&] { first = layer_call("sha256:good"); });
  absl::StatusOr<wire::Response> second = layer_call("sha256:bad");
  other.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->layer().digest(), "sha256:blob");
  EXPECT_EQ(first->layer().diff_id(), "sha256:good");
  EXPECT_EQ(first->layer().compressed_size(), 42);
  EXPECT_EQ(first->layer().uncompressed_size(), 7);
  EXPECT_EQ(ResponseStatus(*second).code(), absl::StatusCode::kDataLoss);
}

TEST(PullWorkerServeTest, EndsWhenTheControlSocketCloses) {
  auto [ours, theirs] = Pair(SOCK_SEQPACKET);
  FakeSource source;
  ours.Reset();
  EXPECT_TRUE(ServePullWorker(theirs.get(), source).ok());
}

}  // namespace
}  // namespace berth::image
