#include "image/pull_worker.h"

#include <signal.h>
#include <unistd.h>

#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "image/pull_worker_wire.h"
#include "image/registry_client.h"

namespace berth::image {
namespace {

namespace wire = pullworker::v1;

absl::StatusOr<wire::Response> Dispatch(const wire::Request& request, PullSource& source) {
  ASSIGN_OR_RETURN(PullEndpoint endpoint, EndpointFromProto(request.endpoint()));
  Credentials creds = CredentialsFromProto(request.credentials());
  wire::Response response;
  switch (request.call_case()) {
    case wire::Request::kGetManifest: {
      ASSIGN_OR_RETURN(FetchedManifest manifest, source.GetManifest(endpoint, creds));
      wire::Manifest* out = response.mutable_manifest();
      out->set_bytes(std::move(manifest.bytes));
      out->set_media_type(std::move(manifest.media_type));
      out->set_digest(std::move(manifest.digest));
      return response;
    }
    case wire::Request::kFetchConfig: {
      const wire::FetchConfig& call = request.fetch_config();
      ASSIGN_OR_RETURN(*response.mutable_config(),
                       source.FetchConfig(endpoint, call.digest(), creds, call.max_bytes()));
      return response;
    }
    case wire::Request::kFetchLayer: {
      const wire::FetchLayer& call = request.fetch_layer();
      if (call.target_dir().empty() || call.target_dir()[0] != '/') {
        return absl::InvalidArgumentError("a layer request needs an absolute target directory");
      }
      Descriptor layer{.media_type = call.media_type(), .digest = call.digest(),
                       .size = call.size()};
      UnpackOptions options;
      options.expected_digest = call.expected_digest();
      options.expected_diff_id = call.expected_diff_id();
      options.source_verifies_digest = call.source_verifies_digest();
      options.max_uncompressed_bytes = call.max_uncompressed_bytes();
      options.max_entries = call.max_entries();
      options.max_header_bytes = call.max_header_bytes();
      ASSIGN_OR_RETURN(LayerDigests digests,
                       source.FetchLayerInto(endpoint, creds, layer, options, call.target_dir()));
      wire::LayerDigests* out = response.mutable_layer();
      out->set_digest(digests.digest);
      out->set_diff_id(digests.diff_id);
      out->set_compressed_size(digests.compressed_size);
      out->set_uncompressed_size(digests.uncompressed_size);
      return response;
    }
    case wire::Request::CALL_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("a pull worker request names no call");
}

// One call: a request in, a response out. A failure to answer is berthd's to notice (the
// channel closes without an answer).
void ServeCall(UniqueFd channel, PullSource& source) {
  absl::StatusOr<std::string> frame =
      ReadFrame(channel.get(), kMaxPullWorkerRequestBytes, "berthd");
  if (!frame.ok()) {
    LOG_WARN("pull worker: {}", frame.status());
    return;
  }
  wire::Request request;
  absl::StatusOr<wire::Response> response =
      request.ParseFromString(*frame)
          ? Dispatch(request, source)
          : absl::InvalidArgumentError("a pull worker request does not parse");
  absl::Status written =
      WriteFrame(channel.get(), response.ok() ? *response : ErrorResponse(response.status()));
  if (!written.ok()) LOG_WARN("pull worker: answering berthd: {}", written);
}

}  // namespace

absl::Status ServePullWorker(int control_fd, PullSource& source) {
  std::vector<std::thread> calls;
  absl::Status result;
  for (;;) {
    absl::StatusOr<UniqueFd> channel = ReceiveFd(control_fd);
    if (!channel.ok()) {
      result = channel.status();
      break;
    }
    if (!*channel) break;  // berthd closed the control socket: the pull is over
    calls.emplace_back(
        [fd = std::move(*channel), &source]() mutable { ServeCall(std::move(fd), source); });
  }
  for (std::thread& call : calls) call.join();
  return result;
}

int RunPullWorker(const PullWorkerFlags& flags) {
  // A channel berthd gave up on must fail a write, not kill the worker.
  signal(SIGPIPE, SIG_IGN);
  RegistryClient::Options options;
  options.certs_dir = flags.certs_dir;
  RegistryClient client(options);
  LocalPullSource source(&client);
  absl::Status served = ServePullWorker(flags.control_fd, source);
  if (!served.ok()) {
    LOG_ERROR("pull worker: {}", served);
    return 1;
  }
  return 0;
}

}  // namespace berth::image
