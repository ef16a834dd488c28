#ifndef BERTH_OCI_SPEC_RESOURCES_H_
#define BERTH_OCI_SPEC_RESOURCES_H_

#include "nlohmann/json.hpp"
#include "proto/cri/api.pb.h"

namespace berth::oci {

// The OCI LinuxResources object (cpu, memory, hugepageLimits, unified) for CRI resources:
// only the fields the CRI sets (non-zero / non-empty). Used by the spec (linux.resources) and by
// `runc update --resources -`. The oom_score_adj is a process setting, not here.
nlohmann::json ResourcesToOci(const runtime::v1::LinuxContainerResources& resources);

// The device cgroup rules every container gets: deny all, then allow mknod of any device and
// the standard character devices (null, zero, full, random, urandom, tty, ptmx, pts).
nlohmann::json DefaultDeviceRules();

}  // namespace berth::oci

#endif  // BERTH_OCI_SPEC_RESOURCES_H_
