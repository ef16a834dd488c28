#ifndef BERTH_SANDBOX_POD_CGROUP_H_
#define BERTH_SANDBOX_POD_CGROUP_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::sandbox {

// cgroup v1 (legacy or hybrid: the v1 controllers are used) or v2 (unified).
enum class CgroupVersion { kV1, kV2 };

struct CgroupOptions {
  // /sys/fs/cgroup normally; tests use a fake tree.
  std::string root = "/sys/fs/cgroup";
  CgroupVersion version = CgroupVersion::kV1;
  // v1 only: the hierarchy directories under `root` to use ("cpu,cpuacct", "memory", ...).
  // Empty (the default): the cgroup v1 mounts directly under `root` in /proc/self/mountinfo.
  std::vector<std::string> v1_controllers;
};

// The relative cgroup path for a `cgroup_parent` as the kubelet sends it: a cgroupfs path
// ("/kubepods/besteffort/pod<uid>") is used as is; a systemd slice name
// ("kubepods-besteffort-pod<uid>.slice") is expanded the systemd way
// ("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice").
// InvalidArgument for "..", NULs, or anything else that could leave the cgroup root.
absl::StatusOr<std::string> CgroupRelativePath(const std::string& cgroup_parent);

// The directories one cgroup path maps to: on v2 <root>/<path>; on v1 one per mounted
// controller hierarchy (<root>/<controller>/<path> for each directory under root that is a
// cgroup mount, the named "systemd" and hybrid "unified" ones included: runc makes the
// container cgroup, and so the pod path, in each).
std::vector<std::string> CgroupDirs(const CgroupOptions& options, const std::string& relative);

// Creates the pod cgroup (every missing directory along the path, in every hierarchy; on v1
// cpuset.cpus/cpuset.mems copied from the parent; on v2 the parents' cgroup.subtree_control
// enable the available controllers). Returns the directories it created, deepest last, so that
// the caller can persist them and remove exactly those.
absl::StatusOr<std::vector<std::string>> CreateCgroup(const CgroupOptions& options,
                                                      const std::string& relative);

// Removes `created` (as CreateCgroup returned them), deepest first; a directory already gone
// is fine; EBUSY is retried briefly (processes still exiting), then an error naming the dir.
// A created parent of another created dir that is busy or not empty (another pod's cgroup
// lives in it now) is left in place without an error: see what is left with CgroupsLeft.
absl::Status RemoveCgroups(const std::vector<std::string>& created);

// The entries of `created` that still exist.
std::vector<std::string> CgroupsLeft(const std::vector<std::string>& created);

}  // namespace berth::sandbox

#endif  // BERTH_SANDBOX_POD_CGROUP_H_
