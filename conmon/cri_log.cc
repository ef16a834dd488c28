#include "conmon/cri_log.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::mon {

absl::string_view LogStreamName(LogStream stream) {
  return stream == LogStream::kStdout ? "stdout" : "stderr";
}

std::string FormatCriTimestamp(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", time, absl::UTCTimeZone());
}

void AppendCriLine(absl::Time time, LogStream stream, bool partial, absl::string_view content,
                   std::string* out) {
  absl::StrAppend(out, FormatCriTimestamp(time), " ", LogStreamName(stream),
                  partial ? " P " : " F ", content, "\n");
}

absl::Status CriLogWriter::Open(const std::string& path) {
  path_ = path;
  fd_.Reset();
  if (path.empty()) return absl::OkStatus();
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening log file ", path));
  fd_.Reset(fd);
  return absl::OkStatus();
}

absl::Status CriLogWriter::Reopen() { return Open(path_); }

absl::Status CriLogWriter::WriteOut(const std::string& lines) {
  if (lines.empty() || !fd_.valid()) return absl::OkStatus();
  return WriteAll(fd_.get(), lines, path_);
}

absl::Status CriLogWriter::Append(LogStream stream, absl::string_view data, absl::Time now) {
  std::string& pending = pending_[static_cast<int>(stream)];
  std::string out;
  while (!data.empty()) {
    size_t newline = data.find('\n');
    size_t room = kMaxCriLineBytes - pending.size();
    if (newline != absl::string_view::npos && newline <= room) {
      pending.append(data.data(), newline);
      AppendCriLine(now, stream, /*partial=*/false, pending, &out);
      pending.clear();
      data.remove_prefix(newline + 1);
      continue;
    }
    size_t take = std::min(room, data.size());
    pending.append(data.data(), take);
    data.remove_prefix(take);
    if (pending.size() >= kMaxCriLineBytes) {
      AppendCriLine(now, stream, /*partial=*/true, pending, &out);
      pending.clear();
    }
  }
  return WriteOut(out);
}

absl::Status CriLogWriter::Flush(LogStream stream, absl::Time now) {
  std::string& pending = pending_[static_cast<int>(stream)];
  if (pending.empty()) return absl::OkStatus();
  std::string out;
  AppendCriLine(now, stream, /*partial=*/true, pending, &out);
  pending.clear();
  return WriteOut(out);
}

absl::StatusOr<CriLogEntry> ParseCriLogLine(absl::string_view line) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
  if (parts.size() < 3) {
    return absl::InvalidArgumentError(absl::StrCat("not a CRI log line: \"", line, "\""));
  }
  CriLogEntry entry;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, parts[0], &entry.time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad timestamp \"", parts[0], "\" in CRI log line: ", error));
  }
  if (parts[1] == "stdout") {
    entry.stream = LogStream::kStdout;
  } else if (parts[1] == "stderr") {
    entry.stream = LogStream::kStderr;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("bad stream \"", parts[1], "\" in CRI log line"));
  }
  if (parts[2] == "P") {
    entry.partial = true;
  } else if (parts[2] != "F") {
    return absl::InvalidArgumentError(absl::StrCat("bad tag \"", parts[2], "\" in CRI log line"));
  }
  if (parts.size() == 4) entry.content = std::string(parts[3]);
  return entry;
}

absl::StatusOr<std::vector<CriLogEntry>> ParseCriLog(absl::string_view log) {
  std::vector<CriLogEntry> entries;
  std::array<std::optional<CriLogEntry>, 2> open;  // per stream: the line being joined
  int number = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    ++number;
    if (line.empty()) continue;  // the split after the last '\n'
    absl::StatusOr<CriLogEntry> entry = ParseCriLogLine(line);
    if (!entry.ok()) return Annotate(entry.status(), absl::StrCat("line ", number));
    std::optional<CriLogEntry>& joined = open[static_cast<int>(entry->stream)];
    if (!joined) {
      joined = std::move(*entry);
    } else {
      joined->content += entry->content;
      joined->partial = entry->partial;
    }
    if (!joined->partial) {
      entries.push_back(std::move(*joined));
      joined.reset();
    }
  }
  for (std::optional<CriLogEntry>& joined : open) {
    if (joined) entries.push_back(std::move(*joined));
  }
  return entries;
}

}  // namespace berth::mon
