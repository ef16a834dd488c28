#include "tests/bench/pod_common.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::bench {

runtime::v1::PodSandboxConfig BenchPodConfig(const std::string& name,
                                             const std::string& log_directory) {
  static std::atomic<int> serial{0};
  std::string unique = absl::StrCat(name, "-", ::getpid(), "-", serial++);
  runtime::v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(unique);
  config.mutable_metadata()->set_namespace_("berth-bench");
  config.mutable_metadata()->set_uid(absl::StrCat("uid-", unique));
  config.mutable_metadata()->set_attempt(0);
  config.set_hostname("bench");
  if (!log_directory.empty()) config.set_log_directory(log_directory);
  (*config.mutable_labels())["berth-bench"] = std::to_string(::getpid());
  return config;
}

absl::StatusOr<std::string> RunPod(Target& target, const runtime::v1::PodSandboxConfig& config) {
  ctl::CriClient& client = *target.client;
  runtime::v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  runtime::v1::RunPodSandboxResponse response;
  grpc::Status status = client.runtime().RunPodSandbox(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("RunPodSandbox", status);
  return response.pod_sandbox_id();
}

absl::Status StopAndRemovePod(Target& target, const std::string& pod_id) {
  ctl::CriClient& client = *target.client;
  runtime::v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(pod_id);
  runtime::v1::StopPodSandboxResponse stopped;
  grpc::Status stop_status =
      client.runtime().StopPodSandbox(client.Context().get(), stop, &stopped);
  runtime::v1::RemovePodSandboxRequest remove;
  remove.set_pod_sandbox_id(pod_id);
  runtime::v1::RemovePodSandboxResponse removed;
  grpc::Status remove_status =
      client.runtime().RemovePodSandbox(client.Context().get(), remove, &removed);
  if (!stop_status.ok()) return ctl::CallError("StopPodSandbox", stop_status);
  if (!remove_status.ok()) return ctl::CallError("RemovePodSandbox", remove_status);
  return absl::OkStatus();
}

runtime::v1::CreateContainerRequest SleepContainerRequest(const std::string& pod_id,
                                                          const runtime::v1::PodSandboxConfig& pod,
                                                          const std::string& image,
                                                          const std::string& name) {
  runtime::v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(pod_id);
  *request.mutable_sandbox_config() = pod;
  runtime::v1::ContainerConfig& config = *request.mutable_config();
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(image);
  config.add_command("sleep");
  config.add_args("3600");
  if (!pod.log_directory().empty()) config.set_log_path(name + ".log");
  (*config.mutable_labels())["berth-bench"] = "1";
  return request;
}

absl::StatusOr<std::string> CreateContainer(Target& target,
                                            const runtime::v1::CreateContainerRequest& request) {
  ctl::CriClient& client = *target.client;
  runtime::v1::CreateContainerResponse response;
  grpc::Status status =
      client.runtime().CreateContainer(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("CreateContainer", status);
  return response.container_id();
}

absl::Status StartContainer(Target& target, const std::string& container_id) {
  ctl::CriClient& client = *target.client;
  runtime::v1::StartContainerRequest request;
  request.set_container_id(container_id);
  runtime::v1::StartContainerResponse response;
  grpc::Status status = client.runtime().StartContainer(client.Context().get(), request, &response);
  if (!status.ok()) return ctl::CallError("StartContainer", status);
  return absl::OkStatus();
}

absl::Status PodWithContainers(Target& target, const runtime::v1::PodSandboxConfig& config,
                               const std::string& image, int containers, bool start,
                               std::vector<std::string>& pods,
                               std::vector<std::string>* container_ids) {
  ASSIGN_OR_RETURN(std::string pod_id, RunPod(target, config));
  pods.push_back(pod_id);
  for (int i = 0; i < containers; ++i) {
    ASSIGN_OR_RETURN(std::string id,
                     CreateContainer(target, SleepContainerRequest(pod_id, config, image,
                                                                   absl::StrCat("c", i))));
    if (container_ids != nullptr) container_ids->push_back(id);
    if (start) RETURN_IF_ERROR(StartContainer(target, id));
  }
  return absl::OkStatus();
}

absl::Status RemovePods(Target& target, const std::vector<std::string>& pods) {
  absl::Status status;
  for (const std::string& id : pods) {
    absl::Status removed = StopAndRemovePod(target, id);
    if (status.ok()) status = removed;
  }
  return status;
}

absl::Status StopAndRemoveContainer(Target& target, const std::string& container_id) {
  ctl::CriClient& client = *target.client;
  runtime::v1::StopContainerRequest stop;
  stop.set_container_id(container_id);
  stop.set_timeout(0);
  runtime::v1::StopContainerResponse stopped;
  grpc::Status stop_status = client.runtime().StopContainer(client.Context().get(), stop, &stopped);
  runtime::v1::RemoveContainerRequest remove;
  remove.set_container_id(container_id);
  runtime::v1::RemoveContainerResponse removed;
  grpc::Status remove_status =
      client.runtime().RemoveContainer(client.Context().get(), remove, &removed);
  if (!stop_status.ok()) return ctl::CallError("StopContainer", stop_status);
  if (!remove_status.ok()) return ctl::CallError("RemoveContainer", remove_status);
  return absl::OkStatus();
}

std::set<pid_t> PodProcessPids(const Target& target) {
  std::set<pid_t> pids;
  for (const std::string& name : target.pod_process_names) {
    for (pid_t pid : FindProcesses(name)) {
      if (target.pod_process_dir.empty() || ProcessUsesDir(pid, target.pod_process_dir)) {
        pids.insert(pid);
      }
    }
  }
  return pids;
}

std::vector<pid_t> NewPodProcessPids(const Target& target, const std::set<pid_t>& before) {
  std::vector<pid_t> fresh;
  for (pid_t pid : PodProcessPids(target)) {
    if (before.count(pid) == 0) fresh.push_back(pid);
  }
  return fresh;
}

void AddMemoryPer(Target& target, const std::string& scenario, const std::string& prefix,
                  const Memory& memory, int per) {
  if (per <= 0) return;
  auto& metrics = target.metrics[scenario];
  double n = per;
  metrics[prefix + "_processes"].push_back(memory.processes / n);
  metrics[prefix + "_rss_kib"].push_back(static_cast<double>(memory.rss_kib) / n);
  metrics[prefix + "_pss_kib"].push_back(static_cast<double>(memory.pss_kib) / n);
  metrics[prefix + "_private_kib"].push_back(static_cast<double>(memory.private_kib) / n);
}

absl::Status ExplainUnimplemented(absl::Status status, const std::string& scenario) {
  if (!absl::IsUnimplemented(status)) return status;
  return absl::UnimplementedError(absl::StrCat("scenario ", scenario,
                                               ": the endpoint does not implement an RPC it "
                                               "needs: ",
                                               status.message()));
}

absl::StatusOr<std::string> ImageIdOf(Target& target, const std::string& image) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ImageStatusRequest status_request;
  status_request.mutable_image()->set_image(image);
  runtime::v1::ImageStatusResponse status;
  grpc::Status got = client.image().ImageStatus(client.Context().get(), status_request, &status);
  if (!got.ok()) return ctl::CallError("ImageStatus", got);
  return status.has_image() ? status.image().id() : std::string();
}

absl::Status EnsureImage(Target& target, const std::string& image) {
  ASSIGN_OR_RETURN(std::string id, ImageIdOf(target, image));
  if (!id.empty()) return absl::OkStatus();
  ctl::CriClient& client = *target.client;
  runtime::v1::PullImageRequest pull;
  pull.mutable_image()->set_image(image);
  runtime::v1::PullImageResponse pulled;
  grpc::Status pull_status = client.image().PullImage(client.Context().get(), pull, &pulled);
  if (!pull_status.ok()) return ctl::CallError("PullImage", pull_status);
  return absl::OkStatus();
}

absl::Status RemoveContainersAndPod(Target& target, const std::vector<std::string>& containers,
                                    const std::string& pod_id) {
  absl::Status status;
  for (const std::string& id : containers) {
    absl::Status removed = StopAndRemoveContainer(target, id);
    if (status.ok() && !absl::IsUnimplemented(removed)) status = removed;
  }
  if (!pod_id.empty()) {
    absl::Status removed = StopAndRemovePod(target, pod_id);
    if (status.ok()) status = removed;
  }
  return status;
}

absl::Status RemoveBenchPods(Target& target, const std::string& only_value, int* removed) {
  ctl::CriClient& client = *target.client;
  runtime::v1::ListPodSandboxRequest list;
  runtime::v1::ListPodSandboxResponse pods;
  grpc::Status listed = client.runtime().ListPodSandbox(client.Context().get(), list, &pods);
  if (!listed.ok()) return ctl::CallError("ListPodSandbox", listed);
  absl::Status status;
  for (const runtime::v1::PodSandbox& pod : pods.items()) {
    auto label = pod.labels().find("berth-bench");
    if (label == pod.labels().end()) continue;
    if (!only_value.empty() && label->second != only_value) continue;
    runtime::v1::ListContainersRequest request;
    request.mutable_filter()->set_pod_sandbox_id(pod.id());
    runtime::v1::ListContainersResponse containers;
    grpc::Status got =
        client.runtime().ListContainers(client.Context().get(), request, &containers);
    std::vector<std::string> ids;
    if (got.ok()) {
      for (const runtime::v1::Container& container : containers.containers()) {
        ids.push_back(container.id());
      }
    }
    absl::Status gone = RemoveContainersAndPod(target, ids, pod.id());
    if (gone.ok() && removed != nullptr) ++*removed;
    if (status.ok()) status = gone;
  }
  return status;
}

}  // namespace berth::bench
