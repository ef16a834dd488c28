#ifndef BERTH_CTL_CONTAINER_LOGS_H_
#define BERTH_CTL_CONTAINER_LOGS_H_

// `berthctl logs`: reads a container's CRI log file (conmon/cri_log.h) and prints it, stdout
// lines to stdout and stderr lines to stderr, optionally following it.

#include <cstdio>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "conmon/cri_log.h"

namespace berth::ctl {

struct LogsOptions {
  bool follow = false;
  int tail = -1;  // the last N lines only; negative: all
  bool timestamps = false;
};

// Where log entries go; the defaults are the process's stdout and stderr.
struct LogSink {
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

// Prints one entry (a partial one without its newline).
void PrintLogEntry(const mon::CriLogEntry& entry, bool timestamps, const LogSink& sink);

// Prints the log at `path`. With options.follow, keeps printing what is appended until
// `still_running` says false (asked about twice a second), switching to a new file when the
// path names another file than the open one (the kubelet's rename + ReopenContainerLog).
absl::Status PrintLogs(const std::string& path, const LogsOptions& options,
                       const std::function<bool()>& still_running, const LogSink& sink = {});

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_LOGS_H_
