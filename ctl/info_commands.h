#ifndef BERTH_CTL_INFO_COMMANDS_H_
#define BERTH_CTL_INFO_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/client.h"

namespace berth::ctl {

// `berthctl version`: the runtime's name and versions, in crictl's layout.
absl::Status Version(CriClient& client, std::string& out);

// `berthctl info`: Status with verbose info, as one JSON document (crictl info's shape).
absl::Status Info(CriClient& client, std::string& out);

}  // namespace berth::ctl

#endif  // BERTH_CTL_INFO_COMMANDS_H_
