// berth-bench-floor: the physical floor under the pod and container CRI calls, measured
// without a daemon: (a) a network namespace pinned by a bind mount plus the CNI chain of a
// conflist run by hand (ADD, then DEL and the pin's removal), (b) runc create+start and
// kill+delete of a busybox bundle, (c) runc exec true, (d) the scratch scenario's floor: pod
// namespaces + ADD then runc create+start in them, and back. Output in berth-bench's table
// and JSON.
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "tests/bench/floor_ops.h"
#include "tests/bench/report.h"

namespace berth::bench::floor {
namespace {

struct FloorFlags {
  int count = 20;
  int execs = 0;  // 0: count
  std::string conflist;
  std::vector<std::string> plugin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  std::string runc = "/usr/sbin/runc";
  std::string busybox = "/bin/busybox";
  std::string json_path;
  bool pods = true;
  bool containers = true;
  bool scratch = true;
};

// Times `step` under target.ops[scenario][op].
template <typename Step>
auto TimeStep(Target& target, const std::string& scenario, const std::string& op, Step step) {
  absl::Time start = absl::Now();
  auto result = step();
  if (result.ok()) target.ops[scenario][op].Add(absl::Now() - start);
  return result;
}

absl::Status PodOnce(const CniChain& chain, const std::string& dir, int i, Target& target) {
  std::string ns_dir = absl::StrCat(dir, "/pod", i);
  std::string netns = ns_dir + "/net";
  std::string id = absl::StrCat("floor-", ::getpid(), "-", i);
  absl::StatusOr<nlohmann::json> result = TimeStep(target, "pod-floor", "netns+ADD", [&] {
    absl::Status pinned = PinNamespaces(CLONE_NEWNET, ns_dir);
    if (!pinned.ok()) return absl::StatusOr<nlohmann::json>(pinned);
    return CniAdd(chain, id, netns);
  });
  if (!result.ok()) {
    CniDel(chain, id, netns, nullptr).IgnoreError();
    Unpin(netns);
    return result.status();
  }
  return TimeStep(target, "pod-floor", "DEL+netns-del", [&] {
    absl::Status deleted = CniDel(chain, id, netns, *result);
    Unpin(netns);
    return deleted;
  });
}

absl::Status ContainerRuns(const FloorFlags& flags, const std::string& dir, Target& target) {
  std::string ns_dir = dir + "/podns";
  RETURN_IF_ERROR(PinNamespaces(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, ns_dir));
  Runc runc{.binary = flags.runc,
            .root = dir + "/runc",
            .bundle = dir + "/bundle",
            .log = dir + "/runc.log"};
  absl::Status status = MakeBundle(runc, flags.busybox, ns_dir);
  for (int i = 0; i < flags.count && status.ok(); ++i) {
    std::string id = absl::StrCat("floor-", ::getpid(), "-c", i);
    absl::StatusOr<pid_t> pid = TimeStep(target, "container-floor", "runc create+start",
                                         [&] { return CreateAndStart(runc, id); });
    if (!pid.ok()) {
      status = pid.status();
      break;
    }
    int execs = flags.execs > 0 ? flags.execs : 1;
    for (int e = 0; e < execs && status.ok(); ++e) {
      status = TimeStep(target, "container-floor", "runc exec true",
                        [&] { return Exec(runc, id, {"true"}); });
    }
    absl::Status removed = TimeStep(target, "container-floor", "runc kill+delete",
                                    [&] { return KillAndDelete(runc, id, *pid); });
    if (status.ok()) status = removed;
    if (!removed.ok()) {
      RunCommand({.argv = {runc.binary, "--root", runc.root, "delete", "--force", id}})
          .IgnoreError();
    }
  }
  for (const char* type : {"net", "ipc", "uts"}) Unpin(absl::StrCat(ns_dir, "/", type));
  return status;
}

// Under the scratch scenario: a pod's namespaces (net, ipc, uts) pinned and the CNI chain's
// ADD, then a container started in them; back: the container killed and deleted, DEL and the
// pins removed. One bundle whose config.json names the pins' paths, re-pinned every time.
absl::Status ScratchOnce(const CniChain& chain, const Runc& runc, const std::string& ns_dir, int i,
                         Target& target) {
  std::string id = absl::StrCat("floor-", ::getpid(), "-s", i);
  std::string netns = ns_dir + "/net";
  auto unpin = [&] {
    for (const char* type : {"net", "ipc", "uts"}) Unpin(absl::StrCat(ns_dir, "/", type));
  };
  absl::Time begin = absl::Now();
  absl::StatusOr<nlohmann::json> result = TimeStep(target, "scratch-floor", "netns+ADD", [&] {
    absl::Status pinned = PinNamespaces(CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, ns_dir);
    if (!pinned.ok()) return absl::StatusOr<nlohmann::json>(pinned);
    return CniAdd(chain, id, netns);
  });
  if (!result.ok()) {
    CniDel(chain, id, netns, nullptr).IgnoreError();
    unpin();
    return result.status();
  }
  absl::StatusOr<pid_t> pid = TimeStep(target, "scratch-floor", "runc create+start",
                                       [&] { return CreateAndStart(runc, id); });
  if (!pid.ok()) {
    RunCommand({.argv = {runc.binary, "--root", runc.root, "delete", "--force", id}}).IgnoreError();
    CniDel(chain, id, netns, *result).IgnoreError();
    unpin();
    return pid.status();
  }
  absl::Time up = absl::Now();
  target.ops["scratch-floor"]["netns+ADD+runc create+start"].Add(up - begin);
  absl::Status killed = TimeStep(target, "scratch-floor", "runc kill+delete",
                                 [&] { return KillAndDelete(runc, id, *pid); });
  if (!killed.ok()) {
    RunCommand({.argv = {runc.binary, "--root", runc.root, "delete", "--force", id}}).IgnoreError();
  }
  absl::Status deleted = TimeStep(target, "scratch-floor", "DEL+netns-del", [&] {
    absl::Status del = CniDel(chain, id, netns, *result);
    unpin();
    return del;
  });
  RETURN_IF_ERROR(killed);
  RETURN_IF_ERROR(deleted);
  target.ops["scratch-floor"]["runc kill+delete+DEL+netns-del"].Add(absl::Now() - up);
  return absl::OkStatus();
}

absl::Status ScratchRuns(const FloorFlags& flags, const CniChain& chain, const std::string& dir,
                         Target& target) {
  std::string ns_dir = dir + "/scratchns";
  Runc runc{.binary = flags.runc,
            .root = dir + "/runc",
            .bundle = dir + "/scratch-bundle",
            .log = dir + "/scratch-runc.log"};
  RETURN_IF_ERROR(MakeBundle(runc, flags.busybox, ns_dir));
  for (int i = 0; i < flags.count; ++i) {
    RETURN_IF_ERROR(ScratchOnce(chain, runc, ns_dir, i, target));
  }
  return absl::OkStatus();
}

absl::Status Run(const FloorFlags& flags) {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return ErrnoStatus(errno, "PR_SET_CHILD_SUBREAPER");
  ASSIGN_OR_RETURN(TempDir dir, TempDir::Make("berth-bench-floor-"));
  Target target{.label = "floor"};
  absl::Status status;
  CniChain chain;
  if (flags.pods || flags.scratch) {
    if (flags.conflist.empty()) {
      return absl::InvalidArgumentError("the pod and scratch floors need --conflist");
    }
    ASSIGN_OR_RETURN(chain, LoadConflist(flags.conflist, flags.plugin_dirs));
  }
  if (flags.pods) {
    std::cerr << "berth-bench-floor: pod floor x" << flags.count << "\n";
    for (int i = 0; i < flags.count && status.ok(); ++i) {
      status = PodOnce(chain, dir.path(), i, target);
    }
  }
  if (flags.containers && status.ok()) {
    std::cerr << "berth-bench-floor: container floor x" << flags.count << "\n";
    status = ContainerRuns(flags, dir.path(), target);
  }
  if (flags.scratch && status.ok()) {
    std::cerr << "berth-bench-floor: scratch floor x" << flags.count << "\n";
    status = ScratchRuns(flags, chain, dir.path(), target);
  }
  RETURN_IF_ERROR(status);
  std::vector<Target> targets;
  targets.push_back(std::move(target));
  std::cout << ReportTable(targets);
  if (!flags.json_path.empty()) {
    BenchOptions options{.count = flags.count};
    RETURN_IF_ERROR(WriteFileAtomic(flags.json_path, ReportJson(options, targets).dump(2) + "\n"));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace berth::bench::floor

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  berth::bench::floor::FloorFlags flags;
  CLI::App app{
      "berth-bench-floor: netns + CNI chain, and runc create/start/exec/kill/delete, run "
      "directly: the floor under RunPodSandbox, the container RPCs and both together"};
  app.add_option("--count", flags.count, "iterations")->check(CLI::PositiveNumber);
  app.add_option("--execs-per-iteration", flags.execs, "runc exec calls per container");
  app.add_option("--conflist", flags.conflist, "the CNI conflist berthd uses");
  app.add_option("--plugin-dir", flags.plugin_dirs, "CNI plugin directories (repeatable)");
  app.add_option("--runc", flags.runc, "runc binary");
  app.add_option("--busybox", flags.busybox, "a static busybox for the bundle's rootfs");
  app.add_option("--pods", flags.pods, "measure the pod floor (true/false)");
  app.add_option("--containers", flags.containers, "measure the container floor (true/false)");
  app.add_option("--scratch", flags.scratch,
                 "measure the floor of a pod with a container from scratch (true/false)");
  app.add_option("--json", flags.json_path, "write the results here as JSON");
  CLI11_PARSE(app, argc, argv);
  absl::Status status = berth::bench::floor::Run(flags);
  if (!status.ok()) {
    std::cerr << "berth-bench-floor: " << status << "\n";
    return 1;
  }
  return 0;
}
