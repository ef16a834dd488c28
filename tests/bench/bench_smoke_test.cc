// Keeps berth-bench working: a run with tiny counts against a real berthd and registry, and
// the JSON it writes holds every operation of the scenarios run. No timing is asserted.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"

namespace berth::testing {
namespace {

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(BenchSmokeTest, InfoAndImageAgainstBerthd) {
  signal(SIGPIPE, SIG_IGN);
  auto registry = TestRegistry::Start(RegistryOptions{});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto built = builder->Build(*spec, "v1");
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_TRUE(builder->Push("v1", **registry, "bench/busybox:1").ok());
  std::string image = absl::StrCat((*registry)->host(), "/bench/busybox:1");

  auto dir = TempDir::Make("berth-bench-smoke-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string conf = dir->path() + "/registries.conf";
  ASSERT_TRUE(WriteFileAtomic(conf, absl::StrCat("[[registry]]\nlocation = \"", (*registry)->host(),
                                                 "\"\ninsecure = true\n"))
                  .ok());
  DaemonOptions options;
  options.log_level = "info";
  options.extra_config = absl::StrCat("[berth.image]\nregistries_conf = \"", conf,
                                      "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n");
  auto daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  std::string json_path = dir->path() + "/bench.json";
  auto run = RunCommand({.argv = {BERTH_BENCH_PATH,
                                  "--endpoint",
                                  (*daemon)->endpoint(),
                                  "--label",
                                  "berth",
                                  "--daemon-pid",
                                  std::to_string((*daemon)->pid()),
                                  "--pod-process",
                                  "berth-mon",
                                  "--scenario",
                                  "info",
                                  "--scenario",
                                  "image",
                                  "--count",
                                  "2",
                                  "--image",
                                  image,
                                  "--image-compressed-bytes",
                                  std::to_string(built->total_size),
                                  "--json",
                                  json_path},
                         .timeout = absl::Minutes(2)});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->success()) << run->Describe() << "\n" << (*daemon)->Log();
  EXPECT_NE(run->out.find("PullImage"), std::string::npos) << run->out;

  nlohmann::json json = ReadJson(json_path);
  ASSERT_TRUE(json.is_object()) << "no JSON in " << json_path;
  ASSERT_EQ(json["targets"].size(), 1u);
  nlohmann::json scenarios = json["targets"][0]["scenarios"];
  for (const char* op : {"Version", "Status"}) {
    EXPECT_EQ(scenarios["info"]["ops"][op]["count"], 2) << op;
  }
  for (const char* op : {"PullImage", "ImageStatus", "ListImages", "RemoveImage"}) {
    EXPECT_EQ(scenarios["image"]["ops"][op]["count"], 2) << op;
  }
  for (const char* metric : {"pull_mib_per_s_by_image_size", "pull_mib_per_s_compressed",
                             "daemon_peak_rss_mib", "image_size_mib"}) {
    EXPECT_TRUE(scenarios["image"]["metrics"].contains(metric)) << metric;
  }
  EXPECT_TRUE(scenarios["memory"]["metrics"].contains("daemon_pss_mib"));

  EXPECT_TRUE((*daemon)->Stop().ok());
}

// The pod scenario through berthd and its monitor, then the container scenario (skipped while
// berthd answers UNIMPLEMENTED for container RPCs); Stop() checks nothing was left behind.
TEST(BenchSmokeTest, PodAndContainerAgainstBerthd) {
  signal(SIGPIPE, SIG_IGN);
  auto registry = TestRegistry::Start(RegistryOptions{});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(builder->Build(*spec, "v1").ok());
  ASSERT_TRUE(builder->Push("v1", **registry, "bench/busybox:1").ok());
  std::string image = absl::StrCat((*registry)->host(), "/bench/busybox:1");

  auto dir = TempDir::Make("berth-bench-smoke-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string conf = dir->path() + "/registries.conf";
  ASSERT_TRUE(WriteFileAtomic(conf, absl::StrCat("[[registry]]\nlocation = \"", (*registry)->host(),
                                                 "\"\ninsecure = true\n"))
                  .ok());
  DaemonOptions options;
  options.log_level = "info";
  options.extra_config = absl::StrCat("[berth.runtime]\nmonitor_path = \"", BERTH_MON_PATH,
                                      "\"\n[berth.image]\nregistries_conf = \"", conf,
                                      "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n");
  auto daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  std::string json_path = dir->path() + "/bench.json";
  auto run = RunCommand({.argv = {BERTH_BENCH_PATH,
                                  "--endpoint",
                                  (*daemon)->endpoint(),
                                  "--label",
                                  "berth",
                                  "--daemon-pid",
                                  std::to_string((*daemon)->pid()),
                                  "--pod-process",
                                  "berth-mon",
                                  "--scenario",
                                  "pod",
                                  "--scenario",
                                  "container",
                                  "--count",
                                  "2",
                                  "--memory-pods",
                                  "2",
                                  "--container-image",
                                  image,
                                  "--containers-per-pod",
                                  "2",
                                  "--list-containers",
                                  "3",
                                  "--list-calls",
                                  "5",
                                  "--skip-unimplemented",
                                  "--json",
                                  json_path},
                         .timeout = absl::Minutes(3)});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->success()) << run->Describe() << "\n" << (*daemon)->Log();

  nlohmann::json json = ReadJson(json_path);
  ASSERT_TRUE(json.is_object()) << "no JSON in " << json_path;
  nlohmann::json scenarios = json["targets"][0]["scenarios"];
  for (const char* op : {"RunPodSandbox", "PodSandboxStatus", "StopPodSandbox", "RemovePodSandbox",
                         "Stop+RemovePodSandbox"}) {
    EXPECT_EQ(scenarios["pod"]["ops"][op]["count"], 2) << op;
  }
  // Two pods, each with its own berth-mon.
  EXPECT_GE(scenarios["pod"]["metrics"]["pod_process_per_pod_processes"]["mean"], 1.0);
  EXPECT_GT(scenarios["pod"]["metrics"]["pod_process_per_pod_pss_kib"]["mean"], 0.0);
  if (json.contains("skipped") && json["skipped"].contains("container")) {
    EXPECT_NE(json["skipped"]["container"].get<std::string>().find("not implemented"),
              std::string::npos)
        << json["skipped"];
    EXPECT_FALSE(scenarios.contains("container"));
  } else {
    for (const char* op :
         {"CreateContainer", "StartContainer", "Create+StartContainer", "ContainerStatus",
          "ExecSync", "StopContainer", "RemoveContainer", "Stop+RemoveContainer"}) {
      EXPECT_EQ(scenarios["container"]["ops"][op]["count"], 2) << op;
    }
    EXPECT_EQ(scenarios["container"]["ops"]["ListContainers(3)"]["count"], 5);
  }
  EXPECT_TRUE((*daemon)->Stop().ok()) << (*daemon)->Log();
}

// The scratch, list, churn and density scenarios with tiny counts; then --cleanup removes a
// pod a killed run would have left. Stop() checks nothing was left behind.
TEST(BenchSmokeTest, ScratchListChurnDensityAgainstBerthd) {
  signal(SIGPIPE, SIG_IGN);
  auto registry = TestRegistry::Start(RegistryOptions{});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(builder->Build(*spec, "v1").ok());
  ASSERT_TRUE(builder->Push("v1", **registry, "bench/busybox:1").ok());
  std::string image = absl::StrCat((*registry)->host(), "/bench/busybox:1");

  auto dir = TempDir::Make("berth-bench-smoke-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string conf = dir->path() + "/registries.conf";
  ASSERT_TRUE(WriteFileAtomic(conf, absl::StrCat("[[registry]]\nlocation = \"", (*registry)->host(),
                                                 "\"\ninsecure = true\n"))
                  .ok());
  DaemonOptions options;
  options.log_level = "info";
  options.extra_config = absl::StrCat("[berth.runtime]\nmonitor_path = \"", BERTH_MON_PATH,
                                      "\"\n[berth.image]\nregistries_conf = \"", conf,
                                      "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n");
  auto daemon = TestDaemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  std::string json_path = dir->path() + "/bench.json";
  auto run = RunCommand({.argv = {BERTH_BENCH_PATH,
                                  "--endpoint",
                                  (*daemon)->endpoint(),
                                  "--label",
                                  "berth",
                                  "--daemon-pid",
                                  std::to_string((*daemon)->pid()),
                                  "--pod-process",
                                  BERTH_MON_PATH,
                                  "--pod-process-dir",
                                  (*daemon)->dir(),
                                  "--scenario",
                                  "scratch",
                                  "--scenario",
                                  "list",
                                  "--scenario",
                                  "churn",
                                  "--scenario",
                                  "density",
                                  "--count",
                                  "2",
                                  "--container-image",
                                  image,
                                  "--list-pods",
                                  "2",
                                  "--list-containers-per-pod",
                                  "2",
                                  "--list-calls",
                                  "3",
                                  "--churn-workers",
                                  "2",
                                  "--churn-seconds",
                                  "2",
                                  "--density-pods",
                                  "2",
                                  "--density-containers-per-pod",
                                  "2",
                                  "--json",
                                  json_path},
                         .timeout = absl::Minutes(4)});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->success()) << run->Describe() << "\n" << (*daemon)->Log();

  nlohmann::json json = ReadJson(json_path);
  ASSERT_TRUE(json.is_object()) << "no JSON in " << json_path;
  nlohmann::json scenarios = json["targets"][0]["scenarios"];
  for (const char* op :
       {"RunPodSandbox", "CreateContainer", "StartContainer", "Run+Create+StartContainer",
        "StopPodSandbox", "RemovePodSandbox", "Stop+RemovePodSandbox"}) {
    EXPECT_EQ(scenarios["scratch"]["ops"][op]["count"], 2) << op;
  }
  // --list-calls iterations, whatever --count says; 2 pods x 2 containers.
  for (const char* op : {"ListPodSandbox(2)", "ListContainers(4)", "ContainerStatus"}) {
    EXPECT_EQ(scenarios["list"]["ops"][op]["count"], 3) << op << " in " << scenarios["list"];
  }
  nlohmann::json churn = scenarios["churn"];
  ASSERT_TRUE(churn["metrics"].contains("pods_per_s")) << churn;
  EXPECT_GT(churn["metrics"]["pods_per_s"]["mean"].get<double>(), 0.0);
  EXPECT_GE(churn["ops"]["pod cycle"]["count"].get<int>(), 2) << churn;  // a cycle per worker
  EXPECT_EQ(churn["ops"]["pod cycle"]["count"], churn["metrics"]["pods_per_round"]["mean"]);
  nlohmann::json density = scenarios["density"]["metrics"];
  // One monitor per pod (berth-mon's namespace holder exits unless the pod shares a PID
  // namespace).
  EXPECT_EQ(density["pod_processes_total_processes"]["mean"], 2) << density;
  EXPECT_EQ(density["containers_per_pod"]["mean"], 2) << density;
  EXPECT_GT(density["pod_processes_per_pod_pss_kib"]["mean"].get<double>(), 0.0) << density;
  EXPECT_GT(density["pod_processes_per_pod_private_kib"]["mean"].get<double>(), 0.0) << density;
  EXPECT_GT(density["daemon_rss_mib"]["mean"].get<double>(), 0.0) << density;
  EXPECT_TRUE((*daemon)->CheckPodLeftovers().ok()) << (*daemon)->CheckPodLeftovers();

  // What a killed berth-bench leaves: a pod labelled berth-bench, with a container. --cleanup
  // removes it, and only it.
  ctl::CriClient client = (*daemon)->Client();
  runtime::v1::RunPodSandboxRequest run_pod;
  run_pod.mutable_config()->mutable_metadata()->set_name("left");
  run_pod.mutable_config()->mutable_metadata()->set_namespace_("berth-bench");
  run_pod.mutable_config()->mutable_metadata()->set_uid("left-uid");
  (*run_pod.mutable_config()->mutable_labels())["berth-bench"] = "1";
  runtime::v1::RunPodSandboxResponse left;
  ASSERT_TRUE(client.runtime().RunPodSandbox(client.Context().get(), run_pod, &left).ok());
  runtime::v1::RunPodSandboxRequest other = run_pod;
  other.mutable_config()->mutable_metadata()->set_name("other");
  other.mutable_config()->mutable_metadata()->set_uid("other-uid");
  other.mutable_config()->clear_labels();
  runtime::v1::RunPodSandboxResponse kept;
  ASSERT_TRUE(client.runtime().RunPodSandbox(client.Context().get(), other, &kept).ok());
  runtime::v1::CreateContainerRequest create;
  create.set_pod_sandbox_id(left.pod_sandbox_id());
  *create.mutable_sandbox_config() = run_pod.config();
  create.mutable_config()->mutable_metadata()->set_name("c");
  create.mutable_config()->mutable_image()->set_image(image);
  create.mutable_config()->add_command("sleep");
  create.mutable_config()->add_args("3600");
  runtime::v1::CreateContainerResponse created;
  ASSERT_TRUE(client.runtime().CreateContainer(client.Context().get(), create, &created).ok());
  auto cleanup =
      RunCommand({.argv = {BERTH_BENCH_PATH, "--endpoint", (*daemon)->endpoint(), "--cleanup"},
                  .timeout = absl::Minutes(1)});
  ASSERT_TRUE(cleanup.ok()) << cleanup.status();
  EXPECT_TRUE(cleanup->success()) << cleanup->Describe();
  runtime::v1::ListPodSandboxResponse pods;
  ASSERT_TRUE(
      client.runtime()
          .ListPodSandbox(client.Context().get(), runtime::v1::ListPodSandboxRequest(), &pods)
          .ok());
  ASSERT_EQ(pods.items_size(), 1);
  EXPECT_EQ(pods.items(0).id(), kept.pod_sandbox_id());
  runtime::v1::ListContainersResponse containers;
  ASSERT_TRUE(
      client.runtime()
          .ListContainers(client.Context().get(), runtime::v1::ListContainersRequest(), &containers)
          .ok());
  EXPECT_EQ(containers.containers_size(), 0);
  runtime::v1::StopPodSandboxRequest stop;
  stop.set_pod_sandbox_id(kept.pod_sandbox_id());
  runtime::v1::StopPodSandboxResponse stopped;
  EXPECT_TRUE(client.runtime().StopPodSandbox(client.Context().get(), stop, &stopped).ok());
  runtime::v1::RemovePodSandboxRequest remove;
  remove.set_pod_sandbox_id(kept.pod_sandbox_id());
  runtime::v1::RemovePodSandboxResponse removed;
  EXPECT_TRUE(client.runtime().RemovePodSandbox(client.Context().get(), remove, &removed).ok());
  EXPECT_TRUE((*daemon)->Stop().ok()) << (*daemon)->Log();
}

// The floor, directly: a pinned netns with a bridge CNI chain, and runc on a busybox bundle.
TEST(BenchSmokeTest, FloorRunsDirectly) {
  auto dir = TempDir::Make("berth-bench-floor-test-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string bridge = absl::StrCat("bf", ::getpid() % 100000);
  std::string subnet =
      absl::StrCat("10.", 232 + ::getpid() % 8, ".", (::getpid() / 8) % 256, ".0/24");
  std::string conflist = dir->path() + "/10-floor.conflist";
  ASSERT_TRUE(WriteFileAtomic(conflist, absl::StrCat(R"({"cniVersion": "1.0.0", "name": "floor",
  "plugins": [{"type": "bridge", "bridge": ")",
                                                     bridge, R"(", "isGateway": true,
    "ipam": {"type": "host-local", "ranges": [[{"subnet": ")",
                                                     subnet, R"("}]],
             "dataDir": ")",
                                                     dir->path(), R"(/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}]})"))
                  .ok());
  std::string json_path = dir->path() + "/floor.json";
  auto run = RunCommand({.argv = {BERTH_BENCH_FLOOR_PATH, "--count", "2", "--conflist", conflist,
                                  "--json", json_path},
                         .timeout = absl::Minutes(2)});
  RunCommand({.argv = {"ip", "link", "del", bridge}}).IgnoreError();
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->success()) << run->Describe();
  nlohmann::json json = ReadJson(json_path);
  ASSERT_TRUE(json.is_object()) << "no JSON in " << json_path;
  nlohmann::json scenarios = json["targets"][0]["scenarios"];
  for (const char* op : {"netns+ADD", "DEL+netns-del"}) {
    EXPECT_EQ(scenarios["pod-floor"]["ops"][op]["count"], 2) << op;
  }
  for (const char* op : {"runc create+start", "runc exec true", "runc kill+delete"}) {
    EXPECT_EQ(scenarios["container-floor"]["ops"][op]["count"], 2) << op;
  }
  for (const char* op : {"netns+ADD", "runc create+start", "netns+ADD+runc create+start",
                         "runc kill+delete", "DEL+netns-del", "runc kill+delete+DEL+netns-del"}) {
    EXPECT_EQ(scenarios["scratch-floor"]["ops"][op]["count"], 2) << op;
  }
  // Nothing of the floor's left mounted.
  auto mounts = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->find("berth-bench-floor-"), std::string::npos);
}

TEST(BenchSmokeTest, ImageHelperServesTheImage) {
  auto dir = TempDir::Make("berth-bench-image-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::string info = dir->path() + "/info.json";
  auto helper = Process::Start({.argv = {BERTH_BENCH_IMAGE_PATH, "--info", info, "--layers", "2",
                                         "--layer-mib", "1", "--files-per-layer", "2"},
                                .stderr_path = dir->path() + "/helper.log"});
  ASSERT_TRUE(helper.ok()) << helper.status();
  nlohmann::json json;
  for (int i = 0; i < 600 && !json.is_object(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    json = ReadJson(info);
  }
  ASSERT_TRUE(json.is_object()) << "berth-bench-image wrote no " << info;
  EXPECT_EQ(json["layers"], 3);
  EXPECT_GT(json["compressed_bytes"].get<int64_t>(), 2 << 20);
  auto code = helper->Stop(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace berth::testing
