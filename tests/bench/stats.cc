#include "tests/bench/stats.h"

#include <algorithm>
#include <cmath>

namespace berth::bench {

double Percentile(const std::vector<double>& sorted, double percent) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(percent / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Summary OpSamples::Summarize() const {
  std::vector<double> sorted = ms_;
  std::sort(sorted.begin(), sorted.end());
  Summary summary;
  summary.count = static_cast<int>(sorted.size());
  if (sorted.empty()) return summary;
  summary.min = sorted.front();
  summary.p50 = Percentile(sorted, 50);
  summary.p90 = Percentile(sorted, 90);
  summary.p99 = Percentile(sorted, 99);
  summary.max = sorted.back();
  return summary;
}

nlohmann::json Summary::ToJson() const {
  return {{"count", count}, {"min_ms", min}, {"p50_ms", p50},
          {"p90_ms", p90},  {"p99_ms", p99}, {"max_ms", max}};
}

}  // namespace berth::bench
