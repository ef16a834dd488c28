// Drives berth-mon's ContainerSupervisor with real runc and busybox containers. The loop runs
// on a thread of its own; the test thread posts requests to it and waits for the replies.
// Needs root, runc and busybox-static.
#include "conmon/container_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/spawn.h"
#include "conmon/cri_log.h"
#include "conmon/event_loop.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth::mon {
namespace {

namespace v1 = monitor::v1;
using Reply = ContainerSupervisor::Reply;

constexpr char kRunc[] = "/usr/sbin/runc";

// The loop thread, the supervisor on it, and the exit events it pushed.
class LoopThread {
 public:
  void Start(ContainerSupervisor::Options options) {
    std::promise<void> ready;
    thread_ = std::thread([this, options, &ready] {
      loop_ = EventLoop::Create().value();
      supervisor_ = std::make_unique<ContainerSupervisor>(
          loop_.get(), options, [this](const v1::Event& event) {
            std::lock_guard<std::mutex> lock(mu_);
            exits_.push_back(event.container_exited());
            cv_.notify_all();
          });
      wake_.Reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      (void)loop_->Watch(wake_.get(), EPOLLIN, [this](uint32_t) { RunPosted(); });
      ready.set_value();
      (void)loop_->Run();
      supervisor_.reset();
    });
    ready.get_future().wait();
  }

  // Only on the loop thread.
  ContainerSupervisor* supervisor() { return supervisor_.get(); }

  void Stop() {
    Post([this] { loop_->Stop(); });
    thread_.join();
  }

  void Post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    uint64_t one = 1;
    ASSERT_EQ(::write(wake_.get(), &one, sizeof(one)), 8);
  }

  // Runs `call` on the loop and waits for its reply.
  v1::Response Ask(std::function<void(ContainerSupervisor*, Reply)> call,
                   absl::Duration timeout = absl::Seconds(90)) {
    auto promise = std::make_shared<std::promise<v1::Response>>();
    std::future<v1::Response> future = promise->get_future();
    Post([this, call, promise] {
      call(supervisor_.get(), [promise](v1::Response r) { promise->set_value(std::move(r)); });
    });
    if (future.wait_for(absl::ToChronoSeconds(timeout)) != std::future_status::ready) {
      ADD_FAILURE() << "no reply";
      v1::Response none;
      none.set_code(-1);
      return none;
    }
    return future.get();
  }

  // The exit event of `id`, waiting for it up to `timeout`.
  std::optional<v1::ExitRecord> WaitExit(const std::string& id,
                                         absl::Duration timeout = absl::Seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<v1::ExitRecord> found;
    cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout), [&] {
      for (const v1::ExitRecord& exit : exits_) {
        if (exit.container_id() == id) found = exit;
      }
      return found.has_value();
    });
    return found;
  }

 private:
  void RunPosted() {
    uint64_t count;
    (void)::read(wake_.get(), &count, sizeof(count));
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }

  std::thread thread_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ContainerSupervisor> supervisor_;
  UniqueFd wake_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<v1::ExitRecord> exits_;
};

class SupervisorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char dir[] = "/tmp/berth-sup-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = new std::string(dir);
    ids_ = new std::set<std::string>();
    std::string rootfs = *dir_ + "/rootfs";
    for (const char* sub : {"/bin", "/proc", "/dev", "/sys", "/tmp"}) {
      ASSERT_TRUE(MakeDirs(rootfs + sub).ok());
    }
    absl::StatusOr<std::string> busybox = ReadFile("/bin/busybox", 64 << 20);
    ASSERT_TRUE(busybox.ok()) << busybox.status();
    ASSERT_TRUE(WriteFileAtomic(rootfs + "/bin/busybox", *busybox, 0755).ok());
    for (const char* tool : {"sh", "echo", "sleep", "cat", "touch", "rm", "true", "stty"}) {
      ASSERT_EQ(::symlink("busybox", (rootfs + "/bin/" + tool).c_str()), 0);
    }
    // `runc spec` runs before the loop thread exists: its waitpid(-1) would race RunCommand's.
    ASSERT_TRUE(MakeDirs(*dir_ + "/spec").ok());
    absl::StatusOr<SpawnResult> spec =
        RunCommand({.argv = {kRunc, "spec", "--bundle", *dir_ + "/spec"}});
    ASSERT_TRUE(spec.ok() && spec->success());
    absl::StatusOr<std::string> config = ReadFile(*dir_ + "/spec/config.json");
    ASSERT_TRUE(config.ok());
    spec_ = new nlohmann::json(nlohmann::json::parse(*config));
    // SIGCHLD must be blocked in every thread for the loop's signalfd to see it.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &mask, nullptr), 0);
    ASSERT_TRUE(MakeDirs(*dir_ + "/pod").ok());
    ASSERT_TRUE(MakeDirs(*dir_ + "/logs").ok());
    loop_ = new LoopThread();
    loop_->Start({.pod_dir = *dir_ + "/pod", .runtime_path = kRunc, .runtime_root = RuncRoot()});
  }

  static void TearDownTestSuite() {
    loop_->Stop();
    for (const std::string& id : *ids_) {
      (void)RunCommand({.argv = {kRunc, "--root", RuncRoot(), "delete", "--force", id}});
    }
    EXPECT_TRUE(RemoveAll(*dir_).ok());
  }

  static std::string RuncRoot() { return *dir_ + "/runc"; }

  // A bundle running `args`; returns the container id.
  std::string MakeBundle(const std::vector<std::string>& args, bool terminal = false) {
    std::string id = absl::StrCat("sup-", ::getpid(), "-", ids_->size());
    ids_->insert(id);
    std::string bundle = *dir_ + "/" + id;
    EXPECT_TRUE(MakeDirs(bundle).ok());
    nlohmann::json config = *spec_;
    config["process"]["args"] = args;
    config["process"]["terminal"] = terminal;
    config["root"]["path"] = *dir_ + "/rootfs";
    config["root"]["readonly"] = false;
    config["linux"]["cgroupsPath"] = "/" + id;
    EXPECT_TRUE(WriteFileAtomic(bundle + "/config.json", config.dump()).ok());
    return id;
  }

  std::string LogPath(const std::string& id) { return *dir_ + "/logs/" + id + ".log"; }

  v1::Response Create(const std::string& id, bool tty = false, bool stdin = false,
                      bool stdin_once = false) {
    v1::CreateContainer request;
    request.set_tty(tty);
    request.set_stdin(stdin);
    request.set_stdin_once(stdin_once);
    request.set_container_id(id);
    request.set_bundle(*dir_ + "/" + id);
    request.set_log_path(LogPath(id));
    request.set_cgroup_path("/sys/fs/cgroup/memory/" + id);
    return loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->Create(request, r); });
  }

  v1::Response Start(const std::string& id) {
    v1::StartContainer request;
    request.set_container_id(id);
    return loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->Start(request, r); });
  }

  // Created and started; fails the test otherwise.
  std::string Run(const std::vector<std::string>& args) {
    std::string id = MakeBundle(args);
    v1::Response created = Create(id);
    EXPECT_EQ(created.code(), 0) << created.message();
    EXPECT_GT(created.create_container().pid(), 1);
    v1::Response started = Start(id);
    EXPECT_EQ(started.code(), 0) << started.message();
    return id;
  }

  v1::Response Stop(const std::string& id, int signal, absl::Duration timeout) {
    v1::StopContainer request;
    request.set_container_id(id);
    request.set_signal(signal);
    request.set_timeout_ns(absl::ToInt64Nanoseconds(timeout));
    return loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->Stop(request, r); });
  }

  v1::Response Delete(const std::string& id) {
    v1::DeleteContainer request;
    request.set_container_id(id);
    return loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->Delete(request, r); });
  }

  struct ExecOutcome {
    v1::Response response;
    std::string out;
    std::string err;
  };

  // Starts an ExecSync; `collect` reads the pipes and waits for the reply.
  std::function<ExecOutcome()> ExecAsync(const std::string& id, std::vector<std::string> argv,
                                         absl::Duration timeout) {
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    auto out_r = std::make_shared<UniqueFd>(out[0]);
    auto err_r = std::make_shared<UniqueFd>(err[0]);
    auto fds = std::make_shared<std::vector<UniqueFd>>();
    fds->emplace_back(out[1]);
    fds->emplace_back(err[1]);
    v1::ExecSync request;
    request.set_container_id(id);
    for (const std::string& arg : argv) request.add_argv(arg);
    request.set_timeout_ns(absl::ToInt64Nanoseconds(timeout));
    auto promise = std::make_shared<std::promise<v1::Response>>();
    std::shared_future<v1::Response> future = promise->get_future().share();
    loop_->Post([request, fds, promise] {
      loop_->supervisor()->ExecSync(request, std::move(*fds),
                             [promise](v1::Response r) { promise->set_value(std::move(r)); });
    });
    return [out_r, err_r, future] {
      ExecOutcome outcome;
      outcome.out = ReadAll(out_r->get());
      outcome.err = ReadAll(err_r->get());
      EXPECT_EQ(future.wait_for(std::chrono::seconds(60)), std::future_status::ready);
      outcome.response = future.get();
      return outcome;
    };
  }

  static std::string ReadAll(int fd) {
    std::string data;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
    return data;
  }

  std::vector<CriLogEntry> ReadLog(const std::string& path) {
    absl::StatusOr<std::string> text = ReadFile(path);
    if (!text.ok()) return {};
    absl::StatusOr<std::vector<CriLogEntry>> entries = ParseCriLog(*text);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.value_or(std::vector<CriLogEntry>{});
  }

  // Waits until the log at `path` holds `content` on stdout.
  bool WaitForLogLine(const std::string& path, const std::string& content) {
    for (int i = 0; i < 100; ++i) {
      for (const CriLogEntry& entry : ReadLog(path)) {
        if (entry.stream == LogStream::kStdout && entry.content == content) return true;
      }
      ::usleep(100 * 1000);
    }
    return false;
  }

  // The test's ends of an attachment.
  struct Ends {
    UniqueFd in, out, err;
  };

  // Attaches to `id` with a socketpair for each stream asked for; `ends` gets the test's ends.
  // `send_buffer` > 0: the monitor's ends get that socket send buffer (SO_SNDBUFFORCE).
  v1::Response AttachTo(const std::string& id, bool in, bool out, bool err, Ends* ends,
                        int send_buffer = 0) {
    v1::Attach request;
    request.set_container_id(id);
    request.set_has_stdin(in);
    request.set_has_stdout(out);
    request.set_has_stderr(err);
    auto fds = std::make_shared<std::vector<UniqueFd>>();
    UniqueFd* mine[3] = {&ends->in, &ends->out, &ends->err};
    bool wanted[3] = {in, out, err};
    for (int i = 0; i < 3; ++i) {
      if (!wanted[i]) continue;
      int pair[2];
      EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
      mine[i]->Reset(pair[0]);
      if (send_buffer > 0) {
        EXPECT_EQ(::setsockopt(pair[1], SOL_SOCKET, SO_SNDBUFFORCE, &send_buffer,
                               sizeof(send_buffer)),
                  0);
      }
      fds->emplace_back(pair[1]);
    }
    return loop_->Ask([request, fds](ContainerSupervisor* s, Reply r) {
      s->Attach(request, std::move(*fds), r);
    });
  }

  v1::Response Resize(const std::string& id, uint32_t width, uint32_t height) {
    v1::ResizeTerminal request;
    request.set_container_id(id);
    request.set_width(width);
    request.set_height(height);
    return loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->ResizeTerminal(request, r); });
  }

  size_t AttachCount(const std::string& id) {
    v1::Response count = loop_->Ask([id](ContainerSupervisor* s, Reply r) {
      v1::Response response;
      response.set_code(static_cast<int>(s->AttachCount(id)));
      r(response);
    });
    return static_cast<size_t>(count.code());
  }

  // Reads `fd` until `needle` shows up, EOF or `timeout`; returns what was read.
  static std::string ReadUntil(int fd, const std::string& needle,
                               absl::Duration timeout = absl::Seconds(10), bool* eof = nullptr) {
    std::string data;
    absl::Time deadline = absl::Now() + timeout;
    if (eof != nullptr) *eof = false;
    while (needle.empty() || data.find(needle) == std::string::npos) {
      pollfd poller{.fd = fd, .events = POLLIN};
      int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (left <= 0 || ::poll(&poller, 1, left) <= 0) break;
      char buffer[65536];
      ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n <= 0) {
        if (eof != nullptr) *eof = true;
        break;
      }
      data.append(buffer, static_cast<size_t>(n));
    }
    return data;
  }

  static bool WriteString(int fd, const std::string& data) {
    return ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }

  bool Running(const std::string& id) {
    v1::Response listed = loop_->Ask([](ContainerSupervisor* s, Reply r) { s->List(r); });
    for (const v1::ContainerState& state : listed.list_containers().containers()) {
      if (state.container_id() == id) return state.running();
    }
    return false;
  }

  // The pids in the container's memory cgroup.
  std::vector<std::string> CgroupProcs(const std::string& id) {
    absl::StatusOr<std::string> procs = ReadFile("/sys/fs/cgroup/memory/" + id + "/cgroup.procs");
    if (!procs.ok()) return {};
    return absl::StrSplit(*procs, '\n', absl::SkipEmpty());
  }

  static std::string* dir_;
  static std::set<std::string>* ids_;
  static nlohmann::json* spec_;
  static LoopThread* loop_;
};

