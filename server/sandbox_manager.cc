// RunPodSandbox: validate, reserve the name, then set the pod up step by step, each step
// registering its undo (DESIGN §3).
#include "server/sandbox_manager.h"

#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/record_file.h"
#include "common/sealed_copy.h"
#include "common/status.h"
#include "common/undo.h"
#include "sandbox/pod_files.h"
#include "sandbox/shm.h"
#include "server/monitor_ops.h"
#include "server/sandbox_validate.h"

namespace berth {
namespace {

using state::v1::SandboxRecord;

// What the monitor tries for its own oom_score_adj; hosts that forbid lowering it keep it.
constexpr int kMonitorOomScoreAdj = -999;

std::string HostName() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace

SandboxPaths SandboxManager::Paths(const std::string& id) const {
  return SandboxPaths{
      .record_dir = absl::StrCat(options_.config->root, "/sandboxes/", id),
      .pod_dir = absl::StrCat(options_.config->runroot, "/pods/", id),
  };
}

cni::ExecOptions SandboxManager::CniOptions() const {
  return cni::ExecOptions{.plugin_dirs = options_.config->plugin_dirs};
}

absl::Status SandboxManager::Persist(Sandbox& sandbox) {
  std::string data;
  sandbox.record.set_schema_version(1);
  if (!sandbox.record.SerializeToString(&data)) {
    return absl::InternalError("serializing the sandbox record");
  }
  return WriteRecordFile(Paths(sandbox.record.id()).RecordFile(), data);
}

absl::StatusOr<std::string> SandboxManager::Run(const runtime::v1::RunPodSandboxRequest& request) {
  RETURN_IF_ERROR(
      ValidatePodConfig(request.config(), request.runtime_handler(), *options_.config));
  std::string name = sandbox::PodSandboxName(request.config().metadata());
  while (true) {
    std::shared_ptr<InFlight> wait;
    std::shared_ptr<Sandbox> existing;
    std::shared_ptr<InFlight> mine;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = in_flight_.find(name); it != in_flight_.end()) {
        wait = it->second;
      } else if (std::string holder = names_.Holder(name); !holder.empty()) {
        auto found = sandboxes_.find(holder);
        if (found != sandboxes_.end()) existing = found->second;
      } else {
        mine = std::make_shared<InFlight>();
        in_flight_[name] = mine;
      }
    }
    if (wait != nullptr) {
      // An identical request is being served: its outcome is ours.
      wait->done.WaitForNotification();
      if (wait->result.ok()) return wait->result;
      continue;
    }
    if (existing != nullptr) {
      absl::ReaderMutexLock lock(&existing->mu);
      if (existing->record.state() == SandboxRecord::READY && !existing->removed) {
        return existing->record.id();
      }
      return absl::AlreadyExistsError(absl::StrCat("pod sandbox name ", name,
                                                   " is reserved for ", existing->record.id(),
                                                   ", which is not ready"));
    }
    if (mine == nullptr) continue;  // the holder went away meanwhile
    absl::StatusOr<std::string> result = RunNew(request, name);
    absl::MutexLock lock(&mu_);
    mine->result = result;
    in_flight_.erase(name);
    mine->done.Notify();
    return result;
  }
}

absl::StatusOr<std::string> SandboxManager::RunNew(const runtime::v1::RunPodSandboxRequest& request,
                                                   const std::string& name) {
  auto sandbox = std::make_shared<Sandbox>();
  std::string id = NewId();
  RETURN_IF_ERROR(names_.Reserve(name, id));
  UndoStack undo;
  undo.Push("name reservation", [this, name, id] {
    names_.Release(name, id);
    return absl::OkStatus();
  });
  absl::MutexLock lock(&sandbox->mu);
  SandboxRecord& record = sandbox->record;
  record.set_id(id);
  record.set_name(name);
  *record.mutable_config() = request.config();
  record.set_state(SandboxRecord::CREATING);
  record.set_created_unix_nanos(absl::ToUnixNanos(absl::Now()));
  record.set_runtime_handler(request.runtime_handler().empty() ? options_.config->default_runtime
                                                               : request.runtime_handler());
  absl::Status status = SetUp(*sandbox, undo);
  if (!status.ok()) {
    LOG_WARN("RunPodSandbox {} ({}) failed: {}", name, id, status);
    return Annotate(status, absl::StrCat("running pod sandbox ", name));
  }
  undo.Dismiss();
  {
    absl::MutexLock map_lock(&mu_);
    sandboxes_[id] = sandbox;
  }
  LOG_INFO("pod sandbox {} ({}) is ready", name, id);
  return id;
}

