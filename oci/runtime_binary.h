#ifndef BERTH_OCI_RUNTIME_BINARY_H_
#define BERTH_OCI_RUNTIME_BINARY_H_

#include <string>

#include "absl/status/statusor.h"

namespace berth::oci {

// The OCI runtime binary for a handler: `configured_path` when set (it must be an executable
// regular file), else `handler_name` looked up in PATH. The error names the handler.
absl::StatusOr<std::string> ResolveRuntimeBinary(const std::string& handler_name,
                                                 const std::string& configured_path);

// The first line of `<binary> --version` (e.g. "runc version 1.1.5"), with a short timeout.
absl::StatusOr<std::string> RuntimeVersion(const std::string& binary);

}  // namespace berth::oci

#endif  // BERTH_OCI_RUNTIME_BINARY_H_
