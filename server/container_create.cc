// CreateContainer: reserve the name, resolve the image, mount the overlay rootfs, write the
// OCI bundle, and have the pod's monitor run `runc create` (DESIGN §3).
#include <fcntl.h>
#include <unistd.h>

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/record_file.h"
#include "common/status.h"
#include "common/undo.h"
#include "oci/cgroup_stats.h"
#include "oci/rootfs.h"
#include "oci/selinux.h"
#include "oci/spec.h"
#include "sandbox/sysctl.h"
#include "server/container_manager.h"
#include "server/sandbox_validate.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

// The pod as a container sees it, copied under the pod's lock.
struct PodView {
  std::string id;
  runtime::v1::PodSandboxConfig config;
  std::map<std::string, std::string> namespaces;
  std::string pod_dir;
  std::string cgroup_path;
  std::string shm_path;
  std::string runtime_path;
  std::string runtime_root;
  std::shared_ptr<mon::MonitorClient> monitor;
};

absl::StatusOr<PodView> ViewPod(SandboxManager& sandboxes, const std::string& pod_id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sandbox, sandboxes.Find(pod_id));
  absl::ReaderMutexLock lock(&sandbox->mu);
  const state::v1::SandboxRecord& record = sandbox->record;
  if (sandbox->removed || record.state() != state::v1::SandboxRecord::READY ||
      sandbox->monitor_lost->load() || sandbox->monitor == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("pod sandbox ", record.id(), " is not ready"));
  }
  PodView view;
  view.id = record.id();
  view.config = record.config();
  view.namespaces = {record.namespaces().begin(), record.namespaces().end()};
  view.pod_dir = sandboxes.Paths(record.id()).pod_dir;
  view.cgroup_path = record.cgroup_path();
  view.shm_path = record.shm_path();
  const SandboxManager::Options& options = sandboxes.options();
  view.runtime_path = options.runtime_paths.at(record.runtime_handler());
  view.runtime_root = options.config->runtimes.at(record.runtime_handler()).runtime_root;
  view.monitor = sandbox->monitor;
  return view;
}

// The lowest oom_score_adj this process may give: root cannot go below its own value on
// hosts that forbid lowering it, so the spec is clamped there.
// Read once: berthd's own value does not change while it runs.
int MinOomScoreAdj() {
  static const int kMin = [] {
    absl::StatusOr<std::string> text = ReadFile("/proc/self/oom_score_adj");
    int value = -1000;
    if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value)) return value;
    return -1000;
  }();
  return kMin;
}

// "<log_directory>/<log_path>": relative, no "..", parent created.
absl::StatusOr<std::string> LogPath(const runtime::v1::PodSandboxConfig& pod,
                                    const runtime::v1::ContainerConfig& config) {
  if (config.log_path().empty() || pod.log_directory().empty()) return std::string();
  const std::string& rel = config.log_path();
  if (rel[0] == '/' || rel.find("..") != std::string::npos || rel.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("log_path \"", rel, "\" must stay inside the pod's log directory"));
  }
  std::string path = absl::StrCat(pod.log_directory(), "/", rel);
  RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/')), 0755));
  return path;
}

absl::Status ValidateContainerConfig(const runtime::v1::ContainerConfig& config) {
  if (!config.has_metadata() || config.metadata().name().empty()) {
    return absl::InvalidArgumentError("container metadata.name is empty");
  }
  for (char c : config.metadata().name()) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '/') {
      return absl::InvalidArgumentError("container metadata.name holds a forbidden character");
    }
  }
  if (config.image().image().empty()) return absl::InvalidArgumentError("container image is empty");
  return absl::OkStatus();
}

// The pod's sysctls go into every container's spec (the CRI has none per container): checked
// again with the pod's rules, the host's namespaces as the pod has them.
absl::Status ValidateContainerSysctls(const runtime::v1::PodSandboxConfig& pod) {
  PodNamespaces ns = PodNamespacesOf(pod);
  return Annotate(
      sandbox::ValidateSysctls(
          PodSysctls(pod), sandbox::HostNamespaces{.network = ns.host_network, .ipc = ns.host_ipc}),
      "container sysctls");
}

