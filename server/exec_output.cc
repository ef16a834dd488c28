#include "server/exec_output.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include "absl/time/clock.h"

namespace berth {
namespace {

// After the deadline, at most this many more reads (64 KiB each: 32 MiB, twice what both
// streams keep), so that a child writing without end cannot hold the call.
constexpr int kReadsAfterDeadline = 512;

}  // namespace

void ReadExecOutputs(int out_fd, int err_fd, std::string* out, std::string* err,
                     const std::atomic<int64_t>* deadline_ns, size_t max_bytes) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {out, err};
  char buffer[65536];
  int open = 2;
  int reads_left = kReadsAfterDeadline;
  while (open > 0) {
    int64_t deadline = deadline_ns->load();
    // Past the deadline only what is there already is read (poll without waiting): a reader
    // that was not scheduled for a while still gets what the process wrote before it ended.
    bool past = deadline != 0 && absl::ToUnixNanos(absl::Now()) > deadline;
    int n = ::poll(fds, 2, past ? 0 : 50);
    if (n < 0 && errno != EINTR) break;
    if (past && (n <= 0 || reads_left <= 0)) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (past) --reads_left;
      if (got <= 0) {
        if (got < 0 && errno == EINTR) continue;
        fds[i].fd = -1;
        --open;
        continue;
      }
      size_t room = max_bytes - std::min(max_bytes, sinks[i]->size());
      sinks[i]->append(buffer, std::min(room, static_cast<size_t>(got)));
    }
  }
}

}  // namespace berth
