#include "cni/plugin_exec.h"

#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cni/config_dir.h"
#include "common/spawn.h"
#include "common/status.h"

namespace berth::cni {
namespace {

using nlohmann::json;

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The CNI error code that asks the runtime to try again later.
constexpr int kCniErrTryAgainLater = 11;

json PortMappings(const AttachRequest& request) {
  json out = json::array();
  for (const PortMapping& port : request.port_mappings) {
    json entry = {{"hostPort", port.host_port},
                  {"containerPort", port.container_port},
                  {"protocol", port.protocol}};
    if (!port.host_ip.empty()) entry["hostIP"] = port.host_ip;
    out.push_back(std::move(entry));
  }
  return out;
}

json Bandwidth(const AttachRequest& request) {
  json out = json::object();
  if (request.ingress_bps > 0) {
    out["ingressRate"] = request.ingress_bps;
    out["ingressBurst"] = kBandwidthBurstBits;
  }
  if (request.egress_bps > 0) {
    out["egressRate"] = request.egress_bps;
    out["egressBurst"] = kBandwidthBurstBits;
  }
  return out;
}

json Dns(const AttachRequest& request) {
  json out = json::object();
  if (!request.dns_servers.empty()) out["servers"] = request.dns_servers;
  if (!request.dns_searches.empty()) out["searches"] = request.dns_searches;
  if (!request.dns_options.empty()) out["options"] = request.dns_options;
  return out;
}

// One range set per subnet: [[{"subnet": a}], [{"subnet": b}]], as kubelet passes pod CIDRs.
json IpRanges(const AttachRequest& request) {
  json out = json::array();
  for (const std::string& subnet : request.ip_ranges) {
    out.push_back(json::array({json{{"subnet", subnet}}}));
  }
  return out;
}

// The plugin's error as the message of a Status, from its JSON error on stdout when it wrote
// one, else from the exit status and stderr.
absl::Status PluginFailure(const std::string& what, const SpawnResult& run) {
  json error = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (error.is_object() && error.contains("msg") && error["msg"].is_string()) {
    std::string text = absl::StrCat(what, " failed: ", error["msg"].get<std::string>());
    if (auto it = error.find("details");
        it != error.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      absl::StrAppend(&text, ": ", it->get<std::string>());
    }
    int code = 0;
    if (auto it = error.find("code"); it != error.end() && it->is_number_integer()) {
      code = it->get<int>();
      absl::StrAppend(&text, " (CNI error code ", code, ")");
    }
    return code == kCniErrTryAgainLater ? absl::UnavailableError(text) : absl::InternalError(text);
  }
  return absl::InternalError(absl::StrCat(what, " failed: ", run.Describe()));
}

}  // namespace

std::string CniArgs(const AttachRequest& request) {
  return absl::StrCat("IgnoreUnknown=1;K8S_POD_NAMESPACE=", request.pod_namespace,
                      ";K8S_POD_NAME=", request.pod_name,
                      ";K8S_POD_INFRA_CONTAINER_ID=", request.container_id,
                      ";K8S_POD_UID=", request.pod_uid);
}

std::vector<std::string> PluginEnv(absl::string_view command, const AttachRequest* request,
                                   absl::string_view netns, const ExecOptions& options) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): never set by Berth
  std::vector<std::string> env = {
      absl::StrCat("CNI_COMMAND=", command),
      absl::StrCat("CNI_PATH=", absl::StrJoin(options.plugin_dirs, ":")),
      absl::StrCat("PATH=", path != nullptr && *path != '\0' ? path : kDefaultPath),
  };
  if (request != nullptr) {
    env.push_back(absl::StrCat("CNI_CONTAINERID=", request->container_id));
    env.push_back(absl::StrCat("CNI_NETNS=", netns));
    env.push_back(absl::StrCat("CNI_IFNAME=", request->ifname));
    env.push_back(absl::StrCat("CNI_ARGS=", CniArgs(*request)));
  }
  return env;
}

