#ifndef BERTH_TESTS_BENCH_PROC_MEMORY_H_
#define BERTH_TESTS_BENCH_PROC_MEMORY_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::bench {

// Resident and proportional set sizes of one or more processes, in KiB.
struct Memory {
  int64_t rss_kib = 0;
  int64_t pss_kib = 0;
  // Private_Clean + Private_Dirty: what the process alone costs (its USS).
  int64_t private_kib = 0;
  int processes = 0;
};

// Rss and Pss from /proc/<pid>/smaps_rollup.
absl::StatusOr<Memory> ReadSmapsRollup(pid_t pid);

// VmRSS from /proc/<pid>/status (cheap enough to sample every few milliseconds).
absl::StatusOr<int64_t> ReadVmRssKib(pid_t pid);

// Pids whose program is `name`: the base name of argv[0] or of /proc/<pid>/exe, or the
// kernel's comm (which holds at most 15 characters, so a long name matches its prefix). A
// `name` with a slash matches /proc/<pid>/exe exactly, which tells one build's binary from
// another's.
std::vector<pid_t> FindProcesses(const std::string& name);

// Whether the process's working directory or one of its open files lies under `dir`: how a
// pod process (a monitor with its log open, a shim in its bundle) is told to belong to one
// daemon's state directory when other daemons run the same binary.
bool ProcessUsesDir(pid_t pid, const std::string& dir);

// smaps_rollup summed over every process named `name` (processes that vanish are skipped).
Memory SumByName(const std::string& name);

// smaps_rollup summed over `pids` (processes that vanish are skipped).
Memory SumOf(const std::vector<pid_t>& pids);

// Samples VmRSS of `pid` every `interval_ms` on a thread between Start and Stop, keeping the
// peak. Not restartable while running.
class PeakRssSampler {
 public:
  explicit PeakRssSampler(pid_t pid, int interval_ms = 10) : pid_(pid), interval_ms_(interval_ms) {}
  PeakRssSampler(const PeakRssSampler&) = delete;
  PeakRssSampler& operator=(const PeakRssSampler&) = delete;
  ~PeakRssSampler() { Stop(); }

  void Start();
  // Joins the thread; returns the peak in KiB (0 when nothing could be read).
  int64_t Stop();
  int64_t baseline_kib() const { return baseline_kib_; }

 private:
  pid_t pid_;
  int interval_ms_;
  int64_t baseline_kib_ = 0;
  std::atomic<bool> running_{false};
  std::atomic<int64_t> peak_kib_{0};
  std::thread thread_;
};

}  // namespace berth::bench

#endif  // BERTH_TESTS_BENCH_PROC_MEMORY_H_
