#ifndef BERTH_TESTS_BENCH_SCENARIO_H_
#define BERTH_TESTS_BENCH_SCENARIO_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ctl/client.h"
#include "tests/bench/stats.h"

namespace berth::bench {

// What every scenario may read from the command line.
struct BenchOptions {
  int count = 5;
  std::string image;
  // The compressed bytes of --image (its layer, config and manifest blobs); 0 when unknown.
  int64_t image_compressed_bytes = 0;
  absl::Duration timeout = absl::Minutes(10);
  // pod: pods up at once for the per-pod memory of the pod processes (0: not measured).
  int memory_pods = 5;
  // container: the image (pulled in prepare when absent), ExecSync calls per iteration,
  // containers running for the pod-process memory, containers in the pod for ListContainers
  // (0: not measured), ListContainers calls, and whether those containers are started.
  std::string container_image;
  int execs_per_iteration = 1;
  int containers_per_pod = 5;
  int list_containers = 0;
  int list_calls = 200;
  bool list_start = true;
  // stream: the size of the file downloaded through port forwarding.
  int64_t forward_bytes = int64_t{1} << 30;
  // list: pods up, each with this many containers (started unless list_start is false);
  // ListPodSandbox, ListContainers and ContainerStatus are each timed list_calls times.
  int list_pods = 10;
  int list_containers_per_pod = 10;
  // churn: parallel workers, each creating and removing pods with one started container for
  // churn_seconds; churn_rounds such phases per endpoint, interleaved.
  int churn_workers = 2;
  int churn_seconds = 20;
  int churn_rounds = 1;
  // density: pods up at once, each with this many sleeping containers.
  int density_pods = 20;
  int density_containers_per_pod = 1;
  // After the runs: seconds to wait before the daemon's memory is read a second time, as its
  // idle memory (daemon_idle_rss_mib, daemon_idle_pss_mib; 0: not read).
  int idle_seconds = 0;
  // A scenario that fails with UNIMPLEMENTED is dropped from the report instead of failing the
  // run.
  bool skip_unimplemented = false;
};

// One CRI endpoint under test, and what a scenario measured on it.
struct Target {
  std::string label;
  std::string endpoint;
  pid_t daemon_pid = -1;  // -1: no daemon memory
  std::vector<std::string> pod_process_names;
  // When set, a pod process counts only when it uses this directory (ProcessUsesDir): the
  // daemon's runroot or state dir, so that pods of other daemons running the same binaries
  // are not counted.
  std::string pod_process_dir;
  std::unique_ptr<ctl::CriClient> client;

  // Per scenario: latency samples per operation, and named values (MB/s, KiB...), each
  // sampled once per iteration.
  std::map<std::string, std::map<std::string, OpSamples>> ops;
  std::map<std::string, std::map<std::string, std::vector<double>>> metrics;
};

// A scenario runs `count` iterations on every target, interleaved: iteration i runs on
// target 0, then 1, ..., before iteration i+1 starts. `prepare` and `cleanup` run once per
// target around all iterations (either may be null). When prepare or an iteration fails,
// `abort` (when set) runs instead of `cleanup` on every target prepared, to remove what the
// scenario left on the endpoint.
struct Scenario {
  const char* name;
  const char* help;
  absl::Status (*prepare)(const BenchOptions& options, Target& target);
  absl::Status (*run_once)(const BenchOptions& options, Target& target);
  absl::Status (*cleanup)(const BenchOptions& options, Target& target);
  absl::Status (*abort)(const BenchOptions& options, Target& target) = nullptr;
  // The number of iterations; null: options.count.
  int (*iterations)(const BenchOptions& options) = nullptr;
};

// Every scenario, in the order they are listed by --help.
const std::vector<Scenario>& Scenarios();
// The scenario named `name`, or nullptr.
const Scenario* FindScenario(const std::string& name);

// True once berth-bench got SIGINT or SIGTERM (see InstallInterruptHandler): scenarios stop
// starting new work, and the run aborts, removing what it made.
bool Interrupted();
// The first SIGINT or SIGTERM sets Interrupted(); a second one ends the process.
void InstallInterruptHandler();
// CancelledError when Interrupted(), else OK.
absl::Status CheckInterrupted();

// Runs `call` (a CRI unary call returning grpc::Status) and adds its duration to `samples`; a
// failed call is an error naming the op and the endpoint `label`.
template <typename Call>
absl::Status TimedInto(OpSamples& samples, const std::string& label, const std::string& op,
                       Call call) {
  absl::Time start = absl::Now();
  grpc::Status status = call();
  absl::Duration took = absl::Now() - start;
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        op + " on " + label + ": " + status.error_message());
  }
  samples.Add(took);
  return absl::OkStatus();
}

// TimedInto target.ops[scenario][op].
template <typename Call>
absl::Status Timed(Target& target, const std::string& scenario, const std::string& op, Call call) {
  return TimedInto(target.ops[scenario][op], target.label, op, call);
}

// Scenario entry points, by file.
absl::Status InfoRunOnce(const BenchOptions& options, Target& target);
absl::Status ImagePrepare(const BenchOptions& options, Target& target);
absl::Status ImageRunOnce(const BenchOptions& options, Target& target);
absl::Status PodRunOnce(const BenchOptions& options, Target& target);
absl::Status PodCleanup(const BenchOptions& options, Target& target);
absl::Status ContainerPrepare(const BenchOptions& options, Target& target);
absl::Status ContainerRunOnce(const BenchOptions& options, Target& target);
absl::Status ContainerCleanup(const BenchOptions& options, Target& target);
absl::Status ContainerAbort(const BenchOptions& options, Target& target);
absl::Status StreamPrepare(const BenchOptions& options, Target& target);
absl::Status StreamRunOnce(const BenchOptions& options, Target& target);
absl::Status StreamCleanup(const BenchOptions& options, Target& target);
absl::Status ScratchPrepare(const BenchOptions& options, Target& target);
absl::Status ScratchRunOnce(const BenchOptions& options, Target& target);
absl::Status ScratchCleanup(const BenchOptions& options, Target& target);
absl::Status ListPrepare(const BenchOptions& options, Target& target);
absl::Status ListRunOnce(const BenchOptions& options, Target& target);
absl::Status ListCleanup(const BenchOptions& options, Target& target);
int ListIterations(const BenchOptions& options);
absl::Status ChurnPrepare(const BenchOptions& options, Target& target);
absl::Status ChurnRunOnce(const BenchOptions& options, Target& target);
absl::Status ChurnCleanup(const BenchOptions& options, Target& target);
absl::Status ChurnAbort(const BenchOptions& options, Target& target);
int ChurnIterations(const BenchOptions& options);
absl::Status DensityPrepare(const BenchOptions& options, Target& target);
absl::Status DensityRunOnce(const BenchOptions& options, Target& target);
absl::Status DensityCleanup(const BenchOptions& options, Target& target);
int DensityIterations(const BenchOptions& options);

// Removes every pod labelled berth-bench (with the value `only_value` when that is set: one
// berth-bench process's pid) and its containers from the target: what an interrupted or
// failed run may have left. Counts the pods removed in `removed` when that is not null.
absl::Status RemoveBenchPods(Target& target, const std::string& only_value = "",
                             int* removed = nullptr);

}  // namespace berth::bench

#endif  // BERTH_TESTS_BENCH_SCENARIO_H_