std::string* SupervisorTest::dir_;
std::set<std::string>* SupervisorTest::ids_;
nlohmann::json* SupervisorTest::spec_;
LoopThread* SupervisorTest::loop_;

std::optional<v1::ExitRecord> ReadExitRecord(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (!data.ok()) return std::nullopt;
  v1::ExitRecord record;
  if (!record.ParseFromString(*data)) return std::nullopt;
  return record;
}

TEST_F(SupervisorTest, LogsOutputAndRecordsTheExit) {
  std::string id = Run({"sh", "-c", "echo hello; echo err >&2"});
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 0);
  EXPECT_EQ(exit->signal(), 0);
  EXPECT_FALSE(exit->oom_killed());
  EXPECT_NEAR(exit->finished_unix_nanos(), absl::ToUnixNanos(absl::Now()), 30e9);
  // Written before the event was sent.
  std::optional<v1::ExitRecord> record = ReadExitRecord(*dir_ + "/pod/exits/" + id);
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->container_id(), id);
  EXPECT_EQ(record->exit_code(), 0);

  std::vector<CriLogEntry> log = ReadLog(LogPath(id));
  ASSERT_EQ(log.size(), 2u);
  std::map<LogStream, CriLogEntry> by_stream;
  for (const CriLogEntry& entry : log) by_stream[entry.stream] = entry;
  EXPECT_EQ(by_stream[LogStream::kStdout].content, "hello");
  EXPECT_FALSE(by_stream[LogStream::kStdout].partial);
  EXPECT_EQ(by_stream[LogStream::kStderr].content, "err");
  EXPECT_FALSE(by_stream[LogStream::kStderr].partial);
  absl::StatusOr<std::string> raw = ReadFile(LogPath(id));
  ASSERT_TRUE(raw.ok());
  EXPECT_THAT(*raw, ::testing::ContainsRegex(
                        "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z std(out|err) F "));

  v1::Response listed = loop_->Ask([](ContainerSupervisor* s, Reply r) { s->List(r); });
  bool seen = false;
  for (const v1::ContainerState& state : listed.list_containers().containers()) {
    if (state.container_id() != id) continue;
    seen = true;
    EXPECT_FALSE(state.running());
    EXPECT_EQ(state.exit().exit_code(), 0);
  }
  EXPECT_TRUE(seen);

  EXPECT_EQ(Delete(id).code(), 0);
  EXPECT_FALSE(::access((RuncRoot() + "/" + id).c_str(), F_OK) == 0);
  EXPECT_TRUE(ReadExitRecord(*dir_ + "/pod/exits/" + id).has_value());  // it stays
  EXPECT_EQ(Delete(id).code(), 0);  // idempotent
}

