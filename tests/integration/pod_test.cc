// Pod sandboxes through berthd: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
// PodSandboxStatus and ListPodSandbox against the real berth-mon, CNI plugins and kernel.
// Each test runs its own berthd (private dirs, bridge and subnet) and ends with the fixture's
// leftover check: no monitor, pin, mount, record, IP, veth, cgroup or iptables rule remains.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kBusybox[] = "/usr/bin/busybox";
constexpr int kPodPort = 8080;

runtime::v1::PodSandboxConfig PodConfig(const std::string& name) {
  runtime::v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("berth-test");
  config.mutable_metadata()->set_uid(name + "-uid");
  config.set_hostname(name);
  (*config.mutable_labels())["app"] = name;
  return config;
}

void SetNamespaces(runtime::v1::PodSandboxConfig& config, runtime::v1::NamespaceMode network,
                   runtime::v1::NamespaceMode pid) {
  runtime::v1::NamespaceOption& ns =
      *config.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns.set_network(network);
  ns.set_pid(pid);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// berthd's log lines at level error or critical ("<time> <level> <message>").
std::vector<std::string> ErrorLines(const std::string& log) {
  std::vector<std::string> errors;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(' ', 2));
    if (fields.size() >= 2 && (fields[1] == "error" || fields[1] == "critical")) {
      errors.emplace_back(line);
    }
  }
  return errors;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// GET /hello.txt from ip:port; the whole response, or "" when nothing answered.
std::string HttpGet(const std::string& ip, int port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return "";
  timeval timeout{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) return "";
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return "";
  std::string request = "GET /hello.txt HTTP/1.0\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return "";
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd.get(), buffer, sizeof(buffer), 0)) > 0) response.append(buffer, n);
  return response;
}

// Retries until the server (just started) answers.
std::string HttpGetEventually(const std::string& ip, int port) {
  std::string response;
  for (absl::Time deadline = absl::Now() + absl::Seconds(8); absl::Now() < deadline;) {
    response = HttpGet(ip, port);
    if (response.find("200 OK") != std::string::npos) break;
    ::usleep(50 * 1000);
  }
  return response;
}

// A busybox httpd serving hello.txt ("hello from <name>") inside a pod's network namespace.
class PodServer {
 public:
  static std::unique_ptr<PodServer> Start(const std::string& net_pin, const std::string& name) {
    auto server = std::unique_ptr<PodServer>(new PodServer());
    absl::StatusOr<TempDir> dir = TempDir::Make("berth-pod-www-");
    EXPECT_TRUE(dir.ok()) << dir.status();
    if (!dir.ok()) return nullptr;
    server->dir_.emplace(std::move(*dir));
    EXPECT_TRUE(
        WriteFileAtomic(server->dir_->path() + "/hello.txt", "hello from " + name, 0644).ok());
    absl::StatusOr<Process> process =
        Process::Start({.argv = {"nsenter", "--net=" + net_pin, kBusybox, "httpd", "-f", "-p",
                                 std::to_string(kPodPort), "-h", server->dir_->path()}});
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return nullptr;
    server->process_.emplace(std::move(*process));
    return server;
  }
  ~PodServer() {
    if (process_) process_->Stop(absl::Seconds(2)).IgnoreError();
  }

 private:
  PodServer() = default;
  std::optional<TempDir> dir_;
  std::optional<Process> process_;
};

class PodTest : public ::testing::Test {
 protected:
  void StartDaemon(DaemonOptions options = {}) {
    absl::StatusOr<std::unique_ptr<TestDaemon>> daemon = TestDaemon::Start(std::move(options));
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    client_.emplace(daemon_->Client());
  }

  // Every test ends with all its pods removed: berthd must stop cleanly and leave nothing.
  void TearDown() override {
    if (daemon_ == nullptr) return;
    // An idle connected channel holds berthd's shutdown for seconds: close it first.
    client_.reset();
    absl::Status stopped = daemon_->Stop();
    EXPECT_TRUE(stopped.ok()) << stopped;
    EXPECT_THAT(ErrorLines(daemon_->Log()), IsEmpty());
  }

  ctl::CriClient& client() { return *client_; }

  grpc::Status Run(const runtime::v1::PodSandboxConfig& config, std::string* id,
                   const std::string& handler = "") {
    runtime::v1::RunPodSandboxRequest request;
    *request.mutable_config() = config;
    request.set_runtime_handler(handler);
    runtime::v1::RunPodSandboxResponse response;
    grpc::Status status =
        client().runtime().RunPodSandbox(client().Context().get(), request, &response);
    if (id != nullptr) *id = response.pod_sandbox_id();
    return status;
  }

  // Runs a pod that must come up; "" (and a test failure) otherwise.
  std::string MustRun(const runtime::v1::PodSandboxConfig& config) {
    std::string id;
    grpc::Status status = Run(config, &id);
    EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
    EXPECT_EQ(id.size(), 64u);
    return id;
  }

  grpc::Status Stop(const std::string& id) {
    runtime::v1::StopPodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    runtime::v1::StopPodSandboxResponse response;
    return client().runtime().StopPodSandbox(client().Context().get(), request, &response);
  }

  grpc::Status Remove(const std::string& id) {
    runtime::v1::RemovePodSandboxRequest request;
    request.set_pod_sandbox_id(id);
    runtime::v1::RemovePodSandboxResponse response;
    return client().runtime().RemovePodSandbox(client().Context().get(), request, &response);
  }

