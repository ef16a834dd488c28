#ifndef BERTH_SANDBOX_SHM_H_
#define BERTH_SANDBOX_SHM_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace berth::sandbox {

inline constexpr int64_t kDefaultShmBytes = 64 << 20;

// Mounts a tmpfs for the pod's /dev/shm at `path` (created 0755 if missing; the mount is
// mode 1777, nosuid, nodev, noexec, size=`bytes`).
absl::Status MountShm(const std::string& path, int64_t bytes = kDefaultShmBytes);

// Unmounts (detaching when busy) and removes the directory; succeeds when there is no mount
// and no directory.
absl::Status UnmountShm(const std::string& path);

}  // namespace berth::sandbox

#endif  // BERTH_SANDBOX_SHM_H_
