// berth-bench: drives CRI endpoints identically, interleaved, and reports latency
// percentiles, throughput and memory as a table and as JSON. See tests/bench/README.md.
#include <signal.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "tests/bench/pod_common.h"
#include "tests/bench/proc_memory.h"
#include "tests/bench/report.h"
#include "tests/bench/scenario.h"

namespace berth::bench {
namespace {

// Flags that describe the endpoint given last before them.
constexpr const char* kPerEndpointFlags[] = {"--label", "--daemon-pid", "--daemon-name",
                                             "--pod-process", "--pod-process-dir"};

struct Flags {
  std::vector<std::string> endpoints;
  // Per endpoint: flag name -> value.
  std::vector<std::map<std::string, std::string>> per_endpoint;
  std::vector<std::string> scenarios;
  std::string json_path;
  int timeout_s = 600;
  bool cleanup = false;
};

// The value of a per-endpoint flag for endpoint `i`, or "".
std::string PerEndpoint(const Flags& flags, size_t i, const std::string& flag) {
  if (i >= flags.per_endpoint.size()) return "";
  auto it = flags.per_endpoint[i].find(flag);
  return it == flags.per_endpoint[i].end() ? "" : it->second;
}

// Takes the per-endpoint flags out of `args` (they belong to the --endpoint before them) and
// leaves the rest for CLI11.
absl::Status SplitPerEndpointFlags(std::vector<std::string>& args, Flags& flags) {
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--endpoint" || absl::StartsWith(arg, "--endpoint=")) {
      flags.per_endpoint.emplace_back();
    }
    bool taken = false;
    for (const char* flag : kPerEndpointFlags) {
      std::string value;
      if (arg == flag) {
        if (i + 1 >= args.size()) return absl::InvalidArgumentError(arg + " needs a value");
        value = args[++i];
      } else if (absl::StartsWith(arg, absl::StrCat(flag, "="))) {
        value = arg.substr(std::strlen(flag) + 1);
      } else {
        continue;
      }
      if (flags.per_endpoint.empty()) {
        return absl::InvalidArgumentError(arg + " must follow the --endpoint it describes");
      }
      flags.per_endpoint.back()[flag] = value;
      taken = true;
      break;
    }
    if (!taken) rest.push_back(arg);
  }
  args = std::move(rest);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Target>> MakeTargets(const Flags& flags, const BenchOptions& options) {
  std::vector<Target> targets;
  for (size_t i = 0; i < flags.endpoints.size(); ++i) {
    Target target;
    ASSIGN_OR_RETURN(target.endpoint, ctl::ResolveEndpoint(flags.endpoints[i]));
    target.label = PerEndpoint(flags, i, "--label");
    if (target.label.empty()) target.label = absl::StrCat("ep", i);
    if (std::string pid = PerEndpoint(flags, i, "--daemon-pid"); !pid.empty()) {
      if (!absl::SimpleAtoi(pid, &target.daemon_pid) || target.daemon_pid <= 0) {
        return absl::InvalidArgumentError("--daemon-pid " + pid + " is not a pid");
      }
    } else if (std::string name = PerEndpoint(flags, i, "--daemon-name"); !name.empty()) {
      std::vector<pid_t> pids = FindProcesses(name);
      if (pids.size() != 1) {
        return absl::FailedPreconditionError(absl::StrCat(
            "--daemon-name ", name, " matches ", pids.size(), " processes; give --daemon-pid"));
      }
      target.daemon_pid = pids[0];
    }
    if (std::string pod = PerEndpoint(flags, i, "--pod-process"); !pod.empty()) {
      target.pod_process_names.push_back(pod);
    }
    target.pod_process_dir = PerEndpoint(flags, i, "--pod-process-dir");
    ASSIGN_OR_RETURN(ctl::CriClient client,
                     ctl::CriClient::Connect(target.endpoint, options.timeout));
    target.client = std::make_unique<ctl::CriClient>(std::move(client));
    targets.push_back(std::move(target));
  }
  return targets;
}

// Runs prepare, the iterations and cleanup; after a failure in prepare or an iteration, the
// scenario's abort (if any) on every target that was prepared. Returns the first error.
absl::Status RunScenario(const Scenario& scenario, const BenchOptions& options,
                         std::vector<Target>& targets) {
  size_t prepared = 0;
  absl::Status status;
  for (; prepared < targets.size() && status.ok(); ++prepared) {
    if (scenario.prepare != nullptr) status = scenario.prepare(options, targets[prepared]);
  }
  int iterations = scenario.iterations != nullptr ? scenario.iterations(options) : options.count;
  for (int i = 0; i < iterations && status.ok(); ++i) {
    for (Target& target : targets) {
      status = CheckInterrupted();
      if (status.ok()) status = scenario.run_once(options, target);
      if (!status.ok()) break;
    }
  }
  if (status.ok()) {
    // Every target's cleanup runs (each removes what it made even when it fails).
    for (Target& target : targets) {
      if (scenario.cleanup == nullptr) continue;
      absl::Status cleaned = scenario.cleanup(options, target);
      if (status.ok()) status = cleaned;
    }
    return status;
  }
  for (size_t i = 0; i < prepared && scenario.abort != nullptr; ++i) {
    if (absl::Status aborted = scenario.abort(options, targets[i]); !aborted.ok()) {
      std::cerr << "berth-bench: cleaning up after scenario " << scenario.name << " on "
                << targets[i].label << ": " << aborted << "\n";
    }
  }
  return status;
}

// The daemon's RSS and PSS now as the "memory" metrics <prefix>rss_mib and <prefix>pss_mib.
void RecordDaemonMemory(Target& target, const std::string& prefix) {
  if (target.daemon_pid <= 0) return;
  if (absl::StatusOr<Memory> memory = ReadSmapsRollup(target.daemon_pid); memory.ok()) {
    auto& metrics = target.metrics["memory"];
    metrics[prefix + "rss_mib"].push_back(static_cast<double>(memory->rss_kib) / 1024.0);
    metrics[prefix + "pss_mib"].push_back(static_cast<double>(memory->pss_kib) / 1024.0);
  }
}

// The daemon's and the pod processes' memory now, as the "memory" scenario's metrics.
void RecordMemory(Target& target) {
  RecordDaemonMemory(target, "daemon_");
  auto& metrics = target.metrics["memory"];
  if (!target.pod_process_names.empty()) {
    std::set<pid_t> pids = PodProcessPids(target);
    Memory sum = SumOf(std::vector<pid_t>(pids.begin(), pids.end()));
    metrics["pod_processes"].push_back(sum.processes);
    metrics["pod_processes_rss_mib"].push_back(static_cast<double>(sum.rss_kib) / 1024.0);
    metrics["pod_processes_pss_mib"].push_back(static_cast<double>(sum.pss_kib) / 1024.0);
  }
  if (metrics.empty()) target.metrics.erase("memory");
}

// --cleanup: removes every berth-bench pod (and its containers) from every endpoint.
absl::Status CleanUp(const Flags& flags, const BenchOptions& options) {
  ASSIGN_OR_RETURN(std::vector<Target> targets, MakeTargets(flags, options));
  absl::Status status;
  for (Target& target : targets) {
    // A call the killed run left in flight may still hold a container (containerd refuses to
    // remove one "in starting state" until its start ends): try again for a while.
    absl::Status removed;
    for (int attempt = 0; attempt < 15; ++attempt) {
      if (attempt > 0) absl::SleepFor(absl::Seconds(2));
      int count = 0;
      removed = RemoveBenchPods(target, "", &count);
      if (count > 0) {
        std::cerr << "berth-bench: removed " << count << " berth-bench pod(s) from "
                  << target.endpoint << "\n";
      }
      if (removed.ok()) break;
    }
    if (!removed.ok()) {
      std::cerr << "berth-bench: cleaning up " << target.endpoint << ": " << removed << "\n";
      if (status.ok()) status = removed;
    }
  }
  return status;
}

absl::Status Run(const Flags& flags, const BenchOptions& options) {
  if (flags.cleanup) return CleanUp(flags, options);
  if (flags.scenarios.empty()) return absl::InvalidArgumentError("give --scenario or --cleanup");
  std::vector<const Scenario*> scenarios;
  for (const std::string& name : flags.scenarios) {
    const Scenario* scenario = FindScenario(name);
    if (scenario == nullptr) return absl::InvalidArgumentError("unknown scenario " + name);
    scenarios.push_back(scenario);
  }
  ASSIGN_OR_RETURN(std::vector<Target> targets, MakeTargets(flags, options));
  std::map<std::string, std::string> skipped;
  for (const Scenario* scenario : scenarios) {
    std::cerr << "berth-bench: scenario " << scenario->name << " x"
              << (scenario->iterations != nullptr ? scenario->iterations(options) : options.count)
              << "\n";
    absl::Status status = RunScenario(*scenario, options, targets);
    if (absl::IsUnimplemented(status) && options.skip_unimplemented) {
      std::cerr << "berth-bench: skipping scenario " << scenario->name << ": " << status << "\n";
      skipped[scenario->name] = std::string(status.message());
      for (Target& target : targets) {
        target.ops.erase(scenario->name);
        target.metrics.erase(scenario->name);
      }
      continue;
    }
    RETURN_IF_ERROR(status);
  }
  for (Target& target : targets) RecordMemory(target);
  if (options.idle_seconds > 0) {
    // Idle: what a daemon keeps once its periodic housekeeping (berthd trims malloc every 5 s,
    // its worker threads end after 10 s without work) has run.
    std::cerr << "berth-bench: idle for " << options.idle_seconds << " s\n";
    absl::SleepFor(absl::Seconds(options.idle_seconds));
    for (Target& target : targets) RecordDaemonMemory(target, "daemon_idle_");
  }
  std::cout << ReportTable(targets);
  for (const auto& [name, why] : skipped)
    std::cout << "scenario " << name << " skipped: " << why << "\n";
  if (!flags.json_path.empty()) {
    std::ofstream out(flags.json_path);
    nlohmann::json json = ReportJson(options, targets);
    for (const auto& [name, why] : skipped) json["skipped"][name] = why;
    out << json.dump(2) << "\n";
    if (!out) return absl::InternalError("cannot write " + flags.json_path);
  }
  for (Target& target : targets) target.client.reset();  // close channels before daemons stop
  return absl::OkStatus();
}

// The flags of the run: endpoints (and, through `unused`, the per-endpoint flags, which
// SplitPerEndpointFlags takes out before CLI11 parses; they are declared for --help), scenarios,
// timeout and output.
void AddRunOptions(CLI::App& app, Flags& flags, BenchOptions& options, std::string& unused) {
  app.add_option("--endpoint", flags.endpoints, "CRI endpoint unix:///path (repeatable)")
      ->required();
  app.add_option("--label", unused, "name of the --endpoint before it in reports");
  app.add_option("--daemon-pid", unused, "pid of the --endpoint before it's daemon");
  app.add_option("--daemon-name", unused,
                 "process name of the --endpoint before it's daemon (when no --daemon-pid)");
  app.add_option("--pod-process", unused,
                 "process name of the --endpoint before it's per-pod processes (berth-mon, "
                 "containerd-shim-runc-v2), summed");
  app.add_option("--pod-process-dir", unused,
                 "count only the --endpoint before it's pod processes whose working directory "
                 "or an open file is under this directory (its runroot or state dir)");
  app.add_option("--scenario", flags.scenarios, "scenario to run (repeatable)");
  app.add_flag("--cleanup", flags.cleanup,
               "run no scenario: remove every pod labelled berth-bench (from any run) and its "
               "containers from every --endpoint");
  app.add_flag("--skip-unimplemented", options.skip_unimplemented,
               "drop a scenario that an endpoint answers with UNIMPLEMENTED instead of failing");
  app.add_option("--timeout", flags.timeout_s, "per-call timeout in seconds");
  app.add_option("--json", flags.json_path, "write the results here as JSON");
}

// The flags that tune the scenarios.
void AddScenarioOptions(CLI::App& app, BenchOptions& options) {
  app.add_option("--count", options.count, "iterations per scenario and endpoint")
      ->check(CLI::PositiveNumber);
  app.add_option("--image", options.image, "image reference for the image scenario");
  app.add_option("--image-compressed-bytes", options.image_compressed_bytes,
                 "the image's blob bytes as stored in the registry, for MiB/s");
  app.add_option("--container-image", options.container_image,
                 "image of the scenarios with containers (pulled when absent)");
  app.add_option("--memory-pods", options.memory_pods,
                 "pod: pods up at once for the per-pod memory (0: skip)");
  app.add_option("--execs-per-iteration", options.execs_per_iteration,
                 "container: ExecSync calls per iteration");
  app.add_option("--containers-per-pod", options.containers_per_pod,
                 "container: running containers for the pod-process memory (0: skip)");
  app.add_option("--list-containers", options.list_containers,
                 "container: containers in the pod for ListContainers (0: skip)");
  app.add_option("--list-calls", options.list_calls,
                 "container: ListContainers calls; list: calls of each listing RPC");
  app.add_option("--forward-bytes", options.forward_bytes,
                 "stream: bytes downloaded through port forwarding per iteration")
      ->check(CLI::PositiveNumber);
  app.add_option("--list-start", options.list_start,
                 "container, list: start the containers listed (true) or only create them");
  app.add_option("--list-pods", options.list_pods, "list: pods up while listing");
  app.add_option("--list-containers-per-pod", options.list_containers_per_pod,
                 "list: containers in each of the --list-pods pods");
  app.add_option("--idle-seconds", options.idle_seconds,
                 "after the runs, wait this long and read the daemon's memory again (its idle "
                 "memory; 0: no)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--churn-workers", options.churn_workers, "churn: parallel workers")
      ->check(CLI::PositiveNumber);
  app.add_option("--churn-seconds", options.churn_seconds, "churn: seconds per round")
      ->check(CLI::PositiveNumber);
  app.add_option("--churn-rounds", options.churn_rounds, "churn: rounds per endpoint, interleaved")
      ->check(CLI::PositiveNumber);
  app.add_option("--density-pods", options.density_pods,
                 "density: pods (one sleeping container each) up at once")
      ->check(CLI::PositiveNumber);
  app.add_option("--density-containers-per-pod", options.density_containers_per_pod,
                 "density: sleeping containers in each of the --density-pods pods")
      ->check(CLI::PositiveNumber);
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  berth::bench::InstallInterruptHandler();
  berth::bench::Flags flags;
  berth::bench::BenchOptions options;
  std::vector<std::string> names;
  for (const auto& scenario : berth::bench::Scenarios()) {
    names.push_back(absl::StrCat(scenario.name, ": ", scenario.help));
  }
  CLI::App app{
      "berth-bench: CRI latency, throughput and memory, endpoints interleaved.\n"
      "Scenarios:\n  " +
      absl::StrJoin(names, "\n  ")};
  std::string unused;
  berth::bench::AddRunOptions(app, flags, options, unused);
  berth::bench::AddScenarioOptions(app, options);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (absl::Status split = berth::bench::SplitPerEndpointFlags(args, flags); !split.ok()) {
    std::cerr << "berth-bench: " << split.message() << "\n";
    return 2;
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
  try {
    app.parse(args);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  options.timeout = absl::Seconds(flags.timeout_s);
  absl::Status status = berth::bench::Run(flags, options);
  if (!status.ok()) {
    std::cerr << "berth-bench: " << status << "\n";
    return 1;
  }
  return 0;
}