// PID mode TARGET: /proc/<pid>/ns/pid of namespace_options.target_id, which must be a running
// container of the same pod. "" for the other modes.
absl::StatusOr<std::string> TargetPidNamespace(
    const runtime::v1::ContainerConfig& config, const std::string& pod_id,
    const std::function<absl::StatusOr<std::shared_ptr<Container>>(const std::string&)>& find) {
  const runtime::v1::NamespaceOption& ns = config.linux().security_context().namespace_options();
  if (ns.pid() != runtime::v1::TARGET) return std::string();
  if (ns.target_id().empty()) {
    return absl::InvalidArgumentError("pid namespace mode TARGET without a target_id");
  }
  absl::StatusOr<std::shared_ptr<Container>> target = find(ns.target_id());
  if (!target.ok()) {
    return absl::NotFoundError(
        absl::StrCat("target container ", ns.target_id(), " of pid mode TARGET not found"));
  }
  absl::ReaderMutexLock lock(&(*target)->mu);
  const ContainerRecord& record = (*target)->record;
  if ((*target)->removed || record.pod_id() != pod_id) {
    return absl::NotFoundError(absl::StrCat("target container ", ns.target_id(),
                                            " of pid mode TARGET is not in pod ", pod_id));
  }
  if (record.state() != ContainerRecord::RUNNING || record.pid() <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("target container ", ns.target_id(), " of pid mode TARGET is not running"));
  }
  std::string path = absl::StrCat("/proc/", record.pid(), "/ns/pid");
  if (::access(path.c_str(), F_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("target container ", ns.target_id(), " of pid mode TARGET has no process"));
  }
  return path;
}

// CRI mounts with selinux_relabel get the container's mount label (a no-op without SELinux;
// system paths are refused either way).
absl::Status RelabelMounts(const runtime::v1::ContainerConfig& config, const nlohmann::json& spec) {
  std::string label;
  if (spec.contains("linux")) label = spec["linux"].value("mountLabel", "");
  for (const runtime::v1::Mount& mount : config.mounts()) {
    if (!mount.selinux_relabel() || mount.host_path().empty()) continue;
    RETURN_IF_ERROR(Annotate(oci::RelabelVolume(mount.host_path(), label),
                             absl::StrCat("relabelling mount ", mount.container_path())));
  }
  return absl::OkStatus();
}

oci::SandboxInfo SandboxInfoOf(const std::string& pod_id, const PodView& pod,
                               const std::string& pod_dir) {
  oci::SandboxInfo info;
  info.pod_id = pod_id;
  info.hostname = pod.config.hostname();
  info.namespace_paths = pod.namespaces;
  info.pid_per_container =
      pod.config.linux().security_context().namespace_options().pid() == runtime::v1::CONTAINER;
  info.shm_path = pod.shm_path;
  info.hosts_path = pod_dir + "/hosts";
  info.resolv_conf_path = pod_dir + "/resolv.conf";
  info.hostname_path = pod_dir + "/hostname";
  info.cgroup_parent = pod.cgroup_path;
  return info;
}

}  // namespace

ContainerPaths ContainerManager::Paths(const std::string& id) const {
  return ContainerPaths{
      .record_dir = absl::StrCat(options_.config->root, "/containers/", id),
      .bundle = absl::StrCat(options_.config->runroot, "/containers/", id),
  };
}

absl::Status ContainerManager::Persist(Container& container) {
  // Every state change is persisted: the cached unfiltered listing goes with it.
  list_cache_.Changed();
  std::string data;
  container.record.set_schema_version(1);
  if (!container.record.SerializeToString(&data)) {
    return absl::InternalError("serializing the container record");
  }
  return WriteRecordFile(Paths(container.record.id()).RecordFile(), data);
}

