#ifndef BERTH_OCI_CGROUP_MODE_H_
#define BERTH_OCI_CGROUP_MODE_H_

#include <string>

#include "absl/status/statusor.h"

namespace berth::oci {

// How the host mounts cgroups.
enum class CgroupMode {
  kLegacy,   // v1 controllers on a tmpfs, no cgroup2
  kHybrid,   // v1 controllers, plus an (empty) cgroup2 at <root>/unified
  kUnified,  // cgroup v2 only
};

// Looks at the filesystem types under `root` (normally /sys/fs/cgroup).
absl::StatusOr<CgroupMode> DetectCgroupMode(const std::string& root = "/sys/fs/cgroup");

const char* CgroupModeName(CgroupMode mode);

}  // namespace berth::oci

#endif  // BERTH_OCI_CGROUP_MODE_H_
