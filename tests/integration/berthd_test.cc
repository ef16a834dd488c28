// berthd as a whole process: start-up, the socket, configuration errors, the implemented
// RuntimeService RPCs, UNIMPLEMENTED for the rest, berthctl, and a clean shutdown.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/daemon.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<TestDaemon> StartDaemon(DaemonOptions options = {}) {
  absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start(std::move(options));
  EXPECT_TRUE(daemon.ok()) << daemon.status();
  return daemon.ok() ? std::move(*daemon) : nullptr;
}

runtime::v1::StatusResponse GetStatus(const TestDaemon& daemon, bool verbose) {
  ctl::CriClient client = daemon.Client();
  runtime::v1::StatusRequest request;
  request.set_verbose(verbose);
  runtime::v1::StatusResponse response;
  grpc::Status status = client.runtime().Status(client.Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

bool NetworkReady(const runtime::v1::StatusResponse& response) {
  for (const auto& condition : response.status().conditions()) {
    if (condition.type() == "NetworkReady") return condition.status();
  }
  return false;
}

TEST(BerthdTest, StartsWithNoConfigurationFileAndAnswersVersion) {
  auto daemon = StartDaemon({.config_file = false});
  ASSERT_NE(daemon, nullptr);
  runtime::v1::VersionResponse version;
  {
    ctl::CriClient client = daemon->Client();
    grpc::Status status =
        client.runtime().Version(client.Context().get(), runtime::v1::VersionRequest(), &version);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(version.runtime_name(), "berth");
  EXPECT_EQ(version.runtime_api_version(), "v1");
  EXPECT_FALSE(version.runtime_version().empty());
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, SocketIsPrivateAndRemovedOnStop) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  struct stat st;
  ASSERT_EQ(::stat(daemon->socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  absl::Status stopped = daemon->Stop();
  EXPECT_TRUE(stopped.ok()) << stopped;
  EXPECT_NE(::access(daemon->socket().c_str(), F_OK), 0);
}

TEST(BerthdTest, StatusConditionsAndVerboseInfo) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  runtime::v1::StatusResponse response = GetStatus(*daemon, /*verbose=*/true);
  ASSERT_EQ(response.status().conditions_size(), 2);
  EXPECT_EQ(response.status().conditions(0).type(), "RuntimeReady");
  EXPECT_TRUE(response.status().conditions(0).status()) << "runc should be installed";
  EXPECT_TRUE(NetworkReady(response)) << response.status().conditions(1).message();
  nlohmann::json config = nlohmann::json::parse(response.info().at("config"));
  EXPECT_EQ(config["berth"]["network"]["network_dir"], daemon->cni_dir());
  EXPECT_EQ(config["berth"]["root"], daemon->root());
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, NetworkReadyFollowsTheCniDirectory) {
  auto daemon = StartDaemon({.cni_network = false});
  ASSERT_NE(daemon, nullptr);
  runtime::v1::StatusResponse response = GetStatus(*daemon, false);
  EXPECT_FALSE(NetworkReady(response));
  EXPECT_EQ(response.status().conditions(1).reason(), "NetworkPluginNotReady");
  EXPECT_THAT(response.status().conditions(1).message(), HasSubstr(daemon->cni_dir()));

  std::string conflist = R"({"cniVersion": "1.0.0", "name": "late",
    "plugins": [{"type": "loopback"}]})";
  ASSERT_TRUE(WriteFileAtomic(daemon->cni_dir() + "/50-late.conflist", conflist).ok());
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    ready = NetworkReady(GetStatus(*daemon, false));
    if (!ready) ::usleep(50 * 1000);
  }
  EXPECT_TRUE(ready) << "NetworkReady did not turn true within 5 s";

  ASSERT_EQ(::unlink((daemon->cni_dir() + "/50-late.conflist").c_str()), 0);
  for (int i = 0; i < 100 && ready; ++i) {
    ready = NetworkReady(GetStatus(*daemon, false));
    if (ready) ::usleep(50 * 1000);
  }
  EXPECT_FALSE(ready) << "NetworkReady did not turn false within 5 s";
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, RuntimeConfigAndUpdateRuntimeConfig) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  std::optional<ctl::CriClient> connected(daemon->Client());
  ctl::CriClient& client = *connected;
  runtime::v1::RuntimeConfigResponse config;
  ASSERT_TRUE(
      client.runtime()
          .RuntimeConfig(client.Context().get(), runtime::v1::RuntimeConfigRequest(), &config)
          .ok());
  EXPECT_EQ(config.linux().cgroup_driver(), runtime::v1::CGROUPFS);

  runtime::v1::UpdateRuntimeConfigRequest update;
  runtime::v1::UpdateRuntimeConfigResponse updated;
  update.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("not-a-cidr");
  grpc::Status status =
      client.runtime().UpdateRuntimeConfig(client.Context().get(), update, &updated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not-a-cidr"));
  update.mutable_runtime_config()->mutable_network_config()->set_pod_cidr("10.244.0.0/24");
  ASSERT_TRUE(client.runtime().UpdateRuntimeConfig(client.Context().get(), update, &updated).ok());
  connected.reset();  // an idle C++ channel acks the server's GOAWAY ping only every 5 s

  // The CIDR survives a restart.
  ASSERT_TRUE(daemon->Stop().ok());
  ASSERT_TRUE(daemon->Restart().ok());
  nlohmann::json runtime = nlohmann::json::parse(GetStatus(*daemon, true).info().at("runtime"));
  EXPECT_EQ(runtime["podCIDR"], "10.244.0.0/24");
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, UnimplementedRpcsNameThemselves) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  std::optional<ctl::CriClient> connected(daemon->Client());
  ctl::CriClient& client = *connected;
  runtime::v1::PodSandboxStatsResponse stats;
  grpc::Status status = client.runtime().PodSandboxStats(
      client.Context().get(), runtime::v1::PodSandboxStatsRequest(), &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("PodSandboxStats"));

  {
    auto context = client.Context();
    auto images = client.image().StreamImages(context.get(), runtime::v1::StreamImagesRequest());
    runtime::v1::StreamImagesResponse image;
    EXPECT_FALSE(images->Read(&image));
    status = images->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_THAT(status.error_message(), HasSubstr("ImageService/StreamImages"));
  }

  auto context = client.Context();
  auto reader = client.runtime().GetContainerEvents(context.get(), runtime::v1::GetEventsRequest());
  runtime::v1::ContainerEventResponse event;
  EXPECT_FALSE(reader->Read(&event));
  status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("GetContainerEvents"));
  reader.reset();
  context.reset();
  connected.reset();
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, SecondInstanceIsRefusedAndFirstKeepsServing) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  // Same runroot: the lock refuses it.
  absl::StatusOr<SpawnResult> second =
      RunCommand({.argv = {BerthdPath(), "--config", "", "--config-dir", "", "--root",
                           daemon->root(), "--runroot", daemon->runroot()},
                  .timeout = absl::Seconds(20)});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->exit_code, 1);
  EXPECT_THAT(second->err, HasSubstr("another berthd is running"));
  // Another runroot but the same socket: the live socket refuses it.
  second = RunCommand({.argv = {BerthdPath(), "--config", "", "--config-dir", "", "--root",
                                daemon->dir() + "/root2", "--runroot", daemon->dir() + "/run2",
                                "--listen", daemon->socket()},
                       .timeout = absl::Seconds(20)});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->exit_code, 1);
  EXPECT_THAT(second->err, HasSubstr("another server is listening"));
  runtime::v1::StatusResponse response = GetStatus(*daemon, false);
  EXPECT_EQ(response.status().conditions_size(), 2) << "the first berthd must still serve";
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, StaleSocketIsReplaced) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  ASSERT_TRUE(daemon->Kill().ok());  // a crash leaves the socket file behind
  ASSERT_EQ(::access(daemon->socket().c_str(), F_OK), 0);
  ASSERT_TRUE(daemon->Restart().ok()) << daemon->Log();
  EXPECT_EQ(GetStatus(*daemon, false).status().conditions_size(), 2);
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, InvalidConfigurationStopsBeforeTouchingAnything) {
  absl::StatusOr<TempDir> dir = TempDir::Make("berth-badconf-");
  ASSERT_TRUE(dir.ok());
  std::string conf = dir->path() + "/berth.conf";
  ASSERT_TRUE(WriteFileAtomic(conf, "[berth]\n\n[berth.api]\nstream_prot = 1\n").ok());
  absl::StatusOr<SpawnResult> result =
      RunCommand({.argv = {BerthdPath(), "--config", conf, "--config-dir", "", "--root",
                           dir->path() + "/root", "--runroot", dir->path() + "/run"},
                  .timeout = absl::Seconds(20)});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->err, HasSubstr(conf + ":4: berth.api.stream_prot: unknown key"));
  EXPECT_NE(::access((dir->path() + "/root").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir->path() + "/run").c_str(), F_OK), 0);

  // An explicitly named file that does not exist is an error too.
  result = RunCommand({.argv = {BerthdPath(), "--config", dir->path() + "/absent.conf", "config"}});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->err, HasSubstr("absent.conf"));
}

