// The container scenario, in one pod per endpoint: CreateContainer, StartContainer,
// ContainerStatus, ExecSync `true`, StopContainer (timeout 0) and RemoveContainer per
// iteration; then the pod processes' memory with --containers-per-pod containers running, and
// ListContainers with --list-containers containers in the pod.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "container";

struct PodState {
  std::optional<TempDir> log_dir;
  std::set<pid_t> pod_processes_before;
  runtime::v1::PodSandboxConfig config;
  std::string pod_id;
  int serial = 0;
  std::vector<std::string> containers;  // left for cleanup
};

std::map<const Target*, PodState>& States() {
  static auto* states = new std::map<const Target*, PodState>();
  return *states;
}

runtime::v1::CreateContainerRequest CreateRequest(const BenchOptions& options, PodState& pod) {
  runtime::v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod.pod_id);
  *request.mutable_sandbox_config() = pod.config;
  runtime::v1::ContainerConfig& config = *request.mutable_config();
  std::string name = absl::StrCat("c", pod.serial++);
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(options.container_image);
  config.add_command("sleep");
  config.add_args("3600");
  config.set_log_path(name + ".log");
  (*config.mutable_labels())["berth-bench"] = "1";
  return request;
}

// CreateContainer and StartContainer, timed under `create_op`/`start_op` when those are set.
absl::StatusOr<std::string> CreateAndStart(const BenchOptions& options, Target& target,
                                           PodState& pod, bool timed, bool start) {
  ctl::CriClient& client = *target.client;
  runtime::v1::CreateContainerRequest create_request = CreateRequest(options, pod);
  runtime::v1::CreateContainerResponse created;
  auto create = [&] {
    return client.runtime().CreateContainer(client.Context().get(), create_request, &created);
  };
  absl::Time begin = absl::Now();
  if (timed) {
    RETURN_IF_ERROR(Timed(target, kName, "CreateContainer", create));
  } else if (grpc::Status status = create(); !status.ok()) {
    return ctl::CallError("CreateContainer", status);
  }
  pod.containers.push_back(created.container_id());
  if (!start) return created.container_id();
  runtime::v1::StartContainerRequest start_request;
  start_request.set_container_id(created.container_id());
  runtime::v1::StartContainerResponse started;
  auto start_call = [&] {
    return client.runtime().StartContainer(client.Context().get(), start_request, &started);
  };
  if (timed) {
    RETURN_IF_ERROR(Timed(target, kName, "StartContainer", start_call));
    target.ops[kName]["Create+StartContainer"].Add(absl::Now() - begin);
  } else if (grpc::Status status = start_call(); !status.ok()) {
    return ctl::CallError("StartContainer", status);
  }
  return created.container_id();
}

absl::Status ExecTrue(const BenchOptions& options, Target& target, const std::string& id) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ExecSyncRequest request;
  request.set_container_id(id);
  request.add_cmd("true");
  request.set_timeout(30);
  for (int i = 0; i < options.execs_per_iteration; ++i) {
    runtime::v1::ExecSyncResponse response;
    RETURN_IF_ERROR(Timed(target, kName, "ExecSync", [&] {
      return client.runtime().ExecSync(client.Context().get(), request, &response);
    }));
    if (response.exit_code() != 0) {
      return absl::InternalError(absl::StrCat("ExecSync true on ", target.label, ": exit code ",
                                              response.exit_code(), ": ", response.stderr()));
    }
  }
  return absl::OkStatus();
}

absl::Status StopAndRemoveTimed(Target& target, PodState& pod, const std::string& id) {
  ctl::CriClient& client = *target.client;
  absl::Time begin = absl::Now();
  runtime::v1::StopContainerRequest stop_request;
  stop_request.set_container_id(id);
  stop_request.set_timeout(0);
  runtime::v1::StopContainerResponse stopped;
  RETURN_IF_ERROR(Timed(target, kName, "StopContainer", [&] {
    return client.runtime().StopContainer(client.Context().get(), stop_request, &stopped);
  }));
  runtime::v1::RemoveContainerRequest remove_request;
  remove_request.set_container_id(id);
  runtime::v1::RemoveContainerResponse removed;
  RETURN_IF_ERROR(Timed(target, kName, "RemoveContainer", [&] {
    return client.runtime().RemoveContainer(client.Context().get(), remove_request, &removed);
  }));
  target.ops[kName]["Stop+RemoveContainer"].Add(absl::Now() - begin);
  std::erase(pod.containers, id);
  return absl::OkStatus();
}

