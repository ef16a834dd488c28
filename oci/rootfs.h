#ifndef BERTH_OCI_ROOTFS_H_
#define BERTH_OCI_ROOTFS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::oci {

// Mounts an overlay of `lower_dirs` (top-most first, as overlayfs wants) with the writable
// `upper` and `work` dirs at `target`; `readonly` makes the mount read-only. With no lower
// dirs an empty directory "<dirname(upper)>/empty-lower" stands in (overlay needs one). Uses the
// new mount API ("lowerdir+" per layer, any number of layers) and falls back to mount(2) with
// a joined lowerdir string when the kernel lacks it and the options fit in a page. A writable
// overlay is "volatile" where the kernel has it (no syncfs of the upper filesystem at unmount).
absl::Status MountOverlay(const std::vector<std::string>& lower_dirs, const std::string& upper,
                          const std::string& work, const std::string& target, bool readonly);

// Unmounts `target`, detaching it when it is busy. OK when nothing is mounted there or it
// does not exist.
absl::Status UnmountRootfs(const std::string& target);

struct DiskUsage {
  uint64_t bytes = 0;   // allocated bytes (st_blocks * 512), each hard-linked inode once
  uint64_t inodes = 0;  // the directory itself included
};

// Walks `dir` without following symbolic links and without crossing into other mounts.
absl::StatusOr<DiskUsage> MeasureDir(const std::string& dir);

}  // namespace berth::oci

namespace berth::oci::internal {

// The mount(2) fallback of MountOverlay, exposed for tests. `upper` may be empty (read-only).
absl::Status MountOverlayLegacy(const std::vector<std::string>& lower_dirs,
                                const std::string& upper, const std::string& work,
                                const std::string& target, bool readonly);

}  // namespace berth::oci::internal

#endif  // BERTH_OCI_ROOTFS_H_