// Started through runc's exec fifo (no `runc start`): the fifo is gone, as `runc start`
// leaves it (runc then reports the container running; `runc state` cannot run here, as the
// loop reaps every child), and a second start is refused.
TEST_F(SupervisorTest, StartLeavesRuncSeeingItRunning) {
  std::string id = MakeBundle({"sleep", "100"});
  ASSERT_EQ(Create(id).code(), 0);
  EXPECT_TRUE(::access((RuncRoot() + "/" + id + "/exec.fifo").c_str(), F_OK) == 0);
  v1::Response started = Start(id);
  ASSERT_EQ(started.code(), 0) << started.message();
  EXPECT_FALSE(::access((RuncRoot() + "/" + id + "/exec.fifo").c_str(), F_OK) == 0);
  EXPECT_TRUE(Running(id));
  EXPECT_EQ(CgroupProcs(id).size(), 1u);
  EXPECT_EQ(Start(id).code(), 9);  // FailedPrecondition: not created
  EXPECT_EQ(Stop(id, SIGKILL, absl::ZeroDuration()).code(), 0);
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 137);
  EXPECT_EQ(Delete(id).code(), 0);
}

// A container whose init died before the start: the start fails at once (no hang), the exit
// is recorded, and the container can be deleted.
TEST_F(SupervisorTest, StartAfterInitDiedFails) {
  std::string id = MakeBundle({"sleep", "100"});
  v1::Response created = Create(id);
  ASSERT_EQ(created.code(), 0) << created.message();
  pid_t pid = created.create_container().pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 137);
  absl::Time before = absl::Now();
  v1::Response started = Start(id);
  EXPECT_NE(started.code(), 0);
  EXPECT_LT(absl::Now() - before, absl::Seconds(10));
  EXPECT_EQ(Delete(id).code(), 0);
}

