// StartContainer, StopContainer, RemoveContainer, exits pushed by the monitors, and the pod
// hooks (a pod's stop and removal take its containers along).
#include <unistd.h>

#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/status.h"
#include "oci/rootfs.h"
#include "server/container_manager.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

// How long a stop may take beyond its grace period (the kill, the exit, the reply).
constexpr absl::Duration kStopSlack = absl::Seconds(30);

// The runtime's delete of an exited container `id`: through its pod's `monitor`, or, with no
// monitor, by running the runtime here.
absl::Status DeleteFromRuntime(std::shared_ptr<mon::MonitorClient> monitor, std::string id,
                               std::string runtime_path, std::string runtime_root) {
  if (monitor != nullptr) {
    monitor::v1::Request remove;
    remove.mutable_delete_container()->set_container_id(id);
    return Annotate(monitor->Call(remove, absl::Seconds(60)).status(),
                    absl::StrCat("deleting container ", id));
  }
  if (runtime_path.empty()) return absl::OkStatus();
  absl::StatusOr<SpawnResult> deleted = RunCommand(SpawnOptions{
      .argv = {runtime_path, "--root", runtime_root, "delete", "--force", id},
      .timeout = absl::Seconds(30)});
  if (deleted.ok() && !deleted->success()) {
    LOG_DEBUG("runtime delete of {}: {}", id, deleted->Describe());
  }
  return absl::OkStatus();
}

}  // namespace

std::string ContainerManager::ExitFile(const std::string& pod_id, const std::string& id) const {
  return absl::StrCat(options_.sandboxes->Paths(pod_id).pod_dir, "/exits/", id);
}

std::shared_ptr<mon::MonitorClient> ContainerManager::Monitor(const std::string& pod_id) const {
  absl::StatusOr<std::shared_ptr<Sandbox>> sandbox = options_.sandboxes->Find(pod_id);
  if (!sandbox.ok()) return nullptr;
  absl::ReaderMutexLock lock(&(*sandbox)->mu);
  return (*sandbox)->monitor;
}

std::string ContainerManager::PodOf(Container& container) {
  absl::ReaderMutexLock lock(&container.mu);
  return container.record.pod_id();
}

absl::StatusOr<std::shared_ptr<mon::MonitorClient>> ContainerManager::MonitorOr(
    const std::string& pod_id, std::shared_ptr<mon::MonitorClient> given) const {
  if (given == nullptr || !given->connected()) {
    return absl::UnavailableError(absl::StrCat("the monitor of pod sandbox ", pod_id, " is gone"));
  }
  return given;
}

void ContainerManager::ApplyExit(Container& container, const monitor::v1::ExitRecord& exit) {
  ContainerRecord& record = container.record;
  if (record.state() == ContainerRecord::EXITED) return;
  record.set_state(ContainerRecord::EXITED);
  record.set_exit_code(exit.exit_code());
  record.set_finished_unix_nanos(exit.finished_unix_nanos());
  if (exit.oom_killed()) {
    record.set_reason("OOMKilled");
  } else {
    record.set_reason(exit.exit_code() == 0 ? "Completed" : "Error");
  }
  absl::Status status = Persist(container);
  if (!status.ok()) LOG_WARN("container {}: {}", record.id(), status);
  LOG_INFO("container {} exited with code {} ({})", record.id(), exit.exit_code(),
           record.reason());
}

bool ContainerManager::ApplyExitFile(Container& container) {
  absl::StatusOr<std::string> data =
      ReadFile(ExitFile(container.record.pod_id(), container.record.id()));
  if (!data.ok()) return false;
  monitor::v1::ExitRecord exit;
  if (!exit.ParseFromString(*data)) return false;
  ApplyExit(container, exit);
  return true;
}

void ContainerManager::OnEvent(const std::string& pod_id, const monitor::v1::Event& event) {
  absl::MutexLock lock(&events_mu_);
  events_.emplace_back(pod_id, event);
}

