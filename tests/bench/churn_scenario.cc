// The churn scenario: pods coming and going under load, as on a node running short jobs.
// Each iteration (--churn-rounds of them) starts --churn-workers threads that, until
// --churn-seconds have passed, each create a pod with one started container of
// --container-image (RunPodSandbox, CreateContainer, StartContainer) and remove it
// (StopPodSandbox, RemovePodSandbox), over and over. Reported: every call's latency, the
// cycle's, and pods/s (cycles finished over the wall time until the last worker stopped).
// A failure or a signal stops every worker; whatever pods are up then are removed.
#include <unistd.h>

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

constexpr char kName[] = "churn";

struct ChurnState {
  std::optional<TempDir> log_dir;
};

std::map<const Target*, ChurnState>& States() {
  static auto* states = new std::map<const Target*, ChurnState>();
  return *states;
}

// What the workers of one round share.
struct Round {
  const BenchOptions& options;
  Target& target;
  const std::string& log_dir;
  absl::Time deadline;
  std::atomic<bool> stop{false};
  std::atomic<int> cycles{0};
  absl::Mutex mu;
  absl::Status error ABSL_GUARDED_BY(mu);
  std::map<std::string, OpSamples> ops ABSL_GUARDED_BY(mu);

  void Fail(absl::Status status) {
    stop = true;
    absl::MutexLock lock(&mu);
    if (error.ok()) error = std::move(status);
  }
};

// One pod up and down, timed into `ops`; `pod_id` holds the pod while it is up.
absl::Status Cycle(Round& round, std::map<std::string, OpSamples>& ops, std::string& pod_id) {
  ctl::CriClient& client = *round.target.client;
  const std::string& label = round.target.label;
  absl::Time begin = absl::Now();
  runtime::v1::RunPodSandboxRequest run_request;
  *run_request.mutable_config() = BenchPodConfig("bench-churn", round.log_dir);
  runtime::v1::RunPodSandboxResponse run;
  RETURN_IF_ERROR(TimedInto(ops["RunPodSandbox"], label, "RunPodSandbox", [&] {
    return client.runtime().RunPodSandbox(client.Context().get(), run_request, &run);
  }));
  pod_id = run.pod_sandbox_id();
  runtime::v1::CreateContainerRequest create_request =
      SleepContainerRequest(pod_id, run_request.config(), round.options.container_image, "c0");
  runtime::v1::CreateContainerResponse created;
  RETURN_IF_ERROR(TimedInto(ops["CreateContainer"], label, "CreateContainer", [&] {
    return client.runtime().CreateContainer(client.Context().get(), create_request, &created);
  }));
  runtime::v1::StartContainerRequest start_request;
  start_request.set_container_id(created.container_id());
  runtime::v1::StartContainerResponse started;
  RETURN_IF_ERROR(TimedInto(ops["StartContainer"], label, "StartContainer", [&] {
    return client.runtime().StartContainer(client.Context().get(), start_request, &started);
  }));
  absl::Time up = absl::Now();
  ops["Run+Create+StartContainer"].Add(up - begin);
  runtime::v1::StopPodSandboxRequest stop_request;
  stop_request.set_pod_sandbox_id(pod_id);
  runtime::v1::StopPodSandboxResponse stopped;
  RETURN_IF_ERROR(TimedInto(ops["StopPodSandbox"], label, "StopPodSandbox", [&] {
    return client.runtime().StopPodSandbox(client.Context().get(), stop_request, &stopped);
  }));
  runtime::v1::RemovePodSandboxRequest remove_request;
  remove_request.set_pod_sandbox_id(pod_id);
  runtime::v1::RemovePodSandboxResponse removed;
  RETURN_IF_ERROR(TimedInto(ops["RemovePodSandbox"], label, "RemovePodSandbox", [&] {
    return client.runtime().RemovePodSandbox(client.Context().get(), remove_request, &removed);
  }));
  pod_id.clear();
  absl::Time end = absl::Now();
  ops["Stop+RemovePodSandbox"].Add(end - up);
  ops["pod cycle"].Add(end - begin);
  return absl::OkStatus();
}

void Worker(Round& round) {
  std::map<std::string, OpSamples> ops;
  while (!round.stop.load() && absl::Now() < round.deadline) {
    if (Interrupted()) {
      round.Fail(CheckInterrupted());
      break;
    }
    std::string pod_id;
    absl::Status status = Cycle(round, ops, pod_id);
    if (!status.ok()) {
      if (!pod_id.empty()) StopAndRemovePod(round.target, pod_id).IgnoreError();
      round.Fail(std::move(status));
      break;
    }
    ++round.cycles;
  }
  absl::MutexLock lock(&round.mu);
  for (const auto& [op, samples] : ops) round.ops[op].Merge(samples);
}

absl::Status RunOnce(const BenchOptions& options, Target& target, ChurnState& state) {
  absl::Time start = absl::Now();
  Round round{.options = options,
              .target = target,
              .log_dir = state.log_dir->path(),
              .deadline = start + absl::Seconds(options.churn_seconds)};
  std::vector<std::thread> workers;
  for (int i = 0; i < options.churn_workers; ++i) {
    workers.emplace_back([&round] { Worker(round); });
  }
  for (std::thread& worker : workers) worker.join();
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  absl::MutexLock lock(&round.mu);
  RETURN_IF_ERROR(round.error);
  for (const auto& [op, samples] : round.ops) target.ops[kName][op].Merge(samples);
  auto& metrics = target.metrics[kName];
  metrics["pods_per_s"].push_back(round.cycles.load() / seconds);
  metrics["pods_per_round"].push_back(round.cycles.load());
  return absl::OkStatus();
}

}  // namespace

int ChurnIterations(const BenchOptions& options) { return options.churn_rounds; }

absl::Status ChurnPrepare(const BenchOptions& options, Target& target) {
  if (options.container_image.empty()) {
    return absl::InvalidArgumentError("the churn scenario needs --container-image");
  }
  if (options.churn_workers < 1 || options.churn_seconds < 1) {
    return absl::InvalidArgumentError("churn needs --churn-workers and --churn-seconds >= 1");
  }
  ChurnState& state = States()[&target];
  ASSIGN_OR_RETURN(TempDir log_dir, TempDir::Make("berth-bench-logs-"));
  state.log_dir.emplace(std::move(log_dir));
  return ExplainUnimplemented(EnsureImage(target, options.container_image), kName);
}

absl::Status ChurnRunOnce(const BenchOptions& options, Target& target) {
  return ExplainUnimplemented(RunOnce(options, target, States()[&target]), kName);
}

// The workers removed their own pods before they stopped; only the log directory is left.
absl::Status ChurnCleanup(const BenchOptions& /*options*/, Target& target) {
  States().erase(&target);
  return absl::OkStatus();
}

// A worker that failed removed the pod it knew of, but a call that timed out may have made one
// it never heard of: every pod of this process goes.
absl::Status ChurnAbort(const BenchOptions& /*options*/, Target& target) {
  absl::Status status = RemoveBenchPods(target, std::to_string(::getpid()));
  States().erase(&target);
  return status;
}

}  // namespace berth::bench
