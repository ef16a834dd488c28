#include "oci/cgroup_mode.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::oci {

absl::StatusOr<CgroupMode> DetectCgroupMode(const std::string& root) {
  struct statfs fs;
  if (::statfs(root.c_str(), &fs) != 0) return ErrnoStatus(errno, "inspecting " + root);
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return CgroupMode::kUnified;
  if (fs.f_type != TMPFS_MAGIC) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " is neither a cgroup2 mount nor a tmpfs of cgroup v1 controllers"));
  }
  std::string unified = root + "/unified";
  if (::statfs(unified.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
    return CgroupMode::kHybrid;
  }
  return CgroupMode::kLegacy;
}

const char* CgroupModeName(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kLegacy:
      return "v1";
    case CgroupMode::kHybrid:
      return "v1 (hybrid, with an empty cgroup2 at unified/)";
    case CgroupMode::kUnified:
      return "v2";
  }
  return "unknown";
}

}  // namespace berth::oci
