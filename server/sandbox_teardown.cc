// StopPodSandbox and RemovePodSandbox: both idempotent, both succeed for unknown ids.
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "sandbox/pod_cgroup.h"
#include "sandbox/shm.h"
#include "server/sandbox_manager.h"
#include "server/sandbox_validate.h"

namespace berth {

using state::v1::SandboxRecord;

absl::Status SandboxManager::Stop(const std::string& id) {
  absl::StatusOr<std::shared_ptr<Sandbox>> found = Find(id);
  if (absl::IsNotFound(found.status())) return absl::OkStatus();
  RETURN_IF_ERROR(found.status());
  std::shared_ptr<Sandbox> sandbox = *found;
  absl::MutexLock lock(&sandbox->mu);
  if (sandbox->removed) return absl::OkStatus();
  return StopLocked(*sandbox);
}

absl::Status SandboxManager::StopLocked(Sandbox& sandbox) {
  SandboxRecord& record = sandbox.record;
  if (containers_ != nullptr) {
    RETURN_IF_ERROR(Annotate(containers_->StopPodContainers(record.id(), sandbox.monitor),
                             absl::StrCat("stopping the containers of pod sandbox ", record.id())));
  }
  SandboxPaths paths = Paths(record.id());
  if (record.network_attached()) {
    if (!sandbox.attachment.has_value()) {
      absl::StatusOr<cni::Attachment> cached = cni::LoadAttachment(paths.CniCache());
      if (cached.ok()) {
        sandbox.attachment = std::move(*cached);
      } else {
        sandbox.attachment = AttachmentFromRecord(record);
        LOG_WARN("pod sandbox {}: no usable CNI cache ({}); {}", record.id(), cached.status(),
                 sandbox.attachment.has_value() ? "DEL on the default network"
                                                : "no network to release it from");
      }
    }
    if (sandbox.attachment.has_value()) {
      RETURN_IF_ERROR(Annotate(cni::Del(*sandbox.attachment, CniOptions()),
                               absl::StrCat("CNI DEL for pod sandbox ", record.id())));
    }
    sandbox.attachment.reset();
    record.set_network_attached(false);
    ::unlink(paths.CniCache().c_str());
  }
  record.clear_ips();
  if (record.state() != SandboxRecord::NOTREADY) {
    record.set_state(SandboxRecord::NOTREADY);
    LOG_INFO("pod sandbox {} ({}) stopped", record.name(), record.id());
  }
  return Persist(sandbox);
}

// The attachment a pod's record implies (the cache is written without fsync, so a power loss
// can take it): the request rebuilt from the config, on today's default network.
std::optional<cni::Attachment> SandboxManager::AttachmentFromRecord(const SandboxRecord& record) {
  std::shared_ptr<const cni::NetworkSet> networks =
      options_.network == nullptr ? nullptr : options_.network->Networks();
  const cni::NetworkConfig* network = networks == nullptr ? nullptr : networks->Default();
  if (network == nullptr) return std::nullopt;
  auto pin = record.namespaces().find("net");
  std::string netns = pin != record.namespaces().end()
                          ? pin->second
                          : absl::StrCat(options_.config->runroot, "/ns/net/", record.id());
  cni::Attachment attachment;
  attachment.request = AttachRequestFor(record.id(), netns, record.config());
  attachment.network = *network;
  return attachment;
}

absl::Status SandboxManager::Remove(const std::string& id) {
  absl::StatusOr<std::shared_ptr<Sandbox>> found = Find(id);
  if (absl::IsNotFound(found.status())) return absl::OkStatus();
  RETURN_IF_ERROR(found.status());
  std::shared_ptr<Sandbox> sandbox = *found;
  std::vector<std::string> cgroups_left;
  {
    absl::MutexLock lock(&sandbox->mu);
    if (sandbox->removed) return absl::OkStatus();
    RETURN_IF_ERROR(StopLocked(*sandbox));
    if (containers_ != nullptr) {
      RETURN_IF_ERROR(
          Annotate(containers_->RemovePodContainers(sandbox->record.id(), sandbox->monitor),
                   absl::StrCat("removing the containers of pod sandbox ", sandbox->record.id())));
    }
    RETURN_IF_ERROR(TearDown(*sandbox, &cgroups_left));
    sandbox->removed = true;
    names_.Release(sandbox->record.name(), sandbox->record.id());
    LOG_INFO("pod sandbox {} ({}) removed", sandbox->record.name(), sandbox->record.id());
  }
  {
    absl::MutexLock lock(&mu_);
    sandboxes_.erase(sandbox->record.id());
  }
  HandOverCgroups(cgroups_left);
  return absl::OkStatus();
}

// Parents a removed pod created but could not remove hold another pod's cgroup: that pod
// takes them over, so they go when it goes.
void SandboxManager::HandOverCgroups(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return;
  for (const std::shared_ptr<Sandbox>& other : Snapshot()) {
    absl::MutexLock lock(&other->mu);
    if (other->removed || other->record.cgroup_path().empty()) continue;
    std::vector<std::string> own = sandbox::CgroupDirs(options_.cgroups, other->record.cgroup_path());
    std::vector<std::string> taken;
    for (const std::string& dir : dirs) {
      bool holds = std::any_of(own.begin(), own.end(), [&](const std::string& mine) {
        return mine.size() > dir.size() && mine.compare(0, dir.size(), dir) == 0 &&
               mine[dir.size()] == '/';
      });
      if (holds) taken.push_back(dir);
    }
    if (taken.empty()) continue;
    // Ancestors first: the record keeps the deepest last.
    for (const std::string& dir : other->record.created_cgroups()) taken.push_back(dir);
    other->record.clear_created_cgroups();
    for (const std::string& dir : taken) other->record.add_created_cgroups(dir);
    absl::Status status = Persist(*other);
    if (!status.ok()) LOG_WARN("handing cgroups over to pod {}: {}", other->record.id(), status);
    return;
  }
  LOG_WARN("cgroups {} are busy and no pod takes them over", dirs.front());
}

// Undoes everything but the network (StopLocked released it): monitor and pins, shm, cgroups,
// files, record.
absl::Status SandboxManager::TearDown(Sandbox& sandbox, std::vector<std::string>* cgroups_left) {
  SandboxRecord& record = sandbox.record;
  SandboxPaths paths = Paths(record.id());
  if (!record.monitor_gone()) {
    RETURN_IF_ERROR(StopMonitor(MonitorStopFor(sandbox)));
    sandbox.monitor.reset();
    record.set_monitor_gone(true);
    record.clear_namespaces();
    RETURN_IF_ERROR(Persist(sandbox));
  }
  if (!record.shm_path().empty()) {
    RETURN_IF_ERROR(sandbox::UnmountShm(record.shm_path()));
    record.clear_shm_path();
  }
  std::vector<std::string> cgroups(record.created_cgroups().begin(),
                                   record.created_cgroups().end());
  RETURN_IF_ERROR(sandbox::RemoveCgroups(cgroups));
  if (cgroups_left != nullptr) *cgroups_left = sandbox::CgroupsLeft(cgroups);
  record.clear_created_cgroups();
  RETURN_IF_ERROR(RemoveAll(paths.pod_dir));
  return RemoveAll(paths.record_dir);
}

}  // namespace berth
