#ifndef BERTH_OCI_RUNTIME_CLI_H_
#define BERTH_OCI_RUNTIME_CLI_H_

// Invocations of the OCI runtime's command line (runc and compatibles) and parsing of its
// output. Only builds argv and stdin; running them is the caller's (berthd or berth-mon).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oci/spec_resources.h"  // ResourcesToOci
#include "proto/cri/api.pb.h"

namespace berth::oci {

struct RuntimeInvocation {
  std::vector<std::string> argv;
  std::string stdin_data;  // empty: nothing to write
};

// `<runtime> --root <root> update --resources - <id>` with the OCI LinuxResources JSON of
// `resources` on stdin. `root` may be empty (the runtime's default).
RuntimeInvocation UpdateResourcesInvocation(const std::string& runtime, const std::string& root,
                                            const std::string& container_id,
                                            const runtime::v1::LinuxContainerResources& resources);

// `<runtime> --root <root> state <id>`.
RuntimeInvocation StateInvocation(const std::string& runtime, const std::string& root,
                                  const std::string& container_id);

// The output of `runc state`.
struct RuntimeState {
  std::string id;
  std::string status;  // "creating", "created", "running", "paused", "stopped"
  int pid = 0;         // 0 when the container has no process
  std::string bundle;
};

// Parses `runc state` JSON; InvalidArgument when it is not the expected object.
absl::StatusOr<RuntimeState> ParseRuntimeState(absl::string_view json);

}  // namespace berth::oci

#endif  // BERTH_OCI_RUNTIME_CLI_H_
