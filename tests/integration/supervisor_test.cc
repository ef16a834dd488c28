// Drives berth-mon's ContainerSupervisor with real runc and busybox containers. The loop runs
// on a thread of its own; the test thread posts requests to it and waits for the replies.
// Needs root, runc and busybox-static.
#include "conmon/container_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
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
    for (const char* tool : {"sh", "echo", "sleep", "cat", "touch", "rm", "true"}) {
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

  v1::Response Create(const std::string& id, bool tty = false) {
    v1::CreateContainer request;
    request.set_tty(tty);
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

TEST_F(SupervisorTest, UnknownContainers) {
  EXPECT_EQ(Delete("no-such-container").code(), 0);
  EXPECT_EQ(Start("no-such-container").code(), 5);
  EXPECT_EQ(Stop("no-such-container", SIGTERM, absl::Seconds(1)).code(), 5);
}

}  // namespace
}  // namespace berth::mon
