#include "cni/attachment.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cni/plugin_exec.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::cni {
namespace {

using nlohmann::json;

constexpr int kCacheFormatVersion = 1;
constexpr size_t kMaxCacheFileBytes = 4 << 20;

// Whether the network's version is `min` or newer (both among SupportedCniVersions()).
bool VersionAtLeast(absl::string_view version, absl::string_view min) {
  int have = -1;
  int want = -1;
  const std::vector<std::string>& versions = SupportedCniVersions();
  for (size_t i = 0; i < versions.size(); ++i) {
    if (versions[i] == version) have = static_cast<int>(i);
    if (versions[i] == min) want = static_cast<int>(i);
  }
  return have >= 0 && want >= 0 && have >= want;
}

// The netns path to pass on DEL: empty when it no longer names a network namespace (removed, or
// a pin file whose mount is gone), so plugins only release what they hold.
std::string LiveNetns(const std::string& path) {
  if (path.empty()) return path;
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "";
    return path;  // let the plugin report what is wrong
  }
  return fs.f_type == NSFS_MAGIC ? path : "";
}

std::string ContextOf(absl::string_view verb, const NetworkConfig& network,
                      const AttachRequest& request) {
  return absl::StrCat(verb, " sandbox ", request.container_id, " on network ", network.name);
}

// The plugins of one ADD or DEL, called one after another; each that StartsEarly is started
// while the one before it still runs (its Go runtime's start-up overlaps that plugin's work),
// and acts only once it is called.
class PluginPipeline {
 public:
  PluginPipeline(const NetworkConfig& network, absl::string_view command,
                 std::vector<std::string> env, const ExecOptions& options)
      : network_(network), command_(command), env_(std::move(env)), options_(options) {}

  // Starts `plugin` now if it may be; a failure to start is left for its turn to report.
  void StartAhead(const PluginConfig& plugin) {
    ahead_.reset();
    if (!StartsEarly(plugin)) return;
    absl::StatusOr<StartedPlugin> started = StartPlugin(network_, plugin, command_, env_, options_);
    if (started.ok()) ahead_.emplace(&plugin, *std::move(started));
  }

  // Kills the plugin started ahead, if any: it never acts.
  void Cancel() { ahead_.reset(); }

  // Calls `plugin` with `config`, having started `next` (when set) ahead.
  absl::StatusOr<std::string> Call(const PluginConfig& plugin, const json& config,
                                   const PluginConfig* next) {
    absl::StatusOr<StartedPlugin> current = absl::UnknownError("not started");
    if (ahead_.has_value() && ahead_->first == &plugin) {
      current = std::move(ahead_->second);
    } else {
      current = StartPlugin(network_, plugin, command_, env_, options_);
    }
    ahead_.reset();
    if (!current.ok()) return current.status();
    if (next != nullptr) StartAhead(*next);
    return FinishPlugin(*current, config, options_);
  }

 private:
  const NetworkConfig& network_;
  std::string command_;
  std::vector<std::string> env_;
  const ExecOptions& options_;
  std::optional<std::pair<const PluginConfig*, StartedPlugin>> ahead_;
};

// Runs `command` for one plugin of an attachment-level call (CHECK).
absl::StatusOr<std::string> CallPlugin(absl::string_view command, const NetworkConfig& network,
                                       const PluginConfig& plugin, const AttachRequest& request,
                                       const std::string& netns, const json* prev_result,
                                       const ExecOptions& options) {
  return InvokePlugin(network, plugin, command, PluginStdin(network, plugin, request, prev_result),
                      PluginEnv(command, &request, netns, options), options);
}

// Undoes a failed ADD; `prev_result` is the last result a plugin returned (null if none).
void RollBack(const NetworkConfig& network, const AttachRequest& request, json prev_result,
              const ExecOptions& options) {
  Attachment partial{.request = request, .network = network};
  partial.result.raw = std::move(prev_result);
  if (absl::Status status = Del(partial, options); !status.ok()) {
    LOG_WARN("cleaning up after a failed CNI ADD: {}", status.ToString());
  }
}

json RequestToJson(const AttachRequest& request) {
  json ports = json::array();
  for (const PortMapping& port : request.port_mappings) {
    ports.push_back({{"hostPort", port.host_port},
                     {"containerPort", port.container_port},
                     {"protocol", port.protocol},
                     {"hostIP", port.host_ip}});
  }
  return {{"containerID", request.container_id},
          {"netns", request.netns},
          {"ifname", request.ifname},
          {"podName", request.pod_name},
          {"podNamespace", request.pod_namespace},
          {"podUID", request.pod_uid},
          {"portMappings", std::move(ports)},
          {"ingressBps", request.ingress_bps},
          {"egressBps", request.egress_bps},
          {"dnsServers", request.dns_servers},
          {"dnsSearches", request.dns_searches},
          {"dnsOptions", request.dns_options},
          {"ipRanges", request.ip_ranges}};
}

