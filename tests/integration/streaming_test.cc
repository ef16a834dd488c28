// Exec, Attach and PortForward through berthd's streaming server, over SPDY/3.1 and
// WebSocket, with berthctl's client code (ctl/stream_client.h), real runc, berth-mon and a
// busybox image: stdio, exit codes, terminals and resize, stdin_once, port forwarding in pod
// and host networks, abrupt disconnects that must leave nothing behind, and one-time tokens.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "ctl/stream_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cri_fixture.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ctl::Transport;

// Output collected by a session's Run on its own thread.
struct Collected {
  absl::Mutex mu;
  std::string out ABSL_GUARDED_BY(mu);
  std::string err ABSL_GUARDED_BY(mu);

  std::string Out() {
    absl::MutexLock lock(&mu);
    return out;
  }
  // Waits until stdout contains `text`.
  bool WaitFor(const std::string& text, absl::Duration timeout = absl::Seconds(10)) {
    absl::MutexLock lock(&mu);
    auto has = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return absl::StrContains(out, text); };
    return mu.AwaitWithTimeout(absl::Condition(&has), timeout);
  }
};

// A session running on its own thread until the server ends it.
class RunningSession {
 public:
  explicit RunningSession(std::unique_ptr<streaming::ClientExecStreams> streams)
      : streams_(std::move(streams)) {
    thread_ = std::thread([this] {
      result_ = streams_->Run(
          [this](absl::string_view d) {
            absl::MutexLock lock(&collected_.mu);
            collected_.out.append(d.data(), d.size());
          },
          [this](absl::string_view d) {
            absl::MutexLock lock(&collected_.mu);
            collected_.err.append(d.data(), d.size());
          });
      done_ = true;
    });
  }
  ~RunningSession() {
    if (thread_.joinable()) {
      streams_->Abort();
      thread_.join();
    }
  }
  streaming::ClientExecStreams& streams() { return *streams_; }
  Collected& collected() { return collected_; }
  absl::StatusOr<streaming::ExecResult> Wait() {
    thread_.join();
    return result_;
  }
  bool done() const { return done_; }

 private:
  std::unique_ptr<streaming::ClientExecStreams> streams_;
  Collected collected_;
  absl::StatusOr<streaming::ExecResult> result_ = absl::UnknownError("not run");
  std::atomic<bool> done_{false};
  std::thread thread_;
};

int CountDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int n = 0;
  while (struct dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

// A TCP port free on the host right now.
uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class StreamingTest : public CriFixture, public ::testing::WithParamInterface<Transport> {
 protected:
  std::string ExecUrl(const std::string& id, std::vector<std::string> cmd,
                      const streaming::ExecOptions& options) {
    cri::ExecRequest request;
    request.set_container_id(id);
    for (const std::string& arg : cmd) request.add_cmd(arg);
    request.set_stdin(options.stdin);
    request.set_stdout(options.stdout);
    request.set_stderr(options.stderr);
    request.set_tty(options.tty);
    cri::ExecResponse response;
    grpc::Status status = client().runtime().Exec(client().Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }

  std::unique_ptr<streaming::ClientExecStreams> DialExec(const std::string& url,
                                                         const streaming::ExecOptions& options) {
    auto streams = ctl::DialExec(url, options, GetParam());
    EXPECT_TRUE(streams.ok()) << streams.status();
    return streams.ok() ? std::move(*streams) : nullptr;
  }

  std::string PortForwardUrl(const std::string& pod, std::vector<int> ports) {
    cri::PortForwardRequest request;
    request.set_pod_sandbox_id(pod);
    for (int port : ports) request.add_port(port);
    cri::PortForwardResponse response;
    grpc::Status status =
        client().runtime().PortForward(client().Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }

  // One HTTP GET of `/` through a forwarded connection; the whole response.
  std::string Get(streaming::ClientPortForward& session, uint16_t port) {
    auto stream = session.Open(port);
    if (!stream.ok()) return absl::StrCat("open failed: ", stream.status().ToString());
    // A refused connection may reset the stream before the request is written: the write then
    // fails and the error stream still says why, so the caller checks what comes back.
    absl::Status written = (*stream)->Write("GET / HTTP/1.0\r\n\r\n");
    if (written.ok()) written = (*stream)->CloseWrite();
    std::string response;
    char buffer[4096];
    for (;;) {
      absl::StatusOr<size_t> n = (*stream)->Read(buffer, sizeof(buffer));
      if (!n.ok() || *n == 0) break;
      response.append(buffer, *n);
    }
    std::string error = (*stream)->ErrorText();
    (*stream)->Close();
    if (!error.empty()) return absl::StrCat("error: ", error);
    return written.ok() ? response : absl::StrCat("write failed: ", written.ToString());
  }

  // A pod running busybox httpd on `port` serving "hello from berth\n".
  std::string RunWebPod(const std::string& name, uint16_t port, bool host_network = false) {
    cri::PodSandboxConfig config = PodConfig(name);
    if (host_network) {
      config.mutable_linux()->mutable_security_context()->mutable_namespace_options()
          ->set_network(cri::NODE);
    }
    std::string pod = RunPodWith(config);
    std::string script = absl::StrCat(
        "mkdir -p /www && echo 'hello from berth' > /www/index.html && exec httpd -f -p ",
        host_network ? "127.0.0.1:" : "", port, " -h /www");
    std::string web = MustRun(pod, Config("web", {"sh", "-c", script}));
    // Until httpd listens.
    for (int i = 0; i < 100; ++i) {
      cri::ExecSyncResponse response;
      Exec(web, {"sh", "-c", absl::StrCat("netstat -ltn | grep -q ':", port, " '")}, 5,
           &response);
      if (response.exit_code() == 0) break;
      ::usleep(50 * 1000);
    }
    return pod;
  }

  // berthd's open fds and what they are, for a failure message.
  std::string FdList() {
    std::string dir = absl::StrCat("/proc/", daemon().pid(), "/fd");
    std::string list;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return list;
    while (struct dirent* entry = ::readdir(d)) {
      if (entry->d_name[0] == '.') continue;
      char target[256] = {};
      ::readlink(absl::StrCat(dir, "/", entry->d_name).c_str(), target, sizeof(target) - 1);
      absl::StrAppend(&list, entry->d_name, " -> ", target, "\n");
    }
    ::closedir(d);
    return list;
  }

  // berthd's threads, but for its worker pools' ("pool-*"): those start on demand and end on
  // their own after 10 s idle, so they come and go with the test's ExecSync calls.
  int BerthdThreads() {
    std::string dir = absl::StrCat("/proc/", daemon().pid(), "/task");
    int count = 0;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return -1;
    while (struct dirent* entry = ::readdir(d)) {
      if (entry->d_name[0] == '.') continue;
      if (!absl::StartsWith(ReadText(absl::StrCat(dir, "/", entry->d_name, "/comm")), "pool-")) {
        ++count;
      }
    }
    ::closedir(d);
    return count;
  }
  int BerthdFds() { return CountDir(absl::StrCat("/proc/", daemon().pid(), "/fd")); }

  // Waits until berthd is back to `threads` threads and `fds` fds (sessions end on their own
  // threads, a little after the client saw the end).
  void ExpectBackTo(int threads, int fds) {
    for (int i = 0; i < 100 && (BerthdThreads() > threads || BerthdFds() > fds); ++i) {
      ::usleep(50 * 1000);
    }
    EXPECT_LE(BerthdThreads(), threads) << "threads left behind";
    EXPECT_LE(BerthdFds(), fds) << "fds left behind:\n" << FdList();
  }
};

TEST_P(StreamingTest, ExecWithoutTty) {
  std::string pod = RunPod("exec");
  std::string id = MustRun(pod, Config("sleeper", {"sleep", "3600"}));
  streaming::ExecOptions options{.stdin = false, .stdout = true, .stderr = true, .tty = false};
  for (int code : {0, 3}) {
    std::string url = ExecUrl(
        id, {"sh", "-c", absl::StrCat("echo out; echo err >&2; exit ", code)}, options);
    ASSERT_THAT(url, HasSubstr("/exec/"));
    RunningSession session(DialExec(url, options));
    absl::StatusOr<streaming::ExecResult> result = session.Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->status.ok()) << result->status;
    EXPECT_EQ(result->exit_code, code);
    absl::MutexLock lock(&session.collected().mu);
    EXPECT_EQ(session.collected().out, "out\n");
    EXPECT_EQ(session.collected().err, "err\n");
  }
  // stdin to a command that reads it.
  streaming::ExecOptions with_stdin{.stdin = true, .stdout = true, .stderr = true, .tty = false};
  RunningSession session(DialExec(ExecUrl(id, {"sh", "-c", "tr a-z A-Z"}, with_stdin), with_stdin));
  ASSERT_TRUE(session.streams().WriteStdin("shout\n").ok());
  ASSERT_TRUE(session.streams().CloseStdin().ok());
  absl::StatusOr<streaming::ExecResult> result = session.Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
  EXPECT_EQ(session.collected().Out(), "SHOUT\n");
}

TEST_P(StreamingTest, ExecWithTtyAndResize) {
  std::string pod = RunPod("tty");
  std::string id = MustRun(pod, Config("sleeper", {"sleep", "3600"}));
  streaming::ExecOptions options{.stdin = true, .stdout = true, .stderr = false, .tty = true};
  RunningSession session(DialExec(ExecUrl(id, {"/bin/sh"}, options), options));
  ASSERT_TRUE(session.streams().Resize({100, 30}).ok());
  ASSERT_TRUE(session.streams().WriteStdin("stty size; tty\n").ok());
  EXPECT_TRUE(session.collected().WaitFor("30 100")) << session.collected().Out();
  EXPECT_TRUE(session.collected().WaitFor("/dev/pts/")) << session.collected().Out();
  ASSERT_TRUE(session.streams().Resize({120, 40}).ok());
  ::usleep(200 * 1000);
  ASSERT_TRUE(session.streams().WriteStdin("stty size\n").ok());
  EXPECT_TRUE(session.collected().WaitFor("40 120")) << session.collected().Out();
  ASSERT_TRUE(session.streams().WriteStdin("exit 7\n").ok());
  absl::StatusOr<streaming::ExecResult> result = session.Wait();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 7);
}

TEST_P(StreamingTest, AttachEchoesStdinAndDetachLeavesItRunning) {
  std::string pod = RunPod("attach");
  cri::ContainerConfig config = Config("echo", {"cat"});
  config.set_stdin(true);
  std::string id = MustRun(pod, config);
  streaming::ExecOptions options{.stdin = true, .stdout = true, .stderr = true, .tty = false};
  for (int round = 0; round < 2; ++round) {
    cri::AttachRequest request;
    request.set_container_id(id);
    request.set_stdin(true);
    request.set_stdout(true);
    request.set_stderr(true);
    cri::AttachResponse response;
    ASSERT_TRUE(client().runtime().Attach(client().Context().get(), request, &response).ok());
    auto session = std::make_unique<RunningSession>(DialExec(response.url(), options));
    std::string line = absl::StrCat("hello ", round, "\n");
    ASSERT_TRUE(session->streams().WriteStdin(line).ok());
    EXPECT_TRUE(session->collected().WaitFor(line)) << session->collected().Out();
    session.reset();  // detach: abort the client
    ::usleep(200 * 1000);
    EXPECT_EQ(MustStatus(id).state(), cri::CONTAINER_RUNNING) << "round " << round;
  }
  // stdin_once: the container's stdin closes after the first attach's stdin ends.
  cri::ContainerConfig once = Config("once", {"cat"});
  once.set_stdin(true);
  once.set_stdin_once(true);
  std::string once_id = MustRun(pod, once);
  cri::AttachRequest request;
  request.set_container_id(once_id);
  request.set_stdin(true);
  request.set_stdout(true);
  cri::AttachResponse response;
  ASSERT_TRUE(client().runtime().Attach(client().Context().get(), request, &response).ok());
  streaming::ExecOptions out_only{.stdin = true, .stdout = true, .stderr = false, .tty = false};
  RunningSession session(DialExec(response.url(), out_only));
  ASSERT_TRUE(session.streams().WriteStdin("once\n").ok());
  EXPECT_TRUE(session.collected().WaitFor("once\n"));
  ASSERT_TRUE(session.streams().CloseStdin().ok());
  cri::ContainerStatus ended = WaitFor(once_id, cri::CONTAINER_EXITED);
  EXPECT_EQ(ended.exit_code(), 0) << "cat saw the end of its stdin";
}

TEST_P(StreamingTest, PortForwardToPod) {
  std::string pod = RunWebPod("pf", 8080);
  std::string url = PortForwardUrl(pod, {8080});
  if (GetParam() == Transport::kSpdy) {
    auto session = ctl::DialPortForward(url, {8080}, Transport::kSpdy);
    ASSERT_TRUE(session.ok()) << session.status();
    std::vector<std::thread> clients;
    std::atomic<int> good{0};
    for (int i = 0; i < 20; ++i) {
      clients.emplace_back([&] {
        if (absl::StrContains(Get(**session, 8080), "hello from berth")) ++good;
      });
    }
    for (std::thread& t : clients) t.join();
    EXPECT_EQ(good.load(), 20);
    // Nothing listens on 8081: the error stream says so.
    EXPECT_THAT(Get(**session, 8081), HasSubstr("error: "));
    (*session)->Close();
  } else {
    // One WebSocket session carries one connection per port: 20 sessions in parallel.
    std::vector<std::thread> clients;
    std::atomic<int> good{0};
    std::vector<std::string> urls;
    for (int i = 0; i < 20; ++i) urls.push_back(PortForwardUrl(pod, {8080}));
    for (int i = 0; i < 20; ++i) {
      clients.emplace_back([&, i] {
        auto session = ctl::DialPortForward(urls[i], {8080}, Transport::kWebSocket);
        if (!session.ok()) return;
        if (absl::StrContains(Get(**session, 8080), "hello from berth")) ++good;
        (*session)->Close();
      });
    }
    for (std::thread& t : clients) t.join();
    EXPECT_EQ(good.load(), 20);
  }
}

TEST_P(StreamingTest, PortForwardInHostNetworkPod) {
  uint16_t port = FreePort();
  std::string pod = RunWebPod("hostpf", port, /*host_network=*/true);
  auto session = ctl::DialPortForward(PortForwardUrl(pod, {port}), {port}, GetParam());
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_THAT(Get(**session, port), HasSubstr("hello from berth"));
  (*session)->Close();
}

TEST_P(StreamingTest, AbruptDisconnectsLeaveNothing) {
  std::string pod = RunWebPod("leak", 8080);
  cri::ContainerConfig config = Config("cat", {"cat"});
  config.set_stdin(true);
  std::string id = MustRun(pod, config);
  ::usleep(300 * 1000);
  int threads = BerthdThreads(), fds = BerthdFds();
  std::string fds_before = FdList();
  streaming::ExecOptions options{.stdin = true, .stdout = true, .stderr = true, .tty = false};
  // Exec: the client vanishes while the command runs; the command must be killed.
  {
    RunningSession session(DialExec(ExecUrl(id, {"sh", "-c", "echo ready; sleep 1000"}, options),
                                    options));
    EXPECT_TRUE(session.collected().WaitFor("ready"));
  }  // aborted
  for (int i = 0; i < 100; ++i) {
    if (!absl::StrContains(Sh(id, "ps"), "sleep 1000")) break;
    ::usleep(50 * 1000);
  }
  EXPECT_THAT(Sh(id, "ps"), Not(HasSubstr("sleep 1000"))) << "the exec'd process was killed";
  ExpectBackTo(threads, fds);
  // Attach.
  {
    cri::AttachRequest request;
    request.set_container_id(id);
    request.set_stdin(true);
    request.set_stdout(true);
    cri::AttachResponse response;
    ASSERT_TRUE(client().runtime().Attach(client().Context().get(), request, &response).ok());
    streaming::ExecOptions attach{.stdin = true, .stdout = true, .stderr = false, .tty = false};
    RunningSession session(DialExec(response.url(), attach));
    ASSERT_TRUE(session.streams().WriteStdin("ping\n").ok());
    EXPECT_TRUE(session.collected().WaitFor("ping"));
  }
  EXPECT_EQ(MustStatus(id).state(), cri::CONTAINER_RUNNING);
  ExpectBackTo(threads, fds);
  // Port-forward with a connection open.
  {
    auto session = ctl::DialPortForward(PortForwardUrl(pod, {8080}), {8080}, GetParam());
    ASSERT_TRUE(session.ok()) << session.status();
    auto stream = (*session)->Open(8080);
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write("GET / HTTP/1.0\r\n").ok());
  }  // dropped mid-request
  ExpectBackTo(threads, fds);
  if (BerthdFds() > fds) ADD_FAILURE() << "before:\n" << fds_before;
}

