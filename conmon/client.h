#ifndef BERTH_CONMON_CLIENT_H_
#define BERTH_CONMON_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "proto/monitor.pb.h"

namespace berth::mon {

// 2: streaming exec, attach and terminal resize.
inline constexpr uint32_t kProtocolVersion = 2;

struct LaunchOptions {
  std::string berth_mon_path;  // the berth-mon binary
  monitor::v1::LaunchConfig config;
  // A sealed copy of config.runtime_path (common/sealed_copy.h) that the monitor runs the
  // runtime from; -1: none. Not owned.
  int runtime_image_fd = -1;
  // How long to wait for the LaunchResult (namespaces pinned, socket listening).
  absl::Duration timeout = absl::Seconds(30);
};

// Starts a detached berth-mon (it double-forks: the returned pid is not our child) and waits
// for its LaunchResult. A failure result is returned as an error status carrying the
// monitor's code and message; by then the monitor has undone what it did and exited.
absl::StatusOr<monitor::v1::LaunchResult> LaunchMonitor(const LaunchOptions& options);

// A connection from berthd to one pod's monitor. Thread-safe: calls may be concurrent (each
// waits for its own response); a reader thread dispatches responses and events.
class MonitorClient {
 public:
  using EventCallback = std::function<void(const monitor::v1::Event&)>;
  // Called once (from the reader thread) when the monitor hangs up or dies.
  using DisconnectCallback = std::function<void()>;

  // Connects to `socket_path` and says Hello. Unavailable when nothing listens there (the
  // monitor is gone).
  static absl::StatusOr<std::unique_ptr<MonitorClient>> Connect(const std::string& socket_path,
                                                                EventCallback on_event,
                                                                DisconnectCallback on_disconnect,
                                                                absl::Duration timeout =
                                                                    absl::Seconds(10));
  ~MonitorClient();  // closes the connection and joins the reader

  const monitor::v1::HelloReply& hello() const { return hello_; }

  // Sends `request` (its id is assigned here) with `fds` as SCM_RIGHTS, and waits for the
  // response. A non-OK code in the response becomes the returned status (code and message
  // kept). Unavailable when the monitor is gone; DeadlineExceeded after `timeout`.
  absl::StatusOr<monitor::v1::Response> Call(monitor::v1::Request request,
                                             absl::Duration timeout,
                                             const std::vector<int>& fds = {});

  // A response and the fds that came with it (SCM_RIGHTS, close-on-exec, now the caller's).
  struct Reply {
    monitor::v1::Response response;
    std::vector<UniqueFd> fds;
  };
  // Call for requests whose response carries fds (ExecStream with tty: the pty master). The
  // fds of a response that comes after the timeout are closed.
  absl::StatusOr<Reply> CallWithFds(monitor::v1::Request request, absl::Duration timeout,
                                    const std::vector<int>& fds = {});

  bool connected() const;

 private:
  MonitorClient() = default;
  void ReadLoop();

  UniqueFd socket_;
  UniqueFd stop_event_;  // eventfd that wakes the reader for shutdown
  EventCallback on_event_;
  DisconnectCallback on_disconnect_;
  monitor::v1::HelloReply hello_;
  std::thread reader_;

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool disconnected_ ABSL_GUARDED_BY(mu_) = false;
  // id -> reply, filled by the reader.
  std::map<uint64_t, std::optional<Reply>> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::mon

#endif  // BERTH_CONMON_CLIENT_H_
