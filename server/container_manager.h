#ifndef BERTH_SERVER_CONTAINER_MANAGER_H_
#define BERTH_SERVER_CONTAINER_MANAGER_H_

#include <deque>
#include <map>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "oci/cgroup_attach_warmer.h"
#include "oci/cgroup_mode.h"
#include "proto/cri/api.pb.h"
#include "proto/monitor.pb.h"
#include "proto/state.pb.h"
#include "sandbox/name_registry.h"
#include "server/config.h"
#include "server/container_list.h"
#include "server/image_manager.h"
#include "server/sandbox_manager.h"

namespace berth {

struct Container {
  absl::Mutex mu;
  state::v1::ContainerRecord record ABSL_GUARDED_BY(mu);
  bool removed ABSL_GUARDED_BY(mu) = false;
  // Its ListContainers entry in wire form (container_list.h); lock-free, read under `mu`.
  ContainerListEntry list_entry;
};

// Paths of a container (DESIGN §4).
struct ContainerPaths {
  std::string record_dir;  // <root>/containers/<id>: state.pb, upper/, work/
  std::string bundle;      // <runroot>/containers/<id>: config.json, rootfs/
  std::string RecordFile() const { return record_dir + "/state.pb"; }
  std::string Upper() const { return record_dir + "/upper"; }
  std::string Work() const { return record_dir + "/work"; }
  std::string Rootfs() const { return bundle + "/rootfs"; }
};

// The container RPCs, free of gRPC; containers run through their pod's monitor. Thread-safe.
class ContainerManager : public PodContainers {
 public:
  struct Options {
    const Config* config = nullptr;
    SandboxManager* sandboxes = nullptr;
    ImageManager* images = nullptr;
    oci::CgroupMode cgroup_mode = oci::CgroupMode::kHybrid;
    std::string cgroup_root = "/sys/fs/cgroup";
    // Warmed while runc creates or execs (it attaches the new process to cgroups); optional.
    oci::CgroupAttachWarmer* attach_warmer = nullptr;
  };

  // Loads the records under <root>/containers and reconciles them with the monitors and the
  // exit records (exits that happened while berthd was down).
  static absl::StatusOr<std::unique_ptr<ContainerManager>> Open(Options options);

  absl::StatusOr<std::string> Create(const runtime::v1::CreateContainerRequest& request);
  absl::Status Start(const std::string& id);
  absl::Status Stop(const std::string& id, int64_t timeout_seconds);
  absl::Status Remove(const std::string& id);
  absl::StatusOr<runtime::v1::ContainerStatusResponse> Status(const std::string& id,
                                                              bool verbose);
  // Appends the matching containers to `out` (the response itself: nothing is copied twice).
  void List(const runtime::v1::ContainerFilter& filter,
            google::protobuf::RepeatedPtrField<runtime::v1::Container>* out);
  // The same list as a serialized ListContainersResponse, from the containers' cached entries;
  // the unfiltered one from the whole cached answer (container_list.h).
  std::shared_ptr<const std::string> ListSerialized(const runtime::v1::ContainerFilter& filter);
  absl::StatusOr<runtime::v1::ExecSyncResponse> ExecSync(
      const runtime::v1::ExecSyncRequest& request);
  absl::Status ReopenLog(const std::string& id);
  absl::Status UpdateResources(const runtime::v1::UpdateContainerResourcesRequest& request);
  absl::StatusOr<runtime::v1::ContainerStats> Stats(const std::string& id);
  std::vector<runtime::v1::ContainerStats> ListStats(
      const runtime::v1::ContainerStatsFilter& filter);

  // What the streaming server needs of a running container (container_streams.cc).
  struct StreamTarget {
    std::string id;
    std::string pod_id;
    std::shared_ptr<mon::MonitorClient> monitor;
    bool tty = false;
    bool stdin = false;
  };
  // FailedPrecondition when the container is not running; Unavailable when its monitor is gone.
  absl::StatusOr<StreamTarget> FindRunning(const std::string& id_or_prefix);
  // Keeps the kernel's cgroup attach path warm for a runc exec about to start (at most
  // `limit`, or until the lease goes).
  oci::CgroupAttachWarmer::Lease WarmCgroupAttach(absl::Duration limit) {
    return oci::CgroupAttachWarmer::Hold(options_.attach_warmer, limit);
  }

  // A container using image `image_id`, or "" (RemoveImage refuses while one does).
  std::string ImageUser(const std::string& image_id) const;

  // From the pods' monitors.
  void OnEvent(const std::string& pod_id, const monitor::v1::Event& event);

  // PodContainers (called with the pod locked: the pod's monitor comes along)
  absl::Status StopPodContainers(const std::string& pod_id,
                                 std::shared_ptr<mon::MonitorClient> monitor) override;
  absl::Status RemovePodContainers(const std::string& pod_id,
                                   std::shared_ptr<mon::MonitorClient> monitor) override;

  ~ContainerManager() override;

  ContainerPaths Paths(const std::string& id) const;

 private:
  explicit ContainerManager(Options options) : options_(std::move(options)) {}

  absl::StatusOr<std::shared_ptr<Container>> Find(const std::string& id_or_prefix) const;
  std::vector<std::shared_ptr<Container>> Snapshot() const;
  absl::Status Persist(Container& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(container.mu);
  // InvalidArgument for unified (cgroup v2) resources on a host whose controllers are v1.
  absl::Status CheckUnifiedResources(const runtime::v1::LinuxContainerResources& resources) const;
  void ApplyExit(Container& container, const monitor::v1::ExitRecord& exit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(container.mu);
  // Reads <pod_dir>/exits/<id> and applies it when present.
  bool ApplyExitFile(Container& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(container.mu);
  // `monitor`: the pod's monitor, fetched before the container's lock (null: gone).
  absl::Status RemoveLocked(Container& container, std::shared_ptr<mon::MonitorClient> monitor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(container.mu);
  absl::Status StopLocked(Container& container, int64_t timeout_seconds,
                          std::shared_ptr<mon::MonitorClient> monitor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(container.mu);
  // `given`, or Unavailable when it is null or disconnected.
  absl::StatusOr<std::shared_ptr<mon::MonitorClient>> MonitorOr(
      const std::string& pod_id, std::shared_ptr<mon::MonitorClient> given) const;
  void EventLoop();
  absl::Status Restore(const std::string& id);
  // The pod's monitor (null when the pod or its monitor is gone). Takes the pod's lock: never
  // call it holding a container's.
  std::shared_ptr<mon::MonitorClient> Monitor(const std::string& pod_id) const;
  static std::string PodOf(Container& container);
  std::string ExitFile(const std::string& pod_id, const std::string& id) const;

  Options options_;
  sandbox::NameRegistry names_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Container>> containers_ ABSL_GUARDED_BY(mu_);
  // The unfiltered ListContainers answer; Changed() after every insertion into containers_,
  // `removed` set and Persist (which every state change goes through).
  ContainerListCache list_cache_;

  // Events are applied on their own thread: the monitor client's reader must never wait for a
  // container's lock (its holder may be waiting for a reply that reader has to deliver).
  absl::Mutex events_mu_;
  std::deque<std::pair<std::string, monitor::v1::Event>> events_ ABSL_GUARDED_BY(events_mu_);
  bool stopping_ ABSL_GUARDED_BY(events_mu_) = false;
  std::thread event_thread_;
};

}  // namespace berth

#endif  // BERTH_SERVER_CONTAINER_MANAGER_H_
