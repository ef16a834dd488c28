#include "tests/bench/scenario.h"

#include <signal.h>

#include <atomic>

namespace berth::bench {
namespace {

std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void OnInterrupt(int /*signal*/) { interrupted.store(true); }

}  // namespace

bool Interrupted() { return interrupted.load(); }

void InstallInterruptHandler() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  action.sa_flags = SA_RESETHAND;  // the second signal takes the default action
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

absl::Status CheckInterrupted() {
  if (Interrupted()) return absl::CancelledError("interrupted by a signal");
  return absl::OkStatus();
}

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> kScenarios = {
      {"info", "Version and Status", nullptr, InfoRunOnce, nullptr},
      {"image",
       "PullImage of --image (absent before each pull), ImageStatus, ListImages, RemoveImage; "
       "pull MB/s and the daemon's peak RSS during the pull",
       ImagePrepare, ImageRunOnce, nullptr},
      {"pod",
       "RunPodSandbox, PodSandboxStatus, StopPodSandbox, RemovePodSandbox (pod network, fresh "
       "metadata each time); then the pod processes' memory per pod with --memory-pods pods up",
       nullptr, PodRunOnce, PodCleanup},
      {"container",
       "in one pod: CreateContainer and StartContainer of --container-image (sleep 3600), "
       "ContainerStatus, ExecSync true, StopContainer (timeout 0), RemoveContainer; then the pod "
       "processes' "
       "memory with --containers-per-pod running and ListContainers with --list-containers",
       ContainerPrepare, ContainerRunOnce, ContainerCleanup, ContainerAbort},
      {"stream",
       "in one pod running httpd with a --forward-bytes file: ExecSync true and the same "
       "through Exec and its SPDY session; then the file through PortForward (SPDY) and "
       "straight from the pod IP (MB/s)",
       StreamPrepare, StreamRunOnce, StreamCleanup, StreamCleanup},
      {"scratch",
       "a pod and one container of --container-image (sleep 3600) from nothing to running "
       "(RunPodSandbox+CreateContainer+StartContainer, each part timed too) and back "
       "(StopPodSandbox+RemovePodSandbox, which take the container with them)",
       ScratchPrepare, ScratchRunOnce, ScratchCleanup, ScratchCleanup},
      {"list",
       "--list-pods pods of --list-containers-per-pod containers each up, then ListPodSandbox, "
       "ListContainers (no filter) and ContainerStatus of a random container, each timed "
       "--list-calls times (not --count)",
       ListPrepare, ListRunOnce, ListCleanup, ListCleanup, ListIterations},
      {"churn",
       "--churn-workers parallel workers each creating a pod with one started container and "
       "removing it, over and over for --churn-seconds (--churn-rounds times, not --count): "
       "pods/s and per-operation latency under load",
       ChurnPrepare, ChurnRunOnce, ChurnCleanup, ChurnAbort, ChurnIterations},
      {"density",
       "--density-pods pods each with one sleeping container up at once (once, not --count): "
       "the daemon's RSS/PSS and the new --pod-process processes' memory, summed and per pod",
       DensityPrepare, DensityRunOnce, DensityCleanup, DensityCleanup, DensityIterations},
  };
  return kScenarios;
}

const Scenario* FindScenario(const std::string& name) {
  for (const Scenario& scenario : Scenarios()) {
    if (name == scenario.name) return &scenario;
  }
  return nullptr;
}

}  // namespace berth::bench
