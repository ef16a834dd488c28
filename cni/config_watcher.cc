#include "cni/config_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/memory/memory.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::cni {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM |
                                IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR | IN_EXCL_UNLINK;

// Events that mean the watch on the directory itself is gone.
constexpr uint32_t kWatchGoneMask = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT;

Clock::duration ToClock(absl::Duration d) {
  return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
}

// Milliseconds from now until `deadline`, rounded up, for poll(); -1 without a deadline.
int PollTimeout(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  auto left = *deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

// Warns about the files skipped in `next` for a reason they were not skipped for before.
void LogNewlySkipped(const NetworkSet& previous, const NetworkSet& next) {
  for (const SkippedFile& file : next.skipped) {
    if (std::find(previous.skipped.begin(), previous.skipped.end(), file) ==
        previous.skipped.end()) {
      LOG_WARN("skipping CNI network configuration {}: {}", file.file, file.reason);
    }
  }
}

void LogStatusChange(const NetworkSet& previous, const NetworkSet& next) {
  NetworkStatus before = previous.Status();
  NetworkStatus after = next.Status();
  if (after.ready) {
    if (!before.ready || before.default_network != after.default_network ||
        before.default_file != after.default_file) {
      LOG_INFO("CNI network ready: default network {} from {}", after.default_network,
               after.default_file);
    }
  } else if (before.ready || before.message != after.message) {
    LOG_WARN("CNI network not ready: {}", after.message);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConfigWatcher>> ConfigWatcher::Start(Options options) {
  UniqueFd inotify_fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_fd) return ErrnoStatus(errno, "creating an inotify instance for CNI configuration");
  UniqueFd wake_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd) return ErrnoStatus(errno, "creating an eventfd for the CNI configuration watcher");

  auto watcher = absl::WrapUnique(
      new ConfigWatcher(std::move(options), std::move(inotify_fd), std::move(wake_fd)));
  // Watch first, then load: a change made in between is then seen by the thread.
  watcher->AddWatch();
  auto initial = std::make_shared<const NetworkSet>(LoadNetworkDir(watcher->options_.load));
  NetworkStatus status = initial->Status();
  if (status.ready) {
    LOG_INFO("CNI network ready: default network {} from {}", status.default_network,
             status.default_file);
  } else {
    LOG_WARN("CNI network not ready: {}", status.message);
  }
  {
    absl::MutexLock lock(&watcher->mu_);
    watcher->current_ = std::move(initial);
  }
  watcher->thread_ = std::thread([w = watcher.get()] { w->Run(); });
  return watcher;
}

ConfigWatcher::ConfigWatcher(Options options, UniqueFd inotify_fd, UniqueFd wake_fd)
    : options_(std::move(options)),
      inotify_fd_(std::move(inotify_fd)),
      wake_fd_(std::move(wake_fd)) {}

ConfigWatcher::~ConfigWatcher() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  while (::write(wake_fd_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
  thread_.join();
}

std::shared_ptr<const NetworkSet> ConfigWatcher::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

int ConfigWatcher::AddWatch() {
  int wd = ::inotify_add_watch(inotify_fd_.get(), options_.load.network_dir.c_str(), kWatchMask);
  int err = wd < 0 ? errno : 0;
  if (wd >= 0) wd_ = wd;
  // Say once why the directory cannot be watched; a missing directory is normal.
  if (err != last_watch_error_ && err != 0 && err != ENOENT) {
    absl::Status status =
        ErrnoStatus(err, "watching CNI configuration directory " + options_.load.network_dir);
    LOG_WARN("{}; polling it every {}", std::string(status.message()),
             absl::FormatDuration(options_.retry_interval));
  }
  last_watch_error_ = err;
  return err;
}

bool ConfigWatcher::DrainEvents() {
  alignas(struct inotify_event) char buf[8192];
  bool relevant = false;
  for (;;) {
    ssize_t n = ::read(inotify_fd_.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        absl::Status status =
            ErrnoStatus(errno, "reading inotify events for " + options_.load.network_dir);
        LOG_WARN("{}", std::string(status.message()));
        relevant = true;
      }
      return relevant;
    }
    if (n == 0) return relevant;
    for (ssize_t off = 0; off < n;) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + event->len);
      if ((event->mask & IN_Q_OVERFLOW) != 0) {
        relevant = true;
        continue;
      }
      if (event->wd != wd_ || wd_ < 0) continue;  // a watch we already dropped
      // Any change counts: names without a configuration extension may still matter (a
      // "..data" symlink swap, a renamed directory), and an unchanged reload costs little.
      relevant = true;
      if ((event->mask & kWatchGoneMask) != 0) {
        if ((event->mask & IN_IGNORED) == 0) ::inotify_rm_watch(inotify_fd_.get(), wd_);
        wd_ = -1;
      }
    }
  }
}

