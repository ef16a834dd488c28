#ifndef BERTH_CNI_PLUGIN_EXEC_H_
#define BERTH_CNI_PLUGIN_EXEC_H_

// The pieces of one CNI plugin call: its environment, its stdin configuration, and running it.
// attachment.cc strings these together into ADD/DEL/CHECK/GC of a whole list.

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cni/attachment.h"
#include "cni/network_config.h"
#include "common/spawn.h"
#include "nlohmann/json.hpp"

namespace berth::cni {

// Plugin output (stdout) larger than this is refused.
inline constexpr size_t kMaxPluginOutputBytes = 1 << 20;

// The burst passed with a bandwidth limit (bits), as kubelet's dockershim and ocicni do.
inline constexpr int64_t kBandwidthBurstBits = 2147483647;  // math.MaxInt32

// "IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;
// K8S_POD_UID=..".
std::string CniArgs(const AttachRequest& request);

// The whole environment of a plugin call: CNI_COMMAND, CNI_PATH and PATH, plus, when
// `request` is set, CNI_CONTAINERID, CNI_NETNS (= `netns`), CNI_IFNAME and CNI_ARGS.
std::vector<std::string> PluginEnv(absl::string_view command, const AttachRequest* request,
                                   absl::string_view netns, const ExecOptions& options);

// The "runtimeConfig" object for `plugin`: only the capabilities it declares, and only those the
// request has a value for. An empty object when there is none.
nlohmann::json RuntimeConfig(const PluginConfig& plugin, const AttachRequest& request);

// A plugin's stdin for ADD/DEL/CHECK: its own object plus the list's "name" and "cniVersion",
// "runtimeConfig" (when not empty) and "prevResult" (when `prev_result` is set and not null).
nlohmann::json PluginStdin(const NetworkConfig& network, const PluginConfig& plugin,
                           const AttachRequest& request, const nlohmann::json* prev_result);

// Runs `plugin` with `command`, `config` as stdin and `env`, returning its stdout. Errors name
// the network, the plugin and the command: DeadlineExceeded on timeout, the plugin's JSON
// error (code, msg, details) or stderr when it fails.
absl::StatusOr<std::string> InvokePlugin(const NetworkConfig& network, const PluginConfig& plugin,
                                         absl::string_view command, const nlohmann::json& config,
                                         std::vector<std::string> env, const ExecOptions& options);

// InvokePlugin in two steps (common/spawn.h PendingCommand): StartPlugin execs the plugin,
// which then waits for its stdin; FinishPlugin gives it `config` and returns as InvokePlugin
// does. The plugin's start-up (a Go runtime's, 3-4 ms of CPU for the reference plugins) then
// overlaps whatever comes before its turn. Destroying an unfinished one kills it.
struct StartedPlugin {
  std::string what;  // "network N: plugin T COMMAND", for errors
  PendingCommand command;
};
absl::StatusOr<StartedPlugin> StartPlugin(const NetworkConfig& network, const PluginConfig& plugin,
                                          absl::string_view command, std::vector<std::string> env,
                                          const ExecOptions& options);
absl::StatusOr<std::string> FinishPlugin(StartedPlugin& plugin, const nlohmann::json& config,
                                         const ExecOptions& options);

// Whether `plugin` may be started before its turn: the reference plugins (containernetworking
// /plugins, built on skel) read their whole stdin before they act, so nothing they do moves
// ahead of the previous plugin. Any other plugin runs strictly in turn.
bool StartsEarly(const PluginConfig& plugin);

}  // namespace berth::cni

#endif  // BERTH_CNI_PLUGIN_EXEC_H_