// Throws json::exception on a wrong type; the caller turns that into InvalidArgument.
AttachRequest RequestFromJson(const json& doc) {
  AttachRequest request;
  request.container_id = doc.at("containerID").get<std::string>();
  request.netns = doc.value("netns", "");
  request.ifname = doc.value("ifname", "eth0");
  request.pod_name = doc.value("podName", "");
  request.pod_namespace = doc.value("podNamespace", "");
  request.pod_uid = doc.value("podUID", "");
  for (const json& port : doc.value("portMappings", json::array())) {
    request.port_mappings.push_back(PortMapping{
        .host_port = port.at("hostPort").get<int32_t>(),
        .container_port = port.at("containerPort").get<int32_t>(),
        .protocol = port.value("protocol", "tcp"),
        .host_ip = port.value("hostIP", ""),
    });
  }
  request.ingress_bps = doc.value("ingressBps", int64_t{0});
  request.egress_bps = doc.value("egressBps", int64_t{0});
  request.dns_servers = doc.value("dnsServers", std::vector<std::string>());
  request.dns_searches = doc.value("dnsSearches", std::vector<std::string>());
  request.dns_options = doc.value("dnsOptions", std::vector<std::string>());
  request.ip_ranges = doc.value("ipRanges", std::vector<std::string>());
  return request;
}

absl::StatusOr<Attachment> AttachmentFromJson(const json& doc) {
  Attachment attachment;
  json network_raw;
  std::string network_file;
  try {
    if (doc.value("version", 0) != kCacheFormatVersion) {
      return absl::InvalidArgumentError("unknown cache format version");
    }
    attachment.request = RequestFromJson(doc.at("request"));
    network_raw = doc.at("network").at("raw");
    network_file = doc.at("network").value("file", "");
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed attachment: ", e.what()));
  }
  ASSIGN_OR_RETURN(attachment.network,
                   ParseNetworkConfigList(network_raw.dump(), std::move(network_file)));
  if (auto it = doc.find("result"); it != doc.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(attachment.result, ParseResult(it->dump()));
  }
  return attachment;
}

}  // namespace

absl::StatusOr<Attachment> Add(const NetworkConfig& network, const AttachRequest& request,
                               const ExecOptions& options,
                               const std::function<absl::Status()>& netns_ready) {
  std::string context = ContextOf("attaching", network, request);
  if (network.plugins.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": the network has no plugins"));
  }
  if (request.container_id.empty() || request.netns.empty() || request.ifname.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": container id, netns and ifname are required"));
  }
  PluginPipeline pipeline(network, "ADD", PluginEnv("ADD", &request, request.netns, options),
                          options);
  if (netns_ready) {
    pipeline.StartAhead(network.plugins.front());
    RETURN_IF_ERROR(netns_ready());  // no plugin has acted yet
  }
  json prev;  // null before the first plugin
  Result result;
  for (size_t i = 0; i < network.plugins.size(); ++i) {
    const PluginConfig& plugin = network.plugins[i];
    const PluginConfig* next = i + 1 < network.plugins.size() ? &network.plugins[i + 1] : nullptr;
    absl::StatusOr<Result> parsed;
    absl::StatusOr<std::string> out = pipeline.Call(
        plugin, PluginStdin(network, plugin, request, prev.is_null() ? nullptr : &prev), next);
    if (out.ok()) {
      parsed = ParseResult(*out);
      if (!parsed.ok()) {
        parsed = Annotate(parsed.status(),
                          absl::StrCat("network ", network.name, ": plugin ", plugin.type, " ADD"));
      }
    } else {
      parsed = out.status();
    }
    if (!parsed.ok()) {
      pipeline.Cancel();
      RollBack(network, request, std::move(prev), options);
      return Annotate(parsed.status(), context);
    }
    result = *std::move(parsed);
    prev = result.raw;
  }
  LOG_INFO("{}: {}", context, absl::StrJoin(result.PodIps(), ", "));
  return Attachment{.request = request, .network = network, .result = std::move(result)};
}

