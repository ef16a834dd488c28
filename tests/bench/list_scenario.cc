// The list scenario: listing at scale, as the kubelet's relist does every second. Prepare
// brings up --list-pods pods with --list-containers-per-pod containers of --container-image
// each (sleep 3600; started unless --list-start false); each iteration (--list-calls of them)
// times ListPodSandbox and ListContainers without a filter and ContainerStatus of a container
// picked at random.
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "list";

struct ListState {
  std::optional<TempDir> log_dir;
  std::vector<std::string> pods;
  std::vector<std::string> containers;
  std::mt19937 random{42};  // the same picks on every endpoint
};

std::map<const Target*, ListState>& States() { return ScenarioStates<ListState>(); }

absl::Status Prepare(const BenchOptions& options, Target& target, ListState& state) {
  RETURN_IF_ERROR(EnsureImage(target, options.container_image));
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  state.log_dir.emplace(std::move(log_dir));
  for (int i = 0; i < options.list_pods; ++i) {
    RETURN_IF_ERROR(CheckInterrupted());
    RETURN_IF_ERROR(PodWithContainers(target, BenchPodConfig("bench-list", state.log_dir->path()),
                                      options.container_image, options.list_containers_per_pod,
                                      options.list_start, state.pods, &state.containers));
  }
  return absl::OkStatus();
}

absl::Status RunOnce(const BenchOptions& options, Target& target, ListState& state) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ListPodSandboxRequest pods_request;
  runtime::v1::ListPodSandboxResponse pods;
  RETURN_IF_ERROR(
      Timed(target, kName, absl::StrCat("ListPodSandbox(", state.pods.size(), ")"), [&] {
        return client.runtime().ListPodSandbox(client.Context().get(), pods_request, &pods);
      }));
  if (pods.items_size() < static_cast<int>(state.pods.size())) {
    return absl::InternalError(absl::StrCat("ListPodSandbox on ", target.label, " returned ",
                                            pods.items_size(), " pods, not ", state.pods.size()));
  }
  runtime::v1::ListContainersRequest containers_request;
  runtime::v1::ListContainersResponse containers;
  RETURN_IF_ERROR(
      Timed(target, kName, absl::StrCat("ListContainers(", state.containers.size(), ")"), [&] {
        return client.runtime().ListContainers(client.Context().get(), containers_request,
                                               &containers);
      }));
  if (containers.containers_size() < static_cast<int>(state.containers.size())) {
    return absl::InternalError(absl::StrCat("ListContainers on ", target.label, " returned ",
                                            containers.containers_size(), " containers, not ",
                                            state.containers.size()));
  }
  if (state.containers.empty()) return absl::OkStatus();
  std::uniform_int_distribution<size_t> pick(0, state.containers.size() - 1);
  runtime::v1::ContainerStatusRequest status_request;
  status_request.set_container_id(state.containers[pick(state.random)]);
  runtime::v1::ContainerStatusResponse status;
  return Timed(target, kName, "ContainerStatus", [&] {
    return client.runtime().ContainerStatus(client.Context().get(), status_request, &status);
  });
}

}  // namespace

int ListIterations(const BenchOptions& options) { return options.list_calls; }

absl::Status ListPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the list scenario needs --container-image");
  }
  return ExplainUnimplemented(Prepare(options, target, States()[&target]), kName);
}

absl::Status ListRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

absl::Status ListCleanup(const BenchOptions& /*options*/, Target& target) {
  return RemoveScenarioPods<ListState>(target);
}

}  // namespace berth::bench
