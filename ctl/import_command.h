#ifndef BERTH_CTL_IMPORT_COMMAND_H_
#define BERTH_CTL_IMPORT_COMMAND_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/client.h"

namespace berth::ctl {

struct ImportFlags {
  std::string file;
  std::string tag;
  std::string format;  // "", "oci" or "docker"
};

// berthctl import FILE [--tag NAME]: streams an OCI layout or docker save archive to berthd
// (berth.admin.v1.Admin/ImportImage) and prints the imported ids and names. No deadline: a
// large archive takes as long as it takes.
absl::Status ImportImage(CriClient& client, const ImportFlags& flags, std::string& out);

}  // namespace berth::ctl

#endif  // BERTH_CTL_IMPORT_COMMAND_H_