json RuntimeConfig(const PluginConfig& plugin, const AttachRequest& request) {
  json out = json::object();
  if (plugin.HasCapability("portMappings") && !request.port_mappings.empty()) {
    out["portMappings"] = PortMappings(request);
  }
  if (plugin.HasCapability("bandwidth")) {
    if (json bandwidth = Bandwidth(request); !bandwidth.empty()) out["bandwidth"] = bandwidth;
  }
  if (plugin.HasCapability("dns")) {
    if (json dns = Dns(request); !dns.empty()) out["dns"] = dns;
  }
  if (plugin.HasCapability("ipRanges") && !request.ip_ranges.empty()) {
    out["ipRanges"] = IpRanges(request);
  }
  return out;
}

json PluginStdin(const NetworkConfig& network, const PluginConfig& plugin,
                 const AttachRequest& request, const json* prev_result) {
  json config = plugin.raw.is_object() ? plugin.raw : json::object();
  config["name"] = network.name;
  config["cniVersion"] = network.cni_version;
  // A runtimeConfig written in the file is not ours to pass on: only the runtime fills it.
  config.erase("runtimeConfig");
  if (json runtime = RuntimeConfig(plugin, request); !runtime.empty()) {
    config["runtimeConfig"] = std::move(runtime);
  }
  config.erase("prevResult");
  if (prev_result != nullptr && !prev_result->is_null()) config["prevResult"] = *prev_result;
  return config;
}

absl::StatusOr<std::string> InvokePlugin(const NetworkConfig& network, const PluginConfig& plugin,
                                         absl::string_view command, const json& config,
                                         std::vector<std::string> env, const ExecOptions& options) {
  ASSIGN_OR_RETURN(StartedPlugin started,
                   StartPlugin(network, plugin, command, std::move(env), options));
  return FinishPlugin(started, config, options);
}

absl::StatusOr<StartedPlugin> StartPlugin(const NetworkConfig& network, const PluginConfig& plugin,
                                          absl::string_view command, std::vector<std::string> env,
                                          const ExecOptions& options) {
  std::string what = absl::StrCat("network ", network.name, ": plugin ", plugin.type, " ", command);
  absl::StatusOr<std::string> binary = FindPlugin(plugin.type, options.plugin_dirs);
  if (!binary.ok()) return Annotate(binary.status(), what);
  SpawnOptions spawn{
      .argv = {*binary},
      .env = std::move(env),
      .timeout = options.timeout,
      .max_output = kMaxPluginOutputBytes + 1,
  };
  absl::StatusOr<PendingCommand> started = PendingCommand::Start(spawn);
  if (!started.ok()) return Annotate(started.status(), what);
  return StartedPlugin{.what = std::move(what), .command = *std::move(started)};
}

absl::StatusOr<std::string> FinishPlugin(StartedPlugin& plugin, const json& config,
                                         const ExecOptions& options) {
  const std::string& what = plugin.what;
  absl::StatusOr<SpawnResult> run = plugin.command.Finish(config.dump());
  if (!run.ok()) return Annotate(run.status(), what);
  if (run->timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(what, " timed out after ", absl::FormatDuration(options.timeout)));
  }
  if (run->out.size() > kMaxPluginOutputBytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": output larger than ", kMaxPluginOutputBytes, " bytes"));
  }
  if (!run->success()) return PluginFailure(what, *run);
  return std::move(run->out);
}

bool StartsEarly(const PluginConfig& plugin) {
  static constexpr absl::string_view kReferencePlugins[] = {
      "bandwidth", "bridge", "dummy", "firewall", "host-device", "ipvlan", "loopback", "macvlan",
      "portmap",   "ptp",    "sbr",   "tap",      "tuning",      "vlan",   "vrf"};
  for (absl::string_view type : kReferencePlugins) {
    if (plugin.type == type) return true;
  }
  return false;
}

}  // namespace berth::cni