TEST_P(StreamingTest, TokensAreSingleUse) {
  std::string pod = RunPod("tokens");
  std::string id = MustRun(pod, Config("sleeper", {"sleep", "3600"}));
  streaming::ExecOptions options{.stdin = false, .stdout = true, .stderr = true, .tty = false};
  std::string url = ExecUrl(id, {"true"}, options);
  {
    RunningSession session(DialExec(url, options));
    absl::StatusOr<streaming::ExecResult> result = session.Wait();
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0);
  }
  auto again = ctl::DialExec(url, options, GetParam());
  EXPECT_FALSE(again.ok()) << "a used token is refused";
  auto bogus = ctl::DialExec(absl::StrCat(url.substr(0, url.rfind('/') + 1), "not-a-token"),
                             options, GetParam());
  EXPECT_FALSE(bogus.ok());
}

// berthctl port-forward and attach as processes: a local port forwards to the pod's httpd.
TEST_P(StreamingTest, BerthctlPortForwardAndAttach) {
  std::string pod = RunWebPod("ctlpf", 8080);
  const char* transport = GetParam() == Transport::kSpdy ? "spdy" : "websocket";
  uint16_t local = FreePort();
  absl::StatusOr<Process> forwarder = Process::Start(
      {.argv = {BerthctlPath(), "--endpoint", daemon().endpoint(), "port-forward", "--transport",
                transport, pod, absl::StrCat(local, ":8080")}});
  ASSERT_TRUE(forwarder.ok()) << forwarder.status();
  std::string response;
  for (int attempt = 0; attempt < 100 && !absl::StrContains(response, "hello"); ++attempt) {
    ::usleep(50 * 1000);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(local);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0) {
      const char request[] = "GET / HTTP/1.0\r\n\r\n";
      ::send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_WR);
      char buffer[4096];
      response.clear();
      for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, n);
    }
    ::close(fd);
  }
  EXPECT_THAT(response, HasSubstr("hello from berth"));
  EXPECT_TRUE(forwarder->Stop(absl::Seconds(5)).ok());

  cri::ContainerConfig config = Config("echo", {"cat"});
  config.set_stdin(true);
  std::string id = MustRun(pod, config);
  absl::StatusOr<SpawnResult> attached = RunCommand(
      {.argv = {BerthctlPath(), "--endpoint", daemon().endpoint(), "attach", "-i", "--transport",
                transport, id},
       .stdin_data = "through berthctl\n",
       .timeout = absl::Seconds(3)});
  // attach runs until the container ends; the timeout ends it here, with the echo printed.
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_THAT(attached->out, HasSubstr("through berthctl")) << attached->Describe();
  EXPECT_EQ(MustStatus(id).state(), cri::CONTAINER_RUNNING) << "detaching leaves it running";
}

