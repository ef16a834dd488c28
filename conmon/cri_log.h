#ifndef BERTH_CONMON_CRI_LOG_H_
#define BERTH_CONMON_CRI_LOG_H_

// The CRI container log format, as the kubelet reads it:
//   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <bytes>\n
// F ends a line (its newline is not repeated in <bytes>); P is a chunk of a line that goes on in
// the next chunk of the same stream. berth-mon writes it; berthctl and tests read it.

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace berth::mon {

enum class LogStream { kStdout = 0, kStderr = 1 };

// "stdout" / "stderr".
absl::string_view LogStreamName(LogStream stream);

// UTC, nanoseconds, always nine digits: 2016-10-06T00:17:09.669794202Z. (Go's RFC3339Nano
// trims trailing zeros; the kubelet's parser accepts both forms.)
std::string FormatCriTimestamp(absl::Time time);

// A chunk longer than this without a newline is written as a P line.
inline constexpr size_t kMaxCriLineBytes = 16 << 10;

// Turns a container's output streams into CRI log lines. Each stream keeps the unfinished tail
// of its output until a newline, the size limit or Flush. Without a file (empty path) output
// is dropped. Not thread-safe (lives on berth-mon's loop).
class CriLogWriter {
 public:
  CriLogWriter() = default;
  CriLogWriter(const CriLogWriter&) = delete;
  CriLogWriter& operator=(const CriLogWriter&) = delete;

  // Opens `path` for appending (O_NOFOLLOW, 0640; its directory must exist). Empty: no log.
  absl::Status Open(const std::string& path);
  // Closes the file and opens the same path anew (after the kubelet renamed it).
  absl::Status Reopen();
  void Close() { fd_.Reset(); }
  bool is_open() const { return fd_.valid(); }

  // Adds output of `stream` read at `now`; writes every finished line (and 16 KiB chunks).
  absl::Status Append(LogStream stream, absl::string_view data, absl::Time now);
  // Writes the unfinished tail of `stream` as a P line (the stream ended).
  absl::Status Flush(LogStream stream, absl::Time now);

 private:
  absl::Status WriteOut(const std::string& lines);

  std::string path_;
  UniqueFd fd_;
  std::array<std::string, 2> pending_;
};

// Appends one CRI log line for `content` (which holds no newline) to `out`.
void AppendCriLine(absl::Time time, LogStream stream, bool partial, absl::string_view content,
                   std::string* out);

struct CriLogEntry {
  absl::Time time;
  LogStream stream = LogStream::kStdout;
  bool partial = false;  // a P chunk (or, after joining, a line whose end never came)
  std::string content;   // without the newline
};

// Parses one line (without its '\n'). Accepts any number of fractional digits and a Z or
// +hh:mm offset, as the kubelet does.
absl::StatusOr<CriLogEntry> ParseCriLogLine(absl::string_view line);

// Parses a whole log and joins each stream's P chunks with the F line that ends them; the
// joined entry carries the first chunk's time. Chunks whose end is missing come out last per
// stream with partial set. Fails on the first malformed line, naming its number.
absl::StatusOr<std::vector<CriLogEntry>> ParseCriLog(absl::string_view log);

}  // namespace berth::mon

#endif  // BERTH_CONMON_CRI_LOG_H_
