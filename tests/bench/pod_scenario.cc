// The pod scenario: RunPodSandbox, PodSandboxStatus, StopPodSandbox and RemovePodSandbox of a
// pod-network pod with fresh metadata each iteration; then the per-pod memory of the pod processes
// with
// --memory-pods pods up.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "pod";

absl::Status RunOnce(Target& target) {
  ctl::CriClient& client = *target.client;
  runtime::v1::RunPodSandboxRequest run_request;
  *run_request.mutable_config() = BenchPodConfig("bench-pod", "");
  runtime::v1::RunPodSandboxResponse run;
  RETURN_IF_ERROR(Timed(target, kName, "RunPodSandbox", [&] {
    return client.runtime().RunPodSandbox(client.Context().get(), run_request, &run);
  }));
  const std::string& id = run.pod_sandbox_id();
  runtime::v1::PodSandboxStatusRequest status_request;
  status_request.set_pod_sandbox_id(id);
  runtime::v1::PodSandboxStatusResponse status;
  absl::Status got = Timed(target, kName, "PodSandboxStatus", [&] {
    return client.runtime().PodSandboxStatus(client.Context().get(), status_request, &status);
  });
  if (got.ok() && status.status().state() != runtime::v1::SANDBOX_READY) {
    got = absl::InternalError(absl::StrCat("PodSandboxStatus on ", target.label, ": pod ", id,
                                           " is not ready after RunPodSandbox"));
  }
  if (!got.ok()) {
    StopAndRemovePod(target, id).IgnoreError();
    return got;
  }
  absl::Time start = absl::Now();
  runtime::v1::StopPodSandboxRequest stop_request;
  stop_request.set_pod_sandbox_id(id);
  runtime::v1::StopPodSandboxResponse stopped;
  absl::Status stop = Timed(target, kName, "StopPodSandbox", [&] {
    return client.runtime().StopPodSandbox(client.Context().get(), stop_request, &stopped);
  });
  runtime::v1::RemovePodSandboxRequest remove_request;
  remove_request.set_pod_sandbox_id(id);
  runtime::v1::RemovePodSandboxResponse removed;
  absl::Status remove = Timed(target, kName, "RemovePodSandbox", [&] {
    return client.runtime().RemovePodSandbox(client.Context().get(), remove_request, &removed);
  });
  if (stop.ok() && remove.ok()) {
    target.ops[kName]["Stop+RemovePodSandbox"].Add(absl::Now() - start);
  }
  RETURN_IF_ERROR(stop);
  return remove;
}

// With `pods` pods up: the new pod processes' memory divided by `pods`.
absl::Status MeasurePerPod(const BenchOptions& options, Target& target) {
  std::set<pid_t> before = PodProcessPids(target);
  std::vector<std::string> pods;
  absl::Status status;
  for (int i = 0; i < options.memory_pods && status.ok(); ++i) {
    absl::StatusOr<std::string> id = RunPod(target, BenchPodConfig("bench-mem", ""));
    if (id.ok()) {
      pods.push_back(*id);
    } else {
      status = id.status();
    }
  }
  if (status.ok()) {
    absl::SleepFor(absl::Milliseconds(500));  // let the monitors finish starting
    AddMemoryPer(target, kName, "pod_process_per_pod", SumOf(NewPodProcessPids(target, before)),
                 options.memory_pods);
  }
  for (const std::string& id : pods) {
    absl::Status removed = StopAndRemovePod(target, id);
    if (status.ok()) status = removed;
  }
  return status;
}

}  // namespace

absl::Status PodRunOnce(const BenchOptions& /*options*/, Target& target) {
  return ExplainUnimplemented(RunOnce(target), kName);
}

absl::Status PodCleanup(const BenchOptions& options, Target& target) {
  if (options.memory_pods <= 0 || target.pod_process_names.empty()) return absl::OkStatus();
  return ExplainUnimplemented(MeasurePerPod(options, target), kName);
}

}  // namespace berth::bench
