#ifndef BERTH_TESTS_BENCH_POD_COMMON_H_
#define BERTH_TESTS_BENCH_POD_COMMON_H_

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/cri/api.pb.h"
#include "tests/bench/proc_memory.h"
#include "tests/bench/scenario.h"

namespace berth::bench {

// A pod config whose metadata (name, uid) is unique to this process and `name`; pod network
// (no namespace option set). `log_directory` may be empty.
runtime::v1::PodSandboxConfig BenchPodConfig(const std::string& name,
                                             const std::string& log_directory);

// RunPodSandbox, untimed; the pod's id.
absl::StatusOr<std::string> RunPod(Target& target, const runtime::v1::PodSandboxConfig& config);

// StopPodSandbox then RemovePodSandbox, untimed; both are tried.
absl::Status StopAndRemovePod(Target& target, const std::string& pod_id);

// A CreateContainerRequest for `name` in pod `pod_id` (made from `pod`) running `image` with
// `sleep 3600`, logging to <name>.log in the pod's log directory.
runtime::v1::CreateContainerRequest SleepContainerRequest(const std::string& pod_id,
                                                          const runtime::v1::PodSandboxConfig& pod,
                                                          const std::string& image,
                                                          const std::string& name);

// CreateContainer, untimed; the container's id.
absl::StatusOr<std::string> CreateContainer(Target& target,
                                            const runtime::v1::CreateContainerRequest& request);

// StartContainer, untimed.
absl::Status StartContainer(Target& target, const std::string& container_id);

// Brings up a pod from `config` with `containers` sleeping containers of `image` (started
// when `start`), untimed. The pod's id is appended to `pods` as soon as it exists (so the
// caller can remove it whatever happens next); the containers' ids to `container_ids` when
// that is not null.
absl::Status PodWithContainers(Target& target, const runtime::v1::PodSandboxConfig& config,
                               const std::string& image, int containers, bool start,
                               std::vector<std::string>& pods,
                               std::vector<std::string>* container_ids);

// Stops and removes every pod of `pods` (their containers go with them), untimed; every pod
// is tried and the first error wins.
absl::Status RemovePods(Target& target, const std::vector<std::string>& pods);

// StopContainer (timeout 0) then RemoveContainer, untimed; both are tried.
absl::Status StopAndRemoveContainer(Target& target, const std::string& container_id);

// The id of `image` on the endpoint, or "" when it has none (untimed).
absl::StatusOr<std::string> ImageIdOf(Target& target, const std::string& image);

// Pulls `image` unless the endpoint has it (untimed).
absl::Status EnsureImage(Target& target, const std::string& image);

// Stops and removes `containers`, then the pod (when `pod_id` is set); every step is tried and
// the first error wins (UNIMPLEMENTED container calls are ignored).
absl::Status RemoveContainersAndPod(Target& target, const std::vector<std::string>& containers,
                                    const std::string& pod_id);

// The pids of the target's pod processes (--pod-process) now.
std::set<pid_t> PodProcessPids(const Target& target);

// The pod processes that were not in `before`: what a test's own pods started, not those of
// other runs on the machine.
std::vector<pid_t> NewPodProcessPids(const Target& target, const std::set<pid_t>& before);

// Adds `memory` divided by `per` as metrics `<prefix>_{rss,pss,private}_kib` and the process
// count as `<prefix>_processes` to target.metrics[scenario].
void AddMemoryPer(Target& target, const std::string& scenario, const std::string& prefix,
                  const Memory& memory, int per);

// A failed step, with what was being done when the error is UNIMPLEMENTED (so the cause reads
// as "the endpoint lacks this RPC", not as a benchmark bug).
absl::Status ExplainUnimplemented(absl::Status status, const std::string& scenario);

// Per-target state of a scenario that brings pods up: `State` has a `pods` vector.
template <typename State>
std::map<const Target*, State>& ScenarioStates() {
  static auto* states = new std::map<const Target*, State>();
  return *states;
}

// Removes the pods a scenario's state lists for `target` and forgets the state.
template <typename State>
absl::Status RemoveScenarioPods(Target& target) {
  std::map<const Target*, State>& states = ScenarioStates<State>();
  auto it = states.find(&target);
  if (it == states.end()) return absl::OkStatus();
  absl::Status status = RemovePods(target, it->second.pods);
  states.erase(it);
  return status;
}

}  // namespace berth::bench

#endif  // BERTH_TESTS_BENCH_POD_COMMON_H_
