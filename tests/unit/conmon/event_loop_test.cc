#include "conmon/event_loop.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace berth::mon {
namespace {

std::unique_ptr<EventLoop> MakeLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return loop.ok() ? std::move(*loop) : nullptr;
}

TEST(EventLoopTest, TimersRunInDeadlineOrderAndCancel) {
  std::unique_ptr<EventLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  std::vector<std::string> order;
  loop->AddTimer(absl::Milliseconds(200), [&] { order.push_back("200"); });
  uint64_t cancelled = loop->AddTimer(absl::Milliseconds(20), [&] { order.push_back("20"); });
  loop->AddTimer(absl::Milliseconds(10), [&] {
    order.push_back("10");
    loop->AddTimer(absl::Milliseconds(5), [&] { order.push_back("15"); });
  });
  loop->AddTimer(absl::Milliseconds(300), [&] {
    order.push_back("300");
    loop->Stop();
  });
  loop->CancelTimer(cancelled);
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(order, (std::vector<std::string>{"10", "15", "200", "300"}));
}

TEST(EventLoopTest, WatchesFds) {
  std::unique_ptr<EventLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::string got;
  ASSERT_TRUE(loop->Watch(read_end.get(), EPOLLIN, [&](uint32_t) {
                    char buffer[16];
                    ssize_t n = ::read(read_end.get(), buffer, sizeof(buffer));
                    if (n > 0) got.append(buffer, n);
                    loop->Unwatch(read_end.get());
                    loop->Stop();
                  }).ok());
  ASSERT_EQ(::write(write_end.get(), "ping", 4), 4);
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(got, "ping");
}

pid_t ForkExiting(int code) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(code);
  return pid;
}

TEST(EventLoopTest, ChildExitCallbacks) {
  std::unique_ptr<EventLoop> loop = MakeLoop();
  ASSERT_NE(loop, nullptr);
  pid_t early = ForkExiting(7);
  ASSERT_GT(early, 0);
  // Let it exit and be reaped (unclaimed) before anyone asks.
  bool reaped_silently = false;
  loop->AddTimer(absl::Milliseconds(100), [&] {
    reaped_silently = true;
    loop->OnExit(early, [&](int status) {
      EXPECT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 7);
      pid_t late = ForkExiting(3);
      loop->OnExit(late, [&](int late_status) {
        EXPECT_EQ(WEXITSTATUS(late_status), 3);
        loop->Stop();
      });
    });
  });
  loop->AddTimer(absl::Seconds(10), [&] {
    ADD_FAILURE() << "child exits never reported";
    loop->Stop();
  });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_TRUE(reaped_silently);
  EXPECT_EQ(::waitpid(early, nullptr, WNOHANG), -1);  // already reaped by the loop
}

}  // namespace
}  // namespace berth::mon
