#include "ctl/container_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/unique_fd.h"

namespace berth::ctl {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(100);
constexpr absl::Duration kStateInterval = absl::Milliseconds(500);

absl::Status OpenLog(const std::string& path, UniqueFd& fd) {
  fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return absl::NotFoundError(absl::StrCat("opening log ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Appends everything readable now from `fd` to `buffer`.
absl::Status ReadAvailable(int fd, const std::string& path, std::string& buffer) {
  char chunk[64 << 10];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return absl::InternalError(absl::StrCat("reading ", path, ": ", std::strerror(errno)));
    if (n == 0) return absl::OkStatus();
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

// Prints the whole lines of `buffer` (one entry per CRI line; P chunks print without a newline)
// and keeps the unfinished tail.
absl::Status PrintLines(std::string& buffer, bool timestamps, const LogSink& sink) {
  size_t start = 0;
  for (size_t end; (end = buffer.find('\n', start)) != std::string::npos; start = end + 1) {
    absl::StatusOr<mon::CriLogEntry> entry =
        mon::ParseCriLogLine(absl::string_view(buffer).substr(start, end - start));
    if (!entry.ok()) return entry.status();
    PrintLogEntry(*entry, timestamps, sink);
  }
  buffer.erase(0, start);
  std::fflush(sink.out);
  std::fflush(sink.err);
  return absl::OkStatus();
}

// The first print: whole lines joined, the last `tail` of them.
absl::Status PrintInitial(std::string& buffer, const LogsOptions& options, const LogSink& sink) {
  size_t last = buffer.rfind('\n');
  size_t whole = last == std::string::npos ? 0 : last + 1;
  absl::StatusOr<std::vector<mon::CriLogEntry>> entries =
      mon::ParseCriLog(absl::string_view(buffer).substr(0, whole));
  if (!entries.ok()) return entries.status();
  size_t first = 0;
  if (options.tail >= 0 && entries->size() > static_cast<size_t>(options.tail)) {
    first = entries->size() - static_cast<size_t>(options.tail);
  }
  for (size_t i = first; i < entries->size(); ++i) {
    PrintLogEntry((*entries)[i], options.timestamps, sink);
  }
  buffer.erase(0, whole);
  std::fflush(sink.out);
  std::fflush(sink.err);
  return absl::OkStatus();
}

// True when `path` now names a file other than `fd`'s (renamed away and reopened).
bool Replaced(const std::string& path, int fd) {
  struct stat open_file, named;
  if (::fstat(fd, &open_file) != 0 || ::stat(path.c_str(), &named) != 0) return false;
  return open_file.st_ino != named.st_ino || open_file.st_dev != named.st_dev;
}

}  // namespace

void PrintLogEntry(const mon::CriLogEntry& entry, bool timestamps, const LogSink& sink) {
  std::FILE* file = entry.stream == mon::LogStream::kStderr ? sink.err : sink.out;
  if (timestamps) {
    std::string stamp = mon::FormatCriTimestamp(entry.time);
    std::fprintf(file, "%s ", stamp.c_str());
  }
  std::fwrite(entry.content.data(), 1, entry.content.size(), file);
  if (!entry.partial) std::fputc('\n', file);
}

absl::Status PrintLogs(const std::string& path, const LogsOptions& options,
                       const std::function<bool()>& still_running, const LogSink& sink) {
  UniqueFd fd;
  if (absl::Status opened = OpenLog(path, fd); !opened.ok()) return opened;
  std::string buffer;
  if (absl::Status read = ReadAvailable(fd.get(), path, buffer); !read.ok()) return read;
  if (absl::Status printed = PrintInitial(buffer, options, sink); !printed.ok()) return printed;
  if (!options.follow) return absl::OkStatus();
  absl::Time next_state_check = absl::Now();
  bool running = true;
  while (true) {
    if (absl::Status read = ReadAvailable(fd.get(), path, buffer); !read.ok()) return read;
    if (absl::Status printed = PrintLines(buffer, options.timestamps, sink); !printed.ok()) {
      return printed;
    }
    if (Replaced(path, fd.get())) {
      // Nothing is written to the old file once the new one exists: drain it, then switch.
      if (absl::Status read = ReadAvailable(fd.get(), path, buffer); !read.ok()) return read;
      if (absl::Status printed = PrintLines(buffer, options.timestamps, sink); !printed.ok()) {
        return printed;
      }
      if (absl::Status opened = OpenLog(path, fd); !opened.ok()) return opened;
      buffer.clear();
      continue;
    }
    if (!running) return absl::OkStatus();  // read once more after the exit was seen
    if (absl::Now() >= next_state_check) {
      running = still_running();
      next_state_check = absl::Now() + kStateInterval;
      if (!running) continue;
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(kPollInterval));
  }
}

}  // namespace berth::ctl
