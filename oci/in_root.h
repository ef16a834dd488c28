#ifndef BERTH_OCI_IN_ROOT_H_
#define BERTH_OCI_IN_ROOT_H_

#include <string>

#include "absl/status/statusor.h"

namespace berth::oci {

// Reads the regular file `path` of the tree at `root` (a container rootfs) as the container
// would see it: symbolic links and ".." resolve inside `root` (openat2 RESOLVE_IN_ROOT), so a
// hostile image cannot make the daemon read a host file. NotFound when it does not exist.
absl::StatusOr<std::string> ReadFileInRoot(const std::string& root, const std::string& path,
                                           size_t max_bytes = 4 << 20);

}  // namespace berth::oci

#endif  // BERTH_OCI_IN_ROOT_H_