  void MustRemove(const std::string& id) {
    grpc::Status status = Stop(id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    status = Remove(id);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  grpc::Status Status(const std::string& id, runtime::v1::PodSandboxStatusResponse* response,
                      bool verbose = false) {
    runtime::v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    request.set_verbose(verbose);
    return client().runtime().PodSandboxStatus(client().Context().get(), request, response);
  }

  runtime::v1::PodSandboxStatus MustStatus(const std::string& id) {
    runtime::v1::PodSandboxStatusResponse response;
    grpc::Status status = Status(id, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  nlohmann::json Info(const std::string& id) {
    runtime::v1::PodSandboxStatusResponse response;
    grpc::Status status = Status(id, &response, /*verbose=*/true);
    EXPECT_TRUE(status.ok()) << status.error_message();
    auto it = response.info().find("info");
    if (it == response.info().end()) return nlohmann::json();
    return nlohmann::json::parse(it->second, nullptr, false);
  }

  std::vector<std::string> List(const runtime::v1::PodSandboxFilter& filter = {}) {
    runtime::v1::ListPodSandboxRequest request;
    *request.mutable_filter() = filter;
    runtime::v1::ListPodSandboxResponse response;
    grpc::Status status =
        client().runtime().ListPodSandbox(client().Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const runtime::v1::PodSandbox& pod : response.items()) ids.push_back(pod.id());
    return ids;
  }

  std::string Pin(const std::string& kind, const std::string& id) const {
    return absl::StrCat(daemon_->runroot(), "/ns/", kind, "/", id);
  }
  std::string PodDir(const std::string& id) const {
    return absl::StrCat(daemon_->runroot(), "/pods/", id);
  }

  void ExpectNoLeftovers() {
    absl::Status clean = daemon_->CheckPodLeftovers();
    EXPECT_TRUE(clean.ok()) << clean;
  }

  bool InSubnet(const std::string& ip) const {
    std::string subnet = daemon_->subnet();
    std::string prefix = subnet.substr(0, subnet.rfind('.') + 1);
    return ip.rfind(prefix, 0) == 0 && ip != daemon_->gateway();
  }

  std::unique_ptr<TestDaemon> daemon_;
  std::optional<ctl::CriClient> client_;
};

// The leftover check itself: a live pod shows up in every category it looks at.
TEST_F(PodTest, LeftoverCheckSeesEveryPartOfALivePod) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig config = PodConfig("seen");
  config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("seen"));
  runtime::v1::PortMapping& port = *config.add_port_mappings();
  port.set_container_port(kPodPort);
  port.set_host_port(20000 + ::getpid() % 20000);
  std::string id = MustRun(config);
  ASSERT_FALSE(id.empty());
  std::string all = absl::StrJoin(daemon_->PodLeftovers(), "\n");
  for (const std::string& expected :
       {std::string("berth-mon "), std::string("mount: "), "namespace pin: " + Pin("net", id),
        "namespace pin: " + Pin("pid", id), daemon_->root() + "/sandboxes/" + id, PodDir(id),
        std::string("IP allocation: "), "on bridge " + daemon_->bridge(),
        "cgroup: /sys/fs/cgroup/memory/" + daemon_->cgroup_prefix(), std::string("iptables: ")}) {
    EXPECT_THAT(all, HasSubstr(expected));
  }
  MustRemove(id);
  ExpectNoLeftovers();
}

TEST_F(PodTest, PodGetsAnIpInTheSubnetReachableFromTheHost) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::string id = MustRun(PodConfig("web"));
  ASSERT_FALSE(id.empty());
  runtime::v1::PodSandboxStatus status = MustStatus(id);
  EXPECT_EQ(status.state(), runtime::v1::SANDBOX_READY);
  std::string ip = status.network().ip();
  EXPECT_TRUE(InSubnet(ip)) << ip << " not in " << daemon_->subnet();
  EXPECT_TRUE(Exists(Pin("net", id)));
  EXPECT_EQ(CountEntries(daemon_->dir() + "/ipam/berth-test"), 3) << "lock, last IP, one IP";
  EXPECT_THAT(ReadText("/proc/self/mountinfo"), HasSubstr(PodDir(id) + "/shm "));
  {
    std::unique_ptr<PodServer> server = PodServer::Start(Pin("net", id), "web");
    ASSERT_NE(server, nullptr);
    EXPECT_THAT(HttpGetEventually(ip, kPodPort), HasSubstr("hello from web"));
  }
  MustRemove(id);
  EXPECT_FALSE(Exists(Pin("net", id)));
  ExpectNoLeftovers();
}

// The CNI cache is written without fsync (like the record): when it is lost, Stop rebuilds the
// DEL from the record and the default network, so the address is still released.
TEST_F(PodTest, ALostCniCacheStillReleasesTheAddress) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::string id = MustRun(PodConfig("cacheless"));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(CountEntries(daemon_->dir() + "/ipam/berth-test"), 3) << "lock, last IP, one IP";
  std::string cache = absl::StrCat(daemon_->root(), "/sandboxes/", id, "/cni-result.json");
  ASSERT_TRUE(Exists(cache));
  ASSERT_EQ(::unlink(cache.c_str()), 0);
  // berthd reads the cache back when it starts: kill it and start it again without one.
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client());
  MustRemove(id);
  EXPECT_EQ(CountEntries(daemon_->dir() + "/ipam/berth-test"), 2) << "lock, last IP";
  ExpectNoLeftovers();
}

