// The scratch scenario: what the kubelet waits for when a pod is scheduled and when it is
// deleted. Per iteration a pod with fresh metadata and one container of --container-image
// (sleep 3600) goes from nothing to running (RunPodSandbox, CreateContainer, StartContainer:
// each timed and the three together) and back (StopPodSandbox and RemovePodSandbox, which stop
// and remove the container with the pod: each timed and the two together).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "scratch";

struct ScratchState {
  std::optional<TempDir> log_dir;
  std::vector<std::string> pods;  // up, for cleanup
};

std::map<const Target*, ScratchState>& States() { return ScenarioStates<ScratchState>(); }

// RunPodSandbox, CreateContainer and StartContainer; the pod's id.
absl::StatusOr<std::string> Up(const BenchOptions& options, Target& target, ScratchState& state) {
  ctl::CriClient& client = *target.client;
  runtime::v1::RunPodSandboxRequest run_request;
  *run_request.mutable_config() = BenchPodConfig("bench-scratch", state.log_dir->path());
  runtime::v1::RunPodSandboxResponse run;
  absl::Time begin = absl::Now();
  RETURN_IF_ERROR(Timed(target, kName, "RunPodSandbox", [&] {
    return client.runtime().RunPodSandbox(client.Context().get(), run_request, &run);
  }));
  state.pods.push_back(run.pod_sandbox_id());
  runtime::v1::CreateContainerRequest create_request = SleepContainerRequest(
      run.pod_sandbox_id(), run_request.config(), options.container_image, "c0");
  runtime::v1::CreateContainerResponse created;
  RETURN_IF_ERROR(Timed(target, kName, "CreateContainer", [&] {
    return client.runtime().CreateContainer(client.Context().get(), create_request, &created);
  }));
  runtime::v1::StartContainerRequest start_request;
  start_request.set_container_id(created.container_id());
  runtime::v1::StartContainerResponse started;
  RETURN_IF_ERROR(Timed(target, kName, "StartContainer", [&] {
    return client.runtime().StartContainer(client.Context().get(), start_request, &started);
  }));
  target.ops[kName]["Run+Create+StartContainer"].Add(absl::Now() - begin);
  return run.pod_sandbox_id();
}

// StopPodSandbox and RemovePodSandbox of a pod with a running container.
absl::Status Down(Target& target, ScratchState& state, const std::string& pod_id) {
  ctl::CriClient& client = *target.client;
  absl::Time begin = absl::Now();
  runtime::v1::StopPodSandboxRequest stop_request;
  stop_request.set_pod_sandbox_id(pod_id);
  runtime::v1::StopPodSandboxResponse stopped;
  RETURN_IF_ERROR(Timed(target, kName, "StopPodSandbox", [&] {
    return client.runtime().StopPodSandbox(client.Context().get(), stop_request, &stopped);
  }));
  runtime::v1::RemovePodSandboxRequest remove_request;
  remove_request.set_pod_sandbox_id(pod_id);
  runtime::v1::RemovePodSandboxResponse removed;
  RETURN_IF_ERROR(Timed(target, kName, "RemovePodSandbox", [&] {
    return client.runtime().RemovePodSandbox(client.Context().get(), remove_request, &removed);
  }));
  target.ops[kName]["Stop+RemovePodSandbox"].Add(absl::Now() - begin);
  std::erase(state.pods, pod_id);
  return absl::OkStatus();
}

absl::Status RunOnce(const BenchOptions& options, Target& target, ScratchState& state) {
  ASSIGN_OR_RETURN(std::string pod_id, Up(options, target, state));
  return Down(target, state, pod_id);
}

}  // namespace

absl::Status ScratchPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the scratch scenario needs --container-image");
  }
  ScratchState& state = States()[&target];
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  state.log_dir.emplace(std::move(log_dir));
  return ExplainUnimplemented(EnsureImage(target, options.container_image), kName);
}

absl::Status ScratchRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

absl::Status ScratchCleanup(const BenchOptions& /*options*/, Target& target) {
  return RemoveScenarioPods<ScratchState>(target);
}

}  // namespace berth::bench
