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
  for (const char* op :
       {"RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "Stop+RemovePodSandbox"}) {
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
    for (const char* op : {"CreateContainer", "StartContainer", "Create+StartContainer", "ExecSync",
                           "StopContainer", "RemoveContainer", "Stop+RemoveContainer"}) {
      EXPECT_EQ(scenarios["container"]["ops"][op]["count"], 2) << op;
    }
    EXPECT_EQ(scenarios["container"]["ops"]["ListContainers(3)"]["count"], 5);
  }
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
