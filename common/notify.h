#ifndef BERTH_COMMON_NOTIFY_H_
#define BERTH_COMMON_NOTIFY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth {

// Sends `state` (e.g. "READY=1") to the service manager through $NOTIFY_SOCKET, as
// sd_notify(3) does. Without NOTIFY_SOCKET it does nothing and succeeds.
absl::Status NotifyServiceManager(absl::string_view state);

}  // namespace berth

#endif  // BERTH_COMMON_NOTIFY_H_
