#ifndef BERTH_TESTS_BENCH_STATS_H_
#define BERTH_TESTS_BENCH_STATS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace berth::bench {

// Latency percentiles of one operation, in milliseconds.
struct Summary {
  int count = 0;
  double min = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;

  nlohmann::json ToJson() const;
};

// The samples of one operation on one endpoint.
class OpSamples {
 public:
  void Add(absl::Duration duration) { ms_.push_back(absl::ToDoubleMilliseconds(duration)); }
  // Adds every sample of `other` (a worker thread's samples, merged after it finished).
  void Merge(const OpSamples& other) { ms_.insert(ms_.end(), other.ms_.begin(), other.ms_.end()); }
  bool empty() const { return ms_.empty(); }
  // Nearest-rank percentiles over the samples so far.
  Summary Summarize() const;

 private:
  std::vector<double> ms_;
};

// The value at nearest rank `percent` (0..100] of sorted `values`; 0 when there are none.
double Percentile(const std::vector<double>& sorted, double percent);

}  // namespace berth::bench

#endif  // BERTH_TESTS_BENCH_STATS_H_
