// Loading the containers' records when berthd starts, and reconciling them with the monitors.
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/record_file.h"
#include "common/status.h"
#include "oci/rootfs.h"
#include "server/container_manager.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerManager>> ContainerManager::Open(Options options) {
  std::unique_ptr<ContainerManager> manager(new ContainerManager(std::move(options)));
  const Config& config = *manager->options_.config;
  RETURN_IF_ERROR(MakeDirs(config.root + "/containers", 0711));
  RETURN_IF_ERROR(MakeDirs(config.runroot + "/containers", 0711));
  std::vector<std::string> ids = ListIdEntries(config.root + "/containers");
  std::vector<std::string> restored;
  for (const std::string& id : ids) {
    absl::Status status = manager->Restore(id);
    if (absl::IsDataLoss(status)) {
      // No readable record (records are not fsynced: a power loss can cut one short). Nobody
      // can name this container any more: its files go with the leftovers below.
      LOG_WARN("container {} has no readable record: removing its files", id);
      continue;
    }
    restored.push_back(id);
    if (!status.ok()) LOG_ERROR("restoring container {}: {}", id, status);
  }
  // Bundles and record directories without a record: a crash before the first record was
  // written, or a record lost with the machine.
  std::vector<std::string> leftovers = ListIdEntries(config.runroot + "/containers");
  leftovers.insert(leftovers.end(), ids.begin(), ids.end());
  for (const std::string& id : leftovers) {
    if (std::find(restored.begin(), restored.end(), id) != restored.end()) continue;
    ContainerPaths paths = manager->Paths(id);
    absl::Status status = oci::UnmountRootfs(paths.Rootfs());
    if (status.ok()) status = RemoveAll(paths.bundle);
    if (status.ok()) status = RemoveAll(paths.record_dir);
    if (!status.ok()) LOG_WARN("container {} leftovers: {}", id, status);
  }
  ContainerManager* self = manager.get();
  manager->event_thread_ = std::thread([self] { self->EventLoop(); });
  return manager;
}

absl::Status ContainerManager::Restore(const std::string& id) {
  ContainerPaths paths = Paths(id);
  ContainerRecord probe;
  absl::StatusOr<std::string> data = ReadRecordFile(paths.RecordFile(), [&](const std::string& bytes) {
    return probe.ParseFromString(bytes) && probe.id() == id;
  });
  if (!data.ok()) {
    return absl::DataLossError(absl::StrCat("no readable record for container ", id, ": ",
                                            data.status().message()));
  }
  auto container = std::make_shared<Container>();
  std::shared_ptr<mon::MonitorClient> monitor = Monitor(probe.pod_id());
  absl::MutexLock lock(&container->mu);
  ContainerRecord& record = container->record;
  record = std::move(probe);
  bool pod_exists = options_.sandboxes->Find(record.pod_id()).ok();
  if (record.state() == ContainerRecord::CREATING || !pod_exists) {
    LOG_WARN("removing container {} ({}): {}", record.name(), id,
             pod_exists ? "left half-made" : "its pod is gone");
    return RemoveLocked(*container, monitor);
  }
  RETURN_IF_ERROR(names_.Reserve(record.name(), id));
  if (record.state() == ContainerRecord::CREATED || record.state() == ContainerRecord::RUNNING) {
    // An exit while berthd was down is on disk; a container its monitor does not know (the
    // monitor died with it) is over.
    if (!ApplyExitFile(*container)) {
      bool known = false;
      if (monitor != nullptr && monitor->connected()) {
        monitor::v1::Request list;
        list.mutable_list_containers();
        absl::StatusOr<monitor::v1::Response> listed = monitor->Call(list, absl::Seconds(10));
        if (listed.ok()) {
          for (const monitor::v1::ContainerState& state : listed->list_containers().containers()) {
            if (state.container_id() != id) continue;
            known = true;
            if (state.has_exit()) ApplyExit(*container, state.exit());
          }
        }
      }
      if (!known) {
        monitor::v1::ExitRecord exit;
        exit.set_exit_code(255);
        exit.set_finished_unix_nanos(absl::ToUnixNanos(absl::Now()));
        ApplyExit(*container, exit);
        record.set_message("the container's monitor is gone");
        RETURN_IF_ERROR(Persist(*container));
      }
    }
  }
  absl::MutexLock map_lock(&mu_);
  containers_[id] = container;
  list_cache_.Changed();
  return absl::OkStatus();
}

}  // namespace berth