absl::Status Del(const Attachment& attachment, const ExecOptions& options) {
  const NetworkConfig& network = attachment.network;
  const AttachRequest& request = attachment.request;
  std::string netns = LiveNetns(request.netns);
  const json* prev = nullptr;
  if (VersionAtLeast(network.cni_version, "0.4.0") && !attachment.result.raw.is_null()) {
    prev = &attachment.result.raw;
  }
  PluginPipeline pipeline(network, "DEL", PluginEnv("DEL", &request, netns, options), options);
  // Every plugin runs even when one fails, so that a failing plugin does not keep the IPAM
  // plugin from releasing the address; the first error is returned.
  absl::Status first;
  for (auto it = network.plugins.rbegin(); it != network.plugins.rend(); ++it) {
    const PluginConfig* next = it + 1 != network.plugins.rend() ? &*(it + 1) : nullptr;
    absl::Status status =
        pipeline.Call(*it, PluginStdin(network, *it, request, prev), next).status();
    if (!status.ok()) {
      LOG_WARN("{}: {}", ContextOf("detaching", network, request), status.ToString());
      if (first.ok()) first = status;
    }
  }
  return Annotate(first, ContextOf("detaching", network, request));
}

absl::Status Check(const Attachment& attachment, const ExecOptions& options) {
  const NetworkConfig& network = attachment.network;
  const AttachRequest& request = attachment.request;
  if (!VersionAtLeast(network.cni_version, "0.4.0") || network.disable_check) {
    return absl::OkStatus();
  }
  std::string context = ContextOf("checking", network, request);
  if (attachment.result.raw.is_null()) {
    return absl::FailedPreconditionError(absl::StrCat(context, ": no cached ADD result"));
  }
  for (const PluginConfig& plugin : network.plugins) {
    RETURN_IF_ERROR(Annotate(CallPlugin("CHECK", network, plugin, request, request.netns,
                                        &attachment.result.raw, options)
                                 .status(),
                             context));
  }
  return absl::OkStatus();
}

absl::Status Gc(const NetworkConfig& network, const std::vector<Attachment>& valid,
                const ExecOptions& options) {
  if (!VersionAtLeast(network.cni_version, "1.1.0") || network.disable_gc) {
    return absl::UnimplementedError(absl::StrCat(
        "network ", network.name, ": GC needs cniVersion 1.1.0 without disableGC (it has ",
        network.cni_version, network.disable_gc ? ", disableGC" : "", ")"));
  }
  json attachments = json::array();
  for (const Attachment& attachment : valid) {
    if (attachment.network.name != network.name) continue;
    attachments.push_back(
        {{"containerID", attachment.request.container_id}, {"ifname", attachment.request.ifname}});
  }
  std::vector<std::string> errors;
  for (const PluginConfig& plugin : network.plugins) {
    json config = plugin.raw.is_object() ? plugin.raw : json::object();
    config["name"] = network.name;
    config["cniVersion"] = network.cni_version;
    config["cni.dev/valid-attachments"] = attachments;
    absl::Status status =
        InvokePlugin(network, plugin, "GC", config, PluginEnv("GC", nullptr, "", options), options)
            .status();
    if (!status.ok()) errors.emplace_back(status.message());
  }
  if (!errors.empty()) return absl::InternalError(absl::StrJoin(errors, "; "));
  return absl::OkStatus();
}

absl::Status SaveAttachment(const std::string& path, const Attachment& attachment) {
  json doc = {
      {"version", kCacheFormatVersion},
      {"request", RequestToJson(attachment.request)},
      {"network", {{"file", attachment.network.file}, {"raw", attachment.network.raw}}},
      {"result", attachment.result.raw},
  };
  // Beside the pod's record and kept the same way (common/record_file.h): read back only by a
  // berthd restarting on the same boot, so atomic against a crash but not fsynced (which
  // costs 1.5-3 ms twice per RunPodSandbox on ext4). A cache lost to a power loss is rebuilt
  // from the record for the DEL.
  return Annotate(WriteFileAtomic(path, doc.dump(), 0600, Durability::kVolatile),
                  absl::StrCat("saving the CNI attachment ", path));
}

absl::StatusOr<Attachment> LoadAttachment(const std::string& path) {
  std::string context = absl::StrCat("loading the CNI attachment ", path);
  absl::StatusOr<std::string> text = ReadFile(path, kMaxCacheFileBytes);
  if (!text.ok()) return Annotate(text.status(), context);
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return absl::InvalidArgumentError(absl::StrCat(context, ": not JSON"));
  absl::StatusOr<Attachment> attachment = AttachmentFromJson(doc);
  if (!attachment.ok()) return Annotate(attachment.status(), context);
  return attachment;
}

}  // namespace berth::cni
