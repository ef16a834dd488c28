// Integration: the real CNI plugins of /usr/lib/cni (bridge, host-local, portmap, loopback)
// against a network namespace made for the test. Needs root; uses a bridge name, subnet, netns
// and host port derived from the test's pid, and removes all of them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cni/attachment.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPluginDir[] = "/usr/lib/cni";
constexpr int kContainerPort = 8080;

SpawnResult RunTool(std::vector<std::string> argv) {
  absl::StatusOr<SpawnResult> run =
      RunCommand(SpawnOptions{.argv = std::move(argv), .timeout = absl::Seconds(30)});
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *std::move(run) : SpawnResult{};
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Connects to ip:port and returns what the peer sends before closing, or nullopt.
std::optional<std::string> Fetch(const std::string& ip, int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::nullopt;
  struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return std::nullopt;
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return std::nullopt;
  }
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fd.get(), buf, sizeof(buf))) > 0;) out.append(buf, n);
  return out;
}

// Retries Fetch for a few seconds (the listener needs a moment to start).
std::optional<std::string> FetchWithRetry(const std::string& ip, int port) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (std::optional<std::string> out = Fetch(ip, port); out && !out->empty()) return out;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return std::nullopt;
}

class CniPluginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!Exists(absl::StrCat(kPluginDir, "/bridge"))) GTEST_SKIP() << "no CNI plugins";
    int pid = getpid();
    ns_name_ = absl::StrCat("berth-cnit-", pid);
    netns_ = "/run/netns/" + ns_name_;
    bridge_ = absl::StrCat("bct", pid % 100000);
    prefix_ = absl::StrCat("10.", 150 + pid % 100, ".", (pid / 100) % 256, ".");
    host_port_ = 20000 + pid % 20000;
    absl::StatusOr<TempDir> dir = TempDir::Make("cni-plugins-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    tmp_ = std::make_unique<TempDir>(*std::move(dir));
    data_dir_ = tmp_->path() + "/ipam";

    SpawnResult add = RunTool({"ip", "netns", "add", ns_name_});
    ASSERT_TRUE(add.success()) << add.Describe();
    netns_created_ = true;

    std::string list = absl::StrCat(
        R"({"cniVersion":"1.0.0","name":")", ns_name_, R"(","plugins":[)",
        R"({"type":"bridge","bridge":")", bridge_, R"(","isGateway":true,"ipMasq":false,)",
        R"("ipam":{"type":"host-local","dataDir":")", data_dir_, R"(",)",
        R"("ranges":[[{"subnet":")", prefix_, R"(0/24"}]],"routes":[{"dst":"0.0.0.0/0"}]}},)",
        R"({"type":"portmap","capabilities":{"portMappings":true}}]})");
    absl::StatusOr<NetworkConfig> network = ParseNetworkConfigList(list, "test");
    ASSERT_TRUE(network.ok()) << network.status();
    network_ = *network;
    absl::StatusOr<NetworkConfig> lo = ParseNetworkConfig(
        R"({"cniVersion":"1.0.0","name":"berth-cnit-lo","type":"loopback"})", "lo");
    ASSERT_TRUE(lo.ok()) << lo.status();
    loopback_ = *lo;
    options_.plugin_dirs = {kPluginDir};
  }

  void TearDown() override {
    for (const Attachment& attachment : live_) {
      EXPECT_TRUE(Del(attachment, options_).ok());
    }
    if (netns_created_ && Exists(netns_)) RunTool({"ip", "netns", "del", ns_name_});
    if (!bridge_.empty()) RunTool({"ip", "link", "del", bridge_});
    if (!container_id_.empty()) {
      EXPECT_THAT(NatRules(), Not(HasSubstr(container_id_)));
    }
  }

  AttachRequest Request(const std::string& suffix) {
    container_id_ = absl::StrCat("berthcnit", getpid(), suffix);
    AttachRequest request;
    request.container_id = container_id_;
    request.netns = netns_;
    request.pod_name = "cnit";
    request.pod_namespace = "default";
    request.pod_uid = "uid";
    request.port_mappings = {{.host_port = host_port_, .container_port = kContainerPort}};
    return request;
  }

  std::string NatRules() {
    SpawnResult save = RunTool({"iptables-save", "-t", "nat"});
    EXPECT_TRUE(save.success()) << save.Describe();
    return save.out;
  }

  std::string IpamFile(const std::string& ip) { return data_dir_ + "/" + ns_name_ + "/" + ip; }

  std::string ns_name_, netns_, bridge_, prefix_, data_dir_, container_id_;
  int host_port_ = 0;
  bool netns_created_ = false;
  std::unique_ptr<TempDir> tmp_;
  NetworkConfig network_, loopback_;
  ExecOptions options_;
  std::vector<Attachment> live_;  // deleted by TearDown when a test stops half-way
};

