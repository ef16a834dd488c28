#include "common/log.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace berth {
namespace {

std::optional<spdlog::level::level_enum> ParseLevel(absl::string_view text) {
  std::string level = absl::AsciiStrToLower(text);
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "fatal" || level == "panic") return spdlog::level::critical;
  if (level == "off") return spdlog::level::off;
  return std::nullopt;
}

}  // namespace

bool IsValidLogLevel(absl::string_view level) { return ParseLevel(level).has_value(); }

absl::Status InitLogging(absl::string_view level) {
  std::optional<spdlog::level::level_enum> parsed = ParseLevel(level);
  if (!parsed) return absl::InvalidArgumentError(absl::StrCat("unknown log level \"", level, "\""));
  auto logger = spdlog::stderr_logger_mt("berth");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %^%l%$ %v");
  spdlog::set_level(*parsed);
  return absl::OkStatus();
}

bool DebugLoggingEnabled() { return spdlog::should_log(spdlog::level::debug); }

}  // namespace berth
