#include "tests/bench/report.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::bench {
namespace {

double Mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

// Scenario names in the order targets measured them (every target ran the same ones).
std::set<std::string> ScenarioNames(const std::vector<Target>& targets) {
  std::set<std::string> names;
  for (const Target& target : targets) {
    for (const auto& [name, unused] : target.ops) names.insert(name);
    for (const auto& [name, unused] : target.metrics) names.insert(name);
  }
  return names;
}

std::string Ratio(double a, double b) {
  if (b == 0) return "-";
  return absl::StrFormat("%.2f", a / b);
}

void AppendHeader(const std::vector<Target>& targets, const std::string& first, std::string& out) {
  absl::StrAppendFormat(&out, "  %-30s", first);
  for (const Target& target : targets) absl::StrAppendFormat(&out, " %22s", target.label);
  for (size_t i = 1; i < targets.size(); ++i) {
    absl::StrAppendFormat(&out, " %14s", absl::StrCat(targets[0].label, "/", targets[i].label));
  }
  out += "\n";
}

}  // namespace

nlohmann::json ReportJson(const BenchOptions& options, const std::vector<Target>& targets) {
  nlohmann::json json = {{"count", options.count}, {"image", options.image}};
  if (options.image_compressed_bytes > 0) {
    json["image_compressed_bytes"] = options.image_compressed_bytes;
  }
  json["time"] = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  json["targets"] = nlohmann::json::array();
  for (const Target& target : targets) {
    nlohmann::json scenarios = nlohmann::json::object();
    for (const auto& [name, ops] : target.ops) {
      for (const auto& [op, samples] : ops) {
        scenarios[name]["ops"][op] = samples.Summarize().ToJson();
      }
    }
    for (const auto& [name, metrics] : target.metrics) {
      for (const auto& [metric, values] : metrics) {
        scenarios[name]["metrics"][metric] = {
            {"mean", Mean(values)},
            {"min", values.empty() ? 0 : *std::min_element(values.begin(), values.end())},
            {"max", values.empty() ? 0 : *std::max_element(values.begin(), values.end())},
            {"values", values}};
      }
    }
    json["targets"].push_back({{"label", target.label},
                               {"endpoint", target.endpoint},
                               {"daemon_pid", target.daemon_pid},
                               {"scenarios", scenarios}});
  }
  return json;
}

std::string ReportTable(const std::vector<Target>& targets) {
  std::string out;
  for (const std::string& name : ScenarioNames(targets)) {
    absl::StrAppend(&out, "scenario ", name, "\n");
    std::set<std::string> ops;
    std::set<std::string> metrics;
    for (const Target& target : targets) {
      if (auto it = target.ops.find(name); it != target.ops.end()) {
        for (const auto& [op, unused] : it->second) ops.insert(op);
      }
      if (auto it = target.metrics.find(name); it != target.metrics.end()) {
        for (const auto& [metric, unused] : it->second) metrics.insert(metric);
      }
    }
    if (!ops.empty()) AppendHeader(targets, "op: n p50/p90 ms", out);
    for (const std::string& op : ops) {
      std::vector<Summary> summaries;
      for (const Target& target : targets) {
        auto scenario = target.ops.find(name);
        Summary summary;
        if (scenario != target.ops.end()) {
          if (auto it = scenario->second.find(op); it != scenario->second.end()) {
            summary = it->second.Summarize();
          }
        }
        summaries.push_back(summary);
      }
      absl::StrAppendFormat(&out, "  %-30s", absl::StrCat(op, ": ", summaries[0].count));
      for (const Summary& s : summaries) {
        absl::StrAppendFormat(&out, " %22s", absl::StrFormat("%.2f/%.2f", s.p50, s.p90));
      }
      for (size_t i = 1; i < summaries.size(); ++i) {
        absl::StrAppendFormat(&out, " %14s", Ratio(summaries[0].p50, summaries[i].p50));
      }
      out += "\n";
    }
    if (!metrics.empty()) AppendHeader(targets, "metric (mean)", out);
    for (const std::string& metric : metrics) {
      std::vector<double> means;
      for (const Target& target : targets) {
        double mean = 0;
        if (auto scenario = target.metrics.find(name); scenario != target.metrics.end()) {
          if (auto it = scenario->second.find(metric); it != scenario->second.end()) {
            mean = Mean(it->second);
          }
        }
        means.push_back(mean);
      }
      absl::StrAppendFormat(&out, "  %-30s", metric);
      for (double mean : means) absl::StrAppendFormat(&out, " %22.2f", mean);
      for (size_t i = 1; i < means.size(); ++i) {
        absl::StrAppendFormat(&out, " %14s", Ratio(means[0], means[i]));
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace berth::bench
