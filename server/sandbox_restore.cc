// Loading the pods' records when berthd starts (DESIGN §3, Restart).
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/record_file.h"
#include "common/status.h"
#include "sandbox/pod_cgroup.h"
#include "sandbox/shm.h"
#include "server/sandbox_manager.h"

namespace berth {
namespace {

using state::v1::SandboxRecord;

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxManager>> SandboxManager::Open(Options options) {
  std::unique_ptr<SandboxManager> manager(new SandboxManager(std::move(options)));
  const Config& config = *manager->options_.config;
  RETURN_IF_ERROR(MakeDirs(config.root + "/sandboxes", 0700));
  RETURN_IF_ERROR(MakeDirs(config.runroot + "/pods", 0711));
  RETURN_IF_ERROR(MakeDirs(config.runroot + "/ns", 0711));
  std::vector<std::string> ids = ListIdEntries(config.root + "/sandboxes");
  for (const std::string& id : ids) {
    absl::Status status = manager->Restore(id);
    if (!status.ok()) LOG_ERROR("restoring pod sandbox {}: {}", id, status);
  }
  // Pod directories whose record is gone: a crash between making them and the first record.
  for (const std::string& id : ListIdEntries(config.runroot + "/pods")) {
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) continue;
    LOG_WARN("removing the leftovers of unknown pod sandbox {}", id);
    MonitorStopRequest stop{.pod_dir = manager->Paths(id).pod_dir};
    for (const char* type : {"net", "ipc", "uts", "pid"}) {
      stop.namespaces[type] = absl::StrCat(config.runroot, "/ns/", type, "/", id);
    }
    absl::StatusOr<std::string> pid = ReadFile(stop.pod_dir + "/mon.pid");
    if (pid.ok()) stop.monitor_pid = std::atoi(pid->c_str());
    absl::Status status = StopMonitor(stop);
    if (status.ok()) status = sandbox::UnmountShm(manager->Paths(id).ShmDir());
    if (status.ok()) status = RemoveAll(stop.pod_dir);
    if (!status.ok()) LOG_WARN("pod sandbox {} leftovers: {}", id, status);
  }
  manager->CollectGarbage();
  return manager;
}

SandboxManager::~SandboxManager() = default;

// CNI GC (1.1 networks): releases what the plugins hold for pods that no longer exist.
void SandboxManager::CollectGarbage() {
  std::shared_ptr<const cni::NetworkSet> networks =
      options_.network == nullptr ? nullptr : options_.network->Networks();
  const cni::NetworkConfig* network = networks == nullptr ? nullptr : networks->Default();
  if (network == nullptr) return;
  std::vector<cni::Attachment> valid;
  for (const std::shared_ptr<Sandbox>& sandbox : Snapshot()) {
    absl::ReaderMutexLock sandbox_lock(&sandbox->mu);
    if (sandbox->attachment.has_value()) valid.push_back(*sandbox->attachment);
  }
  absl::Status status = cni::Gc(*network, valid, CniOptions());
  if (!status.ok() && !absl::IsUnimplemented(status)) LOG_WARN("CNI GC: {}", status);
}

absl::Status SandboxManager::Restore(const std::string& id) {
  SandboxPaths paths = Paths(id);
  auto sandbox = std::make_shared<Sandbox>();
  absl::MutexLock lock(&sandbox->mu);
  SandboxRecord& record = sandbox->record;
  absl::StatusOr<std::string> data =
      ReadRecordFile(paths.RecordFile(), [&record, &id](const std::string& bytes) {
        return record.ParseFromString(bytes) && record.id() == id;
      });
  if (!data.ok()) {
    return absl::DataLossError(absl::StrCat("no readable record for pod sandbox ", id, ": ",
                                            data.status().message()));
  }
  if (record.network_attached()) {
    absl::StatusOr<cni::Attachment> cached = cni::LoadAttachment(paths.CniCache());
    if (cached.ok()) sandbox->attachment = std::move(*cached);
  }
  if (!record.monitor_gone()) ConnectMonitor(*sandbox);

  if (record.state() == SandboxRecord::CREATING) {
    // Interrupted RunPodSandbox: undo whatever it got to. A crash right after the monitor
    // started left its pid and pins unrecorded; they are where they always are.
    LOG_WARN("undoing pod sandbox {} ({}), left half-made", record.name(), id);
    if (record.monitor_pid() == 0 && !record.monitor_gone()) {
      absl::StatusOr<std::string> pid = ReadFile(paths.pod_dir + "/mon.pid");
      if (pid.ok()) record.set_monitor_pid(std::atoi(pid->c_str()));
      for (const char* type : {"net", "ipc", "uts", "pid"}) {
        (*record.mutable_namespaces())[type] =
            absl::StrCat(options_.config->runroot, "/ns/", type, "/", id);
      }
    }
    RETURN_IF_ERROR(StopLocked(*sandbox));
    return TearDown(*sandbox);
  }
  RETURN_IF_ERROR(names_.Reserve(record.name(), id));
  if (record.state() == SandboxRecord::READY && sandbox->monitor_lost->load()) {
    LOG_WARN("pod sandbox {} ({}) lost its monitor while berthd was down: not ready",
             record.name(), id);
    record.set_state(SandboxRecord::NOTREADY);
    RETURN_IF_ERROR(Persist(*sandbox));
  }
  absl::MutexLock map_lock(&mu_);
  sandboxes_[id] = sandbox;
  return absl::OkStatus();
}

}  // namespace berth