absl::StatusOr<std::string> ContainerManager::Create(
    const runtime::v1::CreateContainerRequest& request) {
  const runtime::v1::ContainerConfig& config = request.config();
  RETURN_IF_ERROR(ValidateContainerConfig(config));
  RETURN_IF_ERROR(CheckUnifiedResources(config.linux().resources()));
  ASSIGN_OR_RETURN(PodView pod, ViewPod(*options_.sandboxes, request.pod_sandbox_id()));
  RETURN_IF_ERROR(ValidateContainerSysctls(pod.config));
  ASSIGN_OR_RETURN(std::string target_pid_namespace,
                   TargetPidNamespace(config, pod.id,
                                      [this](const std::string& target) { return Find(target); }));
  ASSIGN_OR_RETURN(ImageManager::ResolvedImage image,
                   options_.images->Resolve(config.image().image()));
  ASSIGN_OR_RETURN(oci::ImageConfig image_config, oci::ParseImageConfig(image.config_json));
  const std::string& pod_id = pod.id;

  std::string id = NewId();
  std::string name = sandbox::ContainerName(config.metadata(), pod.config.metadata());
  RETURN_IF_ERROR(names_.Reserve(name, id));
  // runc create attaches the container to its cgroups: the kernel's wait for that (a grace
  // period) runs from here, alongside the work below and runc's own start.
  oci::CgroupAttachWarmer::Lease warm = WarmCgroupAttach(absl::Seconds(1));
  UndoStack undo;
  undo.Push("container name", [this, name, id] {
    names_.Release(name, id);
    return absl::OkStatus();
  });

  auto container = std::make_shared<Container>();
  absl::MutexLock lock(&container->mu);
  ContainerRecord& record = container->record;
  record.set_id(id);
  record.set_pod_id(pod_id);
  record.set_name(name);
  *record.mutable_config() = config;
  record.set_state(ContainerRecord::CREATING);
  record.set_created_unix_nanos(absl::ToUnixNanos(absl::Now()));
  record.set_image_id(image.id);
  record.set_image_name(config.image().image());
  record.set_runtime_path(pod.runtime_path);
  record.set_runtime_root(pod.runtime_root);
  *record.mutable_resources() = config.linux().resources();
  ASSIGN_OR_RETURN(std::string log_path, LogPath(pod.config, config));
  record.set_log_path(log_path);

  ContainerPaths paths = Paths(id);
  RETURN_IF_ERROR(MakeDirs(paths.Upper(), 0755));
  RETURN_IF_ERROR(MakeDirs(paths.Work(), 0700));
  RETURN_IF_ERROR(MakeDirs(paths.Rootfs(), 0755));
  // The image's Volumes: one directory each under it, made by BuildSpec only when the image
  // has any (one mkdir less per container otherwise); removed with record_dir.
  const std::string volumes_dir = paths.record_dir + "/volumes";
  undo.Push("container directories", [paths] {
    absl::Status status = RemoveAll(paths.bundle);
    absl::Status record_status = RemoveAll(paths.record_dir);
    return status.ok() ? record_status : status;
  });
  RETURN_IF_ERROR(Persist(*container));

  std::vector<std::string> lowers(image.layer_dirs.rbegin(), image.layer_dirs.rend());
  // Always writable here: runc makes the mount points it needs, then makes the root read-only
  // itself when the spec says so (root.readonly).
  RETURN_IF_ERROR(oci::MountOverlay(lowers, paths.Upper(), paths.Work(), paths.Rootfs(),
                                    /*readonly=*/false));
  record.set_rootfs_mounted(true);
  undo.Push("container rootfs", [paths] { return oci::UnmountRootfs(paths.Rootfs()); });

  oci::SpecInput input;
  input.config = &config;
  input.sandbox_config = &pod.config;
  input.image = image_config;
  input.sandbox = SandboxInfoOf(pod_id, pod, pod.pod_dir);
  input.container_id = id;
  input.container_name = config.metadata().name();
  input.rootfs = paths.Rootfs();
  input.image_name = config.image().image();
  input.image_ref = image.id;
  input.min_oom_score_adj = MinOomScoreAdj();
  input.target_pid_namespace = target_pid_namespace;
  input.volumes_dir = volumes_dir;
  ASSIGN_OR_RETURN(nlohmann::json spec, oci::BuildSpec(input));
  RETURN_IF_ERROR(RelabelMounts(config, spec));
  RETURN_IF_ERROR(WriteFileAtomic(paths.bundle + "/config.json", spec.dump(), 0600,
                                  Durability::kVolatile));
  record.set_cgroups_path(spec["linux"].value("cgroupsPath", ""));
  std::optional<int> signal = oci::ParseSignal(oci::StopSignal(config, image_config));
  record.set_stop_signal(signal.value_or(15));
  const nlohmann::json& user = spec["process"]["user"];
  record.mutable_user()->set_uid(user.value("uid", 0));
  record.mutable_user()->set_gid(user.value("gid", 0));
  if (user.contains("additionalGids")) {
    for (const auto& gid : user["additionalGids"]) record.mutable_user()->add_supplemental_groups(gid.get<int64_t>());
  }

  monitor::v1::Request create;
  monitor::v1::CreateContainer& body = *create.mutable_create_container();
  body.set_container_id(id);
  body.set_bundle(paths.bundle);
  body.set_log_path(log_path);
  body.set_tty(config.tty());
  body.set_stdin(config.stdin());
  body.set_stdin_once(config.stdin_once());
  absl::StatusOr<oci::ContainerCgroupDirs> dirs = oci::FindContainerCgroupDirs(
      options_.cgroup_root, options_.cgroup_mode, record.cgroups_path());
  if (dirs.ok()) body.set_cgroup_path(dirs->v2 ? dirs->unified : dirs->memory);
  body.set_runtime_path(pod.runtime_path);
  body.set_runtime_root(pod.runtime_root);
  // Registered before the call: a create that times out may still have happened, and
  // deleting an id the monitor does not know is fine.
  undo.Push("runtime container", [monitor = pod.monitor, id] {
    monitor::v1::Request remove;
    remove.mutable_delete_container()->set_container_id(id);
    return monitor->Call(remove, absl::Seconds(30)).status();
  });
  absl::StatusOr<monitor::v1::Response> created = pod.monitor->Call(create, absl::Seconds(90));
  if (!created.ok()) {
    return Annotate(created.status(), absl::StrCat("creating container ", name));
  }
  record.set_pid(created->create_container().pid());
  record.set_state(ContainerRecord::CREATED);
  RETURN_IF_ERROR(Persist(*container));
  undo.Dismiss();
  {
    absl::MutexLock map_lock(&mu_);
    containers_[id] = container;
    list_cache_.Changed();
  }
  LOG_INFO("container {} ({}) created in pod {}", name, id, pod_id);
  return id;
}

}  // namespace berth
