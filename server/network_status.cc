#include "server/network_status.h"

#include "common/log.h"
#include "common/status.h"

namespace berth {

absl::Status NetworkStatusSource::Start() {
  cni::ConfigWatcher::Options options;
  options.load.network_dir = config_.network_dir;
  options.load.plugin_dirs = config_.plugin_dirs;
  options.load.check_plugins = true;
  options.on_change = [](std::shared_ptr<const cni::NetworkSet> set) {
    cni::NetworkStatus status = set->Status();
    if (status.ready) {
      LOG_INFO("CNI network \"{}\" from {} is the default network", status.default_network,
               status.default_file);
    } else {
      LOG_WARN("CNI network not ready: {}", status.message);
    }
  };
  ASSIGN_OR_RETURN(watcher_, cni::ConfigWatcher::Start(std::move(options)));
  return absl::OkStatus();
}

NetworkCondition NetworkStatusSource::Current() const {
  if (watcher_ == nullptr) {
    return {false, cni::kNetworkNotReadyReason, "the CNI configuration is not loaded yet"};
  }
  cni::NetworkStatus status = watcher_->Status();
  return {status.ready, status.reason, status.message};
}

}  // namespace berth
