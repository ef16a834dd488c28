#ifndef BERTH_TESTS_BENCH_FLOOR_OPS_H_
#define BERTH_TESTS_BENCH_FLOOR_OPS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

// The physical operations under a pod and a container, done directly (no daemon): what
// berth-bench-floor times. See tests/bench/README.md.
namespace berth::bench::floor {

// A new namespace of each `clone_flags` type (CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS), made by
// unshare(2) on a short-lived thread and pinned by bind mounts at `<dir>/<type>`: as a runtime
// keeps a pod's namespaces without a process in them. Unpin() undoes it.
absl::Status PinNamespaces(int clone_flags, const std::string& dir);
void Unpin(const std::string& path);

// A CNI network configuration list and where its plugins are.
struct CniChain {
  std::string name;
  std::string cni_version;
  std::vector<nlohmann::json> plugins;
  std::vector<std::string> plugin_dirs;
};

absl::StatusOr<CniChain> LoadConflist(const std::string& path,
                                      const std::vector<std::string>& plugin_dirs);

// ADD through every plugin in order, each getting the previous result as prevResult, with the
// CNI_* environment of the spec; the last plugin's result.
absl::StatusOr<nlohmann::json> CniAdd(const CniChain& chain, const std::string& container_id,
                                      const std::string& netns);

// DEL through every plugin in reverse order, with `result` (from CniAdd) as prevResult.
absl::Status CniDel(const CniChain& chain, const std::string& container_id,
                    const std::string& netns, const nlohmann::json& result);

// runc on one bundle.
struct Runc {
  std::string binary = "/usr/sbin/runc";
  std::string root;    // --root: a private state directory
  std::string bundle;  // holds config.json and rootfs/
  std::string log;     // stdout and stderr of runc create (and of the container)
};

// A busybox bundle: rootfs/ with `busybox` and applet links, config.json from `runc spec`
// with args `sleep 3600`, no terminal, and the network, IPC and UTS namespaces of the pins
// in `ns_dir` (see PinNamespaces).
absl::Status MakeBundle(const Runc& runc, const std::string& busybox, const std::string& ns_dir);

// `runc create` (waited for) then `runc start`; the container's pid. The caller must be a
// child subreaper so that it can reap the container in KillAndDelete.
absl::StatusOr<pid_t> CreateAndStart(const Runc& runc, const std::string& id);
// `runc kill <id> KILL`, waits for the container's exit, `runc delete <id>`.
absl::Status KillAndDelete(const Runc& runc, const std::string& id, pid_t pid);
// `runc exec <id> <args...>`.
absl::Status Exec(const Runc& runc, const std::string& id, const std::vector<std::string>& args);

}  // namespace berth::bench::floor

#endif  // BERTH_TESTS_BENCH_FLOOR_OPS_H_
