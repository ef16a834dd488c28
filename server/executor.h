#ifndef BERTH_SERVER_EXECUTOR_H_
#define BERTH_SERVER_EXECUTOR_H_

#include <deque>
#include <functional>
#include <list>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth {

// A pool of threads for long RPC work (pulls, removals, ExecSync), so that gRPC's callback
// threads never block. Threads are started when a task finds none idle, up to `max_threads`
// (more tasks wait in line), and end after `idle_timeout` without work: an idle berthd keeps
// no worker threads (each costs its touched stack and kernel memory). The destructor runs
// what is queued and joins the threads. Threads carry `name` (at most 15 bytes are kept), so
// that ps, a debugger and tests can tell the pool's threads from others.
class Executor {
 public:
  explicit Executor(int max_threads, absl::Duration idle_timeout = absl::Seconds(10),
                    std::string name = "pool");
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

  void Run(std::function<void()> task);

  // Threads alive now (running a task or idle), and those idle, for tests.
  int threads() const;
  int idle_threads() const;

 private:
  using ThreadList = std::list<std::thread>;

  void Loop(ThreadList::iterator self);
  // One more thread running Loop (none when the kernel refuses it).
  void StartThread() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int max_threads_;
  const absl::Duration idle_timeout_;
  const std::string name_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int idle_ ABSL_GUARDED_BY(mu_) = 0;  // threads waiting for a task
  ThreadList threads_ ABSL_GUARDED_BY(mu_);
  ThreadList ended_ ABSL_GUARDED_BY(mu_);  // left Loop; joined by the next Run or the destructor
};

}  // namespace berth

#endif  // BERTH_SERVER_EXECUTOR_H_
