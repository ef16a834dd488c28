#ifndef BERTH_CTL_CONTAINER_FORMAT_H_
#define BERTH_CTL_CONTAINER_FORMAT_H_

// The pure parts of berthctl's container verbs: flags to CRI requests, replies to tables.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/cri/api.pb.h"

namespace berth::ctl {

// "Created", "Running", "Exited", "Unknown".
const char* ContainerStateName(runtime::v1::ContainerState state);
// Parses "created", "running", "exited" or "unknown" (any case).
absl::StatusOr<runtime::v1::ContainerState> ParseContainerState(const std::string& name);

// "12s ago", "3m ago", "5h ago", "2d ago" for a time `now - created`.
std::string FormatAge(int64_t created_ns, absl::Time now);
// An id for a table: 13 characters; "sha256:<hex>" loses its prefix first.
std::string ShortId(const std::string& id);
// Decimal units as crictl prints them: "0B", "512B", "1.5kB", "12.3MB", "1.07GB".
std::string HumanBytes(uint64_t bytes);
// "512", "64k", "32Mi", "1G", "2gi" (k/m/g decimal-free: all powers of 1024, as docker's
// --memory) to bytes; InvalidArgument names the text.
absl::StatusOr<int64_t> ParseBytes(const std::string& text);

struct PsFlags {
  bool all = false;
  std::string pod;                  // pod id prefix
  std::string name;                 // substring of the container name
  std::string state;                // created|running|exited|unknown
  std::vector<std::string> labels;  // key=value
  std::string id;                   // container id prefix
  bool quiet = false;
};

// The server-side filter for `ps`: state (running unless -a or --state) and labels.
absl::StatusOr<runtime::v1::ContainerFilter> PsFilter(const PsFlags& flags);
// `ps` output: the containers that also match the id, pod and name flags, newest first, as a
// table (CONTAINER, IMAGE, CREATED, STATE, NAME, ATTEMPT, POD ID) or ids alone (-q).
std::string FormatPs(const std::vector<runtime::v1::Container>& containers, const PsFlags& flags,
                     absl::Time now);

struct UpdateFlags {
  std::optional<int64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;
  std::optional<int64_t> cpu_period;
  std::string memory;  // ParseBytes text; empty: unchanged
  std::string cpuset_cpus;
  std::string cpuset_mems;
};

// The UpdateContainerResources request for `id`: only the flags given are set (zero fields
// mean "leave as is" to the runtime). InvalidArgument when no flag was given.
absl::StatusOr<runtime::v1::UpdateContainerResourcesRequest> UpdateRequest(
    const std::string& id, const UpdateFlags& flags);

// `stats` output: CONTAINER, NAME, CPU %, MEM, DISK, INODES. With `before` (a sample taken
// earlier), CPU is the percentage of one core between the samples; a container missing from
// `before` shows its cumulative CPU seconds instead ("12.5s").
std::string FormatStats(const std::vector<runtime::v1::ContainerStats>& now,
                        const std::vector<runtime::v1::ContainerStats>& before);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_FORMAT_H_
