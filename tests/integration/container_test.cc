// Containers through berthd: CreateContainer, StartContainer, StopContainer, RemoveContainer,
// ContainerStatus, ListContainers, ReopenContainerLog, ExecSync, UpdateContainerResources,
// ContainerStats and ListContainerStats, with real runc, berth-mon and a busybox image pulled
// from a local registry. Each test runs its own berthd and ends with the fixture's leftover
// check (TestDaemon::Stop).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "conmon/cri_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/cri_fixture.h"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"

namespace berth::testing {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ContainerTest : public CriFixture {};

// The verbose info's "pid", or 0.
int InfoPid(const cri::ContainerStatusResponse& response) {
  auto it = response.info().find("info");
  if (it == response.info().end()) return 0;
  nlohmann::json info = nlohmann::json::parse(it->second, nullptr, false);
  if (info.is_discarded() || !info.contains("pid") || !info["pid"].is_number()) return 0;
  return info["pid"].get<int>();
}

TEST_F(ContainerTest, Lifecycle) {
  std::string pod = RunPod("life");
  cri::ContainerConfig config = Config("sleeper", {"sleep", "3600"});
  (*config.mutable_labels())["tier"] = "backend";
  (*config.mutable_annotations())["note"] = "hello";
  cri::Mount* mount = config.add_mounts();
  mount->set_container_path("/data");
  mount->set_host_path(daemon_->dir());
  mount->set_readonly(true);
  absl::Time before = absl::Now();
  std::string id;
  grpc::Status status = Create(pod, config, &id);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  ASSERT_EQ(id.size(), 64u);
  cri::ContainerStatus created = MustStatus(id);
  EXPECT_EQ(created.state(), cri::CONTAINER_CREATED);
  EXPECT_GE(created.created_at(), absl::ToUnixNanos(before));
  EXPECT_EQ(created.started_at(), 0);

  ASSERT_TRUE(Start(id).ok()) << daemon_->Log();
  cri::ContainerStatusResponse verbose;
  ASSERT_TRUE(Status(id, &verbose, true).ok());
  const cri::ContainerStatus& running = verbose.status();
  EXPECT_EQ(running.state(), cri::CONTAINER_RUNNING);
  int pid = InfoPid(verbose);
  EXPECT_GT(pid, 0) << "verbose info carries the pid";
  if (pid > 0) {
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_EQ(running.id(), id);
  EXPECT_EQ(running.metadata().name(), "sleeper");
  EXPECT_EQ(running.image().image(), images().busybox_name);
  EXPECT_EQ(running.image_ref(), images().busybox.image_id());
  EXPECT_EQ(running.image_id(), images().busybox.image_id());
  EXPECT_EQ(running.labels().at("tier"), "backend");
  EXPECT_EQ(running.annotations().at("note"), "hello");
  EXPECT_EQ(running.log_path(), PodConfig("life").log_directory() + "/sleeper.log");
  ASSERT_EQ(running.mounts_size(), 1);
  EXPECT_EQ(running.mounts(0).container_path(), "/data");
  EXPECT_TRUE(running.mounts(0).readonly());
  EXPECT_GE(running.started_at(), running.created_at());
  EXPECT_EQ(running.finished_at(), 0);
  EXPECT_EQ(running.user().linux().uid(), 0);
  EXPECT_THAT(Sh(id, "ls /data"), HasSubstr("root")) << "the bind mount is there";

  cri::ListContainersRequest list;
  (*list.mutable_filter()->mutable_label_selector())["tier"] = "backend";
  cri::ListContainersResponse listed;
  ASSERT_TRUE(client().runtime().ListContainers(client().Context().get(), list, &listed).ok());
  ASSERT_EQ(listed.containers_size(), 1);
  EXPECT_EQ(listed.containers(0).pod_sandbox_id(), pod);
  EXPECT_EQ(listed.containers(0).state(), cri::CONTAINER_RUNNING);
  list.mutable_filter()->mutable_state()->set_state(cri::CONTAINER_EXITED);
  ASSERT_TRUE(client().runtime().ListContainers(client().Context().get(), list, &listed).ok());
  EXPECT_EQ(listed.containers_size(), 0);

  // sleep as pid 1 ignores SIGTERM: SIGKILL after the grace period.
  absl::Time stop_at = absl::Now();
  ASSERT_TRUE(StopContainer(id, 1).ok());
  EXPECT_LT(absl::Now() - stop_at, absl::Seconds(6));
  cri::ContainerStatus exited = MustStatus(id);
  EXPECT_EQ(exited.state(), cri::CONTAINER_EXITED);
  EXPECT_THAT(exited.exit_code(), AnyOf(137, 143));
  EXPECT_EQ(exited.reason(), "Error");
  EXPECT_GE(exited.finished_at(), exited.started_at());
  if (pid > 0) {
    EXPECT_NE(::kill(pid, 0), 0) << "the process is gone";
  }
  EXPECT_TRUE(StopContainer(id, 1).ok()) << "stop is idempotent";

  ASSERT_TRUE(RemoveContainer(id).ok());
  cri::ContainerStatusResponse gone;
  EXPECT_EQ(Status(id, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(StopContainer(id, 1).ok()) << "stop of a removed container succeeds";
  EXPECT_TRUE(RemoveContainer(id).ok()) << "remove is idempotent";
  EXPECT_EQ(CountEntries(daemon_->root() + "/containers"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/containers"), 0);
}

// ListContainers answers from entries cached per container (server/container_list.h): each
// state change shows in the next list, a removed container vanishes, and the filters apply.
TEST_F(ContainerTest, ListFollowsStatesRemovalsAndFilters) {
  std::string pod = RunPod("list-a");
  std::string other_pod = RunPod("list-b");
  cri::ContainerConfig first_config = Config("first", {"sleep", "3600"});
  (*first_config.mutable_labels())["tier"] = "backend";
  (*first_config.mutable_annotations())["note"] = "one";
  std::string first;
  ASSERT_TRUE(Create(pod, first_config, &first).ok()) << daemon_->Log();
  cri::ContainerConfig second_config = Config("second", {"sleep", "3600"});
  (*second_config.mutable_labels())["tier"] = "frontend";
  std::string second;
  ASSERT_TRUE(Create(other_pod, second_config, &second).ok()) << daemon_->Log();

  auto list = [&](const cri::ContainerFilter& filter) {
    cri::ListContainersRequest request;
    *request.mutable_filter() = filter;
    cri::ListContainersResponse response;
    grpc::Status status =
        client().runtime().ListContainers(client().Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, cri::Container> by_id;
    for (const cri::Container& container : response.containers()) {
      by_id[container.id()] = container;
    }
    EXPECT_EQ(by_id.size(), static_cast<size_t>(response.containers_size()));
    return by_id;
  };
  cri::ContainerFilter all;
  std::map<std::string, cri::Container> listed = list(all);
  ASSERT_EQ(listed.size(), 2u);
  const cri::Container& shown = listed.at(first);
  EXPECT_EQ(shown.pod_sandbox_id(), pod);
  EXPECT_EQ(shown.metadata().name(), "first");
  EXPECT_EQ(shown.image().image(), images().busybox_name);
  EXPECT_EQ(shown.image_ref(), images().busybox.image_id());
  EXPECT_EQ(shown.image_id(), images().busybox.image_id());
  EXPECT_EQ(shown.state(), cri::CONTAINER_CREATED);
  EXPECT_EQ(shown.created_at(), MustStatus(first).created_at());
  EXPECT_EQ(shown.labels().at("tier"), "backend");
  EXPECT_EQ(shown.annotations().at("note"), "one");

  ASSERT_TRUE(Start(first).ok()) << daemon_->Log();
  EXPECT_EQ(list(all).at(first).state(), cri::CONTAINER_RUNNING);
  ASSERT_TRUE(StopContainer(first, 0).ok());
  EXPECT_EQ(list(all).at(first).state(), cri::CONTAINER_EXITED);

  cri::ContainerFilter by_id;
  by_id.set_id(second.substr(0, 12));
  EXPECT_THAT(list(by_id), ::testing::ElementsAre(::testing::Key(second)));
  cri::ContainerFilter by_pod;
  by_pod.set_pod_sandbox_id(pod.substr(0, 12));
  EXPECT_THAT(list(by_pod), ::testing::ElementsAre(::testing::Key(first)));
  cri::ContainerFilter by_state;
  by_state.mutable_state()->set_state(cri::CONTAINER_CREATED);
  EXPECT_THAT(list(by_state), ::testing::ElementsAre(::testing::Key(second)));
  cri::ContainerFilter by_label;
  (*by_label.mutable_label_selector())["tier"] = "backend";
  EXPECT_THAT(list(by_label), ::testing::ElementsAre(::testing::Key(first)));
  (*by_label.mutable_label_selector())["tier"] = "nobody";
  EXPECT_THAT(list(by_label), IsEmpty());

  ASSERT_TRUE(RemoveContainer(first).ok());
  EXPECT_THAT(list(all), ::testing::ElementsAre(::testing::Key(second)));
  ASSERT_TRUE(RemoveContainer(second).ok());
  EXPECT_THAT(list(all), IsEmpty());
}

// The unfiltered list is answered from one cached response (server/container_list.h): a
// container created, started, exiting on its own (no RPC: the monitor's event) or removed after
// that response was cached shows in the very next list, never a call later.
TEST_F(ContainerTest, CachedListFollowsEveryChangeAtOnce) {
  std::string pod = RunPod("list-cache");
  auto list = [&] {
    cri::ListContainersResponse response;
    grpc::Status status = client().runtime().ListContainers(
        client().Context().get(), cri::ListContainersRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, cri::ContainerState> states;
    for (const cri::Container& container : response.containers()) {
      states[container.id()] = container.state();
    }
    return states;
  };
  EXPECT_THAT(list(), IsEmpty());
  EXPECT_THAT(list(), IsEmpty()) << "the cached empty list";

  std::string sleeper;
  ASSERT_TRUE(Create(pod, Config("sleeper", {"sleep", "3600"}), &sleeper).ok()) << daemon_->Log();
  EXPECT_THAT(list(), ::testing::ElementsAre(::testing::Pair(sleeper, cri::CONTAINER_CREATED)));
  std::string exiter;
  ASSERT_TRUE(Create(pod, Config("exiter", {"sh", "-c", "sleep 1; exit 3"}), &exiter).ok())
      << daemon_->Log();
  std::map<std::string, cri::ContainerState> listed = list();
  EXPECT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[exiter], cri::CONTAINER_CREATED);

  ASSERT_TRUE(Start(sleeper).ok()) << daemon_->Log();
  EXPECT_EQ(list()[sleeper], cri::CONTAINER_RUNNING);
  ASSERT_TRUE(Start(exiter).ok()) << daemon_->Log();
  EXPECT_EQ(list()[exiter], cri::CONTAINER_RUNNING) << "cached while it runs";
  // It exits by itself a second later: the list must say so as soon as the status does.
  EXPECT_EQ(WaitFor(exiter, cri::CONTAINER_EXITED).exit_code(), 3);
  listed = list();
  EXPECT_EQ(listed[exiter], cri::CONTAINER_EXITED);
  EXPECT_EQ(listed[sleeper], cri::CONTAINER_RUNNING);

  ASSERT_TRUE(RemoveContainer(exiter).ok());
  EXPECT_THAT(list(), ::testing::ElementsAre(::testing::Pair(sleeper, cri::CONTAINER_RUNNING)));
  ASSERT_TRUE(StopContainer(sleeper, 0).ok());
  EXPECT_EQ(list()[sleeper], cri::CONTAINER_EXITED);
  ASSERT_TRUE(RemoveContainer(sleeper).ok());
  EXPECT_THAT(list(), IsEmpty());
}

// CRI command replaces the image's Entrypoint (and drops its Cmd); args alone replace Cmd.
TEST_F(ContainerTest, CommandAndArgsWithImageEntrypoint) {
  std::string pod = RunPod("cmd");
  struct Case {
    std::string name;
    std::vector<std::string> command, args;
    std::string want;
  };
  std::vector<Case> cases = {
      {"defaults", {}, {}, "default"},
      {"args", {}, {"echo from-args"}, "from-args"},
      {"command", {"/bin/echo", "from-command"}, {}, "from-command"},
      {"both", {"/bin/echo"}, {"a", "b"}, "a b"},
  };
  for (const Case& c : cases) {
    std::string id = MustRun(pod, Config(c.name, c.command, c.args, images().entrypoint_name));
    cri::ContainerStatus status = WaitFor(id, cri::CONTAINER_EXITED);
    EXPECT_EQ(status.exit_code(), 0) << c.name;
    absl::StatusOr<std::string> log = ReadFile(status.log_path());
    ASSERT_TRUE(log.ok()) << c.name << ": " << log.status();
    auto entries = mon::ParseCriLog(*log);
    ASSERT_TRUE(entries.ok()) << entries.status();
    ASSERT_EQ(entries->size(), 1u) << c.name << ": " << *log;
    EXPECT_EQ((*entries)[0].content, c.want) << c.name;
  }
}

TEST_F(ContainerTest, ExitCodesAndReasons) {
  std::string pod = RunPod("exits");
  std::string three = MustRun(pod, Config("three", {"sh", "-c", "exit 3"}));
  std::string zero = MustRun(pod, Config("zero", {"true"}));
  cri::ContainerStatus status = WaitFor(three, cri::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_EQ(status.reason(), "Error");
  EXPECT_GT(status.finished_at(), 0);
  status = WaitFor(zero, cri::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
}

TEST_F(ContainerTest, CriLogLinesAndLongLines) {
  std::string pod = RunPod("logs");
  std::string id = MustRun(pod, Config("talker", {"sh", "-c",
                                                  "echo hello; echo err >&2; "
                                                  "head -c 102400 /dev/zero | tr '\\0' a; echo"}));
  cri::ContainerStatus status = WaitFor(id, cri::CONTAINER_EXITED);
  absl::StatusOr<std::string> log = ReadFile(status.log_path());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, ::testing::ContainsRegex(" stdout F hello\n"));
  EXPECT_THAT(*log, ::testing::ContainsRegex(" stderr F err\n"));
  EXPECT_THAT(*log, HasSubstr(" stdout P aaaa")) << "the long line is chunked";
  auto entries = mon::ParseCriLog(*log);
  ASSERT_TRUE(entries.ok()) << entries.status();
  bool found_long = false;
  for (const mon::CriLogEntry& entry : *entries) {
    if (entry.content.size() == 102400) {
      found_long = entry.content == std::string(102400, 'a') && !entry.partial;
    }
  }
  EXPECT_TRUE(found_long) << "the P chunks and their F join back into the 100 KiB line";
}

// Rotation: rename, ReopenContainerLog, later output goes to the new file.
TEST_F(ContainerTest, ReopenContainerLog) {
  std::string pod = RunPod("reopen");
  std::string ticker = MustRun(
      pod,
      Config("ticker", {"sh", "-c", "i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.1; done"}));
  std::string path = MustStatus(ticker).log_path();
  ::usleep(400 * 1000);
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  cri::ReopenContainerLogRequest reopen;
  reopen.set_container_id(ticker);
  cri::ReopenContainerLogResponse reopened;
  grpc::Status result =
      client().runtime().ReopenContainerLog(client().Context().get(), reopen, &reopened);
  ASSERT_TRUE(result.ok()) << result.error_message();
  EXPECT_TRUE(Exists(path)) << "the new file exists when ReopenContainerLog returns";
  ::usleep(500 * 1000);
  absl::StatusOr<std::string> fresh = ReadFile(path);
  ASSERT_TRUE(fresh.ok());
  EXPECT_THAT(*fresh, HasSubstr("stdout F tick"));
  EXPECT_THAT(*ReadFile(path + ".1"), HasSubstr("stdout F tick0\n"));
  EXPECT_THAT(*fresh, Not(HasSubstr("tick0\n")));

  // A stopped container's log cannot be reopened, and no file appears.
  ASSERT_TRUE(StopContainer(ticker, 0).ok());
  ASSERT_EQ(::rename(path.c_str(), (path + ".2").c_str()), 0);
  result = client().runtime().ReopenContainerLog(client().Context().get(), reopen, &reopened);
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(Exists(path));
}

TEST_F(ContainerTest, ExecSync) {
  std::string pod = RunPod("exec");
  std::string id = MustRun(pod, Config("target", {"tail", "-f", "/dev/null"}));
  cri::ExecSyncResponse response;
  grpc::Status status = Exec(id, {"echo", "hi"}, 0, &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(response.stdout(), "hi\n");
  EXPECT_EQ(response.stderr(), "");
  EXPECT_EQ(response.exit_code(), 0);

  ASSERT_TRUE(Exec(id, {"sh", "-c", "echo oops >&2; exit 7"}, 0, &response).ok());
  EXPECT_EQ(response.exit_code(), 7);
  EXPECT_EQ(response.stderr(), "oops\n");

  // A timeout is an answer with exit code -1, and the command is gone.
  absl::Time start = absl::Now();
  status = Exec(id, {"sleep", "10"}, 1, &response);
  ASSERT_TRUE(status.ok()) << "a timeout is not a gRPC error: " << status.error_message();
  EXPECT_EQ(response.exit_code(), -1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  ::usleep(200 * 1000);
  EXPECT_THAT(Sh(id, "ps -o args"), Not(HasSubstr("sleep 10")));

  // Output is capped at 16 MiB per stream.
  status = Exec(id, {"sh", "-c", "head -c 20971520 /dev/zero"}, 30, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.stdout().size(), size_t{16} << 20);
  EXPECT_EQ(response.exit_code(), 0);

  // 20 at once.
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      cri::ExecSyncResponse mine;
      grpc::Status s = Exec(id, {"echo", absl::StrCat("n", i)}, 20, &mine);
      if (s.ok() && mine.exit_code() == 0 && mine.stdout() == absl::StrCat("n", i, "\n")) ++good;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(good.load(), 20);

  // A command that cannot start is an error that names it, not an exit code.
  status = Exec(id, {"no-such-command-here"}, 10, &response);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.error_message(), HasSubstr("no-such-command-here"));
  // Nothing of the execs stays in the bundle (runc's pid files and logs): the monitor unlinks
  // them shortly after answering.
  std::vector<std::string> leftovers;
  std::string bundle = daemon_->runroot() + "/containers/" + id;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);;) {
    leftovers.clear();
    for (const auto& entry : std::filesystem::directory_iterator(bundle)) {
      std::string name = entry.path().filename();
      if (absl::StartsWith(name, "exec")) leftovers.push_back(name);
    }
    if (leftovers.empty() || absl::Now() > deadline) break;
    ::usleep(20 * 1000);
  }
  EXPECT_THAT(leftovers, IsEmpty());

  ASSERT_TRUE(StopContainer(id, 0).ok());
  status = Exec(id, {"echo", "hi"}, 0, &response);
  EXPECT_FALSE(status.ok()) << "ExecSync in a stopped container";
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(Exec(std::string(64, 'f'), {"true"}, 0, &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContainerTest, OomKilled) {
  std::string pod = RunPod("oom");
  cri::ContainerConfig config = Config("hog", {"sh", "-c", "head -c 100000000 /dev/zero | tail"});
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 << 20);
  config.mutable_linux()->mutable_resources()->set_memory_swap_limit_in_bytes(32 << 20);
  std::string id = MustRun(pod, config);
  cri::ContainerStatus status = WaitFor(id, cri::CONTAINER_EXITED, absl::Seconds(30));
  EXPECT_EQ(status.reason(), "OOMKilled") << status.DebugString();
  EXPECT_NE(status.exit_code(), 0);
}

TEST_F(ContainerTest, UpdateResources) {
  std::string pod = RunPod("update");
  cri::ContainerConfig config = Config("limited", {"tail", "-f", "/dev/null"});
  config.mutable_linux()->mutable_resources()->set_cpu_shares(256);
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(64 << 20);
  std::string id = MustRun(pod, config);
  std::string cpu = CgroupDir(id, "cpu");
  std::string memory = CgroupDir(id, "memory");
  EXPECT_EQ(CgroupValue(cpu, "cpu.shares"), 256);
  EXPECT_EQ(CgroupValue(memory, "memory.limit_in_bytes"), 64 << 20);

  cri::UpdateContainerResourcesRequest request;
  request.set_container_id(id);
  request.mutable_linux()->set_cpu_shares(512);
  request.mutable_linux()->set_cpu_period(100000);
  request.mutable_linux()->set_cpu_quota(50000);
  request.mutable_linux()->set_memory_limit_in_bytes(128 << 20);
  cri::UpdateContainerResourcesResponse response;
  grpc::Status status =
      client().runtime().UpdateContainerResources(client().Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(CgroupValue(cpu, "cpu.shares"), 512);
  EXPECT_EQ(CgroupValue(cpu, "cpu.cfs_quota_us"), 50000);
  EXPECT_EQ(CgroupValue(cpu, "cpu.cfs_period_us"), 100000);
  EXPECT_EQ(CgroupValue(memory, "memory.limit_in_bytes"), 128 << 20);
  cri::ContainerStatus updated = MustStatus(id);
  EXPECT_EQ(updated.resources().linux().cpu_shares(), 512);
  EXPECT_EQ(updated.resources().linux().cpu_quota(), 50000);
  EXPECT_EQ(updated.resources().linux().memory_limit_in_bytes(), 128 << 20);

  // A CPU that does not exist: refused, and nothing changes.
  cri::UpdateContainerResourcesRequest bad = request;
  bad.mutable_linux()->set_cpu_shares(1024);
  bad.mutable_linux()->set_cpuset_cpus("4000");
  status = client().runtime().UpdateContainerResources(client().Context().get(), bad, &response);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(CgroupValue(cpu, "cpu.shares"), 512);
  EXPECT_EQ(MustStatus(id).resources().linux().cpu_shares(), 512);

  // cgroup v2 settings on this v1 host: refused up front, naming why.
  cri::UpdateContainerResourcesRequest unified;
  unified.set_container_id(id);
  (*unified.mutable_linux()->mutable_unified())["memory.high"] = "100000000";
  status = client().runtime().UpdateContainerResources(client().Context().get(), unified, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("cgroup v2"));
  EXPECT_EQ(MustStatus(id).resources().linux().unified_size(), 0);
}

TEST_F(ContainerTest, Stats) {
  std::string pod = RunPod("stats");
  std::string busy = MustRun(
      pod,
      Config("busy", {"sh", "-c", "timeout 2 sh -c 'while :; do :; done'; tail -f /dev/null"}));
  std::string idle = MustRun(pod, Config("idle", {"tail", "-f", "/dev/null"}));
  ::usleep(700 * 1000);
  cri::ContainerStatsRequest request;
  request.set_container_id(busy);
  cri::ContainerStatsResponse one;
  grpc::Status status = client().runtime().ContainerStats(client().Context().get(), request, &one);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(one.stats().attributes().id(), busy);
  EXPECT_EQ(one.stats().attributes().metadata().name(), "busy");
  EXPECT_GT(one.stats().cpu().usage_core_nano_seconds().value(), 100'000'000u);
  EXPECT_GT(one.stats().memory().working_set_bytes().value(), 0u);
  EXPECT_GT(one.stats().cpu().timestamp(), 0);

  cri::ListContainerStatsRequest list;
  list.mutable_filter()->set_pod_sandbox_id(pod);
  cri::ListContainerStatsResponse all;
  ASSERT_TRUE(client().runtime().ListContainerStats(client().Context().get(), list, &all).ok());
  EXPECT_EQ(all.stats_size(), 2);

  request.set_container_id(idle);
  ASSERT_TRUE(client().runtime().ContainerStats(client().Context().get(), request, &one).ok());
  uint64_t before = one.stats().writable_layer().used_bytes().value();
  uint64_t inodes_before = one.stats().writable_layer().inodes_used().value();
  Sh(idle, "dd if=/dev/zero of=/big bs=1024 count=2048 2>/dev/null; sync");
  ASSERT_TRUE(client().runtime().ContainerStats(client().Context().get(), request, &one).ok());
  EXPECT_GE(one.stats().writable_layer().used_bytes().value(), before + (2 << 20) - 4096);
  EXPECT_GT(one.stats().writable_layer().inodes_used().value(), inodes_before);

  request.set_container_id(std::string(64, 'e'));
  EXPECT_EQ(client().runtime().ContainerStats(client().Context().get(), request, &one).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContainerTest, CreateErrors) {
  std::string pod = RunPod("errors");
  std::string holder;
  ASSERT_TRUE(Create(pod, Config("same", {"sleep", "3600"}), &holder).ok());
  grpc::Status status = Create(pod, Config("same", {"sleep", "3600"}), nullptr);
  EXPECT_FALSE(status.ok()) << "duplicate name";
  EXPECT_THAT(status.error_message(), HasSubstr(holder));

  std::string absent = absl::StrCat(images().registry->host(), "/test/absent:9");
  status = Create(pod, Config("noimage", {"true"}, {}, absent), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("test/absent:9"));

  // The image of a container cannot go.
  cri::RemoveImageRequest remove;
  remove.mutable_image()->set_image(images().busybox_name);
  cri::RemoveImageResponse removed;
  status = client().image().RemoveImage(client().Context().get(), remove, &removed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(holder));

  cri::ContainerConfig unified = Config("unified", {"true"});
  (*unified.mutable_linux()->mutable_resources()->mutable_unified())["memory.high"] = "1000000";
  status = Create(pod, unified, nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("memory.high"));

  ASSERT_TRUE(StopPod(pod).ok());
  status = Create(pod, Config("late", {"true"}), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(pod));
}

TEST_F(ContainerTest, ContainersSurviveDaemonCrash) {
  std::string pod = RunPod("crash");
  std::string running = MustRun(pod, Config("long", {"sleep", "3600"}));
  std::string brief = MustRun(pod, Config("brief", {"sh", "-c", "sleep 2; exit 5"}));
  std::string created;
  ASSERT_TRUE(Create(pod, Config("later", {"sleep", "3600"}), &created).ok());
  std::string unstarted;
  ASSERT_TRUE(Create(pod, Config("never", {"sleep", "3600"}), &unstarted).ok());
  cri::ContainerStatusResponse verbose;
  ASSERT_TRUE(Status(running, &verbose, true).ok());
  int pid = InfoPid(verbose);

  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  ::sleep(3);  // `brief` exits while berthd is down
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client(absl::Seconds(60)));

  cri::ContainerStatus still = MustStatus(running);
  EXPECT_EQ(still.state(), cri::CONTAINER_RUNNING);
  if (pid > 0) {
    EXPECT_EQ(::kill(pid, 0), 0);
  }
  cri::ContainerStatus ended = WaitFor(brief, cri::CONTAINER_EXITED, absl::Seconds(5));
  EXPECT_EQ(ended.exit_code(), 5);
  EXPECT_EQ(ended.reason(), "Error");
  EXPECT_EQ(MustStatus(created).state(), cri::CONTAINER_CREATED);
  grpc::Status started = Start(created);
  EXPECT_TRUE(started.ok()) << started.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(MustStatus(created).state(), cri::CONTAINER_RUNNING);
  EXPECT_TRUE(RemoveContainer(unstarted).ok());
  EXPECT_TRUE(StopContainer(running, 0).ok());
  EXPECT_EQ(MustStatus(running).state(), cri::CONTAINER_EXITED);
}

TEST_F(ContainerTest, HundredCyclesLeaveNothing) {
  std::string pod = RunPod("cycles");
  for (int i = 0; i < 100; ++i) {
    std::string id = MustRun(pod, Config("cycle", {"sleep", "3600"}));
    ASSERT_FALSE(id.empty()) << "cycle " << i;
    ASSERT_TRUE(StopContainer(id, 0).ok()) << "cycle " << i;
    ASSERT_TRUE(RemoveContainer(id).ok()) << "cycle " << i;
  }
  EXPECT_EQ(CountEntries(daemon_->root() + "/containers"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/containers"), 0);
  // The runtime's state and the exit records went with each container too.
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/runc"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/pods/" + pod + "/exits"), 0);
}

// RemoveContainer of a running container kills it, then removes the runtime's state beside its
// files (the two run side by side): nothing of it is left, and a second removal is a no-op.
TEST_F(ContainerTest, RemoveRunningContainerLeavesNothing) {
  std::string pod = RunPod("rm-running");
  std::string id = MustRun(pod, Config("busy", {"sleep", "3600"}));
  cri::ContainerStatusResponse verbose;
  ASSERT_TRUE(Status(id, &verbose, true).ok());
  int pid = InfoPid(verbose);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(RemoveContainer(id).ok()) << daemon_->Log();
  EXPECT_NE(::kill(pid, 0), 0) << "the container's process outlived its removal";
  EXPECT_EQ(CountEntries(daemon_->root() + "/containers"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/containers"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/runc"), 0);
  EXPECT_EQ(CountEntries(daemon_->runroot() + "/pods/" + pod + "/exits"), 0);
  cri::ListContainersRequest list;
  cri::ListContainersResponse listed;
  ASSERT_TRUE(client().runtime().ListContainers(client().Context().get(), list, &listed).ok());
  EXPECT_EQ(listed.containers_size(), 0);
  EXPECT_TRUE(RemoveContainer(id).ok());
}

// berthctl create/start/ps/inspect/exec -s/logs/stop/rm through the binary.
TEST_F(ContainerTest, Berthctl) {
  std::string pod = RunPod("ctl");
  std::string pod_file = daemon_->dir() + "/ctl-pod.json";
  std::string container_file = daemon_->dir() + "/ctl-container.json";
  cri::ContainerConfig config =
      Config("web", {"sh", "-c", "echo started; echo warn >&2; exec tail -f /dev/null"});
  (*config.mutable_labels())["app"] = "ctl";
  ASSERT_TRUE(WriteFileAtomic(pod_file, ctl::MessageToJson(PodConfig("ctl"))->dump()).ok());
  ASSERT_TRUE(WriteFileAtomic(container_file, ctl::MessageToJson(config)->dump()).ok());
  auto berthctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BerthctlPath(), "--endpoint", daemon_->endpoint()});
    absl::StatusOr<SpawnResult> result = RunCommand({.argv = args, .timeout = absl::Seconds(60)});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SpawnResult{};
  };
  SpawnResult result = berthctl({"create", pod, container_file, pod_file});
  ASSERT_TRUE(result.success()) << result.Describe();
  std::string id(absl::StripTrailingAsciiWhitespace(result.out));
  ASSERT_EQ(id.size(), 64u) << result.out;
  EXPECT_THAT(berthctl({"ps", "-q"}).out, Not(HasSubstr(id))) << "not running yet";
  EXPECT_THAT(berthctl({"ps", "-a", "-q"}).out, HasSubstr(id));
  ASSERT_TRUE(berthctl({"start", id}).success());

  result = berthctl({"ps", "--label", "app=ctl"});
  ASSERT_TRUE(result.success()) << result.Describe();
  EXPECT_THAT(result.out, HasSubstr("POD ID"));
  EXPECT_THAT(result.out, HasSubstr(id.substr(0, 13)));
  EXPECT_THAT(result.out, HasSubstr("Running"));
  EXPECT_THAT(result.out, HasSubstr("web"));
  EXPECT_EQ(berthctl({"ps", "-q", "--name", "nomatch"}).out, "");

  result = berthctl({"inspect", id});
  ASSERT_TRUE(result.success()) << result.Describe();
  nlohmann::json inspected = nlohmann::json::parse(result.out, nullptr, false);
  ASSERT_FALSE(inspected.is_discarded()) << result.out;
  EXPECT_EQ(inspected["status"]["id"], id);
  EXPECT_EQ(inspected["status"]["state"], "CONTAINER_RUNNING");

  result = berthctl({"exec", "-s", id, "sh", "-c", "echo out; echo err >&2; exit 4"});
  EXPECT_EQ(result.exit_code, 4) << result.Describe();
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
  // Without -s: through Exec and the streaming server, over each transport.
  for (const char* transport : {"spdy", "websocket"}) {
    result = berthctl({"exec", "--transport", transport, id, "sh", "-c",
                       "echo out; echo err >&2; exit 5"});
    EXPECT_EQ(result.exit_code, 5) << transport << ": " << result.Describe();
    EXPECT_EQ(result.out, "out\n") << transport;
    EXPECT_EQ(result.err, "err\n") << transport;
  }

  ::usleep(300 * 1000);
  result = berthctl({"logs", id});
  ASSERT_TRUE(result.success()) << result.Describe();
  EXPECT_EQ(result.out, "started\n");
  EXPECT_EQ(result.err, "warn\n");

  ASSERT_TRUE(berthctl({"update", "--cpu-shares", "300", id}).success());
  result = berthctl({"stats", id});
  ASSERT_TRUE(result.success()) << result.Describe();
  EXPECT_THAT(result.out, HasSubstr("web"));

  result = berthctl({"rm", id});
  EXPECT_FALSE(result.success()) << "rm of a running container needs -f";
  ASSERT_TRUE(berthctl({"stop", "-t", "0", id}).success());
  EXPECT_THAT(berthctl({"ps", "-a"}).out, HasSubstr("Exited"));
  ASSERT_TRUE(berthctl({"rm", id}).success());
  EXPECT_EQ(berthctl({"ps", "-a", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::testing
