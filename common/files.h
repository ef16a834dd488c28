#ifndef BERTH_COMMON_FILES_H_
#define BERTH_COMMON_FILES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// kDurable: the new content survives a power loss (fsync the file, then the directory).
// kVolatile: for files that mean nothing after a reboot (bundles, pod files under the
// runroot): no fsync, so a berthd crash still sees old or new, never a mix.
enum class Durability { kDurable, kVolatile };

// Replaces `path` with `data` so that a reader (or a crash) sees either the old or the whole
// new content: write a temp file beside it, (fsync,) rename over, (fsync the directory).
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode = 0644,
                             Durability durability = Durability::kDurable);

// Writes all of `data` to `fd`, retrying short writes and EINTR; `what` names the target in
// errors ("writing <what>: ...").
absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what);

// fsync(2) of a directory, so that entries created or renamed in it survive a crash.
absl::Status SyncDirectory(const std::string& dir);

// Reads a whole regular file, refusing one larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Creates `path` and its missing parents with `mode`. Existing directories are fine.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Removes `path` and everything under it without following symbolic links and without
// crossing into other mounts. A missing path is fine.
absl::Status RemoveAll(const std::string& path);

}  // namespace berth

#endif  // BERTH_COMMON_FILES_H_
