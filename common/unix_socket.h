#ifndef BERTH_COMMON_UNIX_SOCKET_H_
#define BERTH_COMMON_UNIX_SOCKET_H_

#include <string>

#include "absl/status/status.h"

namespace berth {

// Makes `path` ready for a server to bind: creates its directory, removes a stale socket left
// by a process that is gone, and fails with FailedPrecondition when a live server still
// answers on it, or when something other than a socket is in the way.
absl::Status PrepareSocketPath(const std::string& path);

// True when something accepts connections on the unix socket `path`.
bool SocketIsLive(const std::string& path);

}  // namespace berth

#endif  // BERTH_COMMON_UNIX_SOCKET_H_