// Init killed while a start waits on it: the start is answered with an error.
TEST_F(SupervisorTest, StartRacingAKillIsAnswered) {
  for (int i = 0; i < 5; ++i) {
    std::string id = MakeBundle({"sleep", "100"});
    v1::Response created = Create(id);
    ASSERT_EQ(created.code(), 0) << created.message();
    pid_t pid = created.create_container().pid();
    auto promise = std::make_shared<std::promise<v1::Response>>();
    v1::StartContainer request;
    request.set_container_id(id);
    loop_->Post([request, promise, pid] {
      loop_->supervisor()->Start(request, [promise](v1::Response r) { promise->set_value(r); });
      ::kill(pid, SIGKILL);
    });
    std::future<v1::Response> answer = promise->get_future();
    ASSERT_EQ(answer.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    // Either the start won (the process then died of the kill) or it failed; never a hang.
    std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
    ASSERT_TRUE(exit.has_value());
    EXPECT_EQ(exit->exit_code(), 137);
    EXPECT_EQ(Delete(id).code(), 0);
  }
}

TEST_F(SupervisorTest, ReportsTheExitCode) {
  std::string id = Run({"sh", "-c", "exit 3"});
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 3);
  EXPECT_EQ(Stop(id, SIGTERM, absl::Seconds(10)).code(), 0);  // exited: OK at once
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, CreateFailureCarriesRuncsError) {
  std::string id = MakeBundle({"/no/such/binary"});
  v1::Response created = Create(id);
  // runc 1.1 checks the executable at create.
  EXPECT_NE(created.code(), 0);
  EXPECT_THAT(created.message(), ::testing::HasSubstr("runc create failed"));
  EXPECT_THAT(created.message(), ::testing::HasSubstr("/no/such/binary"));
  // Forgotten once runc's leftovers are gone.
  for (int i = 0; i < 50 && Start(id).code() != 5; ++i) ::usleep(100 * 1000);
  EXPECT_EQ(Start(id).code(), 5);
}

TEST_F(SupervisorTest, StopWithSigterm) {
  std::string id = Run({"sh", "-c", "trap 'exit 143' TERM; sleep 100 & wait"});
  ::usleep(300 * 1000);  // the trap is set
  absl::Time start = absl::Now();
  // Two concurrent stops: each is answered.
  auto promise = std::make_shared<std::promise<v1::Response>>();
  v1::StopContainer request;
  request.set_container_id(id);
  request.set_signal(SIGTERM);
  request.set_timeout_ns(absl::ToInt64Nanoseconds(absl::Seconds(30)));
  loop_->Post([request, promise] {
    loop_->supervisor()->Stop(request, [promise](v1::Response r) { promise->set_value(r); });
  });
  v1::Response stopped = Stop(id, SIGTERM, absl::Seconds(30));
  EXPECT_EQ(stopped.code(), 0) << stopped.message();
  ASSERT_EQ(promise->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 143);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, StopEscalatesToSigkill) {
  std::string id = Run({"sh", "-c", "trap '' TERM; sleep 100"});
  ::usleep(300 * 1000);
  absl::Time start = absl::Now();
  v1::Response stopped = Stop(id, SIGTERM, absl::Seconds(1));
  EXPECT_EQ(stopped.code(), 0) << stopped.message();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 137);
  EXPECT_EQ(exit->signal(), SIGKILL);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, ExecSyncRunsInTheContainer) {
  std::string id = Run({"sleep", "100"});
  ExecOutcome outcome =
      ExecAsync(id, {"sh", "-c", "echo hi; echo oops >&2; exit 4"}, absl::Seconds(30))();
  EXPECT_EQ(outcome.response.code(), 0) << outcome.response.message();
  EXPECT_EQ(outcome.response.exec_sync().exit_code(), 4);
  EXPECT_FALSE(outcome.response.exec_sync().timed_out());
  EXPECT_EQ(outcome.out, "hi\n");
  EXPECT_EQ(outcome.err, "oops\n");
  outcome = ExecAsync(id, {"echo", "hi"}, absl::ZeroDuration())();
  EXPECT_EQ(outcome.response.exec_sync().exit_code(), 0);
  EXPECT_EQ(outcome.out, "hi\n");
  EXPECT_EQ(Delete(id).code(), 0);
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 137);
  EXPECT_FALSE(::access((RuncRoot() + "/" + id).c_str(), F_OK) == 0);
}