TEST_F(PodTest, TwoPodsReachEachOther) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::string a = MustRun(PodConfig("pod-a"));
  std::string b = MustRun(PodConfig("pod-b"));
  std::string ip_a = MustStatus(a).network().ip();
  std::string ip_b = MustStatus(b).network().ip();
  EXPECT_NE(ip_a, ip_b);
  {
    std::unique_ptr<PodServer> server = PodServer::Start(Pin("net", b), "pod-b");
    ASSERT_NE(server, nullptr);
    std::string got;
    for (int i = 0; i < 40 && got.find("hello from pod-b") == std::string::npos; ++i) {
      if (i > 0) ::usleep(100 * 1000);
      absl::StatusOr<SpawnResult> wget =
          RunCommand({.argv = {"nsenter", "--net=" + Pin("net", a), "curl", "-s", "-m", "2",
                               absl::StrCat("http://", ip_b, ":", kPodPort, "/hello.txt")},
                      .timeout = absl::Seconds(5)});
      ASSERT_TRUE(wget.ok()) << wget.status();
      got = wget->out;
    }
    EXPECT_EQ(got, "hello from pod-b");
  }
  MustRemove(a);
  MustRemove(b);
  ExpectNoLeftovers();
}

TEST_F(PodTest, HostnameAndDnsConfigInsideThePod) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig config = PodConfig("dns");
  config.set_hostname("named-host");
  config.mutable_dns_config()->add_servers("10.96.0.10");
  config.mutable_dns_config()->add_servers("8.8.8.8");
  config.mutable_dns_config()->add_searches("berth-test.svc.cluster.local");
  config.mutable_dns_config()->add_searches("cluster.local");
  config.mutable_dns_config()->add_options("ndots:5");
  (*config.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0";
  (*config.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  std::string id = MustRun(config);
  ASSERT_FALSE(id.empty());
  std::string ip = MustStatus(id).network().ip();

  absl::StatusOr<SpawnResult> hostname =
      RunCommand({.argv = {"nsenter", "--uts=" + Pin("uts", id), "hostname"}});
  ASSERT_TRUE(hostname.ok());
  EXPECT_EQ(hostname->out, "named-host\n") << hostname->Describe();
  EXPECT_EQ(ReadText(PodDir(id) + "/hostname"), "named-host\n");
  std::string resolv = ReadText(PodDir(id) + "/resolv.conf");
  EXPECT_THAT(resolv, HasSubstr("nameserver 10.96.0.10\n"));
  EXPECT_THAT(resolv, HasSubstr("nameserver 8.8.8.8\n"));
  EXPECT_THAT(resolv, HasSubstr("search berth-test.svc.cluster.local cluster.local\n"));
  EXPECT_THAT(resolv, HasSubstr("options ndots:5\n"));
  EXPECT_THAT(ReadText(PodDir(id) + "/hosts"), HasSubstr(absl::StrCat(ip, "\tnamed-host\n")));
  // The sysctls are set in the pod's namespaces, not on the host.
  absl::StatusOr<SpawnResult> net_sysctl =
      RunCommand({.argv = {"nsenter", "--net=" + Pin("net", id), "cat",
                           "/proc/sys/net/ipv4/ip_unprivileged_port_start"}});
  ASSERT_TRUE(net_sysctl.ok());
  EXPECT_EQ(net_sysctl->out, "0\n") << net_sysctl->Describe();
  absl::StatusOr<SpawnResult> ipc_sysctl = RunCommand(
      {.argv = {"nsenter", "--ipc=" + Pin("ipc", id), "cat", "/proc/sys/kernel/shm_rmid_forced"}});
  ASSERT_TRUE(ipc_sysctl.ok());
  EXPECT_EQ(ipc_sysctl->out, "1\n") << ipc_sysctl->Describe();
  EXPECT_NE(ReadText("/proc/sys/net/ipv4/ip_unprivileged_port_start"), "0\n");
  MustRemove(id);
  ExpectNoLeftovers();
}

TEST_F(PodTest, HostNetworkPodHasNoNetworkNamespaceOrIp) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig config = PodConfig("hostnet");
  SetNamespaces(config, runtime::v1::NODE, runtime::v1::CONTAINER);
  std::string id = MustRun(config);
  ASSERT_FALSE(id.empty());
  runtime::v1::PodSandboxStatus status = MustStatus(id);
  EXPECT_EQ(status.state(), runtime::v1::SANDBOX_READY);
  EXPECT_FALSE(status.has_network() && !status.network().ip().empty()) << status.network().ip();
  EXPECT_EQ(status.linux().namespaces().options().network(), runtime::v1::NODE);
  EXPECT_EQ(status.linux().namespaces().options().pid(), runtime::v1::CONTAINER);
  EXPECT_FALSE(Exists(Pin("net", id)));
  EXPECT_FALSE(Exists(Pin("uts", id)));
  EXPECT_FALSE(Exists(Pin("pid", id)));
  EXPECT_TRUE(Exists(Pin("ipc", id)));
  nlohmann::json info = Info(id);
  EXPECT_FALSE(info["namespaces"].contains("net")) << info.dump();
  EXPECT_FALSE(info.contains("cniResult")) << info.dump();
  // No CNI ADD ran: nothing allocated, nothing on the bridge.
  EXPECT_EQ(CountEntries(daemon_->dir() + "/ipam/berth-test") -
                (Exists(daemon_->dir() + "/ipam/berth-test/lock") ? 1 : 0) -
                (Exists(daemon_->dir() + "/ipam/berth-test/last_reserved_ip.0") ? 1 : 0),
            0);
  EXPECT_EQ(CountEntries("/sys/class/net/" + daemon_->bridge() + "/brif"), 0);
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  EXPECT_EQ(ReadText(PodDir(id) + "/hostname"), std::string(host) + "\n");
  MustRemove(id);

  runtime::v1::PodSandboxConfig bad = PodConfig("hostnet-sysctl");
  SetNamespaces(bad, runtime::v1::NODE, runtime::v1::POD);
  (*bad.mutable_linux()->mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "0";
  grpc::Status status_bad = Run(bad, nullptr);
  EXPECT_EQ(status_bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status_bad.error_message(), HasSubstr("net.ipv4.ip_unprivileged_port_start"));
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
}

TEST_F(PodTest, SharedPidNamespaceHasAnInit) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig shared = PodConfig("shared-pid");
  SetNamespaces(shared, runtime::v1::POD, runtime::v1::POD);
  std::string id = MustRun(shared);
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(Exists(Pin("pid", id)));
  // Forking into the namespace (nsenter forks for --pid) only works while its init lives; the
  // child is not pid 1.
  absl::StatusOr<SpawnResult> inside =
      RunCommand({.argv = {"nsenter", "--pid=" + Pin("pid", id), kBusybox, "sh", "-c", "echo $$"},
                  .timeout = absl::Seconds(10)});
  ASSERT_TRUE(inside.ok());
  ASSERT_TRUE(inside->success()) << inside->Describe();
  EXPECT_NE(inside->out, "1\n");
  EXPECT_NE(inside->out, "");
  // And some process of that namespace is its pid 1.
  struct stat pinned;
  ASSERT_EQ(::stat(Pin("pid", id).c_str(), &pinned), 0);
  std::string wanted = absl::StrCat("pid:[", pinned.st_ino, "]");
  bool init_found = false;
  // Kept in a local: StrSplit holds a view of the text, which must outlive the loop.
  absl::StatusOr<SpawnResult> processes =
      RunCommand({.argv = {"sh", "-c",
                           "for p in /proc/[0-9]*; do echo \"$(readlink $p/ns/pid) "
                           "$(grep NSpid $p/status 2>/dev/null | tr '\\t' ' ')\"; done"}});
  ASSERT_TRUE(processes.ok()) << processes.status();
  for (absl::string_view line : absl::StrSplit(processes->out, '\n')) {
    if (absl::StartsWith(line, wanted) && absl::EndsWith(line, " 1")) init_found = true;
  }
  EXPECT_TRUE(init_found) << "no pid 1 in " << wanted;

  runtime::v1::PodSandboxConfig own = PodConfig("own-pid");
  SetNamespaces(own, runtime::v1::POD, runtime::v1::CONTAINER);
  std::string own_id = MustRun(own);
  ASSERT_FALSE(own_id.empty());
  EXPECT_FALSE(Exists(Pin("pid", own_id)));
  EXPECT_TRUE(Exists(Pin("net", own_id)));
  EXPECT_EQ(Info(own_id)["namespaces"].count("pid"), 0u);
  MustRemove(id);
  MustRemove(own_id);
  ExpectNoLeftovers();
}