INSTANTIATE_TEST_SUITE_P(Transports, StreamingTest,
                         ::testing::Values(Transport::kSpdy, Transport::kWebSocket),
                         [](const ::testing::TestParamInfo<Transport>& param_info) {
                           return param_info.param == Transport::kSpdy ? "Spdy" : "WebSocket";
                         });

// berthd's streaming server with TLS (stream_tls_cert/key, a self-signed certificate made here)
// and at most one session at a time.
class TlsStreamingTest : public CriFixture {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("berth-stream-tls-");
    ASSERT_TRUE(dir.ok());
    tls_dir_.emplace(std::move(*dir));
    std::string cert = tls_dir_->path() + "/cert.pem", key = tls_dir_->path() + "/key.pem";
    absl::StatusOr<SpawnResult> made = RunCommand(
        {.argv = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                  "subjectAltName=IP:127.0.0.1"},
         .timeout = absl::Seconds(60)});
    ASSERT_TRUE(made.ok() && made->success()) << (made.ok() ? made->Describe() : "");
    StartDaemon(absl::StrCat("[berth.api]\nstream_tls_cert = \"", cert, "\"\nstream_tls_key = \"",
                             key, "\"\nstream_max_sessions = 1\n"));
  }

  std::string CatUrl(const std::string& id) {
    cri::ExecRequest request;
    request.set_container_id(id);
    request.add_cmd("cat");
    request.set_stdin(true);
    request.set_stdout(true);
    cri::ExecResponse response;
    grpc::Status status = client().runtime().Exec(client().Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.url();
  }

  std::optional<TempDir> tls_dir_;
};

