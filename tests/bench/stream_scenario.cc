// The stream scenario, in one pod per endpoint running busybox httpd with a --forward-bytes
// file: per iteration ExecSync `true` and the same command through the streaming path (Exec,
// then the SPDY session until its exit code), then a download of the file through
// PortForward (SPDY) and, for comparison, straight from the pod IP over its veth.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "ctl/stream_client.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "stream";
constexpr uint16_t kPort = 8080;
constexpr char kRequest[] = "GET /big HTTP/1.0\r\n\r\n";

struct StreamState {
  std::optional<TempDir> log_dir;
  std::string pod_id;
  std::string pod_ip;
  std::string container_id;
};

std::map<const Target*, StreamState>& States() {
  static auto* states = new std::map<const Target*, StreamState>();
  return *states;
}

double MegabytesPerSecond(int64_t bytes, absl::Duration took) {
  return static_cast<double>(bytes) / 1e6 / absl::ToDoubleSeconds(took);
}

absl::StatusOr<int> ExecSyncCode(ctl::CriClient& client, const std::string& id,
                                 const std::string& script) {
  runtime::v1::ExecSyncRequest request;
  request.set_container_id(id);
  request.add_cmd("sh");
  request.add_cmd("-c");
  request.add_cmd(script);
  request.set_timeout(60);
  runtime::v1::ExecSyncResponse response;
  grpc::Status status = client.runtime().ExecSync(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("ExecSync", status);
  return response.exit_code();
}

// The file through a direct TCP connection to the pod: bytes received (headers included).
absl::StatusOr<int64_t> DirectDownload(const std::string& ip) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(kPort);
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) {
    return absl::InternalError(absl::StrCat("pod IP \"", ip, "\" is not IPv4"));
  }
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, absl::StrCat("connecting to ", ip));
  }
  if (::send(fd.get(), kRequest, sizeof(kRequest) - 1, MSG_NOSIGNAL) < 0) {
    return ErrnoStatus(errno, "sending the request");
  }
  int64_t total = 0;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += n;
  }
  return total;
}

absl::StatusOr<int64_t> ForwardedDownload(ctl::CriClient& client, const std::string& pod_id) {
  runtime::v1::PortForwardRequest request;
  request.set_pod_sandbox_id(pod_id);
  request.add_port(kPort);
  runtime::v1::PortForwardResponse response;
  grpc::Status status = client.runtime().PortForward(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("PortForward", status);
  ASSIGN_OR_RETURN(auto session,
                   ctl::DialPortForward(response.url(), {kPort}, ctl::Transport::kSpdy));
  ASSIGN_OR_RETURN(auto stream, session->Open(kPort));
  RETURN_IF_ERROR(stream->Write(kRequest));
  int64_t total = 0;
  char buffer[64 * 1024];
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, stream->Read(buffer, sizeof(buffer)));
    if (n == 0) break;
    total += static_cast<int64_t>(n);
  }
  std::string error = stream->ErrorText();
  stream->Close();
  session->Close();
  if (!error.empty()) return absl::InternalError(absl::StrCat("port-forward: ", error));
  return total;
}

