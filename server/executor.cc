#include "server/executor.h"

#include <pthread.h>

#include <system_error>
#include <utility>

#include "common/log.h"

namespace berth {

Executor::Executor(int max_threads, absl::Duration idle_timeout, std::string name)
    : max_threads_(max_threads > 0 ? max_threads : 1),
      idle_timeout_(idle_timeout),
      name_(name.substr(0, 15)) {}

Executor::~Executor() {
  ThreadList threads;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    mu_.Await(absl::Condition(
        +[](Executor* self) ABSL_NO_THREAD_SAFETY_ANALYSIS { return self->threads_.empty(); },
        this));
    threads.swap(ended_);
  }
  for (std::thread& thread : threads) thread.join();
}

void Executor::Run(std::function<void()> task) {
  ThreadList ended;  // threads that ended idle, joined outside the lock
  {
    absl::MutexLock lock(&mu_);
    ended.swap(ended_);
    tasks_.push_back(std::move(task));
    // An idle thread takes it (Loop's Await sees the task); else one more thread, if allowed.
    if (idle_ < static_cast<int>(tasks_.size()) &&
        static_cast<int>(threads_.size()) < max_threads_) {
      StartThread();
    }
  }
  for (std::thread& thread : ended) thread.join();
}

void Executor::StartThread() {
  auto self = threads_.emplace(threads_.end());
  try {
    *self = std::thread([this, self] { Loop(self); });
  } catch (const std::system_error& error) {
    // No thread now (a pid or memory limit): the task waits for a running thread, or for the
    // next Run to try again.
    threads_.erase(self);
    LOG_WARN("executor: cannot start a thread ({}); {} task(s) waiting, {} thread(s) running",
             error.what(), tasks_.size(), threads_.size());
  }
}

int Executor::threads() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(threads_.size());
}

int Executor::idle_threads() const {
  absl::MutexLock lock(&mu_);
  return idle_;
}

void Executor::Loop(ThreadList::iterator self) {
  ::pthread_setname_np(::pthread_self(), name_.c_str());
  mu_.Lock();
  for (;;) {
    ++idle_;
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Executor* e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                               return e->stopping_ || !e->tasks_.empty();
                             },
                             this),
                         idle_timeout_);
    --idle_;
    if (tasks_.empty()) break;  // idle for idle_timeout_, or stopping with nothing left
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    mu_.Unlock();
    task();
    task = nullptr;  // what the task held goes before the lock is taken again
    mu_.Lock();
  }
  // The std::thread object moves to ended_ (a running thread's handle may move); whoever joins
  // it waits only for this function to return.
  ended_.splice(ended_.end(), threads_, self);
  mu_.Unlock();
}

}  // namespace berth