absl::Status SandboxManager::SetUp(Sandbox& sandbox, UndoStack& undo) {
  SandboxRecord& record = sandbox.record;
  const runtime::v1::PodSandboxConfig& config = record.config();
  SandboxPaths paths = Paths(record.id());
  PodNamespaces ns = PodNamespacesOf(config);

  RETURN_IF_ERROR(MakeDirs(paths.record_dir, 0700));
  RETURN_IF_ERROR(MakeDirs(paths.pod_dir, 0711));
  undo.Push("pod directories", [paths] {
    absl::Status status = RemoveAll(paths.pod_dir);
    absl::Status record_status = RemoveAll(paths.record_dir);
    return status.ok() ? record_status : status;
  });
  // Before the network's, so that a failure releases the network while its namespace is still
  // pinned; nothing to do until the monitor is launched.
  undo.Push("pod monitor", [this, &sandbox] {
    if (sandbox.record.monitor_pid() == 0) return absl::OkStatus();
    absl::Status status = StopMonitor(MonitorStopFor(sandbox));
    sandbox.monitor.reset();
    return status;
  });
  std::optional<cni::Attachment> pending;
  if (!ns.host_network) {
    ASSIGN_OR_RETURN(pending, PrepareNetwork(sandbox, undo));
  }
  // Mounted while CNI ADD runs: recorded first, so that a crash meanwhile still unmounts it.
  if (!ns.host_ipc) {
    record.set_shm_path(paths.ShmDir());
    undo.Push("pod /dev/shm", [paths] { return sandbox::UnmountShm(paths.ShmDir()); });
  }
  // CREATING, with the attachment about to be made and the shm. The monitor's pid and pins
  // come with READY; a restart finds them at their fixed paths meanwhile.
  RETURN_IF_ERROR(Persist(sandbox));

  if (!config.linux().cgroup_parent().empty()) {
    ASSIGN_OR_RETURN(std::string relative,
                     sandbox::CgroupRelativePath(config.linux().cgroup_parent()));
    ASSIGN_OR_RETURN(std::vector<std::string> created,
                     sandbox::CreateCgroup(options_.cgroups, relative));
    record.set_cgroup_path(relative);
    for (const std::string& dir : created) record.add_created_cgroups(dir);
    undo.Push("pod cgroup", [created] { return sandbox::RemoveCgroups(created); });
    // Only what was created needs undoing after a crash (the kubelet makes pod cgroups itself).
    if (!created.empty()) RETURN_IF_ERROR(Persist(sandbox));
  }

  RETURN_IF_ERROR(LaunchAndAttach(sandbox, pending));

  sandbox::PodFilesOptions files;
  files.dir = paths.pod_dir;
  files.hostname = ns.host_network ? HostName() : config.hostname();
  if (files.hostname.empty()) files.hostname = config.metadata().name();
  files.ips.assign(record.ips().begin(), record.ips().end());
  files.dns = config.has_dns_config() ? &config.dns_config() : nullptr;
  files.host_network = ns.host_network;
  RETURN_IF_ERROR(sandbox::WritePodFiles(files));

  record.set_state(SandboxRecord::READY);
  return Persist(sandbox);
}

int SandboxManager::RuntimeImage(const std::string& path) const {
  absl::MutexLock lock(&images_mu_);
  auto it = runtime_images_.find(path);
  if (it != runtime_images_.end()) return it->second.get();
  absl::StatusOr<UniqueFd> copy = MakeSealedCopy(path);
  if (!copy.ok()) {
    LOG_WARN("monitors run {} from its file: {}", path, copy.status());
    return -1;
  }
  return runtime_images_.emplace(path, std::move(*copy)).first->second.get();
}

mon::LaunchOptions SandboxManager::MonitorLaunchFor(const SandboxRecord& record) const {
  const runtime::v1::PodSandboxConfig& config = record.config();
  SandboxPaths paths = Paths(record.id());
  PodNamespaces ns = PodNamespacesOf(config);
  const RuntimeHandler& handler = options_.config->runtimes.at(record.runtime_handler());

  mon::LaunchOptions launch;
  launch.berth_mon_path = options_.monitor_path;
  monitor::v1::LaunchConfig& mc = launch.config;
  mc.set_pod_id(record.id());
  mc.set_pod_dir(paths.pod_dir);
  mc.set_ns_dir(options_.config->runroot + "/ns");
  mc.set_new_net(!ns.host_network);
  mc.set_new_ipc(!ns.host_ipc);
  mc.set_new_uts(!ns.host_network);
  mc.set_new_pid(ns.shared_pid);
  if (!ns.host_network) {
    mc.set_hostname(config.hostname().empty() ? config.metadata().name() : config.hostname());
  }
  for (const auto& [key, value] : config.linux().sysctls()) (*mc.mutable_sysctls())[key] = value;
  mc.set_runtime_path(options_.runtime_paths.at(record.runtime_handler()));
  launch.runtime_image_fd = RuntimeImage(mc.runtime_path());
  mc.set_runtime_root(handler.runtime_root);
  mc.set_log_level(options_.config->log_level);
  mc.set_oom_score_adj(kMonitorOomScoreAdj);
  return launch;
}

