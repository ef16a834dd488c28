// berth-mon end to end (runs as root): a real monitor pins real namespaces, serves its socket,
// survives its client, and leaves nothing behind on Shutdown or a failed launch.
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "conmon/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::mon {
namespace {

using ::testing::HasSubstr;

constexpr long kNsfsMagic = 0x6e736673;

bool Alive(pid_t pid) {
  auto stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

bool WaitGone(pid_t pid, absl::Duration timeout = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (Alive(pid)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

std::string StatusField(pid_t pid, const std::string& field) {
  auto status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  if (!status.ok()) return "";
  for (absl::string_view line : absl::StrSplit(*status, '\n')) {
    if (absl::ConsumePrefix(&line, field + ":")) return std::string(absl::StripAsciiWhitespace(line));
  }
  return "";
}

std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> out;
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/task/", pid, "/children"));
  if (!text.ok()) return out;
  for (absl::string_view word : absl::StrSplit(*text, ' ', absl::SkipWhitespace())) {
    int child;
    if (absl::SimpleAtoi(word, &child)) out.push_back(child);
  }
  return out;
}

bool IsNsfs(const std::string& path) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == kNsfsMagic;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Sh(std::vector<std::string> argv) {
  auto result = RunCommand({.argv = std::move(argv), .timeout = absl::Seconds(20)});
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return "";
  EXPECT_TRUE(result->success()) << result->Describe();
  return result->out;
}

class MonitorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "needs root";
    auto dir = TempDir::Make("berth-mon-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
    pod_dir_ = dir_->path() + "/pod";
    ns_dir_ = dir_->path() + "/ns";
    ASSERT_TRUE(MakeDirs(pod_dir_).ok());
    pod_id_ = absl::StrCat("montest", ::getpid(), "x", counter_++);
  }

  void TearDown() override {
    for (pid_t pid : launched_) {
      if (Alive(pid)) ::kill(pid, SIGKILL);
    }
    for (const char* type : {"net", "ipc", "uts", "pid"}) {
      std::string pin = absl::StrCat(ns_dir_, "/", type, "/", pod_id_);
      ::umount2(pin.c_str(), MNT_DETACH);
      ::unlink(pin.c_str());
    }
  }

  monitor::v1::LaunchConfig Config() {
    monitor::v1::LaunchConfig config;
    config.set_pod_id(pod_id_);
    config.set_pod_dir(pod_dir_);
    config.set_ns_dir(ns_dir_);
    config.set_runtime_path("/usr/sbin/runc");
    config.set_runtime_root(dir_->path() + "/runc");
    config.set_log_level("debug");
    config.set_oom_score_adj(-999);
    return config;
  }

  absl::StatusOr<monitor::v1::LaunchResult> Launch(monitor::v1::LaunchConfig config) {
    LaunchOptions options{.berth_mon_path = BERTH_BINARY_DIR "/conmon/berth-mon",
                          .config = std::move(config),
                          .timeout = absl::Seconds(20)};
    auto result = LaunchMonitor(options);
    if (result.ok()) launched_.push_back(result->pid());
    return result;
  }

  std::unique_ptr<MonitorClient> Connect(MonitorClient::DisconnectCallback on_disconnect = {}) {
    auto client = MonitorClient::Connect(pod_dir_ + "/mon.sock", {}, std::move(on_disconnect));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  absl::Status Shutdown(MonitorClient* client) {
    monitor::v1::Request request;
    request.mutable_shutdown();
    return client->Call(request, absl::Seconds(10)).status();
  }

  static inline int counter_ = 0;
  std::optional<TempDir> dir_;
  std::string pod_dir_, ns_dir_, pod_id_;
  std::vector<pid_t> launched_;
};

TEST_F(MonitorTest, PinsConfiguredNamespacesAndShutsDown) {
  monitor::v1::LaunchConfig config = Config();
  config.set_new_net(true);
  config.set_new_ipc(true);
  config.set_new_uts(true);
  std::string hostname = absl::StrCat("berth-host-", ::getpid());
  config.set_hostname(hostname);
  (*config.mutable_sysctls())["net.ipv4.ip_unprivileged_port_start"] = "42";
  (*config.mutable_sysctls())["kernel.shmmni"] = "1234";
  auto launched = Launch(config);
  ASSERT_TRUE(launched.ok()) << launched.status();
  pid_t pid = launched->pid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(launched->namespaces().size(), 3u);
  for (const char* type : {"net", "ipc", "uts"}) {
    std::string pin = absl::StrCat(ns_dir_, "/", type, "/", pod_id_);
    EXPECT_EQ(launched->namespaces().at(type), pin);
    EXPECT_TRUE(IsNsfs(pin)) << pin;
  }
  std::string net = launched->namespaces().at("net");
  std::string links = Sh({"nsenter", "--net=" + net, "ip", "-o", "link"});
  EXPECT_THAT(links, HasSubstr("lo: <LOOPBACK,UP,LOWER_UP>"));
  EXPECT_EQ(Sh({"nsenter", "--uts=" + launched->namespaces().at("uts"), "hostname"}),
            hostname + "\n");
  EXPECT_EQ(Sh({"nsenter", "--net=" + net, "cat",
                 "/proc/sys/net/ipv4/ip_unprivileged_port_start"}),
            "42\n");
  EXPECT_EQ(Sh({"nsenter", "--ipc=" + launched->namespaces().at("ipc"), "cat",
                 "/proc/sys/kernel/shmmni"}),
            "1234\n");
  EXPECT_NE(Sh({"cat", "/proc/sys/kernel/shmmni"}), "1234\n");  // the host's is untouched

  // The host may refuse -999; then the monitor says so in its log and carries on.
  auto adj = ReadFile(absl::StrCat("/proc/", pid, "/oom_score_adj"));
  ASSERT_TRUE(adj.ok());
  if (*adj != "-999\n") {
    auto log = ReadFile(pod_dir_ + "/mon.log");
    ASSERT_TRUE(log.ok());
    EXPECT_THAT(*log, HasSubstr("oom_score_adj"));
  }

  // Detached: not our child, in a session of its own.
  std::string ppid = StatusField(pid, "PPid");
  EXPECT_NE(ppid, absl::StrCat(::getpid()));
  EXPECT_NE(::getsid(pid), ::getsid(0));
  struct stat st;
  ASSERT_EQ(::stat((pod_dir_ + "/mon.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto pid_file = ReadFile(pod_dir_ + "/mon.pid");
  ASSERT_TRUE(pid_file.ok());
  EXPECT_EQ(*pid_file, absl::StrCat(pid, "\n"));

  {
    std::unique_ptr<MonitorClient> first = Connect();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->hello().protocol_version(), kProtocolVersion);
    EXPECT_EQ(first->hello().pod_id(), pod_id_);
    EXPECT_EQ(first->hello().pid(), pid);
    EXPECT_EQ(first->hello().namespaces().at("net"), net);
  }
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(Alive(pid)) << "the monitor must survive its client";

  // A malformed record closes that connection only.
  {
    int raw = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un address{.sun_family = AF_UNIX};
    std::string path = pod_dir_ + "/mon.sock";
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    ASSERT_EQ(::connect(raw, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(::send(raw, "\x05\x00\x00\x00junk", 8, 0), 8);
    char byte;
    EXPECT_EQ(::recv(raw, &byte, 1, 0), 0);  // closed by the monitor
    ::close(raw);
  }

  std::unique_ptr<MonitorClient> second = Connect();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->hello().pid(), pid);

  auto smaps = ReadFile(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  ASSERT_TRUE(smaps.ok()) << smaps.status();
  int64_t private_kb = 0, dirty_kb = 0, pss_kb = 0;
  for (absl::string_view line : absl::StrSplit(*smaps, '\n')) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t kb = 0;
    if (words.size() < 2 || !absl::SimpleAtoi(words[1], &kb)) continue;
    if (words[0] == "Private_Clean:" || words[0] == "Private_Dirty:") private_kb += kb;
    if (words[0] == "Private_Dirty:") dirty_kb += kb;
    if (words[0] == "Pss:") pss_kb += kb;
  }
  // Private_Clean is mostly berth-mon's and libprotobuf-lite's text while no other process maps
  // them; Private_Dirty is what every further pod costs.
  std::printf("berth-mon private memory: %lld KiB (dirty %lld KiB, Pss %lld KiB)\n",
              static_cast<long long>(private_kb), static_cast<long long>(dirty_kb),
              static_cast<long long>(pss_kb));
  EXPECT_LT(dirty_kb, 1024);
  EXPECT_LT(private_kb, 2048);

  EXPECT_TRUE(Shutdown(second.get()).ok());
  EXPECT_TRUE(WaitGone(pid));
  for (const char* type : {"net", "ipc", "uts"}) {
    std::string pin = absl::StrCat(ns_dir_, "/", type, "/", pod_id_);
    EXPECT_FALSE(Exists(pin)) << pin;
  }
  EXPECT_FALSE(Exists(pod_dir_ + "/mon.sock"));
  EXPECT_FALSE(Exists(pod_dir_ + "/mon.pid"));
}

TEST_F(MonitorTest, PidNamespaceInitReapsOrphans) {
  monitor::v1::LaunchConfig config = Config();
  config.set_new_pid(true);
  config.set_new_ipc(true);
  auto launched = Launch(config);
  ASSERT_TRUE(launched.ok()) << launched.status();
  pid_t pid = launched->pid();
  std::string pin = launched->namespaces().at("pid");
  EXPECT_TRUE(IsNsfs(pin));
  std::vector<pid_t> children = Children(pid);
  ASSERT_EQ(children.size(), 1u) << "the init is the monitor's only child";
  pid_t init = children[0];
  std::string nspid = StatusField(init, "NSpid");
  EXPECT_THAT(nspid, ::testing::EndsWith("\t1")) << nspid;

  Sh({"nsenter", "--pid=" + pin, "sh", "-c", "sleep 0.3 & exit 0"});
  std::vector<pid_t> orphans = Children(init);
  EXPECT_EQ(orphans.size(), 1u) << "the orphaned sleep belongs to the init";
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!Children(init).empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(Children(init).empty()) << "the init left a zombie";
  for (pid_t orphan : orphans) EXPECT_FALSE(Alive(orphan));

  // Signals from inside the namespace do not end the init.
  Sh({"nsenter", "--pid=" + pin, "sh", "-c", "kill -TERM 1; kill -INT 1; true"});
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(Alive(init));

  std::unique_ptr<MonitorClient> client = Connect();
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(Shutdown(client.get()).ok());
  EXPECT_TRUE(WaitGone(pid));
  EXPECT_FALSE(Alive(init));
  EXPECT_FALSE(Exists(pin));
}

TEST_F(MonitorTest, BadSysctlFailsAndLeavesNothing) {
  monitor::v1::LaunchConfig config = Config();
  config.set_new_net(true);
  config.set_new_uts(true);
  (*config.mutable_sysctls())["net.ipv4.does_not_exist"] = "1";
  auto launched = Launch(config);
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.status().code(), absl::StatusCode::kInvalidArgument) << launched.status();
  EXPECT_THAT(launched.status().message(), HasSubstr("net.ipv4.does_not_exist"));
  for (const char* type : {"net", "uts"}) {
    EXPECT_FALSE(Exists(absl::StrCat(ns_dir_, "/", type, "/", pod_id_)));
  }
  EXPECT_FALSE(Exists(pod_dir_ + "/mon.sock"));
  EXPECT_FALSE(Exists(pod_dir_ + "/mon.pid"));
  // The monitor's pid is in its log lines: "... [pid] ...".
  auto log = ReadFile(pod_dir_ + "/mon.log");
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_THAT(*log, HasSubstr("net.ipv4.does_not_exist"));
  size_t open = log->find('[');
  int pid = 0;
  ASSERT_NE(open, std::string::npos);
  ASSERT_TRUE(absl::SimpleAtoi(log->substr(open + 1, log->find(']') - open - 1), &pid));
  EXPECT_TRUE(WaitGone(pid));
}

TEST_F(MonitorTest, SigkilledMonitorFailsPendingCalls) {
  monitor::v1::LaunchConfig config = Config();
  config.set_new_net(true);
  auto launched = Launch(config);
  ASSERT_TRUE(launched.ok()) << launched.status();
  pid_t pid = launched->pid();
  absl::Notification disconnected;
  std::atomic<int> disconnects{0};
  std::unique_ptr<MonitorClient> client = Connect([&] {
    disconnects++;
    disconnected.Notify();
  });
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);  // so that the call stays pending
  std::future<absl::Status> pending = std::async(std::launch::async, [&] {
    monitor::v1::Request request;
    request.mutable_list_containers();
    return client->Call(request, absl::Seconds(20)).status();
  });
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(disconnected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::Status status = pending.get();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_FALSE(client->connected());
  monitor::v1::Request again;
  again.mutable_list_containers();
  EXPECT_TRUE(absl::IsUnavailable(client->Call(again, absl::Seconds(1)).status()));
  client.reset();
  EXPECT_EQ(disconnects.load(), 1);
  EXPECT_TRUE(WaitGone(pid));
}

TEST_F(MonitorTest, SigtermShutsDown) {
  monitor::v1::LaunchConfig config = Config();
  config.set_new_uts(true);
  auto launched = Launch(config);
  ASSERT_TRUE(launched.ok()) << launched.status();
  std::string pin = launched->namespaces().at("uts");
  EXPECT_TRUE(IsNsfs(pin));
  ASSERT_EQ(::kill(launched->pid(), SIGTERM), 0);
  EXPECT_TRUE(WaitGone(launched->pid()));
  EXPECT_FALSE(Exists(pin));
  EXPECT_FALSE(Exists(pod_dir_ + "/mon.sock"));
}

}  // namespace
}  // namespace berth::mon