TEST_F(PodTest, HostPortReachesTheServerInThePod) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  int host_port = 20000 + ::getpid() % 20000;
  runtime::v1::PodSandboxConfig config = PodConfig("hostport");
  runtime::v1::PortMapping& port = *config.add_port_mappings();
  port.set_protocol(runtime::v1::TCP);
  port.set_container_port(kPodPort);
  port.set_host_port(host_port);
  std::string id = MustRun(config);
  ASSERT_FALSE(id.empty());
  {
    std::unique_ptr<PodServer> server = PodServer::Start(Pin("net", id), "hostport");
    ASSERT_NE(server, nullptr);
    EXPECT_THAT(HttpGetEventually(daemon_->gateway(), host_port), HasSubstr("hello from hostport"))
        << "via " << daemon_->gateway() << ":" << host_port;
  }
  absl::StatusOr<SpawnResult> nat = RunCommand({.argv = {"iptables-save", "-t", "nat"}});
  ASSERT_TRUE(nat.ok());
  EXPECT_THAT(nat->out, HasSubstr(absl::StrCat("--dport ", host_port)));
  MustRemove(id);
  nat = RunCommand({.argv = {"iptables-save", "-t", "nat"}});
  ASSERT_TRUE(nat.ok());
  EXPECT_THAT(nat->out, Not(HasSubstr(absl::StrCat("--dport ", host_port))));
  ExpectNoLeftovers();
}

TEST_F(PodTest, IdenticalRetriesGetTheSameId) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig config = PodConfig("retry");
  std::string first = MustRun(config);
  std::string second = MustRun(config);
  EXPECT_EQ(first, second);

  runtime::v1::PodSandboxConfig racing = PodConfig("racing");
  std::string ids[2];
  grpc::Status statuses[2];
  {
    std::thread other([&] { statuses[1] = Run(racing, &ids[1]); });
    statuses[0] = Run(racing, &ids[0]);
    other.join();
  }
  EXPECT_TRUE(statuses[0].ok()) << statuses[0].error_message();
  EXPECT_TRUE(statuses[1].ok()) << statuses[1].error_message();
  EXPECT_EQ(ids[0], ids[1]);
  runtime::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())["app"] = "racing";
  EXPECT_THAT(List(filter), ElementsAre(ids[0]));
  EXPECT_THAT(List(), UnorderedElementsAre(first, ids[0]));
  EXPECT_EQ(CountEntries(daemon_->root() + "/sandboxes"), 2);
  EXPECT_EQ(CountEntries("/sys/class/net/" + daemon_->bridge() + "/brif"), 2);
  MustRemove(first);
  MustRemove(ids[0]);
  ExpectNoLeftovers();
}