TEST_F(TlsStreamingTest, ExecOverHttpsAndTheSessionCap) {
  std::string pod = RunPod("tls");
  std::string id = MustRun(pod, Config("sleeper", {"sleep", "3600"}));
  streaming::ExecOptions options{.stdin = true, .stdout = true, .stderr = false, .tty = false};
  std::string url = CatUrl(id);
  ASSERT_TRUE(absl::StartsWith(url, "https://127.0.0.1:")) << url;
  for (ctl::Transport transport : {ctl::Transport::kSpdy, ctl::Transport::kWebSocket}) {
    auto streams = ctl::DialExec(url, options, transport);
    ASSERT_TRUE(streams.ok()) << streams.status();
    {
      RunningSession session(std::move(*streams));
      ASSERT_TRUE(session.streams().WriteStdin("over tls\n").ok());
      EXPECT_TRUE(session.collected().WaitFor("over tls\n"));
      // The one session allowed is in use: another connection is turned away.
      auto second = ctl::DialExec(CatUrl(id), options, transport);
      EXPECT_FALSE(second.ok()) << "stream_max_sessions = 1";
      ASSERT_TRUE(session.streams().CloseStdin().ok());
      absl::StatusOr<streaming::ExecResult> result = session.Wait();
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_EQ(result->exit_code, 0);
    }
    url = CatUrl(id);
    ::usleep(200 * 1000);  // the finished session's thread ends
  }
  // Plain HTTP to the TLS port gets nowhere.
  std::string plain = absl::StrCat("http://", url.substr(std::string("https://").size()));
  EXPECT_FALSE(ctl::DialExec(plain, options, ctl::Transport::kSpdy).ok());
}

