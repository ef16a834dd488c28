#include "common/spawn.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

#include "common/files.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

SpawnResult RunOk(SpawnOptions options) {
  absl::StatusOr<SpawnResult> result = RunCommand(options);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : SpawnResult{};
}

TEST(SpawnTest, CapturesStdoutStderrAndExitCode) {
  SpawnResult result = RunOk({.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}});
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_FALSE(result.success());
  EXPECT_EQ(result.Describe(), "exit code 3: err");
}

TEST(SpawnTest, FeedsStdin) {
  std::string input(1 << 20, 'a');  // more than a pipe buffer
  SpawnResult result = RunOk({.argv = {"wc", "-c"}, .stdin_data = input});
  EXPECT_EQ(std::stoul(result.out), input.size());
  EXPECT_TRUE(result.success());
}

TEST(SpawnTest, UsesGivenEnvironmentAndDirectory) {
  SpawnResult result =
      RunOk({.argv = {"/bin/sh", "-c", "echo $FOO; pwd"}, .env = {{"FOO=bar"}}, .cwd = "/tmp"});
  EXPECT_EQ(result.out, "bar\n/tmp\n");
}

TEST(SpawnTest, TimeoutKillsTheChild) {
  SpawnResult result = RunOk({.argv = {"sleep", "30"}, .timeout = absl::Milliseconds(200)});
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.Describe(), "timed out");
}

TEST(SpawnTest, ReportsSignals) {
  SpawnResult result = RunOk({.argv = {"sh", "-c", "kill -9 $$"}});
  EXPECT_EQ(result.signal, SIGKILL);
}

TEST(SpawnTest, CapsOutput) {
  SpawnResult result = RunOk({.argv = {"head", "-c", "100000", "/dev/zero"}, .max_output = 1000});
  EXPECT_EQ(result.out.size(), 1000u);
  EXPECT_TRUE(result.output_truncated);
  EXPECT_TRUE(result.success());
}

TEST(SpawnTest, MissingProgramIsAnError) {
  EXPECT_EQ(RunCommand({.argv = {"/nonexistent/program"}}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RunCommand({.argv = {"no-such-program-berth"}}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RunCommand({.argv = {}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SpawnTest, DaemonizingGrandchildDoesNotBlock) {
  // The child exits at once while a grandchild keeps the pipes open for 30 seconds.
  absl::Time start = absl::Now();
  SpawnResult result =
      RunOk({.argv = {"sh", "-c", "sleep 30 & echo started"}, .timeout = absl::Seconds(20)});
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(result.out, "started\n");
}

TEST(SpawnTest, ChildDoesNotInheritOurDescriptors) {
  SpawnResult result = RunOk({.argv = {"sh", "-c", "ls /proc/self/fd | wc -l"}});
  // stdin, stdout, stderr, and the directory ls itself opens.
  EXPECT_LE(std::stoi(result.out), 4);
}

TEST(ProcessTest, StartWaitAndStop) {
  auto dir = TempDir::Make("process-test-");
  ASSERT_TRUE(dir.ok());
  std::string log = dir->path() + "/out";
  auto process =
      Process::Start({.argv = {"sh", "-c", "echo hello; exec sleep 30"}, .stdout_path = log});
  ASSERT_TRUE(process.ok()) << process.status();
  EXPECT_TRUE(process->running());
  EXPECT_EQ(process->Wait(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<int> status = process->Stop(absl::Seconds(5));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
  EXPECT_FALSE(process->running());
  EXPECT_EQ(*ReadFile(log), "hello\n");
}

TEST(ProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto process = Process::Start({.argv = {"sleep", "30"}});
    ASSERT_TRUE(process.ok());
    pid = process->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0) << "child still exists (or is an unreaped zombie)";
}

TEST(ProcessTest, GivenStdioFds) {
  UniqueFd in_read, in_write, err_read, err_write;
  ASSERT_TRUE(MakePipe(in_read, in_write));
  ASSERT_TRUE(MakePipe(err_read, err_write));
  auto process = Process::Start({.argv = {"sh", "-c", "cat >&2"},
                                 .stdin_fd = in_read.get(),
                                 .stderr_fd = err_write.get()});
  ASSERT_TRUE(process.ok()) << process.status();
  in_read.Reset();
  err_write.Reset();
  ASSERT_EQ(::write(in_write.get(), "ping", 4), 4);
  in_write.Reset();
  char buf[8];
  ASSERT_EQ(::read(err_read.get(), buf, sizeof(buf)), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");
  absl::StatusOr<int> status = process->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

TEST(ProcessTest, KillWithParentEndsTheChildWhenItsStarterThreadEnds) {
  std::optional<Process> process;
  std::thread starter([&] {
    auto started = Process::Start({.argv = {"sleep", "30"}, .kill_with_parent = true});
    ASSERT_TRUE(started.ok()) << started.status();
    process.emplace(std::move(*started));
  });
  starter.join();
  ASSERT_TRUE(process.has_value());
  absl::StatusOr<int> status = process->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
}

// Waits (at most 10 s) for `path` to exist.
bool AppearsSoon(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    ::usleep(10 * 1000);
  }
  return false;
}

TEST(PendingCommandTest, RunsAtOnceAndGetsItsInputAtFinish) {
  absl::StatusOr<TempDir> dir = TempDir::Make("spawn-test-");
  ASSERT_TRUE(dir.ok());
  std::string marker = dir->path() + "/started";
  auto command = PendingCommand::Start(
      {.argv = {"/bin/sh", "-c", "touch " + marker + "; tr a-z A-Z"}, .stdin_data = "ignored"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_TRUE(AppearsSoon(marker));  // before Finish
  absl::StatusOr<SpawnResult> result = command->Finish("hello");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->success()) << result->Describe();
  EXPECT_EQ(result->out, "HELLO");
  EXPECT_FALSE(command->Finish("again").ok());
}

TEST(PendingCommandTest, DestroyedUnfinishedIsKilledAndReaped) {
  absl::StatusOr<TempDir> dir = TempDir::Make("spawn-test-");
  ASSERT_TRUE(dir.ok());
  std::string pid_file = dir->path() + "/pid";
  {
    auto command = PendingCommand::Start(
        {.argv = {"/bin/sh", "-c", "echo $$ > " + pid_file + ".tmp; mv " + pid_file +
                                       ".tmp " + pid_file + "; exec cat"}});
    ASSERT_TRUE(command.ok()) << command.status();
    ASSERT_TRUE(AppearsSoon(pid_file));
  }
  absl::StatusOr<std::string> pid = ReadFile(pid_file);
  ASSERT_TRUE(pid.ok());
  EXPECT_NE(::kill(std::stoi(*pid), 0), 0) << "child still exists (or is an unreaped zombie)";
}

}  // namespace
}  // namespace berth
