// The density scenario: what a node pays in memory per pod. --density-pods pods, each with
// --density-containers-per-pod (1) containers of --container-image (sleep 3600) started, are
// brought up at once; then the
// daemon's RSS and PSS (and its RSS and private memory's growth over the daemon before the
// pods, per pod) and the --pod-process processes that appeared meanwhile (berth-mon;
// containerd-shim-runc-v2), summed and per pod (rss, pss, private = Private_Clean +
// Private_Dirty from smaps_rollup). The containers' own processes are the workload and are
// not counted. Runs once per endpoint.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/proc_memory.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "density";

struct DensityState {
  std::optional<TempDir> log_dir;
  std::vector<std::string> pods;
};

std::map<const Target*, DensityState>& States() { return ScenarioStates<DensityState>(); }

// The daemon's memory, or zeros when there is no daemon pid or it cannot be read.
Memory DaemonMemory(const Target& target) {
  if (target.daemon_pid <= 0) return {};
  absl::StatusOr<Memory> memory = ReadSmapsRollup(target.daemon_pid);
  return memory.ok() ? *memory : Memory{};
}

void RecordDaemon(const BenchOptions& options, Target& target, const Memory& before) {
  Memory now = DaemonMemory(target);
  if (now.processes == 0) return;
  auto& metrics = target.metrics[kName];
  double pods = options.density_pods;
  metrics["daemon_rss_mib"].push_back(static_cast<double>(now.rss_kib) / 1024.0);
  metrics["daemon_pss_mib"].push_back(static_cast<double>(now.pss_kib) / 1024.0);
  metrics["daemon_rss_growth_per_pod_kib"].push_back(
      static_cast<double>(now.rss_kib - before.rss_kib) / pods);
  // Private (not PSS, which moves as other processes that share the daemon's pages come
  // and go): what the daemon allocated for the pods.
  metrics["daemon_private_growth_per_pod_kib"].push_back(
      static_cast<double>(now.private_kib - before.private_kib) / pods);
}

absl::Status RunOnce(const BenchOptions& options, Target& target, DensityState& state) {
  Memory daemon_before = DaemonMemory(target);
  std::set<pid_t> before = PodProcessPids(target);
  for (int i = 0; i < options.density_pods; ++i) {
    RETURN_IF_ERROR(CheckInterrupted());
    RETURN_IF_ERROR(PodWithContainers(
        target, BenchPodConfig("bench-density", state.log_dir->path()), options.container_image,
        options.density_containers_per_pod, /*start=*/true, state.pods, nullptr));
  }
  absl::SleepFor(absl::Seconds(1));  // let the last monitors and shims settle
  RecordDaemon(options, target, daemon_before);
  target.metrics[kName]["containers_per_pod"].push_back(options.density_containers_per_pod);
  if (!target.pod_process_names.empty()) {
    Memory pod_processes = SumOf(NewPodProcessPids(target, before));
    AddMemoryPer(target, kName, "pod_processes_total", pod_processes, 1);
    AddMemoryPer(target, kName, "pod_processes_per_pod", pod_processes, options.density_pods);
  }
  absl::Status removed = RemovePods(target, state.pods);
  state.pods.clear();
  return removed;
}

}  // namespace

int DensityIterations(const BenchOptions& /*options*/) { return 1; }

absl::Status DensityPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the density scenario needs --container-image");
  }
  if (options.density_pods < 1) return absl::InvalidArgumentError("--density-pods must be >= 1");
  if (options.density_containers_per_pod < 1) {
    return absl::InvalidArgumentError("--density-containers-per-pod must be >= 1");
  }
  DensityState& state = States()[&target];
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  state.log_dir.emplace(std::move(log_dir));
  return ExplainUnimplemented(EnsureImage(target, options.container_image), kName);
}

absl::Status DensityRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

absl::Status DensityCleanup(const BenchOptions& /*options*/, Target& target) {
  return RemoveScenarioPods<DensityState>(target);
}

}  // namespace berth::bench