TEST(BerthdTest, PrintedConfigIsAcceptedBack) {
  absl::StatusOr<TempDir> dir = TempDir::Make("berth-config-");
  ASSERT_TRUE(dir.ok());
  absl::StatusOr<SpawnResult> first =
      RunCommand({.argv = {BerthdPath(), "--config", "", "--config-dir", "", "--log-level", "debug",
                           "config"}});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->exit_code, 0) << first->err;
  EXPECT_THAT(first->out, HasSubstr("log_level = \"debug\""));
  EXPECT_THAT(first->out, HasSubstr("[berth.runtime.runtimes.runc]"));
  std::string conf = dir->path() + "/printed.conf";
  ASSERT_TRUE(WriteFileAtomic(conf, first->out).ok());
  absl::StatusOr<SpawnResult> second =
      RunCommand({.argv = {BerthdPath(), "--config", conf, "--config-dir", "", "config"}});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->exit_code, 0) << second->err;
  EXPECT_EQ(second->out, first->out);
}

TEST(BerthdTest, VersionSubcommand) {
  absl::StatusOr<SpawnResult> result = RunCommand({.argv = {BerthdPath(), "version"}});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_THAT(result->out, HasSubstr("berthd version"));
}

TEST(BerthdTest, NotifiesReadyToTheServiceManager) {
  absl::StatusOr<TempDir> dir = TempDir::Make("berth-notify-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/notify.sock";
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  timeval timeout{20, 0};
  ASSERT_EQ(::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);

  auto daemon = StartDaemon({.extra_env = {"NOTIFY_SOCKET=" + path}});
  ASSERT_NE(daemon, nullptr);
  char buf[64] = {};
  ssize_t n = ::recv(fd.get(), buf, sizeof(buf) - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "READY=1");
  EXPECT_TRUE(daemon->Stop().ok());
}

TEST(BerthdTest, LogsEachRpcAtDebugLevel) {
  auto daemon = StartDaemon({.log_level = "debug"});
  ASSERT_NE(daemon, nullptr);
  GetStatus(*daemon, false);
  ASSERT_TRUE(daemon->Stop().ok());
  EXPECT_THAT(daemon->Log(), HasSubstr("rpc /runtime.v1.RuntimeService/Status code=0"));
}

TEST(BerthctlTest, VersionAndInfo) {
  auto daemon = StartDaemon();
  ASSERT_NE(daemon, nullptr);
  absl::StatusOr<SpawnResult> version =
      RunCommand({.argv = {BerthctlPath(), "--endpoint", daemon->endpoint(), "version"}});
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(version->exit_code, 0) << version->err;
  EXPECT_THAT(version->out, HasSubstr("RuntimeName:  berth"));
  EXPECT_THAT(version->out, HasSubstr("RuntimeApiVersion:  v1"));

  // The endpoint may also come from the environment, as with crictl.
  std::vector<std::string> env = {"CONTAINER_RUNTIME_ENDPOINT=" + daemon->endpoint(),
                                  "PATH=/usr/bin:/bin"};
  absl::StatusOr<SpawnResult> info = RunCommand({.argv = {BerthctlPath(), "info"}, .env = env});
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->exit_code, 0) << info->err;
  nlohmann::json doc = nlohmann::json::parse(info->out);
  EXPECT_EQ(doc["status"]["conditions"][0]["type"], "RuntimeReady");
  EXPECT_EQ(doc["config"]["berth"]["root"], daemon->root());
  EXPECT_TRUE(daemon->Stop().ok());

  absl::StatusOr<SpawnResult> down = RunCommand(
      {.argv = {BerthctlPath(), "--endpoint", daemon->endpoint(), "--timeout", "2", "version"}});
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->exit_code, 1);
  EXPECT_THAT(down->err, HasSubstr("Version"));
}

}  // namespace
}  // namespace berth::testing
