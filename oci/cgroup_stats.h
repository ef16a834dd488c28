#ifndef BERTH_OCI_CGROUP_STATS_H_
#define BERTH_OCI_CGROUP_STATS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "oci/cgroup_mode.h"

namespace berth::oci {

// One sample of a container's cgroup, as ContainerStats reports it.
struct CgroupStats {
  uint64_t cpu_usage_ns = 0;              // cumulative CPU time
  uint64_t memory_usage_bytes = 0;        // memory.usage_in_bytes / memory.current
  uint64_t memory_working_set_bytes = 0;  // usage minus inactive file cache (not below 0)
  uint64_t memory_rss = 0;                // total_rss (v1) / anon (v2)
  uint64_t memory_page_faults = 0;
  uint64_t memory_major_page_faults = 0;
  absl::Time timestamp;  // when it was read
};

// Where a container's cgroup lives. v1: one directory per controller (empty when that
// controller is not mounted); v2: `unified` only.
struct ContainerCgroupDirs {
  bool v2 = false;
  std::string unified;
  std::string cpuacct, memory, cpu, cpuset, pids, hugetlb;
};

// The directories of the cgroup `cgroups_path` (the spec's linux.cgroupsPath: "/a/b/c" for
// cgroupfs, or "slice:prefix:name" for systemd) under `root` (normally /sys/fs/cgroup). v1
// controller directories are found by listing `root` ("cpu,cpuacct", "memory", ...). A hybrid
// host counts as v1.
absl::StatusOr<ContainerCgroupDirs> FindContainerCgroupDirs(const std::string& root,
                                                            CgroupMode mode,
                                                            const std::string& cgroups_path);

// "kubepods-burstable-pod1.slice:berth:abc" ->
// "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/berth-abc.scope";
// a cgroupfs path is returned as it is (with a leading '/').
std::string CgroupsPathToDir(const std::string& cgroups_path);

// v1: cpuacct.usage, memory.usage_in_bytes and memory.stat.
absl::StatusOr<CgroupStats> ReadCgroupV1Stats(const std::string& cpuacct_dir,
                                              const std::string& memory_dir);
// v2: cpu.stat, memory.current and memory.stat.
absl::StatusOr<CgroupStats> ReadCgroupV2Stats(const std::string& dir);
// Either, by `dirs.v2`.
absl::StatusOr<CgroupStats> ReadCgroupStats(const ContainerCgroupDirs& dirs);

}  // namespace berth::oci

#endif  // BERTH_OCI_CGROUP_STATS_H_
