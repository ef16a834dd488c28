#ifndef BERTH_SERVER_NETWORK_STATUS_H_
#define BERTH_SERVER_NETWORK_STATUS_H_

#include <memory>

#include "absl/status/status.h"
#include "cni/config_watcher.h"
#include "server/config.h"
#include "server/runtime_info.h"

namespace berth {

// The NetworkReady condition, kept current by watching the CNI configuration directory.
class NetworkStatusSource {
 public:
  explicit NetworkStatusSource(const Config& config) : config_(config) {}

  // Loads the directory and starts watching it.
  absl::Status Start();
  // Stops watching. Call only once nothing asks Current() any more.
  void Stop() { watcher_.reset(); }

  NetworkCondition Current() const;
  // The networks loaded now (null before Start).
  std::shared_ptr<const cni::NetworkSet> Networks() const {
    return watcher_ == nullptr ? nullptr : watcher_->Current();
  }

 private:
  const Config& config_;
  std::unique_ptr<cni::ConfigWatcher> watcher_;
};

}  // namespace berth

#endif  // BERTH_SERVER_NETWORK_STATUS_H_
