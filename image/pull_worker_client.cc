#include "image/pull_worker_client.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "image/pull_worker_wire.h"

namespace berth::image {
namespace {

namespace wire = pullworker::v1;

// Room for a response's framing and fields beside its largest payload.
constexpr size_t kResponseOverhead = 64 << 10;
// How long a worker whose pull is over may take to exit before it is killed.
constexpr absl::Duration kExitGrace = absl::Seconds(10);

absl::StatusOr<std::pair<UniqueFd, UniqueFd>> SocketPair(int type) {
  int fds[2];
  if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoStatus(errno, "creating a socket pair for the pull worker");
  }
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

wire::Request NewRequest(const PullEndpoint& endpoint, const Credentials& creds) {
  wire::Request request;
  *request.mutable_endpoint() = EndpointToProto(endpoint);
  *request.mutable_credentials() = CredentialsToProto(creds);
  return request;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

}  // namespace

absl::StatusOr<std::unique_ptr<PullWorkerClient>> PullWorkerClient::Start(
    const PullWorkerOptions& options) {
  ASSIGN_OR_RETURN(auto control, SocketPair(SOCK_SEQPACKET));
  // The worker's end becomes its stdin by dup2, which would keep close-on-exec set were it
  // already fd 0 (a berthd started with stdin closed): keep it above the stdio fds.
  if (control.second.get() <= STDERR_FILENO) {
    control.second.Reset(::fcntl(control.second.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1));
    if (!control.second) return ErrnoStatus(errno, "duplicating the pull worker's socket");
  }
  // The worker logs to berthd's stderr, or to nowhere when berthd has none.
  const int log_fd = ::fcntl(STDERR_FILENO, F_GETFD) >= 0 ? STDERR_FILENO : -1;
  StartOptions start;
  start.argv = options.argv;
  start.argv.push_back(absl::StrCat("--certs-dir=", options.certs_dir));
  if (!options.log_level.empty()) {
    start.argv.push_back(absl::StrCat("--log-level=", options.log_level));
  }
  start.stdin_fd = control.second.get();
  start.stdout_fd = log_fd;
  start.stderr_fd = log_fd;
  start.kill_with_parent = true;
  absl::StatusOr<Process> process = Process::Start(start);
  if (!process.ok()) return Annotate(process.status(), "starting the pull worker");
  control.second.Reset();
  return std::unique_ptr<PullWorkerClient>(new PullWorkerClient(
      std::move(control.first), std::move(*process), options.max_manifest_bytes));
}

PullWorkerClient::~PullWorkerClient() {
  // EOF on the control socket: the worker finishes its calls (none: every call of the pull
  // returned) and exits.
  control_.Reset();
  absl::StatusOr<int> status = process_.Wait(kExitGrace);
  if (!status.ok()) {
    LOG_WARN("{} did not exit after its pull: killing it", Name());
    process_.Signal(SIGKILL).IgnoreError();
    status = process_.Wait();
  }
  if (status.ok() && *status != 0) {
    LOG_WARN("{} ended with {}", Name(), DescribeWaitStatus(*status));
  }
}

std::string PullWorkerClient::Name() const { return absl::StrCat("pull worker ", pid()); }

absl::StatusOr<wire::Response> PullWorkerClient::Call(const wire::Request& request,
                                                      size_t max_response) {
  auto worker_failed = [&](const absl::Status& status) {
    return absl::InternalError(absl::StrCat(Name(), " failed: ", status.message()));
  };
  ASSIGN_OR_RETURN(auto channel, SocketPair(SOCK_STREAM));
  if (absl::Status sent = SendFd(control_.get(), channel.second.get()); !sent.ok()) {
    return worker_failed(sent);
  }
  channel.second.Reset();
  if (absl::Status written = WriteFrame(channel.first.get(), request); !written.ok()) {
    return worker_failed(written);
  }
  absl::StatusOr<std::string> frame = ReadFrame(channel.first.get(), max_response, Name());
  if (!frame.ok()) {
    if (absl::IsUnavailable(frame.status())) {
      return absl::InternalError(absl::StrCat(Name(), " ended without answering"));
    }
    return worker_failed(frame.status());
  }
  wire::Response response;
  if (!response.ParseFromString(*frame)) {
    return absl::InternalError(absl::StrCat(Name(), " sent an answer that does not parse"));
  }
  RETURN_IF_ERROR(ResponseStatus(response));
  return response;
}

absl::StatusOr<FetchedManifest> PullWorkerClient::GetManifest(const PullEndpoint& endpoint,
                                                              const Credentials& creds) {
  wire::Request request = NewRequest(endpoint, creds);
  request.mutable_get_manifest();
  ASSIGN_OR_RETURN(wire::Response response,
                   Call(request, max_manifest_bytes_ + kResponseOverhead));
  if (!response.has_manifest()) {
    return absl::InternalError(absl::StrCat(Name(), " answered a manifest request without one"));
  }
  wire::Manifest* manifest = response.mutable_manifest();
  return FetchedManifest{.bytes = std::move(*manifest->mutable_bytes()),
                         .media_type = std::move(*manifest->mutable_media_type()),
                         .digest = std::move(*manifest->mutable_digest())};
}

absl::StatusOr<std::string> PullWorkerClient::FetchConfig(const PullEndpoint& endpoint,
                                                          const std::string& digest,
                                                          const Credentials& creds,
                                                          size_t max_bytes) {
  wire::Request request = NewRequest(endpoint, creds);
  request.mutable_fetch_config()->set_digest(digest);
  request.mutable_fetch_config()->set_max_bytes(max_bytes);
  ASSIGN_OR_RETURN(wire::Response response, Call(request, max_bytes + kResponseOverhead));
  if (response.result_case() != wire::Response::kConfig) {
    return absl::InternalError(absl::StrCat(Name(), " answered a config request without one"));
  }
  if (response.config().size() > max_bytes) {
    return absl::InternalError(absl::StrCat(Name(), " answered a config over the limit"));
  }
  return std::move(*response.mutable_config());
}

absl::StatusOr<LayerDigests> PullWorkerClient::FetchLayerInto(const PullEndpoint& endpoint,
                                                              const Credentials& creds,
                                                              const Descriptor& layer,
                                                              const UnpackOptions& options,
                                                              const std::string& dir) {
  wire::Request request = NewRequest(endpoint, creds);
  wire::FetchLayer* call = request.mutable_fetch_layer();
  call->set_digest(layer.digest);
  call->set_media_type(layer.media_type);
  call->set_size(layer.size);
  call->set_target_dir(dir);
  call->set_expected_digest(options.expected_digest);
  call->set_expected_diff_id(options.expected_diff_id);
  call->set_source_verifies_digest(options.source_verifies_digest);
  call->set_max_uncompressed_bytes(options.max_uncompressed_bytes);
  call->set_max_entries(options.max_entries);
  call->set_max_header_bytes(options.max_header_bytes);
  ASSIGN_OR_RETURN(wire::Response response, Call(request, kResponseOverhead));
  if (!response.has_layer()) {
    return absl::InternalError(absl::StrCat(Name(), " answered a layer request without digests"));
  }
  const wire::LayerDigests& digests = response.layer();
  // berthd records what it asked for: a worker cannot make it commit other content.
  if ((!options.expected_digest.empty() && digests.digest() != options.expected_digest) ||
      (!options.expected_diff_id.empty() && digests.diff_id() != options.expected_diff_id)) {
    return absl::InternalError(absl::StrCat(Name(), " reported digests other than the layer's"));
  }
  return LayerDigests{.digest = digests.digest(),
                      .diff_id = digests.diff_id(),
                      .compressed_size = digests.compressed_size(),
                      .uncompressed_size = digests.uncompressed_size()};
}

PullSourceFactory PullWorkerFactory(PullWorkerOptions options) {
  return [options = std::move(options)]() -> absl::StatusOr<std::unique_ptr<PullSource>> {
    ASSIGN_OR_RETURN(std::unique_ptr<PullWorkerClient> client, PullWorkerClient::Start(options));
    return std::unique_ptr<PullSource>(std::move(client));
  };
}

}  // namespace berth::image