TEST_F(PodTest, FailingPluginLeavesNothingBehind) {
  absl::StatusOr<TempDir> plugins = TempDir::Make("berth-test-plugins-");
  ASSERT_TRUE(plugins.ok());
  ASSERT_TRUE(WriteFileAtomic(plugins->path() + "/berth-fail", R"(#!/bin/sh
case "$CNI_COMMAND" in
  ADD)
    echo '{"cniVersion": "1.0.0", "code": 999, "msg": "berth-fail refuses the pod", "details": "on purpose"}'
    exit 1 ;;
  VERSION)
    echo '{"cniVersion": "1.0.0", "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]}' ;;
esac
exit 0
)",
                              0755)
                  .ok());
  DaemonOptions options;
  options.extra_cni_plugins = R"({"type": "berth-fail"})";
  options.extra_config = absl::StrCat("[berth.network]\nplugin_dirs = [\"", plugins->path(),
                                      "\", \"/usr/lib/cni\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartDaemon(options));

  runtime::v1::PodSandboxConfig config = PodConfig("refused");
  config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("refused"));
  runtime::v1::PortMapping& port = *config.add_port_mappings();
  port.set_container_port(kPodPort);
  port.set_host_port(20000 + ::getpid() % 20000);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string id;
    grpc::Status status = Run(config, &id);
    EXPECT_FALSE(status.ok());
    EXPECT_THAT(status.error_message(), HasSubstr("berth-fail refuses the pod"));
    EXPECT_THAT(List(), IsEmpty());
    ExpectNoLeftovers();
  }
  EXPECT_THAT(daemon_->Log(), Not(HasSubstr("undoing"))) << "every undo step should succeed";
}

// berthd dies in the middle of RunPodSandbox (in CNI ADD, after bridge and portmap did their
// part): the next start undoes the half-made pod completely.
TEST_F(PodTest, CrashDuringRunIsUndoneOnRestart) {
  absl::StatusOr<TempDir> plugins = TempDir::Make("berth-test-plugins-");
  ASSERT_TRUE(plugins.ok());
  std::string started = plugins->path() + "/started";
  std::string release = plugins->path() + "/release";
  ASSERT_TRUE(
      WriteFileAtomic(plugins->path() + "/berth-slow",
                      absl::StrCat(R"(#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then
  touch )",
                                   started, R"(
  i=0
  while [ ! -e )",
                                   release, R"( ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
  echo '{"cniVersion": "1.0.0", "code": 999, "msg": "too late"}'
  exit 1
fi
if [ "$CNI_COMMAND" = VERSION ]; then
  echo '{"cniVersion": "1.0.0", "supportedVersions": ["0.4.0", "1.0.0"]}'
fi
exit 0
)"),
                      0755)
          .ok());
  DaemonOptions options;
  options.extra_cni_plugins = R"({"type": "berth-slow"})";
  options.extra_config = absl::StrCat("[berth.network]\nplugin_dirs = [\"", plugins->path(),
                                      "\", \"/usr/lib/cni\"]\n");
  ASSERT_NO_FATAL_FAILURE(StartDaemon(options));
  runtime::v1::PodSandboxConfig config = PodConfig("half-made");
  config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("half-made"));
  runtime::v1::PortMapping& port = *config.add_port_mappings();
  port.set_container_port(kPodPort);
  port.set_host_port(20000 + ::getpid() % 20000);
  std::thread run([&] { Run(config, nullptr); });
  for (int i = 0; i < 200 && !Exists(started); ++i) ::usleep(50 * 1000);
  ASSERT_TRUE(Exists(started)) << daemon_->Log();
  EXPECT_FALSE(daemon_->PodLeftovers().empty());
  ASSERT_TRUE(daemon_->Kill().ok());
  run.join();
  ASSERT_TRUE(WriteFileAtomic(release, "").ok());
  ::usleep(300 * 1000);  // the orphaned plugin notices and exits
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client());
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
  EXPECT_THAT(daemon_->Log(), HasSubstr("left half-made"));
}

TEST_F(PodTest, PodsSurviveABerthdCrashAndALostMonitorMakesNotReady) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::vector<std::string> ids;
  std::vector<std::string> ips;
  for (const char* name : {"crash-a", "crash-b", "crash-c"}) {
    ids.push_back(MustRun(PodConfig(name)));
    ips.push_back(MustStatus(ids.back()).network().ip());
  }
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client());
  for (size_t i = 0; i < ids.size(); ++i) {
    runtime::v1::PodSandboxStatus status = MustStatus(ids[i]);
    EXPECT_EQ(status.state(), runtime::v1::SANDBOX_READY) << ids[i];
    EXPECT_EQ(status.network().ip(), ips[i]);
    EXPECT_EQ(Info(ids[i])["monitorConnected"], true);
  }

  // The monitor of the last pod dies: the pod reads NOTREADY, and is still removable.
  int monitor_pid = Info(ids[2])["pid"].get<int>();
  ASSERT_GT(monitor_pid, 1);
  ASSERT_EQ(::kill(monitor_pid, SIGKILL), 0);
  runtime::v1::PodSandboxState state = runtime::v1::SANDBOX_READY;
  for (int i = 0; i < 100 && state == runtime::v1::SANDBOX_READY; ++i) {
    ::usleep(50 * 1000);
    state = MustStatus(ids[2]).state();
  }
  EXPECT_EQ(state, runtime::v1::SANDBOX_NOTREADY);
  runtime::v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(runtime::v1::SANDBOX_READY);
  EXPECT_THAT(List(ready), UnorderedElementsAre(ids[0], ids[1]));

  // A monitor that dies while berthd is down, and a stopped pod, read NOTREADY after a restart.
  ASSERT_TRUE(Stop(ids[0]).ok());
  int second_monitor = Info(ids[1])["pid"].get<int>();
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  ASSERT_EQ(::kill(second_monitor, SIGKILL), 0);
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client());
  for (const std::string& id : ids) {
    EXPECT_EQ(MustStatus(id).state(), runtime::v1::SANDBOX_NOTREADY) << id;
  }
  EXPECT_THAT(List(ready), IsEmpty());
  for (const std::string& id : ids) MustRemove(id);
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
}

