#include "sandbox/name_registry.h"

#include "absl/strings/str_cat.h"

namespace berth::sandbox {

std::string PodSandboxName(const runtime::v1::PodSandboxMetadata& metadata) {
  return absl::StrCat("k8s_", metadata.name(), "_", metadata.namespace_(), "_", metadata.uid(), "_",
                      metadata.attempt());
}

std::string ContainerName(const runtime::v1::ContainerMetadata& container,
                          const runtime::v1::PodSandboxMetadata& pod) {
  return absl::StrCat("k8s_", container.name(), "_", pod.name(), "_", pod.namespace_(), "_",
                      pod.uid(), "_", container.attempt());
}

absl::Status NameRegistry::Reserve(const std::string& name, const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = names_.emplace(name, id);
  if (!inserted && it->second != id) {
    return absl::AlreadyExistsError(absl::StrCat("name ", name, " is reserved for ", it->second));
  }
  return absl::OkStatus();
}

void NameRegistry::Release(const std::string& name, const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = names_.find(name);
  if (it != names_.end() && it->second == id) names_.erase(it);
}

std::string NameRegistry::Holder(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = names_.find(name);
  return it == names_.end() ? std::string() : it->second;
}

}  // namespace berth::sandbox
