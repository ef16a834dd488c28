#ifndef BERTH_COMMON_SEALED_COPY_H_
#define BERTH_COMMON_SEALED_COPY_H_

// A sealed in-memory copy of an executable: a memfd that can be neither written, grown,
// shrunk nor re-sealed. runc 1.1 copies its own binary into such a memfd on every `create` and
// `exec` (so that a container can never reach the host's runc through /proc/self/exe,
// CVE-2019-5736) unless it already runs from one sealed exactly so: berthd makes one copy of
// the runtime per handler and every berth-mon runs runc from it, which saves each container
// the copy (~2 ms and the binary's size in memory until it starts). The protection is the
// same: the container sees a memfd it cannot write.

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth {

// The seals runc checks for (its F_GET_SEALS must equal these, no more, no fewer).
unsigned SealedCopySeals();

// Copies the regular file at `path` into a new memfd (close-on-exec) and seals it.
absl::StatusOr<UniqueFd> MakeSealedCopy(const std::string& path);

// `fd` is a memfd sealed as MakeSealedCopy seals.
bool IsSealedCopy(int fd);

}  // namespace berth

#endif  // BERTH_COMMON_SEALED_COPY_H_