// A reboot loses the runroot (tmpfs), the monitors and the namespaces, but not the records
// under root: the pods come back NOTREADY and are removable, releasing their IPs.
TEST_F(PodTest, PodsFromBeforeARebootAreNotReadyAndRemovable) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::vector<std::string> ids;
  std::vector<std::string> ips;
  std::vector<int> monitors;
  for (const char* name : {"reboot-a", "reboot-b"}) {
    runtime::v1::PodSandboxConfig config = PodConfig(name);
    SetNamespaces(config, runtime::v1::POD, runtime::v1::CONTAINER);  // no pod init to kill
    if (ids.empty()) config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent(name));
    ids.push_back(MustRun(config));
    monitors.push_back(Info(ids.back())["pid"].get<int>());
    ips.push_back(MustStatus(ids.back()).network().ip());
  }
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  for (int pid : monitors) ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ::usleep(200 * 1000);
  std::vector<std::string> mounts;
  std::istringstream lines(ReadText("/proc/self/mountinfo"));
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && absl::StartsWith(fields[4], daemon_->runroot() + "/")) {
      mounts.push_back(fields[4]);
    }
  }
  for (const std::string& mount : mounts) EXPECT_EQ(::umount2(mount.c_str(), MNT_DETACH), 0);
  ASSERT_TRUE(RemoveAll(daemon_->runroot()).ok());
  // A reboot also empties iptables: drop the pods' ipMasq rules (the bridge plugin's DEL
  // cannot find them without the netns, which it reads the pod IPs from).
  absl::StatusOr<SpawnResult> nat = RunCommand({.argv = {"iptables-save", "-t", "nat"}});
  ASSERT_TRUE(nat.ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string rule_start = absl::StrCat("-A POSTROUTING -s ", ips[i], "/32 ");
    for (absl::string_view line : absl::StrSplit(nat->out, '\n')) {
      if (!absl::StartsWith(line, rule_start) || line.find("-j CNI-") == absl::string_view::npos) {
        continue;
      }
      std::string chain(line.substr(line.find("-j CNI-") + 3));
      std::string comment = absl::StrCat("name: \"berth-test\" id: \"", ids[i], "\"");
      for (std::vector<std::string> argv :
           {std::vector<std::string>{"iptables", "-t", "nat", "-D", "POSTROUTING", "-s",
                                     ips[i] + "/32", "-m", "comment", "--comment", comment, "-j",
                                     chain},
            {"iptables", "-t", "nat", "-F", chain}, {"iptables", "-t", "nat", "-X", chain}}) {
        absl::StatusOr<SpawnResult> done = RunCommand({.argv = argv});
        ASSERT_TRUE(done.ok());
        EXPECT_TRUE(done->success()) << done->Describe();
      }
    }
  }
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client());
  for (const std::string& id : ids) {
    EXPECT_EQ(MustStatus(id).state(), runtime::v1::SANDBOX_NOTREADY) << id;
    MustRemove(id);
  }
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
}

TEST_F(PodTest, FiftyPodsUpAndDownLeaveNothingBehind) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({.log_level = "info"}));
  absl::Time start = absl::Now();
  constexpr int kPods = 50;
  constexpr int kWorkers = 3;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      ctl::CriClient client = daemon_->Client();
      for (int n = w; n < kPods; n += kWorkers) {
        runtime::v1::RunPodSandboxRequest run;
        *run.mutable_config() = PodConfig(absl::StrCat("many-", n));
        runtime::v1::RunPodSandboxResponse ran;
        grpc::Status status = client.runtime().RunPodSandbox(client.Context().get(), run, &ran);
        if (!status.ok()) {
          ADD_FAILURE() << "pod " << n << ": " << status.error_message();
          ++failures;
          continue;
        }
        if (n % 2 == 0) continue;  // the even ones stay up until all are made
        runtime::v1::RemovePodSandboxRequest remove;
        remove.set_pod_sandbox_id(ran.pod_sandbox_id());
        runtime::v1::RemovePodSandboxResponse removed;
        status = client.runtime().RemovePodSandbox(client.Context().get(), remove, &removed);
        if (!status.ok()) ADD_FAILURE() << "removing pod " << n << ": " << status.error_message();
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  EXPECT_EQ(failures, 0);
  std::vector<std::string> left = List();
  EXPECT_EQ(left.size(), static_cast<size_t>(kPods / 2));
  std::set<std::string> ips;
  for (const std::string& id : left) ips.insert(MustStatus(id).network().ip());
  EXPECT_EQ(ips.size(), left.size()) << "every pod has an IP of its own";
  for (const std::string& id : left) MustRemove(id);
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
  EXPECT_LT(absl::Now() - start, absl::Minutes(2));
}

