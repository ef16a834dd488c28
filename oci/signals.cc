// Signal names and the container's stop signal.

#include <csignal>
#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

// Linux (x86-64/arm64) numbers. The real-time range is glibc's: SIGRTMIN is 34.
constexpr int kRtMin = 34;
constexpr int kRtMax = 64;

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},     {"TRAP", 5},    {"ABRT", 6},
    {"IOT", 6},   {"BUS", 7},   {"FPE", 8},   {"KILL", 9},    {"USR1", 10},   {"SEGV", 11},
    {"USR2", 12}, {"PIPE", 13}, {"ALRM", 14}, {"TERM", 15},   {"STKFLT", 16}, {"CHLD", 17},
    {"CLD", 17},  {"CONT", 18}, {"STOP", 19}, {"TSTP", 20},   {"TTIN", 21},   {"TTOU", 22},
    {"URG", 23},  {"XCPU", 24}, {"XFSZ", 25}, {"VTALRM", 26}, {"PROF", 27},   {"WINCH", 28},
    {"IO", 29},   {"POLL", 29}, {"PWR", 30},  {"SYS", 31},
};

std::optional<int> ParseRealtime(absl::string_view name) {
  int base;
  if (absl::ConsumePrefix(&name, "RTMIN")) {
    base = kRtMin;
  } else if (absl::ConsumePrefix(&name, "RTMAX")) {
    base = kRtMax;
  } else {
    return std::nullopt;
  }
  if (name.empty()) return base;
  int offset;
  bool plus = name[0] == '+';
  if ((!plus && name[0] != '-') || !absl::SimpleAtoi(name.substr(1), &offset) || offset < 0) {
    return std::nullopt;
  }
  int signal = plus ? base + offset : base - offset;
  if (signal < kRtMin || signal > kRtMax) return std::nullopt;
  return signal;
}

}  // namespace

std::optional<int> ParseSignal(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(name));
  absl::string_view rest = upper;
  int number;
  if (absl::SimpleAtoi(rest, &number)) {
    if (number >= 1 && number <= kRtMax) return number;
    return std::nullopt;
  }
  absl::ConsumePrefix(&rest, "SIG");
  for (const auto& [signal_name, signal_number] : kSignals) {
    if (rest == signal_name) return signal_number;
  }
  return ParseRealtime(rest);
}

std::string StopSignal(const runtime::v1::ContainerConfig& config, const ImageConfig& image) {
  if (config.stop_signal() != runtime::v1::SIGNAL_RUNTIME_DEFAULT) {
    // SIGNAL_SIGRTMINPLUS3 -> "SIGRTMIN+3", SIGNAL_SIGRTMAXMINUS1 -> "SIGRTMAX-1".
    std::string name = absl::StrReplaceAll(
        absl::StripPrefix(runtime::v1::Signal_Name(config.stop_signal()), "SIGNAL_"),
        {{"PLUS", "+"}, {"MINUS", "-"}});
    if (std::optional<int> signal = ParseSignal(name)) return absl::StrCat(*signal);
  }
  if (!image.stop_signal.empty()) {
    if (std::optional<int> signal = ParseSignal(image.stop_signal)) return absl::StrCat(*signal);
  }
  return absl::StrCat(SIGTERM);
}

}  // namespace berth::oci
