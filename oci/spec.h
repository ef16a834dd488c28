#ifndef BERTH_OCI_SPEC_H_
#define BERTH_OCI_SPEC_H_

// The OCI runtime spec (config.json, runtime-spec 1.0.2 as runc 1.1 reads it) of a container,
// built from its CRI ContainerConfig, the pod's sandbox and the image config.
//
// BuildSpec (spec.cc) runs one part-function per area of the spec, each in its own file:
//   spec_image_config.cc  ParseImageConfig (the OCI image config blob)
//   spec_process.cc       process: args, env, cwd, terminal, capabilities, oomScoreAdj, nnp
//   spec_user.cc          process.user (CRI run_as_* or the image User, resolved in the rootfs)
//   spec_mounts.cc        mounts: the defaults, the sandbox files, the CRI mounts
//   spec_linux.cc         linux: namespaces, cgroupsPath, masked/readonly paths, devices
//   spec_resources.cc     linux.resources from LinuxContainerResources (ResourcesToOci)
//   spec_annotations.cc   annotations
//   signals.cc            StopSignal and signal names
// The security-context parts (seccomp, AppArmor, SELinux, capability add/drop, privileged,
// CRI masked/readonly paths, devices, sysctls) plug in as more part-functions: see
// oci/spec_parts.h and the list in BuildSpec.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "proto/cri/api.pb.h"

namespace berth::oci {

// The parts of an OCI image config ("config": {...}) that shape a container.
struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user, stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> volumes;  // the config's "Volumes" keys (container paths)
};

// Parses an OCI (or Docker) image config blob. Missing or null fields stay empty; a blob that
// is not JSON, or a field of the wrong type, is InvalidArgument.
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view config_json);

// What the sandbox (pod) provides to its containers.
struct SandboxInfo {
  std::string pod_id, hostname;
  // "net", "ipc", "uts", "pid": the pinned namespace paths; an absent key means the host's.
  std::map<std::string, std::string> namespace_paths;
  bool pid_per_container = false;  // pid mode CONTAINER: each container gets a new pid ns
  std::string shm_path, hosts_path, resolv_conf_path, hostname_path;
  std::string cgroup_parent;  // relative cgroup path (cgroupfs) or a slice name (systemd)
  bool systemd_cgroup = false;
};

// What this host's kernel offers for LSMs (detected by DetectHostSecurity when SpecInput
// leaves it unset; tests set it).
struct HostSecurity {
  bool apparmor_enabled = false;
  bool selinux_enabled = false;
  // Whether an AppArmor profile of this name is loaded (only asked when apparmor_enabled).
  std::function<bool(const std::string&)> apparmor_profile_loaded;
};

struct SpecInput {
  const runtime::v1::ContainerConfig* config = nullptr;
  const runtime::v1::PodSandboxConfig* sandbox_config = nullptr;
  ImageConfig image;
  SandboxInfo sandbox;
  std::string container_id, container_name, rootfs;
  std::string image_name;         // as requested
  std::string image_ref;          // the image id
  int min_oom_score_adj = -1000;  // the lowest this host allows; oomScoreAdj is clamped to it
  std::optional<HostSecurity> host_security;  // unset: detected from this host
  // PID mode TARGET: the target container's pid namespace (/proc/<pid>/ns/pid).
  std::string target_pid_namespace;
  // Where the anonymous directories for the image's Volumes live (one per volume; BuildSpec
  // makes it, with them, when the image has any; its parent must exist); empty: the image's
  // Volumes are not mounted.
  std::string volumes_dir;
};

// The whole config.json. InvalidArgument for bad input (no command, a missing host path of a
// mount, an unknown user...), with a message that names what is wrong.
absl::StatusOr<nlohmann::json> BuildSpec(const SpecInput& input);

// The signal that stops the container, as a decimal string: the CRI stop_signal, else the
// image's StopSignal, else SIGTERM ("15"). An image signal that is not understood counts as
// unset.
std::string StopSignal(const runtime::v1::ContainerConfig& config, const ImageConfig& image);

// "SIGTERM", "TERM", "term", "15", "SIGRTMIN+3", "RTMAX-1" -> the number; nullopt if unknown.
std::optional<int> ParseSignal(absl::string_view name);

// The cgroupsPath for the spec: "/<cgroup_parent>/berth-<id>" (cgroupfs) or
// "<slice>:berth:<id>" (systemd).
std::string ContainerCgroupsPath(const SandboxInfo& sandbox, const std::string& container_id);

}  // namespace berth::oci

#endif  // BERTH_OCI_SPEC_H_
