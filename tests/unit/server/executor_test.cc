#include "server/executor.h"

#include <pthread.h>

#include <atomic>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

// Polls `done` for up to 10 s.
template <typename F>
bool Eventually(F done) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST(ExecutorTest, NoThreadsUntilWorkAndNoneAfterIdle) {
  Executor executor(4, absl::Milliseconds(50));
  EXPECT_EQ(executor.threads(), 0);
  std::atomic<int> ran{0};
  for (int i = 0; i < 10; ++i) executor.Run([&] { ran++; });
  ASSERT_TRUE(Eventually([&] { return ran == 10; }));
  EXPECT_GE(executor.threads(), 1);
  EXPECT_LE(executor.threads(), 4);
  EXPECT_TRUE(Eventually([&] { return executor.threads() == 0; }));
  // And it starts again.
  absl::Notification again;
  executor.Run([&] { again.Notify(); });
  EXPECT_TRUE(again.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ExecutorTest, RunsUpToMaxTasksAtOnceAndQueuesTheRest) {
  constexpr int kMax = 3;
  Executor executor(kMax, absl::Seconds(30));
  absl::Notification release;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::atomic<int> finished{0};
  for (int i = 0; i < 8; ++i) {
    executor.Run([&] {
      int now = ++running;
      int seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
      release.WaitForNotification();
      --running;
      ++finished;
    });
  }
  ASSERT_TRUE(Eventually([&] { return running == kMax; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(running, kMax);
  EXPECT_EQ(executor.threads(), kMax);
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return finished == 8; }));
  EXPECT_EQ(peak, kMax);
}

TEST(ExecutorTest, AnIdleThreadTakesTheNextTask) {
  Executor executor(8, absl::Seconds(30));
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    executor.Run([&] { done.Notify(); });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    ASSERT_TRUE(Eventually([&] { return executor.idle_threads() == 1; }));
  }
  EXPECT_EQ(executor.threads(), 1);
}

TEST(ExecutorTest, DestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    Executor executor(2, absl::Seconds(30));
    for (int i = 0; i < 50; ++i) {
      executor.Run([&] {
        absl::SleepFor(absl::Microseconds(200));
        ran++;
      });
    }
  }
  EXPECT_EQ(ran, 50);
}

TEST(ExecutorTest, ATaskMayQueueAnother) {
  Executor executor(1, absl::Milliseconds(20));
  absl::Notification second;
  executor.Run([&] { executor.Run([&] { second.Notify(); }); });
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ExecutorTest, ThreadsCarryTheNameCutTo15Bytes) {
  Executor executor(1, absl::Seconds(30), "pool-with-a-long-name");
  std::string name = "?";
  absl::Notification done;
  executor.Run([&] {
    char buffer[16] = {};
    ::pthread_getname_np(::pthread_self(), buffer, sizeof(buffer));
    name = buffer;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(name, "pool-with-a-lon");
}

}  // namespace
}  // namespace berth