absl::Status StreamExecTrue(ctl::CriClient& client, const std::string& id) {
  runtime::v1::ExecRequest request;
  request.set_container_id(id);
  request.add_cmd("true");
  request.set_stdout(true);
  request.set_stderr(true);
  runtime::v1::ExecResponse response;
  grpc::Status status = client.runtime().Exec(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("Exec", status);
  ASSIGN_OR_RETURN(auto streams, ctl::DialExec(response.url(), {false, true, true, false},
                                               ctl::Transport::kSpdy));
  ASSIGN_OR_RETURN(streaming::ExecResult result,
                   streams->Run([](absl::string_view) {}, [](absl::string_view) {}));
  RETURN_IF_ERROR(result.status);
  if (result.exit_code != 0) {
    return absl::InternalError(absl::StrCat("streaming exec true: exit code ", result.exit_code));
  }
  return absl::OkStatus();
}

absl::Status Prepare(const BenchOptions& options, Target& target, StreamState& state) {
  ctl::CriClient& client = *target.client;
  RETURN_IF_ERROR(EnsureImage(target, options.container_image));
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  state.log_dir.emplace(std::move(log_dir));
  runtime::v1::PodSandboxConfig pod = BenchPodConfig("bench-stream", state.log_dir->path());
  ASSIGN_OR_RETURN(state.pod_id, RunPod(target, pod));
  runtime::v1::PodSandboxStatusRequest status_request;
  status_request.set_pod_sandbox_id(state.pod_id);
  runtime::v1::PodSandboxStatusResponse pod_status;
  grpc::Status got =
      client.runtime().PodSandboxStatus(client.Context().get(), status_request, &pod_status);
  if (!got.ok()) return ctl::CallError("PodSandboxStatus", got);
  state.pod_ip = pod_status.status().network().ip();
  runtime::v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(state.pod_id);
  *create.mutable_sandbox_config() = pod;
  runtime::v1::ContainerConfig& config = *create.mutable_config();
  config.mutable_metadata()->set_name("web");
  config.mutable_image()->set_image(options.container_image);
  config.add_command("sh");
  config.add_command("-c");
  config.add_command(absl::StrCat("mkdir -p /www && head -c ", options.forward_bytes,
                                  " /dev/zero > /www/.big && mv /www/.big /www/big && exec "
                                  "httpd -f -p ",
                                  kPort, " -h /www"));
  config.set_log_path("web.log");
  runtime::v1::CreateContainerResponse created;
  got = client.runtime().CreateContainer(client.Context().get(), create, &created);
  if (!got.ok()) return ctl::CallError("CreateContainer", got);
  state.container_id = created.container_id();
  runtime::v1::StartContainerRequest start;
  start.set_container_id(state.container_id);
  runtime::v1::StartContainerResponse started;
  got = client.runtime().StartContainer(client.Context().get(), start, &started);
  if (!got.ok()) return ctl::CallError("StartContainer", got);
  for (absl::Time deadline = absl::Now() + absl::Minutes(2); absl::Now() < deadline;) {
    ASSIGN_OR_RETURN(int code, ExecSyncCode(client, state.container_id,
                                            absl::StrCat("test -f /www/big && netstat -ltn | "
                                                         "grep -q ':",
                                                         kPort, " '")));
    if (code == 0) return absl::OkStatus();
    ::usleep(100 * 1000);
  }
  return absl::DeadlineExceededError("httpd in the stream pod never came up");
}

absl::Status RunOnce(const BenchOptions& options, Target& target, StreamState& state) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ExecSyncRequest sync;
  sync.set_container_id(state.container_id);
  sync.add_cmd("true");
  sync.set_timeout(30);
  runtime::v1::ExecSyncResponse synced;
  RETURN_IF_ERROR(Timed(target, kName, "ExecSync", [&] {
    return client.runtime().ExecSync(client.Context().get(), sync, &synced);
  }));
  absl::Time begin = absl::Now();
  RETURN_IF_ERROR(StreamExecTrue(client, state.container_id));
  target.ops[kName]["Exec (streaming) true"].Add(absl::Now() - begin);

  begin = absl::Now();
  ASSIGN_OR_RETURN(int64_t forwarded, ForwardedDownload(client, state.pod_id));
  absl::Duration took = absl::Now() - begin;
  if (forwarded < options.forward_bytes) {
    return absl::InternalError(
        absl::StrCat("port-forward download: ", forwarded, " bytes of ", options.forward_bytes));
  }
  target.metrics[kName]["portforward_mb_s"].push_back(MegabytesPerSecond(forwarded, took));
  if (!state.pod_ip.empty()) {
    begin = absl::Now();
    ASSIGN_OR_RETURN(int64_t direct, DirectDownload(state.pod_ip));
    target.metrics[kName]["direct_tcp_mb_s"].push_back(
        MegabytesPerSecond(direct, absl::Now() - begin));
  }
  return absl::OkStatus();
}

absl::Status TearDown(Target& target, StreamState& state) {
  std::vector<std::string> containers;
  if (!state.container_id.empty()) containers.push_back(state.container_id);
  return RemoveContainersAndPod(target, containers, state.pod_id);
}

}  // namespace

absl::Status StreamPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the stream scenario needs --container-image");
  }
  return ExplainUnimplemented(Prepare(options, target, States()[&target]), kName);
}

absl::Status StreamRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

absl::Status StreamCleanup(const BenchOptions& /*options*/, Target& target) {
  auto it = States().find(&target);
  if (it == States().end()) return absl::OkStatus();
  absl::Status status = TearDown(target, it->second);
  States().erase(it);
  return status;
}

}  // namespace berth::bench
