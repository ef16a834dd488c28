// berth-mon end to end (runs as root): a real monitor pins real namespaces, serves its socket,
// survives its client, and leaves nothing behind on Shutdown or a failed launch.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
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
#include "conmon/stream_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"  // header-only

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
    // A test that failed half-way may leave containers its monitor no longer holds (a dead
    // monitor's containers run on, reparented): remove whatever is left in this test's runc root,
    // processes and cgroups with it.
    if (dir_) {
      std::string root = dir_->path() + "/runc";
      auto listed = RunCommand(
          {.argv = {"/usr/sbin/runc", "--root", root, "list", "-q"}, .timeout = absl::Seconds(20)});
      if (listed.ok() && listed->success()) {
        for (absl::string_view id : absl::StrSplit(listed->out, '\n', absl::SkipWhitespace())) {
          RunCommand({.argv = {"/usr/sbin/runc", "--root", root, "delete", "--force",
                               std::string(id)},
                      .timeout = absl::Seconds(20)})
              .IgnoreError();
        }
      }
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

// A freshly built binary's page-cache pages stay dirty until written back, and would count as
// the monitor's private dirty memory.
void SyncMonitorBinary() {
  UniqueFd binary(::open(BERTH_BINARY_DIR "/conmon/berth-mon", O_RDONLY | O_CLOEXEC));
  if (binary) ::fsync(binary.get());
}

// Private_Dirty of `pid`, in KiB (-1 when unknown).
int64_t PrivateDirtyKb(pid_t pid) {
  auto smaps = ReadFile(absl::StrCat("/proc/", pid, "/smaps_rollup"));
  if (!smaps.ok()) return -1;
  for (absl::string_view line : absl::StrSplit(*smaps, '\n')) {
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    int64_t kb = 0;
    if (words.size() >= 2 && words[0] == "Private_Dirty:" && absl::SimpleAtoi(words[1], &kb)) {
      return kb;
    }
  }
  return -1;
}

TEST_F(MonitorTest, PinsConfiguredNamespacesAndShutsDown) {
  SyncMonitorBinary();
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
  // Private_Clean is mostly berth-mon's text (Abseil, protobuf-lite and libstdc++ linked in;
  // glibc is shared) while no other monitor maps it; Private_Dirty is what every further pod
  // costs.
  std::printf("berth-mon private memory: %lld KiB (dirty %lld KiB, Pss %lld KiB)\n",
              static_cast<long long>(private_kb), static_cast<long long>(dirty_kb),
              static_cast<long long>(pss_kb));
  EXPECT_LT(dirty_kb, 1024);
  EXPECT_LT(private_kb, 3072);

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

// Streaming exec and attach through berthd's client API (stream_client.h) against a real
// berth-mon running real busybox containers.
class MonitorStreamTest : public MonitorTest {
 protected:
  void SetUp() override {
    MonitorTest::SetUp();
    std::string rootfs = dir_->path() + "/rootfs";
    for (const char* sub : {"/bin", "/proc", "/dev", "/sys", "/tmp"}) {
      ASSERT_TRUE(MakeDirs(rootfs + sub).ok());
    }
    absl::StatusOr<std::string> busybox = ReadFile("/bin/busybox", 64 << 20);
    ASSERT_TRUE(busybox.ok()) << busybox.status();
    ASSERT_TRUE(WriteFileAtomic(rootfs + "/bin/busybox", *busybox, 0755).ok());
    for (const char* tool : {"sh", "echo", "sleep", "cat", "true", "stty"}) {
      ASSERT_EQ(::symlink("busybox", (rootfs + "/bin/" + tool).c_str()), 0);
    }
    ASSERT_TRUE(MakeDirs(dir_->path() + "/spec").ok());
    Sh({"/usr/sbin/runc", "spec", "--bundle", dir_->path() + "/spec"});
    absl::StatusOr<std::string> spec = ReadFile(dir_->path() + "/spec/config.json");
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec_ = nlohmann::json::parse(*spec);
    auto launched = Launch(Config());
    ASSERT_TRUE(launched.ok()) << launched.status();
    monitor_pid_ = launched->pid();
    client_ = Connect();
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    if (client_ != nullptr) {
      for (const std::string& id : containers_) {
        monitor::v1::Request request;
        request.mutable_delete_container()->set_container_id(id);
        EXPECT_TRUE(client_->Call(request, absl::Seconds(30)).ok());
      }
      EXPECT_TRUE(Shutdown(client_.get()).ok());
      EXPECT_TRUE(WaitGone(monitor_pid_));
      client_.reset();
    }
    MonitorTest::TearDown();
  }

  // Creates and starts a container running `args`.
  std::string RunContainer(const std::vector<std::string>& args, bool tty = false,
                           bool stdin = false) {
    std::string id = absl::StrCat(pod_id_, "c", containers_.size());
    std::string bundle = dir_->path() + "/" + id;
    EXPECT_TRUE(MakeDirs(bundle).ok());
    nlohmann::json config = spec_;
    config["process"]["args"] = args;
    config["process"]["terminal"] = tty;
    config["root"]["path"] = dir_->path() + "/rootfs";
    config["root"]["readonly"] = false;
    config["linux"]["cgroupsPath"] = "/" + id;
    EXPECT_TRUE(WriteFileAtomic(bundle + "/config.json", config.dump()).ok());
    monitor::v1::Request create;
    monitor::v1::CreateContainer& body = *create.mutable_create_container();
    body.set_container_id(id);
    body.set_bundle(bundle);
    body.set_log_path(dir_->path() + "/" + id + ".log");
    body.set_tty(tty);
    body.set_stdin(stdin);
    auto created = client_->Call(create, absl::Seconds(60));
    EXPECT_TRUE(created.ok()) << created.status();
    containers_.push_back(id);
    monitor::v1::Request start;
    start.mutable_start_container()->set_container_id(id);
    auto started = client_->Call(start, absl::Seconds(60));
    EXPECT_TRUE(started.ok()) << started.status();
    return id;
  }

  // The pids in the container's memory cgroup.
  static size_t CgroupProcs(const std::string& id) {
    auto procs = ReadFile("/sys/fs/cgroup/memory/" + id + "/cgroup.procs");
    if (!procs.ok()) return 0;
    std::vector<std::string> lines = absl::StrSplit(*procs, '\n', absl::SkipEmpty());
    return lines.size();
  }

  size_t MonitorFds() {
    size_t count = 0;
    std::error_code error;
    for (auto it = std::filesystem::directory_iterator(absl::StrCat("/proc/", monitor_pid_, "/fd"),
                                                       error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
      ++count;
    }
    return count;
  }

  // Reads `fd` until `needle`, EOF (or EIO: a pty whose other side is gone) or `timeout`.
  static std::string ReadUntil(int fd, const std::string& needle,
                               absl::Duration timeout = absl::Seconds(10), bool* eof = nullptr) {
    std::string data;
    absl::Time deadline = absl::Now() + timeout;
    if (eof != nullptr) *eof = false;
    while (needle.empty() || data.find(needle) == std::string::npos) {
      pollfd poller{.fd = fd, .events = POLLIN};
      int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (left <= 0 || ::poll(&poller, 1, left) <= 0) break;
      char buffer[4096];
      ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (eof != nullptr) *eof = true;
        break;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }

  static void Pipe(UniqueFd* read_end, UniqueFd* write_end) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end->Reset(fds[0]);
    write_end->Reset(fds[1]);
  }

  nlohmann::json spec_;
  pid_t monitor_pid_ = 0;
  std::unique_ptr<MonitorClient> client_;
  std::vector<std::string> containers_;
};

TEST_F(MonitorStreamTest, ExecWithoutTty) {
  std::string id = RunContainer({"sleep", "1000"});
  size_t fds_before = MonitorFds();
  UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
  Pipe(&in_r, &in_w);
  Pipe(&out_r, &out_w);
  Pipe(&err_r, &err_w);
  absl::StatusOr<ExecStreamHandle> exec = StartExecStream(
      *client_, {.container_id = id,
                 .argv = {"sh", "-c", "read line; echo got-$line; echo err-$line >&2; exit 3"},
                 .stdin_fd = in_r.get(),
                 .stdout_fd = out_w.get(),
                 .stderr_fd = err_w.get()});
  ASSERT_TRUE(exec.ok()) << exec.status();
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();
  EXPECT_GT(exec->exec_id, 0u);
  EXPECT_GT(exec->pid, 1);
  EXPECT_FALSE(exec->pty_master.valid());
  ASSERT_EQ(::write(in_w.get(), "ping\n", 5), 5);
  bool eof = false;
  EXPECT_EQ(ReadUntil(out_r.get(), "", absl::Seconds(10), &eof), "got-ping\n");
  EXPECT_TRUE(eof);
  EXPECT_EQ(ReadUntil(err_r.get(), "", absl::Seconds(10), &eof), "err-ping\n");
  EXPECT_TRUE(eof);
  absl::StatusOr<int> code = WaitExecStream(*client_, exec->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
  // Given out once.
  EXPECT_TRUE(absl::IsNotFound(WaitExecStream(*client_, exec->exec_id, absl::Seconds(1)).status()));

  // Exit code 0, with /dev/null for the streams not given; waited for before it ends.
  absl::StatusOr<ExecStreamHandle> quiet =
      StartExecStream(*client_, {.container_id = id, .argv = {"sh", "-c", "sleep 0.3; true"}});
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  code = WaitExecStream(*client_, quiet->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);

  // A wait that times out keeps the result for the next one.
  absl::StatusOr<ExecStreamHandle> slow =
      StartExecStream(*client_, {.container_id = id, .argv = {"sh", "-c", "sleep 0.5; exit 4"}});
  ASSERT_TRUE(slow.ok()) << slow.status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      WaitExecStream(*client_, slow->exec_id, absl::Milliseconds(50)).status()));
  code = WaitExecStream(*client_, slow->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 4);

  // runc's own error comes back.
  absl::StatusOr<ExecStreamHandle> missing =
      StartExecStream(*client_, {.container_id = id, .argv = {"/no/such/tool"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/no/such/tool"));
  EXPECT_TRUE(absl::IsNotFound(
      StartExecStream(*client_, {.container_id = "nope", .argv = {"true"}}).status()));

  EXPECT_EQ(CgroupProcs(id), 1u);
  EXPECT_EQ(MonitorFds(), fds_before);
  EXPECT_EQ(Children(monitor_pid_).size(), 1u) << "only the container's init";
}

TEST_F(MonitorStreamTest, ExecWithTtyAndResize) {
  std::string id = RunContainer({"sleep", "1000"});
  size_t fds_before = MonitorFds();
  absl::StatusOr<ExecStreamHandle> exec =
      StartExecStream(*client_, {.container_id = id, .argv = {"sh"}, .tty = true});
  ASSERT_TRUE(exec.ok()) << exec.status();
  ASSERT_TRUE(exec->pty_master.valid());
  int master = exec->pty_master.get();
  ASSERT_TRUE(ResizePty(master, 100, 40).ok());
  std::string command = "stty size; echo TERM=$TERM\n";
  ASSERT_EQ(::write(master, command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  std::string out = ReadUntil(master, "TERM=xterm");
  EXPECT_THAT(out, HasSubstr("40 100"));
  EXPECT_THAT(out, HasSubstr("TERM=xterm"));
  ASSERT_TRUE(ResizePty(master, 132, 43).ok());
  command = "stty size; exit 3\n";
  ASSERT_EQ(::write(master, command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  bool eof = false;
  out = ReadUntil(master, "", absl::Seconds(10), &eof);
  EXPECT_THAT(out, HasSubstr("43 132"));
  EXPECT_TRUE(eof);
  absl::StatusOr<int> code = WaitExecStream(*client_, exec->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 3);
  exec->pty_master.Reset();

  // The client goes away without a word: closing the master hangs the shell up.
  absl::StatusOr<ExecStreamHandle> dropped =
      StartExecStream(*client_, {.container_id = id, .argv = {"sh"}, .tty = true});
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  dropped->pty_master.Reset();
  code = WaitExecStream(*client_, dropped->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGHUP);

  // A tty exec takes no fds.
  EXPECT_TRUE(absl::IsInvalidArgument(
      StartExecStream(*client_, {.container_id = id, .argv = {"sh"}, .tty = true, .stdin_fd = 0})
          .status()));
  EXPECT_EQ(CgroupProcs(id), 1u);
  EXPECT_EQ(MonitorFds(), fds_before);
  EXPECT_EQ(Children(monitor_pid_).size(), 1u);
}

TEST_F(MonitorStreamTest, KillAnExec) {
  std::string id = RunContainer({"sleep", "1000"});
  size_t fds_before = MonitorFds();
  UniqueFd out_r, out_w;
  Pipe(&out_r, &out_w);
  // A process group: the background sleep goes too.
  absl::StatusOr<ExecStreamHandle> exec = StartExecStream(
      *client_, {.container_id = id,
                 .argv = {"sh", "-c", "sleep 1000 & echo started; wait"},
                 .stdout_fd = out_w.get()});
  ASSERT_TRUE(exec.ok()) << exec.status();
  out_w.Reset();
  EXPECT_EQ(ReadUntil(out_r.get(), "started\n"), "started\n");
  EXPECT_EQ(CgroupProcs(id), 3u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(
      WaitExecStream(*client_, exec->exec_id, absl::Milliseconds(100)).status()));
  EXPECT_TRUE(KillExecStream(*client_, exec->exec_id).ok());
  absl::StatusOr<int> code = WaitExecStream(*client_, exec->exec_id, absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGKILL);
  EXPECT_TRUE(KillExecStream(*client_, exec->exec_id).ok());  // gone: still OK
  bool eof = false;
  ReadUntil(out_r.get(), "", absl::Seconds(10), &eof);
  EXPECT_TRUE(eof) << "the background sleep still holds stdout";
  for (int i = 0; i < 50 && CgroupProcs(id) != 1; ++i) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(CgroupProcs(id), 1u);
  EXPECT_EQ(MonitorFds(), fds_before);
  EXPECT_EQ(Children(monitor_pid_).size(), 1u) << "no zombie left";
}

TEST_F(MonitorStreamTest, ConcurrentExecs) {
  std::string id = RunContainer({"sleep", "1000"});
  constexpr int kExecs = 8;
  std::vector<std::future<std::pair<int, std::string>>> results;
  absl::Time start = absl::Now();
  for (int i = 0; i < kExecs; ++i) {
    results.push_back(std::async(std::launch::async, [this, id, i] {
      UniqueFd out_r, out_w;
      Pipe(&out_r, &out_w);
      absl::StatusOr<ExecStreamHandle> exec = StartExecStream(
          *client_, {.container_id = id,
                     .argv = {"sh", "-c", absl::StrCat("sleep 0.5; echo ", i, "; exit ", i)},
                     .stdout_fd = out_w.get()});
      out_w.Reset();
      if (!exec.ok()) return std::make_pair(-1, std::string(exec.status().message()));
      std::string out = ReadUntil(out_r.get(), "");
      absl::StatusOr<int> code = WaitExecStream(*client_, exec->exec_id, absl::Seconds(30));
      return std::make_pair(code.ok() ? *code : -2, out);
    }));
  }
  for (int i = 0; i < kExecs; ++i) {
    std::pair<int, std::string> result = results[i].get();
    EXPECT_EQ(result.first, i) << result.second;
    EXPECT_EQ(result.second, absl::StrCat(i, "\n"));
  }
  // They ran side by side, not one after the other.
  EXPECT_LT(absl::Now() - start, absl::Seconds(0.5 * kExecs));
  EXPECT_EQ(CgroupProcs(id), 1u);
  EXPECT_EQ(Children(monitor_pid_).size(), 1u);
}

TEST_F(MonitorStreamTest, AttachAndResizeThroughTheClient) {
  std::string id = RunContainer({"sh"}, /*tty=*/true, /*stdin=*/true);
  std::string plain = RunContainer({"cat"}, /*tty=*/false, /*stdin=*/true);
  size_t fds_before = MonitorFds();
  int in[2], out[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in), 0);
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out), 0);
  UniqueFd in_mine(in[0]), in_theirs(in[1]), out_mine(out[0]), out_theirs(out[1]);
  ASSERT_TRUE(ResizeTerminal(*client_, id, 90, 30).ok());
  absl::Status attached = Attach(
      *client_, {.container_id = id, .stdin_fd = in_theirs.get(), .stdout_fd = out_theirs.get()});
  ASSERT_TRUE(attached.ok()) << attached;
  in_theirs.Reset();
  out_theirs.Reset();
  std::string command = "stty size\n";
  ASSERT_EQ(::write(in_mine.get(), command.data(), command.size()),
            static_cast<ssize_t>(command.size()));
  EXPECT_THAT(ReadUntil(out_mine.get(), "30 90"), HasSubstr("30 90"));
  // Detach: the shell keeps running.
  in_mine.Reset();
  out_mine.Reset();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(MonitorFds(), fds_before);
  EXPECT_EQ(CgroupProcs(id), 1u);

  absl::Status no_tty = ResizeTerminal(*client_, plain, 80, 24);
  EXPECT_TRUE(absl::IsFailedPrecondition(no_tty)) << no_tty;
  EXPECT_TRUE(absl::IsNotFound(ResizeTerminal(*client_, "nope", 80, 24)));
  EXPECT_TRUE(absl::IsInvalidArgument(Attach(*client_, {.container_id = plain})));
}

TEST_F(MonitorStreamTest, MemoryStaysSmallWithStalledAttachersAndExecs) {
  SyncMonitorBinary();
  std::string id = RunContainer(
      {"sh", "-c", "while true; do echo 0123456789012345678901234567890123456789; done"});
  absl::SleepFor(absl::Seconds(1));  // output flowing to the log only
  int64_t idle_kb = PrivateDirtyKb(monitor_pid_);
  // Stalled attachers: none of them ever reads.
  std::vector<UniqueFd> stalled;
  for (int i = 0; i < 6; ++i) {
    int out[2], err[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out), 0);
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err), 0);
    UniqueFd out_theirs(out[1]), err_theirs(err[1]);
    stalled.emplace_back(out[0]);
    stalled.emplace_back(err[0]);
    ASSERT_TRUE(Attach(*client_, {.container_id = id,
                                  .stdout_fd = out_theirs.get(),
                                  .stderr_fd = err_theirs.get()})
                    .ok());
  }
  std::vector<ExecStreamHandle> execs;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<ExecStreamHandle> exec =
        StartExecStream(*client_, {.container_id = id, .argv = {"sleep", "100"}});
    ASSERT_TRUE(exec.ok()) << exec.status();
    execs.push_back(std::move(*exec));
  }
  absl::SleepFor(absl::Seconds(1));  // the output keeps coming; the backlogs are full
  int64_t busy_kb = PrivateDirtyKb(monitor_pid_);
  std::printf("berth-mon private dirty: %lld KiB idle with a container, %lld KiB with 6 stalled "
              "attachers and 8 execs\n",
              static_cast<long long>(idle_kb), static_cast<long long>(busy_kb));
  EXPECT_LT(busy_kb, 1024);
  auto log = ReadFile(dir_->path() + "/" + id + ".log", 1 << 30);
  ASSERT_TRUE(log.ok());
  size_t log_size = log->size();
  absl::SleepFor(absl::Milliseconds(300));
  log = ReadFile(dir_->path() + "/" + id + ".log", 1 << 30);
  EXPECT_GT(log->size(), log_size) << "the log still grows";
  for (const ExecStreamHandle& exec : execs) {
    EXPECT_TRUE(KillExecStream(*client_, exec.exec_id).ok());
    absl::StatusOr<int> code = WaitExecStream(*client_, exec.exec_id, absl::Seconds(10));
    EXPECT_TRUE(code.ok()) << code.status();
  }
}

TEST_F(MonitorStreamTest, ExecStreamLatencyNextToExecSync) {
  std::string id = RunContainer({"sleep", "1000"});
  constexpr int kRounds = 15;
  std::vector<absl::Duration> stream, sync;
  for (int i = 0; i < kRounds; ++i) {
    absl::Time start = absl::Now();
    absl::StatusOr<ExecStreamHandle> exec =
        StartExecStream(*client_, {.container_id = id, .argv = {"true"}});
    ASSERT_TRUE(exec.ok()) << exec.status();
    absl::StatusOr<int> code = WaitExecStream(*client_, exec->exec_id, absl::Seconds(10));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0);
    stream.push_back(absl::Now() - start);

    UniqueFd out_r, out_w, err_r, err_w;
    Pipe(&out_r, &out_w);
    Pipe(&err_r, &err_w);
    start = absl::Now();
    monitor::v1::Request request;
    request.mutable_exec_sync()->set_container_id(id);
    request.mutable_exec_sync()->add_argv("true");
    auto reply = client_->Call(request, absl::Seconds(30), {out_w.get(), err_w.get()});
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->exec_sync().exit_code(), 0);
    sync.push_back(absl::Now() - start);
  }
  std::sort(stream.begin(), stream.end());
  std::sort(sync.begin(), sync.end());
  std::printf("exec of true through the monitor, p50: stream (start+wait) %s, ExecSync %s\n",
              absl::FormatDuration(stream[kRounds / 2]).c_str(),
              absl::FormatDuration(sync[kRounds / 2]).c_str());
}

}  // namespace
}  // namespace berth::mon