void ContainerManager::EventLoop() {
  while (true) {
    std::pair<std::string, monitor::v1::Event> next;
    {
      absl::MutexLock lock(&events_mu_);
      events_mu_.Await(absl::Condition(
          +[](ContainerManager* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->events_mu_) {
            return self->stopping_ || !self->events_.empty();
          },
          this));
      if (events_.empty()) return;  // stopping, nothing left
      next = std::move(events_.front());
      events_.pop_front();
    }
    const monitor::v1::Event& event = next.second;
    if (!event.has_container_exited()) continue;
    absl::StatusOr<std::shared_ptr<Container>> container =
        Find(event.container_exited().container_id());
    if (!container.ok()) continue;
    absl::MutexLock lock(&(*container)->mu);
    if ((*container)->record.pod_id() != next.first || (*container)->removed) continue;
    ApplyExit(**container, event.container_exited());
  }
}

ContainerManager::~ContainerManager() {
  {
    absl::MutexLock lock(&events_mu_);
    stopping_ = true;
  }
  if (event_thread_.joinable()) event_thread_.join();
}

absl::Status ContainerManager::Start(const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(id));
  // The pod's lock is taken before a container's, never after: fetch the monitor first.
  std::shared_ptr<mon::MonitorClient> given = Monitor(PodOf(*container));
  absl::MutexLock lock(&container->mu);
  ContainerRecord& record = container->record;
  if (container->removed) return absl::NotFoundError(absl::StrCat("container ", id, " not found"));
  if (record.state() != ContainerRecord::CREATED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "container ", record.id(), " is ", ContainerRecord::State_Name(record.state()),
        ", not CREATED"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<mon::MonitorClient> monitor, MonitorOr(record.pod_id(), given));
  monitor::v1::Request start;
  start.mutable_start_container()->set_container_id(record.id());
  RETURN_IF_ERROR(Annotate(monitor->Call(start, absl::Seconds(60)).status(),
                           absl::StrCat("starting container ", record.id())));
  record.set_state(ContainerRecord::RUNNING);
  record.set_started_unix_nanos(absl::ToUnixNanos(absl::Now()));
  // An exit pushed before this point found the record CREATED and already applied.
  ApplyExitFile(*container);
  return Persist(*container);
}

absl::Status ContainerManager::Stop(const std::string& id, int64_t timeout_seconds) {
  absl::StatusOr<std::shared_ptr<Container>> found = Find(id);
  if (absl::IsNotFound(found.status())) return absl::OkStatus();
  RETURN_IF_ERROR(found.status());
  std::shared_ptr<mon::MonitorClient> monitor = Monitor(PodOf(**found));
  absl::MutexLock lock(&(*found)->mu);
  if ((*found)->removed) return absl::OkStatus();
  return StopLocked(**found, timeout_seconds, monitor);
}

absl::Status ContainerManager::StopLocked(Container& container, int64_t timeout_seconds,
                                          std::shared_ptr<mon::MonitorClient> given) {
  ContainerRecord& record = container.record;
  if (record.state() == ContainerRecord::EXITED || ApplyExitFile(container)) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<mon::MonitorClient>> monitor = MonitorOr(record.pod_id(), given);
  if (!monitor.ok()) {
    // Nothing can run without its monitor: the pod's namespaces are being torn down.
    monitor::v1::ExitRecord exit;
    exit.set_exit_code(255);
    exit.set_finished_unix_nanos(absl::ToUnixNanos(absl::Now()));
    ApplyExit(container, exit);
    record.set_message("the pod's monitor is gone");
    return Persist(container);
  }
  monitor::v1::Request stop;
  monitor::v1::StopContainer& body = *stop.mutable_stop_container();
  body.set_container_id(record.id());
  body.set_signal(record.stop_signal() > 0 ? record.stop_signal() : 15);
  timeout_seconds = std::max<int64_t>(timeout_seconds, 0);
  body.set_timeout_ns(absl::ToInt64Nanoseconds(absl::Seconds(timeout_seconds)));
  absl::StatusOr<monitor::v1::Response> stopped =
      (*monitor)->Call(stop, absl::Seconds(timeout_seconds) + kStopSlack);
  if (!stopped.ok() && !absl::IsNotFound(stopped.status())) {
    return Annotate(stopped.status(), absl::StrCat("stopping container ", record.id()));
  }
  if (!ApplyExitFile(container) && record.state() != ContainerRecord::EXITED) {
    // The monitor no longer knows it (never created there): it is not running.
    monitor::v1::ExitRecord exit;
    exit.set_exit_code(255);
    exit.set_finished_unix_nanos(absl::ToUnixNanos(absl::Now()));
    ApplyExit(container, exit);
  }
  return absl::OkStatus();
}

