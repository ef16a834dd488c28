#ifndef BERTH_TESTS_BENCH_REPORT_H_
#define BERTH_TESTS_BENCH_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/bench/scenario.h"

namespace berth::bench {

// Everything measured, as JSON:
// {"count": N, "image": ..., "targets": [{"label", "endpoint", "daemon_pid",
//   "scenarios": {NAME: {"ops": {OP: Summary}, "metrics": {METRIC: {"mean", "min", "max",
//   "values"}}}}}]}
nlohmann::json ReportJson(const BenchOptions& options, const std::vector<Target>& targets);

// A table per scenario: one row per operation (p50 and p90 per target) and per metric (mean
// per target); with two or more targets, the ratio of the first to each other one.
std::string ReportTable(const std::vector<Target>& targets);

}  // namespace berth::bench

#endif  // BERTH_TESTS_BENCH_REPORT_H_
