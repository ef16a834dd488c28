#include "conmon/runtime_cmd.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sealed_copy.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"

namespace berth::mon {
namespace {

// Waits for `pid` and returns its wait status.
int Wait(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string ReadAll(int fd) {
  std::string out;
  char buffer[256];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

TEST(SpawnChildTest, GivesTheChildItsStdioAndReturnsItsPid) {
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  absl::StatusOr<pid_t> pid =
      SpawnChild({"/bin/sh", "-c", "echo hello; exit 3"}, ChildStdio{.out = out_w.get()});
  ASSERT_TRUE(pid.ok()) << pid.status();
  out_w.Reset();
  EXPECT_EQ(ReadAll(out_r.get()), "hello\n");
  int status = Wait(*pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(SpawnChildTest, ReportsAnExecFailureAsAnError) {
  absl::StatusOr<pid_t> pid = SpawnChild({"/nonexistent/berth-runtime", "create"}, ChildStdio{});
  ASSERT_FALSE(pid.ok());
  EXPECT_TRUE(absl::IsNotFound(pid.status())) << pid.status();
  EXPECT_NE(pid.status().message().find("/nonexistent/berth-runtime"), std::string::npos);
  // The failed child was reaped: no child is left.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(SpawnChildTest, RefusesARelativePath) {
  absl::StatusOr<pid_t> pid = SpawnChild({"runc", "start"}, ChildStdio{});
  EXPECT_TRUE(absl::IsInvalidArgument(pid.status())) << pid.status();
}

TEST(SpawnChildTest, ClosesOtherFdsAndResetsSignals) {
  // An fd without close-on-exec must not reach the child.
  UniqueFd leaked(::open("/dev/null", O_RDONLY));
  ASSERT_TRUE(leaked);
  // Ignored and blocked signals in the parent are the defaults again in the child (a shell
  // cannot undo an ignored signal itself, so the TERM it sends itself must kill it).
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_term {};
  ASSERT_EQ(::sigaction(SIGTERM, &ignore, &old_term), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &block, &old_mask), 0);

  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  std::string script = absl::StrCat("if [ -e /proc/self/fd/", leaked.get(),
                                    " ]; then echo leaked; fi; grep SigBlk /proc/self/status; "
                                    "kill -TERM $$; echo alive");
  absl::StatusOr<pid_t> pid = SpawnChild({"/bin/sh", "-c", script}, ChildStdio{.out = out_w.get()});
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(pid.ok()) << pid.status();
  out_w.Reset();
  std::string output = ReadAll(out_r.get());
  int status = Wait(*pid);
  EXPECT_EQ(output.find("leaked"), std::string::npos) << output;
  EXPECT_NE(output.find("SigBlk:\t0000000000000000"), std::string::npos) << output;
  EXPECT_EQ(output.find("alive"), std::string::npos) << output;
  ASSERT_TRUE(WIFSIGNALED(status)) << output;
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

TEST(SpawnChildTest, StdioMayComeFromTheLowFds) {
  // A source already sitting on 0, 1 or 2 (swapped here) must not be overwritten before use.
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  UniqueFd saved_stdout(::fcntl(1, F_DUPFD_CLOEXEC, 3));
  ASSERT_TRUE(saved_stdout);
  // The child's stderr is our fd 1 and its stdout our fd 2's source: give 1 the pipe.
  ASSERT_EQ(::dup2(out_w.get(), 1), 1);
  absl::StatusOr<pid_t> pid =
      SpawnChild({"/bin/sh", "-c", "echo to-stderr >&2"}, ChildStdio{.out = -1, .err = 1});
  ::dup2(saved_stdout.get(), 1);
  ASSERT_TRUE(pid.ok()) << pid.status();
  out_w.Reset();
  EXPECT_EQ(ReadAll(out_r.get()), "to-stderr\n");
  int status = Wait(*pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The runtime runs from its sealed copy: even a path with no file behind it works, and
// /proc/self/exe is the memfd; other programs still run from their files.
TEST(SpawnChildTest, RunsTheRuntimeFromItsSealedCopy) {
  absl::StatusOr<UniqueFd> image = MakeSealedCopy("/bin/sh");
  ASSERT_TRUE(image.ok()) << image.status();
  UseRuntimeImage("/nonexistent/berth-runtime", image->get());
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_r(out[0]);
  UniqueFd out_w(out[1]);
  absl::StatusOr<pid_t> pid = SpawnChild(
      {"/nonexistent/berth-runtime", "-c",
       "readlink /proc/$$/exe; echo fds:; readlink /proc/$$/fd/*; true"},
      ChildStdio{.out = out_w.get()});
  absl::StatusOr<pid_t> other =
      SpawnChild({"/bin/sh", "-c", "readlink /proc/$$/exe"}, ChildStdio{.out = out_w.get()});
  UseRuntimeImage("", -1);
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(other.ok()) << other.status();
  out_w.Reset();
  EXPECT_EQ(Wait(*pid), 0);
  EXPECT_EQ(Wait(*other), 0);
  std::string output = ReadAll(out_r.get());
  EXPECT_NE(output.find("/memfd:sealed:sh"), std::string::npos) << output;
  // The image did not stay open in the child.
  EXPECT_EQ(output.find("memfd", output.find("fds:")), std::string::npos) << output;
  EXPECT_NE(output.find("/usr/bin/dash"), std::string::npos) << output;
}

}  // namespace
}  // namespace berth::mon