// Validation of the RPCs themselves (no session).
class StreamRpcTest : public CriFixture {};

TEST_F(StreamRpcTest, RequestsAreValidated) {
  std::string pod = RunPod("validate");
  std::string id;
  ASSERT_TRUE(Create(pod, Config("created", {"sleep", "3600"}), &id).ok());
  cri::ExecRequest request;
  request.set_container_id(id);
  request.add_cmd("true");
  request.set_stdout(true);
  cri::ExecResponse response;
  grpc::Status status = client().runtime().Exec(client().Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << "not running";
  ASSERT_TRUE(Start(id).ok());
  request.set_stdout(false);
  status = client().runtime().Exec(client().Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "no stream";
  request.set_stdout(true);
  request.set_stderr(true);
  request.set_tty(true);
  status = client().runtime().Exec(client().Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "tty and stderr";
  request.set_container_id("0000000000000000000000000000000000000000000000000000000000000000");
  request.set_tty(false);
  status = client().runtime().Exec(client().Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  cri::AttachRequest attach;
  attach.set_container_id(id);
  attach.set_stdin(true);
  attach.set_stdout(true);
  cri::AttachResponse attached;
  status = client().runtime().Attach(client().Context().get(), attach, &attached);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << "no stdin";
  cri::PortForwardRequest forward;
  forward.set_pod_sandbox_id(pod);
  forward.add_port(70000);
  cri::PortForwardResponse forwarded;
  status = client().runtime().PortForward(client().Context().get(), forward, &forwarded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  forward.set_pod_sandbox_id("nope");
  forward.clear_port();
  status = client().runtime().PortForward(client().Context().get(), forward, &forwarded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace berth::testing
