// The pull worker through berthd: after a pull berthd maps neither libcurl nor libarchive and
// has no child left; a worker killed in the middle of a pull fails that pull with a clear error
// naming the worker and leaves no staged layer behind.

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/pausing_proxy.h"
#include "tests/fixtures/registry.h"

namespace berth::testing {
namespace {

namespace cri = runtime::v1;
using ::testing::HasSubstr;

std::string ReadProc(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The pids whose parent is `parent`.
std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::string stat = ReadProc(absl::StrCat("/proc/", pid, "/stat"));
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    // After "pid (comm)": state, then ppid.
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) children.push_back(pid);
  }
  return children;
}

bool IsPullWorker(pid_t pid) {
  std::string cmdline = ReadProc(absl::StrCat("/proc/", pid, "/cmdline"));
  return absl::StrContains(cmdline, std::string("pull-worker\0", 12));
}

// Incompressible, deterministic bytes.
std::string PseudoRandomBytes(size_t size) {
  std::string out(size, '\0');
  uint64_t state = 0x2545f4914f6cdd1dull;
  for (size_t i = 0; i < size; i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(state >> (8 * j));
  }
  return out;
}

class PullWorkerThroughBerthdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void StartDaemon(const std::string& registries_conf) {
    auto dir = TempDir::Make("berth-worker-conf-");
    ASSERT_TRUE(dir.ok());
    conf_dir_.emplace(std::move(*dir));
    std::string conf = conf_dir_->path() + "/registries.conf";
    ASSERT_TRUE(WriteFileAtomic(conf, registries_conf).ok());
    DaemonOptions options;
    options.extra_config = absl::StrCat("[berth.image]\nregistries_conf = \"", conf,
                                        "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n");
    auto daemon = TestDaemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
  }

  void TearDown() override {
    if (daemon_ != nullptr) {
      absl::Status stopped = daemon_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
    }
  }

  grpc::Status Pull(const std::string& image, std::string* ref = nullptr) {
    ctl::CriClient client = daemon_->Client(absl::Seconds(120));
    cri::PullImageRequest request;
    request.mutable_image()->set_image(image);
    cri::PullImageResponse response;
    grpc::Status status = client.image().PullImage(client.Context().get(), request, &response);
    if (ref != nullptr) *ref = response.image_ref();
    return status;
  }

  // berthd reaps its worker right after the pull answers; give it a moment anyway.
  std::vector<pid_t> ChildrenSettled() {
    std::vector<pid_t> children;
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    do {
      children = ChildrenOf(daemon_->pid());
      if (children.empty()) break;
      absl::SleepFor(absl::Milliseconds(20));
    } while (absl::Now() < deadline);
    return children;
  }

  std::optional<TempDir> conf_dir_;
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(PullWorkerThroughBerthdTest, AfterAPullBerthdMapsNoCurlNorArchiveAndHasNoChild) {
  auto registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec->layers.push_back(LayerSpec{.entries = {LayerEntry::File("etc/worker", "yes\n")}});
  auto image = builder->Build(*spec, "w");
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_TRUE(builder->Push("w", **registry, "test/worker:1").ok());
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      absl::StrCat("[[registry]]\nlocation = \"", (*registry)->host(), "\"\ninsecure = true\n")));

  std::string name = (*registry)->host() + "/test/worker:1";
  std::string ref;
  grpc::Status status = Pull(name, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image->image_id());
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 2);

  std::string maps = ReadProc(absl::StrCat("/proc/", daemon_->pid(), "/maps"));
  ASSERT_FALSE(maps.empty());
  EXPECT_THAT(maps, ::testing::Not(HasSubstr("libcurl"))) << "berthd loaded libcurl";
  EXPECT_THAT(maps, ::testing::Not(HasSubstr("libarchive"))) << "berthd loaded libarchive";
  EXPECT_THAT(ChildrenSettled(), ::testing::IsEmpty()) << "a pull worker outlived its pull";

  // A missing image's error still reaches the client unchanged, and no worker stays.
  status = Pull((*registry)->host() + "/test/absent:1");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("test/absent"));
  EXPECT_THAT(ChildrenSettled(), ::testing::IsEmpty());
}

TEST_F(PullWorkerThroughBerthdTest, WorkerKilledMidPullFailsThePullClearlyAndLeavesNoStagedLayer) {
  auto registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  constexpr int64_t kBigFileBytes = 48 << 20;
  spec->layers.push_back(
      LayerSpec{.entries = {LayerEntry::File("big.bin", PseudoRandomBytes(kBigFileBytes))},
                .compression = Compression::kNone});
  auto image = builder->Build(*spec, "big");
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_TRUE(builder->Push("big", **registry, "test/big:1").ok());
  auto proxy = PausingProxy::Start((*registry)->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  std::string name = (*proxy)->host() + "/test/big:1";
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      absl::StrCat("[[registry]]\nlocation = \"", (*proxy)->host(), "\"\ninsecure = true\n")));

  (*proxy)->PauseAfter(16 << 20);
  grpc::Status interrupted;
  std::thread pull([&] { interrupted = Pull(name); });
  absl::Cleanup finish_pull = [&] {
    (*proxy)->Resume();
    if (pull.joinable()) pull.join();
  };
  ASSERT_TRUE((*proxy)->WaitUntilHolding(absl::Seconds(60))) << (*proxy)->forwarded();
  std::string tmp = daemon_->root() + "/tmp";
  EXPECT_GT(CountEntries(tmp), 0) << "the held layer is staged";
  std::vector<pid_t> workers;
  for (pid_t child : ChildrenOf(daemon_->pid())) {
    if (IsPullWorker(child)) workers.push_back(child);
  }
  ASSERT_EQ(workers.size(), 1u) << "one worker for the pull";
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  pull.join();
  ASSERT_FALSE(interrupted.ok());
  EXPECT_EQ(interrupted.error_code(), grpc::StatusCode::INTERNAL) << interrupted.error_message();
  EXPECT_THAT(interrupted.error_message(),
              HasSubstr(absl::StrCat("pull worker ", workers[0])));
  EXPECT_EQ(CountEntries(tmp), 0) << "a staged layer stayed behind";
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 0) << "a layer stayed behind";
  EXPECT_THAT(ChildrenSettled(), ::testing::IsEmpty()) << "the dead worker was not reaped";

  // The next pull gets a worker of its own and succeeds.
  (*proxy)->Resume();
  std::string ref;
  grpc::Status status = Pull(name, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image->image_id());
  EXPECT_EQ(CountEntries(tmp), 0);
}

}  // namespace
}  // namespace berth::testing