TEST_F(SupervisorTest, ExecSyncTimesOut) {
  std::string id = Run({"sleep", "100"});
  ASSERT_EQ(CgroupProcs(id).size(), 1u);
  absl::Time start = absl::Now();
  ExecOutcome outcome = ExecAsync(id, {"sleep", "10"}, absl::Milliseconds(500))();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(outcome.response.code(), 0) << outcome.response.message();
  EXPECT_TRUE(outcome.response.exec_sync().timed_out());
  EXPECT_EQ(outcome.response.exec_sync().exit_code(), -1);
  // Only the container's init is left.
  for (int i = 0; i < 20 && CgroupProcs(id).size() != 1; ++i) ::usleep(100 * 1000);
  EXPECT_EQ(CgroupProcs(id).size(), 1u);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, ConcurrentExecSyncs) {
  std::string id = Run({"sleep", "100"});
  std::vector<std::function<ExecOutcome()>> pending;
  for (int i = 0; i < 10; ++i) {
    pending.push_back(
        ExecAsync(id, {"sh", "-c", absl::StrCat("sleep 0.2; echo ", i)}, absl::Seconds(30)));
  }
  for (int i = 0; i < 10; ++i) {
    ExecOutcome outcome = pending[i]();
    EXPECT_EQ(outcome.response.code(), 0) << outcome.response.message();
    EXPECT_EQ(outcome.response.exec_sync().exit_code(), 0);
    EXPECT_EQ(outcome.out, absl::StrCat(i, "\n"));
  }
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, ReopenLogStartsANewFile) {
  std::string id = Run({"sh", "-c",
                        "echo before; while true; do "
                        "if [ -e /tmp/go ]; then rm /tmp/go; echo after; fi; sleep 0.1; done"});
  ASSERT_TRUE(WaitForLogLine(LogPath(id), "before"));
  std::string rotated = LogPath(id) + ".1";
  ASSERT_EQ(::rename(LogPath(id).c_str(), rotated.c_str()), 0);
  v1::ReopenLog request;
  request.set_container_id(id);
  v1::Response reopened =
      loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->ReopenLog(request, r); });
  EXPECT_EQ(reopened.code(), 0) << reopened.message();
  EXPECT_EQ(::access(LogPath(id).c_str(), F_OK), 0);  // before the reply
  ExecOutcome touched = ExecAsync(id, {"touch", "/tmp/go"}, absl::Seconds(30))();
  EXPECT_EQ(touched.response.exec_sync().exit_code(), 0);
  EXPECT_TRUE(WaitForLogLine(LogPath(id), "after"));
  for (const CriLogEntry& entry : ReadLog(rotated)) EXPECT_NE(entry.content, "after");

  // Not running any more: FAILED_PRECONDITION, and no new file.
  EXPECT_EQ(Stop(id, SIGKILL, absl::ZeroDuration()).code(), 0);
  ASSERT_EQ(::rename(LogPath(id).c_str(), rotated.c_str()), 0);
  reopened = loop_->Ask([request](ContainerSupervisor* s, Reply r) { s->ReopenLog(request, r); });
  EXPECT_EQ(reopened.code(), 9);
  EXPECT_NE(::access(LogPath(id).c_str(), F_OK), 0);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, TerminalOutputIsLogged) {
  std::string id = MakeBundle({"sh", "-c", "echo tty-hello"}, /*terminal=*/true);
  v1::Response created = Create(id, /*tty=*/true);
  ASSERT_EQ(created.code(), 0) << created.message();
  ASSERT_EQ(Start(id).code(), 0);
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 0);
  std::vector<CriLogEntry> log = ReadLog(LogPath(id));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].stream, LogStream::kStdout);
  EXPECT_EQ(log[0].content, "tty-hello\r");  // the pty turns \n into \r\n
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, AttachEchoesStdinAndDetachLeavesItRunning) {
  std::string id = MakeBundle({"cat"});
  ASSERT_EQ(Create(id, /*tty=*/false, /*stdin=*/true).code(), 0);
  ASSERT_EQ(Start(id).code(), 0);
  Ends first;
  v1::Response attached = AttachTo(id, true, true, false, &first);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  EXPECT_EQ(AttachCount(id), 1u);
  ASSERT_TRUE(WriteString(first.in.get(), "hello\n"));
  EXPECT_EQ(ReadUntil(first.out.get(), "hello\n"), "hello\n");
  EXPECT_TRUE(WaitForLogLine(LogPath(id), "hello"));

  // Detach: the monitor drops the client, the container keeps running and keeps its stdin.
  first = Ends{};
  for (int i = 0; i < 50 && AttachCount(id) != 0; ++i) ::usleep(100 * 1000);
  EXPECT_EQ(AttachCount(id), 0u);
  ::usleep(300 * 1000);
  EXPECT_TRUE(Running(id));
  Ends second;
  ASSERT_EQ(AttachTo(id, true, true, false, &second).code(), 0);
  ASSERT_TRUE(WriteString(second.in.get(), "again\n"));
  EXPECT_EQ(ReadUntil(second.out.get(), "again\n"), "again\n");
  // Closing only stdin (no stdin_once) leaves the container's stdin open.
  ASSERT_EQ(::shutdown(second.in.get(), SHUT_WR), 0);
  ::usleep(300 * 1000);
  EXPECT_TRUE(Running(id));
  Ends third;
  ASSERT_EQ(AttachTo(id, true, false, false, &third).code(), 0);
  ASSERT_TRUE(WriteString(third.in.get(), "third\n"));
  EXPECT_EQ(ReadUntil(second.out.get(), "third\n"), "third\n");  // output still goes to `second`

  EXPECT_EQ(Delete(id).code(), 0);
  // The container's exit closes the monitor's copies: EOF.
  bool eof = false;
  ReadUntil(second.out.get(), "", absl::Seconds(10), &eof);
  EXPECT_TRUE(eof);
}