// ContainerStatus of a container just started: it must say RUNNING.
absl::Status StatusTimed(Target& target, const std::string& id) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ContainerStatusRequest request;
  request.set_container_id(id);
  runtime::v1::ContainerStatusResponse response;
  RETURN_IF_ERROR(Timed(target, kName, "ContainerStatus", [&] {
    return client.runtime().ContainerStatus(client.Context().get(), request, &response);
  }));
  if (response.status().state() != runtime::v1::CONTAINER_RUNNING) {
    return absl::InternalError(absl::StrCat("ContainerStatus on ", target.label, ": container ", id,
                                            " is not running after StartContainer"));
  }
  return absl::OkStatus();
}

absl::Status RunOnce(const BenchOptions& options, Target& target, PodState& pod) {
  ASSIGN_OR_RETURN(std::string id, CreateAndStart(options, target, pod, /*timed=*/true,
                                                  /*start=*/true));
  RETURN_IF_ERROR(StatusTimed(target, id));
  RETURN_IF_ERROR(ExecTrue(options, target, id));
  return StopAndRemoveTimed(target, pod, id);
}

// The pod's processes (those started since prepare) with --containers-per-pod running.
absl::Status MeasurePod(const BenchOptions& options, Target& target, PodState& pod) {
  if (options.containers_per_pod <= 0 || target.pod_process_names.empty()) {
    return absl::OkStatus();
  }
  for (int i = 0; i < options.containers_per_pod; ++i) {
    RETURN_IF_ERROR(CreateAndStart(options, target, pod, false, true).status());
  }
  absl::SleepFor(absl::Milliseconds(500));
  Memory memory = SumOf(NewPodProcessPids(target, pod.pod_processes_before));
  AddMemoryPer(target, kName,
               absl::StrCat("pod_process_with_", options.containers_per_pod, "_containers"), memory,
               1);
  return absl::OkStatus();
}

// ListContainers (no filter, as the kubelet's relist) with --list-containers in the pod.
absl::Status MeasureList(const BenchOptions& options, Target& target, PodState& pod) {
  if (options.list_containers <= 0) return absl::OkStatus();
  while (static_cast<int>(pod.containers.size()) < options.list_containers) {
    RETURN_IF_ERROR(CreateAndStart(options, target, pod, false, options.list_start).status());
  }
  ctl::CriClient& client = *target.client;
  std::string op = absl::StrCat("ListContainers(", options.list_containers, ")");
  for (int i = 0; i < options.list_calls; ++i) {
    runtime::v1::ListContainersRequest request;
    runtime::v1::ListContainersResponse response;
    RETURN_IF_ERROR(Timed(target, kName, op, [&] {
      return client.runtime().ListContainers(client.Context().get(), request, &response);
    }));
    if (response.containers_size() < options.list_containers) {
      return absl::InternalError(absl::StrCat("ListContainers on ", target.label, " returned ",
                                              response.containers_size(), " containers, not ",
                                              options.list_containers));
    }
  }
  return absl::OkStatus();
}

// Removes every container left in the pod, then the pod; the first error wins.
absl::Status TearDown(Target& target, PodState& pod) {
  absl::Status status = RemoveContainersAndPod(target, pod.containers, pod.pod_id);
  pod.containers.clear();
  return status;
}

}  // namespace

absl::Status ContainerPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the container scenario needs --container-image");
  }
  PodState& pod = States()[&target];
  RETURN_IF_ERROR(EnsureImage(target, options.container_image));
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  pod.log_dir.emplace(std::move(log_dir));
  pod.pod_processes_before = PodProcessPids(target);
  pod.config = BenchPodConfig("bench-ctr", pod.log_dir->path());
  ASSIGN_OR_RETURN(pod.pod_id, RunPod(target, pod.config));
  return absl::OkStatus();
}

absl::Status ContainerRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

absl::Status ContainerCleanup(const BenchOptions& options, Target& target) {
  auto it = States().find(&target);
  if (it == States().end()) return absl::OkStatus();
  PodState& pod = it->second;
  absl::Status status = MeasurePod(options, target, pod);
  if (status.ok()) status = MeasureList(options, target, pod);
  absl::Status down = TearDown(target, pod);
  States().erase(it);
  if (status.ok()) status = down;
  return ExplainUnimplemented(status, kName);
}

absl::Status ContainerAbort(const BenchOptions& /*options*/, Target& target) {
  auto it = States().find(&target);
  if (it == States().end()) return absl::OkStatus();
  absl::Status status = TearDown(target, it->second);
  States().erase(it);
  return status;
}

}  // namespace berth::bench
