// Keeps berth-bench working: a run with tiny counts against a real berthd and registry, and
// the JSON it writes holds every operation of the scenarios run. No timing is asserted.
#include <signal.h>

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
