#include "conmon/mon_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace berth::mon {
namespace {

int log_fd = STDERR_FILENO;
bool debug_enabled = false;

}  // namespace

void OpenMonLog(const char* path, bool debug) {
  debug_enabled = debug;
  int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd >= 0) log_fd = fd;
}

bool MonDebugEnabled() { return debug_enabled; }

void MonLog(const char* level, const char* format, ...) {
  char line[1024];
  timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  ::gmtime_r(&now.tv_sec, &utc);
  int n = std::snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s [%d] ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, now.tv_nsec / 1000, level, static_cast<int>(::getpid()));
  va_list args;
  va_start(args, format);
  int m = std::vsnprintf(line + n, sizeof(line) - n - 1, format, args);
  va_end(args);
  size_t length = static_cast<size_t>(n) + (m < 0 ? 0 : static_cast<size_t>(m));
  if (length > sizeof(line) - 2) length = sizeof(line) - 2;
  line[length++] = '\n';
  ssize_t ignored = ::write(log_fd, line, length);
  (void)ignored;
}

}  // namespace berth::mon
