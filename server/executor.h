#ifndef BERTH_SERVER_EXECUTOR_H_
#define BERTH_SERVER_EXECUTOR_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace berth {

// A fixed pool of threads for long RPC work (pulls, removals), so that gRPC's callback threads
// never block. The destructor runs what is queued and joins the threads.
class Executor {
 public:
  explicit Executor(int threads);
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  ~Executor();

  void Run(std::function<void()> task);

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace berth

#endif  // BERTH_SERVER_EXECUTOR_H_
