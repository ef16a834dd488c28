#ifndef BERTH_SANDBOX_NAME_REGISTRY_H_
#define BERTH_SANDBOX_NAME_REGISTRY_H_

#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "proto/cri/api.pb.h"

namespace berth::sandbox {

// "k8s_<name>_<namespace>_<uid>_<attempt>" for a pod, and
// "k8s_<container name>_<pod name>_<pod namespace>_<pod uid>_<attempt>" for a container, as
// CRI-O and containerd name them.
std::string PodSandboxName(const runtime::v1::PodSandboxMetadata& metadata);
std::string ContainerName(const runtime::v1::ContainerMetadata& container,
                          const runtime::v1::PodSandboxMetadata& pod);

// Unique names -> the id holding each. Thread-safe.
class NameRegistry {
 public:
  // AlreadyExists "name X is reserved for Y" when another id holds it; reserving a name again
  // for the same id is fine.
  absl::Status Reserve(const std::string& name, const std::string& id);
  // Releases `name` when `id` holds it.
  void Release(const std::string& name, const std::string& id);
  // The holder of `name`, or empty.
  std::string Holder(const std::string& name) const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::sandbox

#endif  // BERTH_SANDBOX_NAME_REGISTRY_H_