void ConfigWatcher::Reload() {
  LoadOptions load = options_.load;
  load.log_skipped = false;  // logged below, only when something changed
  auto next = std::make_shared<const NetworkSet>(LoadNetworkDir(load));
  std::shared_ptr<const NetworkSet> previous = Current();
  if (previous->SameAs(*next)) return;
  LogNewlySkipped(*previous, *next);
  LogStatusChange(*previous, *next);
  Publish(std::move(next));
}

void ConfigWatcher::Publish(std::shared_ptr<const NetworkSet> next) {
  {
    absl::MutexLock lock(&mu_);
    current_ = next;
  }
  if (options_.on_change) options_.on_change(std::move(next));
}

void ConfigWatcher::Run() {
  const Clock::duration retry = std::max(ToClock(options_.retry_interval), Clock::duration(1));
  const Clock::duration settle = std::max(ToClock(options_.settle), Clock::duration::zero());
  std::optional<Clock::time_point> reload_at;  // a reload is pending
  Clock::time_point reload_limit;
  Clock::time_point next_tick = Clock::now() + retry;

  for (;;) {
    // Periodic work: retry a lost watch, re-check missing plugins.
    bool periodic = wd_ < 0 || Current()->HasMissingPlugins();
    std::optional<Clock::time_point> deadline = reload_at;
    if (periodic) deadline = deadline ? std::min(*deadline, next_tick) : next_tick;

    struct pollfd fds[2] = {{wake_fd_.get(), POLLIN, 0}, {inotify_fd_.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, PollTimeout(deadline));
    if (ready < 0 && errno != EINTR) {
      absl::Status status = ErrnoStatus(errno, "waiting for CNI configuration changes");
      LOG_ERROR("{}", std::string(status.message()));
      ::poll(fds, 1, static_cast<int>(absl::ToInt64Milliseconds(options_.retry_interval)));
    }
    if (ready > 0 && fds[0].revents != 0) return;

    Clock::time_point now = Clock::now();
    bool lost_watch = false;
    if (ready > 0 && fds[1].revents != 0) {
      bool had_watch = wd_ >= 0;
      if (DrainEvents()) {
        if (!reload_at) reload_limit = now + 10 * settle;
        reload_at = std::min(now + settle, reload_limit);
      }
      lost_watch = had_watch && wd_ < 0;
    }
    if (lost_watch) next_tick = now;  // the directory may be back already: retry at once
    if (periodic && now >= next_tick) {
      next_tick = now + retry;
      // Without a watch, reload when it comes back, or poll when it cannot be set up for a
      // reason other than a missing directory.
      bool reload = wd_ >= 0;  // still watching: plugins are being re-checked
      if (wd_ < 0) {
        int err = AddWatch();
        reload = err == 0 || (err != ENOENT && err != ENOTDIR);
      }
      if (reload && !reload_at) reload_at = now;
    }
    if (reload_at && now >= *reload_at) {
      reload_at.reset();
      Reload();
    }
  }
}

}  // namespace berth::cni
