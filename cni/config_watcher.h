#ifndef BERTH_CNI_CONFIG_WATCHER_H_
#define BERTH_CNI_CONFIG_WATCHER_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cni/config_dir.h"
#include "common/unique_fd.h"

namespace berth::cni {

// Keeps an up-to-date NetworkSet for a configuration directory. A thread of its own watches the
// directory with inotify and reloads it when files are created, written, renamed or removed.
// A directory that does not exist (yet) is retried every `retry_interval`; while a network is
// skipped only because a plugin binary is missing, the directory is re-checked at the same
// interval, since plugin directories are not watched.
class ConfigWatcher {
 public:
  using Callback = std::function<void(std::shared_ptr<const NetworkSet>)>;

  struct Options {
    LoadOptions load;
    // Called on the watcher's thread with each new snapshot that differs from the previous one
    // (not for the first). It must not destroy the watcher.
    Callback on_change;
    absl::Duration retry_interval = absl::Seconds(1);
    // After a change, wait until the directory has been quiet this long (but at most ten times
    // this long) before reloading, so that a file written in several steps is read once.
    absl::Duration settle = absl::Milliseconds(100);
  };

  // Loads the directory once (so Current() is meaningful right away) and starts the thread.
  // Fails only when inotify or the wake-up eventfd cannot be created.
  static absl::StatusOr<std::unique_ptr<ConfigWatcher>> Start(Options options);

  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;
  // Stops and joins the thread.
  ~ConfigWatcher();

  // The latest snapshot; never null. Safe from any thread.
  std::shared_ptr<const NetworkSet> Current() const ABSL_LOCKS_EXCLUDED(mu_);
  NetworkStatus Status() const { return Current()->Status(); }

 private:
  ConfigWatcher(Options options, UniqueFd inotify_fd, UniqueFd wake_fd);

  // Adds the inotify watch on the directory; returns 0 or the errno of the failure.
  int AddWatch();
  // Reads all pending inotify events; returns whether any of them calls for a reload.
  bool DrainEvents();
  // Loads the directory and publishes the result when it differs from the current one.
  void Reload();
  void Publish(std::shared_ptr<const NetworkSet> next) ABSL_LOCKS_EXCLUDED(mu_);
  void Run();

  const Options options_;
  const UniqueFd inotify_fd_;
  const UniqueFd wake_fd_;
  // Confined to the watcher's thread once it runs.
  int wd_ = -1;
  int last_watch_error_ = 0;

  mutable absl::Mutex mu_;
  std::shared_ptr<const NetworkSet> current_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
};

}  // namespace berth::cni

#endif  // BERTH_CNI_CONFIG_WATCHER_H_