absl::StatusOr<cni::Attachment> SandboxManager::PrepareNetwork(Sandbox& sandbox, UndoStack& undo) {
  SandboxRecord& record = sandbox.record;
  SandboxPaths paths = Paths(record.id());
  std::shared_ptr<const cni::NetworkSet> networks = options_.network->Networks();
  const cni::NetworkConfig* network = networks == nullptr ? nullptr : networks->Default();
  if (network == nullptr) {
    std::string why = networks == nullptr ? "not loaded" : networks->Status().message;
    return absl::FailedPreconditionError(absl::StrCat("no CNI network is ready: ", why));
  }
  cni::Attachment pending;
  // Where the monitor pins the network namespace.
  std::string netns = absl::StrCat(options_.config->runroot, "/ns/net/", record.id());
  pending.request = AttachRequestFor(record.id(), netns, record.config());
  pending.network = *network;
  // Cached before ADD, so that a crash in the middle still gets its DEL on the next start.
  RETURN_IF_ERROR(cni::SaveAttachment(paths.CniCache(), pending));
  record.set_network_attached(true);
  undo.Push("CNI attachment", [this, &sandbox, pending, paths] {
    const cni::Attachment& attachment =
        sandbox.attachment.has_value() ? *sandbox.attachment : pending;
    RETURN_IF_ERROR(cni::Del(attachment, CniOptions()));
    sandbox.attachment.reset();
    sandbox.record.set_network_attached(false);
    ::unlink(paths.CniCache().c_str());
    return absl::OkStatus();
  });
  return pending;
}

// The monitor's launch, CNI ADD, the monitor connection and the shm, overlapped: a helper
// thread launches the monitor (which makes and pins the namespaces), then connects to it and
// mounts /dev/shm, while CNI ADD starts its first plugin and hands it its input once the
// network namespace is pinned. Without a network it all runs here.
absl::Status SandboxManager::LaunchAndAttach(Sandbox& sandbox,
                                             const std::optional<cni::Attachment>& pending) {
  SandboxRecord& record = sandbox.record;
  SandboxPaths paths = Paths(record.id());
  mon::LaunchOptions launch = MonitorLaunchFor(record);
  bool shm = !record.shm_path().empty();
  absl::StatusOr<monitor::v1::LaunchResult> launched = absl::UnknownError("not launched");
  absl::Notification pinned;
  std::unique_ptr<mon::MonitorClient> client;
  absl::Status shm_status;
  auto launch_and_connect = [&, id = record.id(), lost = sandbox.monitor_lost] {
    launched = mon::LaunchMonitor(launch);
    pinned.Notify();
    if (!launched.ok()) return;
    client = DialMonitor(id, lost);
    if (shm) shm_status = sandbox::MountShm(paths.ShmDir());
  };
  absl::StatusOr<cni::Attachment> attached;
  if (pending.has_value()) {
    std::thread helper(launch_and_connect);
    attached = cni::Add(pending->network, pending->request, CniOptions(), [&] {
      pinned.WaitForNotification();
      return launched.status();
    });
    helper.join();
  } else {
    launch_and_connect();
  }
  RETURN_IF_ERROR(launched.status());
  record.set_monitor_pid(launched->pid());
  for (const auto& [type, pin] : launched->namespaces()) {
    (*record.mutable_namespaces())[type] = pin;
  }
  sandbox.monitor = std::move(client);
  if (pending.has_value()) RETURN_IF_ERROR(attached.status());
  RETURN_IF_ERROR(shm_status);
  if (sandbox.monitor == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("the pod monitor (pid ", record.monitor_pid(), ") is not answering"));
  }
  if (!pending.has_value()) return absl::OkStatus();
  RETURN_IF_ERROR(cni::SaveAttachment(paths.CniCache(), *attached));
  for (const std::string& ip : attached->result.PodIps()) record.add_ips(ip);
  sandbox.attachment = *std::move(attached);
  return absl::OkStatus();  // the READY record written next carries the IPs
}

MonitorStopRequest SandboxManager::MonitorStopFor(Sandbox& sandbox) {
  return MonitorStopRequest{
      .client = sandbox.monitor.get(),
      .monitor_pid = sandbox.record.monitor_pid(),
      .pod_dir = Paths(sandbox.record.id()).pod_dir,
      .namespaces = {sandbox.record.namespaces().begin(), sandbox.record.namespaces().end()},
  };
}

void SandboxManager::ConnectMonitor(Sandbox& sandbox) {
  sandbox.monitor = DialMonitor(sandbox.record.id(), sandbox.monitor_lost);
}

std::unique_ptr<mon::MonitorClient> SandboxManager::DialMonitor(
    const std::string& id, std::shared_ptr<std::atomic<bool>> lost) {
  absl::StatusOr<std::unique_ptr<mon::MonitorClient>> client = mon::MonitorClient::Connect(
      Paths(id).MonitorSocket(),
      [this, id](const monitor::v1::Event& event) {
        if (options_.on_event) options_.on_event(id, event);
      },
      [lost, id] {
        lost->store(true);
        LOG_WARN("the monitor of pod sandbox {} is gone", id);
      });
  if (!client.ok()) {
    LOG_WARN("cannot reach the monitor of pod sandbox {}: {}", id, client.status());
    lost->store(true);
    return nullptr;
  }
  lost->store(false);
  return *std::move(client);
}

}  // namespace berth