TEST_F(CniPluginsTest, AddGivesAReachableAddressAndDelReleasesIt) {
  AttachRequest lo_request = Request("a");
  lo_request.ifname = "lo";
  absl::StatusOr<Attachment> lo = Add(loopback_, lo_request, options_);
  ASSERT_TRUE(lo.ok()) << lo.status();
  absl::StatusOr<Attachment> attachment = Add(network_, Request("a"), options_);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  live_.push_back(*attachment);

  ASSERT_EQ(attachment->result.PodIps().size(), 1u);
  std::string ip = attachment->result.PodIps()[0];
  EXPECT_TRUE(absl::StartsWith(ip, prefix_)) << ip << " not in " << prefix_ << "0/24";
  EXPECT_NE(ip, prefix_ + "1");  // the gateway
  EXPECT_TRUE(Exists(IpamFile(ip)));

  SpawnResult addrs = RunTool({"ip", "netns", "exec", ns_name_, "ip", "-o", "addr"});
  ASSERT_TRUE(addrs.success()) << addrs.Describe();
  EXPECT_THAT(addrs.out, HasSubstr(absl::StrCat("eth0    inet ", ip, "/24")));
  EXPECT_THAT(addrs.out, HasSubstr("lo    inet 127.0.0.1/8"));

  // A listener in the pod, reached directly and through the host port.
  absl::StatusOr<Process> server = Process::Start(StartOptions{
      .argv = {"ip", "netns", "exec", ns_name_, "python3", "-c",
               absl::StrCat("import socket\ns=socket.socket()\n"
                            "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                            "s.bind(('0.0.0.0',",
                            kContainerPort,
                            "))\ns.listen(8)\nwhile True:\n"
                            "  c,_=s.accept()\n  c.sendall(b'berth')\n  c.close()\n")}});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(FetchWithRetry(ip, kContainerPort).value_or("unreachable"), "berth");
  EXPECT_THAT(NatRules(), HasSubstr(container_id_));
  EXPECT_EQ(FetchWithRetry(prefix_ + "1", host_port_).value_or("unreachable"), "berth");
  ASSERT_TRUE(server->Stop(absl::Seconds(1)).ok());

  ASSERT_TRUE(Del(*attachment, options_).ok());
  live_.clear();
  EXPECT_FALSE(Exists(IpamFile(ip)));
  EXPECT_THAT(NatRules(), Not(HasSubstr(container_id_)));
  EXPECT_TRUE(Del(*attachment, options_).ok());  // idempotent
  EXPECT_TRUE(Del(*lo, options_).ok());
}

TEST_F(CniPluginsTest, DelAfterTheNetnsIsGoneReleasesTheAddress) {
  absl::StatusOr<Attachment> attachment = Add(network_, Request("b"), options_);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  live_.push_back(*attachment);
  ASSERT_EQ(attachment->result.PodIps().size(), 1u);
  std::string ip = attachment->result.PodIps()[0];
  EXPECT_TRUE(Exists(IpamFile(ip)));

  SpawnResult del = RunTool({"ip", "netns", "del", ns_name_});
  ASSERT_TRUE(del.success()) << del.Describe();
  absl::Status status = Del(*attachment, options_);
  EXPECT_TRUE(status.ok()) << status;
  live_.clear();
  EXPECT_FALSE(Exists(IpamFile(ip)));
  EXPECT_THAT(NatRules(), Not(HasSubstr(container_id_)));
  EXPECT_TRUE(Del(*attachment, options_).ok());
}

TEST_F(CniPluginsTest, FailingAddLeavesNoAddressAllocated) {
  // bridge and portmap succeed, then the third plugin cannot be found.
  NetworkConfig bad = network_;
  bad.plugins.push_back(
      PluginConfig{.type = "no-such-plugin", .raw = {{"type", "no-such-plugin"}}});
  absl::StatusOr<Attachment> attachment = Add(bad, Request("c"), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_THAT(attachment.status().message(), HasSubstr("no-such-plugin"));
  // bridge's ADD ran and host-local allocated; the rollback DEL released it.
  SpawnResult ls = RunTool({"ls", data_dir_ + "/" + ns_name_});
  ASSERT_TRUE(ls.success()) << ls.Describe();  // host-local did run
  EXPECT_THAT(ls.out, HasSubstr("last_reserved_ip"));
  EXPECT_THAT(ls.out, Not(HasSubstr(prefix_)));
}

}  // namespace
}  // namespace berth::cni