absl::Status ContainerManager::Remove(const std::string& id) {
  absl::StatusOr<std::shared_ptr<Container>> found = Find(id);
  if (absl::IsNotFound(found.status())) return absl::OkStatus();
  RETURN_IF_ERROR(found.status());
  std::shared_ptr<Container> container = *found;
  std::shared_ptr<mon::MonitorClient> monitor = Monitor(PodOf(*container));
  {
    absl::MutexLock lock(&container->mu);
    if (container->removed) return absl::OkStatus();
    RETURN_IF_ERROR(RemoveLocked(*container, monitor));
  }
  absl::MutexLock lock(&mu_);
  containers_.erase(container->record.id());
  return absl::OkStatus();
}

absl::Status ContainerManager::RemoveLocked(Container& container,
                                            std::shared_ptr<mon::MonitorClient> given) {
  ContainerRecord& record = container.record;
  if (record.state() != ContainerRecord::EXITED) RETURN_IF_ERROR(StopLocked(container, 0, given));
  absl::StatusOr<std::shared_ptr<mon::MonitorClient>> monitor = MonitorOr(record.pod_id(), given);
  // The container has exited: the runtime's delete (its cgroups and state dir, a runc run) and
  // the removal of the rootfs and the writable layer touch nothing in common. They run side by
  // side, each tree on its own thread: on a busy ext4 each unlink may wait for a journal commit,
  // and waits made together end together. The record goes only once all of them are done, so a
  // failure leaves a container that RemoveContainer can be asked for again.
  std::vector<std::future<absl::Status>> steps;
  steps.push_back(std::async(std::launch::async, DeleteFromRuntime,
                             monitor.ok() ? *monitor : nullptr, record.id(),
                             record.runtime_path(), record.runtime_root()));
  ContainerPaths paths = Paths(record.id());
  absl::Status removed = oci::UnmountRootfs(paths.Rootfs());
  if (removed.ok()) {
    record.set_rootfs_mounted(false);
    for (std::string path : {paths.bundle, paths.Upper(), paths.Work()}) {
      steps.push_back(std::async(std::launch::async, [path] { return RemoveAll(path); }));
    }
    removed = RemoveAll(paths.record_dir + "/volumes");
  }
  absl::Status result;
  for (std::future<absl::Status>& step : steps) result.Update(step.get());
  result.Update(removed);
  RETURN_IF_ERROR(result);
  ::unlink(ExitFile(record.pod_id(), record.id()).c_str());
  RETURN_IF_ERROR(RemoveAll(paths.record_dir));
  names_.Release(record.name(), record.id());
  container.removed = true;
  list_cache_.Changed();
  LOG_INFO("container {} ({}) removed", record.name(), record.id());
  return absl::OkStatus();
}

absl::Status ContainerManager::StopPodContainers(const std::string& pod_id,
                                                 std::shared_ptr<mon::MonitorClient> monitor) {
  absl::Status result;
  for (const std::shared_ptr<Container>& container : Snapshot()) {
    absl::MutexLock lock(&container->mu);
    if (container->removed || container->record.pod_id() != pod_id) continue;
    absl::Status status = StopLocked(*container, 0, monitor);
    if (!status.ok() && result.ok()) result = status;
  }
  return result;
}

absl::Status ContainerManager::RemovePodContainers(const std::string& pod_id,
                                                   std::shared_ptr<mon::MonitorClient> monitor) {
  for (const std::shared_ptr<Container>& container : Snapshot()) {
    {
      absl::MutexLock lock(&container->mu);
      if (container->removed || container->record.pod_id() != pod_id) continue;
      RETURN_IF_ERROR(RemoveLocked(*container, monitor));
    }
    absl::MutexLock lock(&mu_);
    containers_.erase(container->record.id());
  }
  return absl::OkStatus();
}

std::string ContainerManager::ImageUser(const std::string& image_id) const {
  for (const std::shared_ptr<Container>& container : Snapshot()) {
    absl::ReaderMutexLock lock(&container->mu);
    if (!container->removed && container->record.image_id() == image_id) {
      return container->record.id();
    }
  }
  return "";
}

}  // namespace berth
