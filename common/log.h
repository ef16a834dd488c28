#ifndef BERTH_COMMON_LOG_H_
#define BERTH_COMMON_LOG_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

// Berth's one logging facade. Messages use fmt syntax: LOG_INFO("pulled {} in {} ms", ref, ms).
// Never pass credentials, tokens or request bodies that may hold them.
#define LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)

// absl::string_view and absl::Status print as text in log messages.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view value, Context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(value.data(), value.size()),
                                                    ctx);
  }
};

template <>
struct fmt::formatter<absl::Status> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(const absl::Status& status, Context& ctx) const {
    std::string text = status.ToString();
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(text), ctx);
  }
};

namespace berth {

// The levels a configuration may name: trace, debug, info, warn (warning), error, fatal, panic,
// off. Case-insensitive.
bool IsValidLogLevel(absl::string_view level);

// Sets up the process-wide logger to write to stderr at `level`.
absl::Status InitLogging(absl::string_view level);

bool DebugLoggingEnabled();

}  // namespace berth

#endif  // BERTH_COMMON_LOG_H_
