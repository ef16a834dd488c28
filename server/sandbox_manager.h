#ifndef BERTH_SERVER_SANDBOX_MANAGER_H_
#define BERTH_SERVER_SANDBOX_MANAGER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "cni/attachment.h"
#include "common/unique_fd.h"
#include "conmon/client.h"
#include "proto/cri/api.pb.h"
#include "proto/state.pb.h"
#include "sandbox/name_registry.h"
#include "sandbox/pod_cgroup.h"
#include "server/config.h"
#include "common/undo.h"
#include "server/monitor_ops.h"
#include "server/network_status.h"

namespace berth {

// One pod sandbox in memory. `mu` serializes its lifecycle steps (run, stop, remove); readers
// take it shared.
struct Sandbox {
  absl::Mutex mu;
  state::v1::SandboxRecord record ABSL_GUARDED_BY(mu);
  std::shared_ptr<mon::MonitorClient> monitor ABSL_GUARDED_BY(mu);
  std::optional<cni::Attachment> attachment ABSL_GUARDED_BY(mu);
  bool removed ABSL_GUARDED_BY(mu) = false;
  // Set (from the monitor client's reader thread, without `mu`) when the monitor hangs up: a
  // READY pod then reads as NOTREADY.
  std::shared_ptr<std::atomic<bool>> monitor_lost = std::make_shared<std::atomic<bool>>(false);
};

// What the pod lifecycle needs from the container side (set once containers exist).
class PodContainers {
 public:
  virtual ~PodContainers() = default;
  // Stops every container of the pod (idempotent). Called with the pod locked; `monitor` is
  // the pod's (null when it is gone).
  virtual absl::Status StopPodContainers(const std::string& pod_id,
                                         std::shared_ptr<mon::MonitorClient> monitor) = 0;
  // Removes every container of the pod (idempotent); same calling rules.
  virtual absl::Status RemovePodContainers(const std::string& pod_id,
                                           std::shared_ptr<mon::MonitorClient> monitor) = 0;
};

// Paths of a pod (DESIGN §4).
struct SandboxPaths {
  std::string record_dir;  // <root>/sandboxes/<id>: state.pb, cni-result.json
  std::string pod_dir;     // <runroot>/pods/<id>: mon.sock, hostname, hosts, resolv.conf, shm/
  std::string RecordFile() const { return record_dir + "/state.pb"; }
  std::string CniCache() const { return record_dir + "/cni-result.json"; }
  std::string MonitorSocket() const { return pod_dir + "/mon.sock"; }
  std::string ShmDir() const { return pod_dir + "/shm"; }
};

// RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus, ListPodSandbox, and the
// pods' records across restarts. Thread-safe.
class SandboxManager {
 public:
  struct Options {
    const Config* config = nullptr;
    const NetworkStatusSource* network = nullptr;
    std::string monitor_path;  // resolved berth-mon
    // Runtime handler name -> resolved runtime binary.
    std::map<std::string, std::string> runtime_paths;
    sandbox::CgroupOptions cgroups;
    // Events the monitors push (container exits), with the pod id.
    std::function<void(const std::string&, const monitor::v1::Event&)> on_event;
  };

  // Loads the records under <root>/sandboxes: READY pods reconnect to their monitors (or
  // become NOTREADY), CREATING leftovers are undone.
  static absl::StatusOr<std::unique_ptr<SandboxManager>> Open(Options options);
  ~SandboxManager();

  void SetContainers(PodContainers* containers) { containers_ = containers; }
  const Options& options() const { return options_; }

  absl::StatusOr<std::string> Run(const runtime::v1::RunPodSandboxRequest& request);
  absl::Status Stop(const std::string& id);
  absl::Status Remove(const std::string& id);
  absl::StatusOr<runtime::v1::PodSandboxStatusResponse> Status(const std::string& id,
                                                               bool verbose);
  std::vector<runtime::v1::PodSandbox> List(const runtime::v1::PodSandboxFilter& filter);

  // The pod with this id or unique id prefix; NotFound naming it otherwise.
  absl::StatusOr<std::shared_ptr<Sandbox>> Find(const std::string& id_or_prefix) const;
  SandboxPaths Paths(const std::string& id) const;
  // Every pod, for listings (lock each one to read it).
  std::vector<std::shared_ptr<Sandbox>> Snapshot() const;

 private:
  explicit SandboxManager(Options options) : options_(std::move(options)) {}

  // A Run in flight for one reserved name: identical retries wait on `done`.
  struct InFlight {
    absl::Notification done;
    absl::StatusOr<std::string> result = absl::UnknownError("in flight");
  };

  absl::StatusOr<std::string> RunNew(const runtime::v1::RunPodSandboxRequest& request,
                                     const std::string& name);
  absl::Status SetUp(Sandbox& sandbox, UndoStack& undo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  mon::LaunchOptions MonitorLaunchFor(const state::v1::SandboxRecord& record) const;
  // Chooses the network and caches the attachment about to be made (with its undo).
  absl::StatusOr<cni::Attachment> PrepareNetwork(Sandbox& sandbox, UndoStack& undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  // Launches the monitor and runs CNI ADD of `pending` (none: host network) alongside it, then
  // connects to the monitor and mounts the shm.
  absl::Status LaunchAndAttach(Sandbox& sandbox, const std::optional<cni::Attachment>& pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  MonitorStopRequest MonitorStopFor(Sandbox& sandbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  std::optional<cni::Attachment> AttachmentFromRecord(const state::v1::SandboxRecord& record);
  absl::Status StopLocked(Sandbox& sandbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  // `cgroups_left`, when given, receives the created parents that stayed (busy).
  absl::Status TearDown(Sandbox& sandbox, std::vector<std::string>* cgroups_left = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  void HandOverCgroups(const std::vector<std::string>& dirs);
  absl::Status Persist(Sandbox& sandbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  absl::Status Restore(const std::string& id);
  void CollectGarbage();
  void ConnectMonitor(Sandbox& sandbox) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sandbox.mu);
  // A client for pod `id`'s monitor, or null (logged) when it does not answer; `lost` follows
  // the connection.
  std::unique_ptr<mon::MonitorClient> DialMonitor(const std::string& id,
                                                  std::shared_ptr<std::atomic<bool>> lost);
  cni::ExecOptions CniOptions() const;

  Options options_;
  PodContainers* containers_ = nullptr;
  sandbox::NameRegistry names_;

  // The sealed copy of the runtime at `path` (common/sealed_copy.h) that monitors run it
  // from, made at the first launch; -1 when it cannot be made (the monitor runs the file).
  int RuntimeImage(const std::string& path) const;
  mutable absl::Mutex images_mu_;
  mutable std::map<std::string, UniqueFd> runtime_images_ ABSL_GUARDED_BY(images_mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Sandbox>> sandboxes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth

#endif  // BERTH_SERVER_SANDBOX_MANAGER_H_