TEST_F(PodTest, InvalidConfigsAreRejectedAndUnknownIdsAreFine) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  struct Case {
    std::string what;
    runtime::v1::PodSandboxConfig config;
    std::string handler;
    grpc::StatusCode code;
    std::string message;
  };
  std::vector<Case> cases;
  {
    Case c{"sysctl injection", PodConfig("bad-sysctl"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "kernel.shm_rmid_forced"};
    (*c.config.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] =
        "1+kernel.core_pattern=x";
    cases.push_back(c);
  }
  {
    Case c{"hostname newline", PodConfig("bad-hostname"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "hostname"};
    c.config.set_hostname("evil\n10.0.0.1 kubernetes");
    cases.push_back(c);
  }
  {
    Case c{"search newline", PodConfig("bad-search"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "DNS search"};
    c.config.mutable_dns_config()->add_searches("a.example\nnameserver 6.6.6.6");
    cases.push_back(c);
  }
  cases.push_back(
      {"unknown handler", PodConfig("bad-handler"), "nope", grpc::StatusCode::NOT_FOUND, "nope"});
  {
    Case c{"no metadata", PodConfig("bad-metadata"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "metadata"};
    c.config.clear_metadata();
    cases.push_back(c);
  }
  {
    Case c{"cgroup escape", PodConfig("bad-cgroup"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "cgroup"};
    c.config.mutable_linux()->set_cgroup_parent("/" + daemon_->cgroup_prefix() + "/../../etc");
    cases.push_back(c);
  }
  {
    Case c{"empty uid", PodConfig("bad-uid"), "", grpc::StatusCode::INVALID_ARGUMENT,
           "metadata.uid"};
    c.config.mutable_metadata()->clear_uid();
    cases.push_back(c);
  }
  for (const Case& c : cases) {
    grpc::Status status = Run(c.config, nullptr, c.handler);
    EXPECT_EQ(status.error_code(), c.code) << c.what << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.what;
  }
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();

  std::string unknown(64, 'a');
  for (const std::string& id : {unknown, std::string("no-such-pod")}) {
    EXPECT_TRUE(Stop(id).ok()) << id;
    EXPECT_TRUE(Remove(id).ok()) << id;
    runtime::v1::PodSandboxStatusResponse response;
    EXPECT_EQ(Status(id, &response).error_code(), grpc::StatusCode::NOT_FOUND) << id;
  }

  std::string id = MustRun(PodConfig("twice"));
  EXPECT_EQ(CountEntries("/sys/class/net/" + daemon_->bridge() + "/brif"), 1);
  for (int i = 0; i < 2; ++i) {
    grpc::Status status = Stop(id);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(MustStatus(id).state(), runtime::v1::SANDBOX_NOTREADY);
  }
  EXPECT_FALSE(MustStatus(id).has_network() && !MustStatus(id).network().ip().empty());
  // Stopping released the network (IP and veth); the namespaces stay until removal.
  EXPECT_EQ(CountEntries("/sys/class/net/" + daemon_->bridge() + "/brif"), 0);
  EXPECT_EQ(CountEntries(daemon_->dir() + "/ipam/berth-test"), 2) << "lock and last IP only";
  EXPECT_TRUE(Exists(Pin("net", id)));
  for (int i = 0; i < 2; ++i) {
    grpc::Status status = Remove(id);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
  runtime::v1::PodSandboxStatusResponse response;
  EXPECT_EQ(Status(id, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  ExpectNoLeftovers();
}

TEST_F(PodTest, ListFiltersByIdPrefixStateAndLabels) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig front = PodConfig("front");
  (*front.mutable_labels())["tier"] = "web";
  runtime::v1::PodSandboxConfig back = PodConfig("back");
  (*back.mutable_labels())["tier"] = "db";
  std::string front_id = MustRun(front);
  std::string back_id = MustRun(back);
  EXPECT_THAT(List(), UnorderedElementsAre(front_id, back_id));

  runtime::v1::PodSandboxFilter by_id;
  by_id.set_id(front_id);
  EXPECT_THAT(List(by_id), ElementsAre(front_id));
  size_t common = 0;
  while (front_id[common] == back_id[common]) ++common;
  by_id.set_id(front_id.substr(0, common + 1));
  EXPECT_THAT(List(by_id), ElementsAre(front_id));
  runtime::v1::PodSandboxStatusResponse response;
  ASSERT_TRUE(Status(front_id.substr(0, common + 1), &response).ok());
  EXPECT_EQ(response.status().id(), front_id);

  ASSERT_TRUE(Stop(back_id).ok());
  runtime::v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(runtime::v1::SANDBOX_READY);
  EXPECT_THAT(List(ready), ElementsAre(front_id));
  runtime::v1::PodSandboxFilter not_ready;
  not_ready.mutable_state()->set_state(runtime::v1::SANDBOX_NOTREADY);
  EXPECT_THAT(List(not_ready), ElementsAre(back_id));

  runtime::v1::PodSandboxFilter labels;
  (*labels.mutable_label_selector())["tier"] = "db";
  EXPECT_THAT(List(labels), ElementsAre(back_id));
  (*labels.mutable_label_selector())["app"] = "front";
  EXPECT_THAT(List(labels), IsEmpty());
  (*labels.mutable_label_selector())["tier"] = "web";
  EXPECT_THAT(List(labels), ElementsAre(front_id));
  MustRemove(front_id);
  MustRemove(back_id);
  EXPECT_THAT(List(), IsEmpty());
  ExpectNoLeftovers();
}

TEST_F(PodTest, CgroupParentIsCreatedAndExactlyThatRemoved) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string top = "/" + daemon_->cgroup_prefix();
  const std::vector<std::string> hierarchies = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu"};
  // berthd makes the whole path, and removes all of it.
  runtime::v1::PodSandboxConfig config = PodConfig("cgroup-a");
  config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("pod1"));
  std::string a = MustRun(config);
  for (const std::string& hierarchy : hierarchies) {
    EXPECT_TRUE(Exists(hierarchy + top + "/pod1/tasks")) << hierarchy;
  }
  EXPECT_EQ(Info(a)["cgroupPath"], daemon_->CgroupParent("pod1").substr(1));
  MustRemove(a);
  for (const std::string& hierarchy : hierarchies) EXPECT_FALSE(Exists(hierarchy + top));

  // A parent that was there before stays.
  for (const std::string& hierarchy : hierarchies) {
    ASSERT_EQ(::mkdir((hierarchy + top).c_str(), 0755), 0) << hierarchy;
  }
  config.mutable_metadata()->set_name("cgroup-b");
  config.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("pod2"));
  std::string b = MustRun(config);
  for (const std::string& hierarchy : hierarchies) {
    EXPECT_TRUE(Exists(hierarchy + top + "/pod2")) << hierarchy;
  }
  MustRemove(b);
  for (const std::string& hierarchy : hierarchies) {
    EXPECT_FALSE(Exists(hierarchy + top + "/pod2")) << hierarchy;
    EXPECT_TRUE(Exists(hierarchy + top)) << hierarchy;
    EXPECT_EQ(::rmdir((hierarchy + top).c_str()), 0) << hierarchy;
  }
  ExpectNoLeftovers();
}

// Two pods under one cgroup parent that the first pod's RunPodSandbox created: removing the
// first pod must not fail because the second still uses the shared parent.
// DISABLED: product bug. SandboxManager::SetUp records every directory CreateCgroup made
// (including the shared parent) in the first pod's created_cgroups, and TearDown's
// sandbox::RemoveCgroups then fails with EBUSY on that parent (the second pod's cgroup is in
// it) after retrying for seconds, so RemovePodSandbox of the first pod fails until the second
// is gone.
TEST_F(PodTest, PodsSharingACreatedCgroupParentAreRemovableInAnyOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  runtime::v1::PodSandboxConfig first = PodConfig("cgroup-first");
  first.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("first"));
  runtime::v1::PodSandboxConfig second = PodConfig("cgroup-second");
  second.mutable_linux()->set_cgroup_parent(daemon_->CgroupParent("second"));
  std::string first_id = MustRun(first);
  std::string second_id = MustRun(second);
  grpc::Status removed = Remove(first_id);
  EXPECT_TRUE(removed.ok()) << removed.error_message();
  const std::string top = "/sys/fs/cgroup/memory/" + daemon_->cgroup_prefix();
  EXPECT_FALSE(Exists(top + "/first"));
  EXPECT_TRUE(Exists(top + "/second"));
  MustRemove(second_id);
  if (!removed.ok()) MustRemove(first_id);
  EXPECT_FALSE(Exists(top)) << "the last pod out removes the parent";
  ExpectNoLeftovers();
}

TEST_F(PodTest, BerthctlPodCommands) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::string file = daemon_->dir() + "/pod.json";
  ASSERT_TRUE(WriteFileAtomic(file, R"({
  "metadata": {"name": "ctl-pod", "namespace": "berth-test", "uid": "ctl-uid", "attempt": 1},
  "hostname": "ctl-pod",
  "labels": {"made-by": "berthctl"},
  "linux": {}
})")
                  .ok());
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BerthctlPath(), "--endpoint", daemon_->endpoint()});
    absl::StatusOr<SpawnResult> result =
        RunCommand({.argv = std::move(args), .timeout = absl::Seconds(60)});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SpawnResult();
  };
  SpawnResult run = ctl({"runp", file});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = std::string(absl::StripAsciiWhitespace(run.out));
  ASSERT_EQ(id.size(), 64u) << run.out;

  SpawnResult pods = ctl({"pods"});
  EXPECT_EQ(pods.exit_code, 0) << pods.err;
  EXPECT_THAT(pods.out, HasSubstr(id.substr(0, 13)));
  EXPECT_THAT(pods.out, HasSubstr("ctl-pod"));
  EXPECT_THAT(pods.out, HasSubstr("Ready"));
  EXPECT_EQ(ctl({"pods", "-q", "--label", "made-by=berthctl"}).out, id + "\n");
  EXPECT_EQ(ctl({"pods", "-q", "--label", "made-by=other"}).out, "");

  SpawnResult inspect = ctl({"inspectp", id.substr(0, 12)});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  nlohmann::json doc = nlohmann::json::parse(inspect.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << inspect.out;
  EXPECT_EQ(doc["status"]["id"], id);
  EXPECT_EQ(doc["status"]["state"], "SANDBOX_READY");
  EXPECT_EQ(doc["status"]["metadata"]["name"], "ctl-pod");
  EXPECT_TRUE(InSubnet(doc["status"]["network"]["ip"].get<std::string>())) << inspect.out;
  EXPECT_GT(doc["info"]["pid"].get<int>(), 1);

  SpawnResult stop = ctl({"stopp", id});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(ctl({"pods", "-q", "--state", "notready"}).out, id + "\n");
  SpawnResult remove = ctl({"rmp", id});
  EXPECT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(ctl({"pods", "-q"}).out, "");
  SpawnResult missing = ctl({"inspectp", id});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("PodSandboxStatus"));
  ExpectNoLeftovers();
}

}  // namespace
}  // namespace berth::testing