TEST_F(SupervisorTest, AttachFansOutAndTheLogStillGetsEverything) {
  std::string id =
      MakeBundle({"sh", "-c", "while read x; do echo out-$x; echo err-$x >&2; done"});
  ASSERT_EQ(Create(id, false, /*stdin=*/true).code(), 0);
  ASSERT_EQ(Start(id).code(), 0);
  Ends a, b;
  ASSERT_EQ(AttachTo(id, true, true, true, &a).code(), 0);
  ASSERT_EQ(AttachTo(id, false, true, true, &b).code(), 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WriteString(a.in.get(), absl::StrCat(i, "\n")));
    std::string out = absl::StrCat("out-", i, "\n"), err = absl::StrCat("err-", i, "\n");
    EXPECT_EQ(ReadUntil(a.out.get(), out), out);
    EXPECT_EQ(ReadUntil(a.err.get(), err), err);
    EXPECT_EQ(ReadUntil(b.out.get(), out), out);
    EXPECT_EQ(ReadUntil(b.err.get(), err), err);
  }
  EXPECT_TRUE(WaitForLogLine(LogPath(id), "out-2"));
  bool seen_err = false;
  for (const CriLogEntry& entry : ReadLog(LogPath(id))) {
    if (entry.stream == LogStream::kStderr && entry.content == "err-2") seen_err = true;
  }
  EXPECT_TRUE(seen_err);
  // One client hanging up its stdout leaves the others (and its own stderr) served.
  b.out.Reset();
  ASSERT_TRUE(WriteString(a.in.get(), "4\n"));
  EXPECT_EQ(ReadUntil(a.out.get(), "out-4\n"), "out-4\n");
  EXPECT_EQ(ReadUntil(b.err.get(), "err-4\n"), "err-4\n");
  EXPECT_EQ(AttachCount(id), 2u);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, StdinOnceClosesStdinAfterTheFirstAttach) {
  std::string id = MakeBundle({"sh", "-c", "cat; echo cat-ended; exit 7"});
  ASSERT_EQ(Create(id, false, /*stdin=*/true, /*stdin_once=*/true).code(), 0);
  ASSERT_EQ(Start(id).code(), 0);
  Ends a, watcher;
  ASSERT_EQ(AttachTo(id, true, true, false, &a).code(), 0);
  ASSERT_EQ(AttachTo(id, false, true, false, &watcher).code(), 0);
  ASSERT_TRUE(WriteString(a.in.get(), "x\n"));
  EXPECT_EQ(ReadUntil(a.out.get(), "x\n"), "x\n");
  EXPECT_FALSE(loop_->WaitExit(id, absl::Milliseconds(300)).has_value());
  a = Ends{};  // the first attach ends: cat sees EOF
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 7);
  bool eof = false;
  std::string rest = ReadUntil(watcher.out.get(), "", absl::Seconds(10), &eof);
  EXPECT_THAT(rest, ::testing::HasSubstr("cat-ended\n"));
  EXPECT_TRUE(eof);
  // Exited: no more attaching.
  Ends late;
  EXPECT_EQ(AttachTo(id, false, true, false, &late).code(), 9);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, StdinOnceWithATerminalEndsWithEof) {
  std::string id = MakeBundle({"sh", "-c", "cat; exit 6"}, /*terminal=*/true);
  ASSERT_EQ(Create(id, /*tty=*/true, /*stdin=*/true, /*stdin_once=*/true).code(), 0);
  ASSERT_EQ(Start(id).code(), 0);
  Ends a;
  ASSERT_EQ(AttachTo(id, true, true, false, &a).code(), 0);
  ASSERT_TRUE(WriteString(a.in.get(), "abc\n"));
  // The terminal echoes the line, then cat writes it: twice.
  std::string out = ReadUntil(a.out.get(), "abc\r\nabc\r\n");
  EXPECT_EQ(out, "abc\r\nabc\r\n");
  a.in.Reset();  // the terminal gets its EOF character
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 6);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, AttachChecksItsRequest) {
  std::string id = Run({"sleep", "100"});  // no stdin
  Ends ends;
  v1::Response refused = AttachTo(id, true, true, false, &ends);
  EXPECT_EQ(refused.code(), 9);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("without stdin"));
  Ends out_only;
  EXPECT_EQ(AttachTo(id, false, true, true, &out_only).code(), 0);
  Ends unknown;
  EXPECT_EQ(AttachTo("no-such-container", false, true, false, &unknown).code(), 5);
  // Fewer fds than the request names.
  v1::Attach request;
  request.set_container_id(id);
  request.set_has_stdout(true);
  request.set_has_stderr(true);
  v1::Response mismatch = loop_->Ask(
      [request](ContainerSupervisor* s, Reply r) { s->Attach(request, {}, r); });
  EXPECT_EQ(mismatch.code(), 3);
  EXPECT_EQ(Resize(id, 80, 24).code(), 9);  // no tty
  EXPECT_EQ(Resize("no-such-container", 80, 24).code(), 5);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, SlowAttacherDoesNotBlockTheLog) {
  constexpr int kLines = 20000;
  std::string id = MakeBundle(
      {"sh", "-c",
       absl::StrCat("i=0; while [ $i -lt ", kLines,
                    " ]; do echo \"line $i 0123456789012345678901234567890123456789\"; "
                    "i=$((i+1)); done; sleep 0.5; echo done")});
  ASSERT_EQ(Create(id).code(), 0);
  Ends slow, fast;
  // Attached before the start: every line is copied (or dropped) for them.
  ASSERT_EQ(AttachTo(id, false, true, false, &slow).code(), 0);
  // Room for the whole output in its socket: a reader this test thread starves for a moment
  // still gets everything.
  ASSERT_EQ(AttachTo(id, false, true, false, &fast, /*send_buffer=*/8 << 20).code(), 0);
  std::future<std::string> fast_read = std::async(std::launch::async, [&fast] {
    return ReadUntil(fast.out.get(), "", absl::Seconds(60));
  });
  absl::Time start = absl::Now();
  ASSERT_EQ(Start(id).code(), 0);
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 0);
  absl::Duration took = absl::Now() - start;
  std::printf("%d lines with a stalled attacher: container done in %s\n", kLines,
              absl::FormatDuration(took).c_str());
  EXPECT_LT(took, absl::Seconds(20));
  std::vector<CriLogEntry> log = ReadLog(LogPath(id));
  ASSERT_EQ(log.size(), static_cast<size_t>(kLines) + 1);
  EXPECT_EQ(log[kLines - 1].content,
            absl::StrCat("line ", kLines - 1, " 0123456789012345678901234567890123456789"));
  EXPECT_EQ(log[kLines].content, "done");

  std::string expected;
  for (const CriLogEntry& entry : log) absl::StrAppend(&expected, entry.content, "\n");
  std::string fast_got = fast_read.get();
  EXPECT_EQ(fast_got.size(), expected.size());
  EXPECT_TRUE(fast_got == expected) << "the fast attacher missed output";
  // The stalled one got a prefix (what its socket and the monitor's bounded backlog hold), and
  // EOF after the container exited and the monitor gave up on it.
  bool eof = false;
  std::string slow_got = ReadUntil(slow.out.get(), "", absl::Seconds(30), &eof);
  EXPECT_TRUE(eof);
  EXPECT_LT(slow_got.size(), expected.size() / 2);
  EXPECT_GT(slow_got.size(), 0u);
  EXPECT_EQ(slow_got, expected.substr(0, slow_got.size()));
  EXPECT_EQ(AttachCount(id), 0u);
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, TerminalAttachAndResize) {
  std::string id = MakeBundle({"sh"}, /*terminal=*/true);
  ASSERT_EQ(Create(id, /*tty=*/true, /*stdin=*/true).code(), 0);
  ASSERT_EQ(Start(id).code(), 0);
  EXPECT_EQ(Resize(id, 100, 40).code(), 0);
  Ends ends;
  ASSERT_EQ(AttachTo(id, true, true, false, &ends).code(), 0);
  ASSERT_TRUE(WriteString(ends.in.get(), "stty size\n"));
  EXPECT_THAT(ReadUntil(ends.out.get(), "40 100"), ::testing::HasSubstr("40 100"));
  EXPECT_EQ(Resize(id, 120, 50).code(), 0);
  ASSERT_TRUE(WriteString(ends.in.get(), "stty size\n"));
  EXPECT_THAT(ReadUntil(ends.out.get(), "50 120"), ::testing::HasSubstr("50 120"));
  EXPECT_TRUE(WaitForLogLine(LogPath(id), "50 120\r"));
  ASSERT_TRUE(WriteString(ends.in.get(), "exit 5\n"));
  std::optional<v1::ExitRecord> exit = loop_->WaitExit(id);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code(), 5);
  bool eof = false;
  ReadUntil(ends.out.get(), "", absl::Seconds(10), &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(Resize(id, 80, 24).code(), 9);  // exited
  EXPECT_EQ(Delete(id).code(), 0);
}

TEST_F(SupervisorTest, UnknownContainers) {
  EXPECT_EQ(Delete("no-such-container").code(), 0);
  EXPECT_EQ(Start("no-such-container").code(), 5);
  EXPECT_EQ(Stop("no-such-container", SIGTERM, absl::Seconds(1)).code(), 5);
}

}  // namespace
}  // namespace berth::mon
