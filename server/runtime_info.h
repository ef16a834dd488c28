#ifndef BERTH_SERVER_RUNTIME_INFO_H_
#define BERTH_SERVER_RUNTIME_INFO_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/cri/api.pb.h"
#include "server/config.h"

namespace berth {

// The network's readiness as the CNI configuration watcher sees it.
struct NetworkCondition {
  bool ready = false;
  std::string reason;
  std::string message;
};

// What Version, Status, RuntimeConfig and UpdateRuntimeConfig answer: the runtime's identity,
// its health conditions and daemon-wide settings. Thread-safe.
class RuntimeInfo {
 public:
  RuntimeInfo(const Config& config, std::function<NetworkCondition()> network);

  // Loads the persisted runtime record (the pod CIDR), if there is one.
  absl::Status Load();

  runtime::v1::VersionResponse Version() const;
  runtime::v1::StatusResponse Status(bool verbose) const;
  runtime::v1::RuntimeConfigResponse RuntimeConfig() const;
  absl::Status UpdateRuntimeConfig(const runtime::v1::UpdateRuntimeConfigRequest& request);

 private:
  std::string RecordPath() const;
  runtime::v1::RuntimeCondition RuntimeCondition() const;

  const Config& config_;
  std::function<NetworkCondition()> network_;
  mutable absl::Mutex mu_;
  std::string pod_cidr_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth

#endif  // BERTH_SERVER_RUNTIME_INFO_H_
