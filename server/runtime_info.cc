#include "server/runtime_info.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status.h"
#include "common/version.h"
#include "nlohmann/json.hpp"
#include "oci/cgroup_mode.h"
#include "oci/runtime_binary.h"
#include "proto/state.pb.h"

namespace berth {
namespace {

constexpr char kRuntimeName[] = "berth";
constexpr char kApiVersion[] = "v1";
constexpr uint32_t kRecordSchema = 1;

// "10.244.1.0/24" or a dual-stack list "10.244.1.0/24,fd00:1::/64".
bool IsCidrList(const std::string& text) {
  if (text.size() > 256) return false;
  for (absl::string_view cidr : absl::StrSplit(text, ',')) {
    std::pair<std::string, std::string> parts = absl::StrSplit(cidr, absl::MaxSplits('/', 1));
    unsigned char addr[16];
    int max_prefix = 0;
    if (::inet_pton(AF_INET, parts.first.c_str(), addr) == 1) {
      max_prefix = 32;
    } else if (::inet_pton(AF_INET6, parts.first.c_str(), addr) == 1) {
      max_prefix = 128;
    } else {
      return false;
    }
    int prefix;
    if (!absl::SimpleAtoi(parts.second, &prefix) || prefix < 0 || prefix > max_prefix) {
      return false;
    }
  }
  return true;
}

}  // namespace

RuntimeInfo::RuntimeInfo(const Config& config, std::function<NetworkCondition()> network)
    : config_(config), network_(std::move(network)) {}

std::string RuntimeInfo::RecordPath() const { return absl::StrCat(config_.root, "/runtime.pb"); }

absl::Status RuntimeInfo::Load() {
  if (::access(RecordPath().c_str(), F_OK) != 0) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(RecordPath(), 1 << 20));
  berth::state::v1::RuntimeRecord record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(RecordPath(), " is not a runtime record"));
  }
  absl::MutexLock lock(&mu_);
  pod_cidr_ = record.pod_cidr();
  return absl::OkStatus();
}

runtime::v1::VersionResponse RuntimeInfo::Version() const {
  runtime::v1::VersionResponse response;
  response.set_version("0.1.0");  // the CRI API version of the kubelet's first CRI
  response.set_runtime_name(kRuntimeName);
  response.set_runtime_version(kVersion);
  response.set_runtime_api_version(kApiVersion);
  return response;
}

runtime::v1::RuntimeCondition RuntimeInfo::RuntimeCondition() const {
  runtime::v1::RuntimeCondition condition;
  condition.set_type("RuntimeReady");
  const RuntimeHandler& handler = config_.runtimes.at(config_.default_runtime);
  absl::StatusOr<std::string> binary =
      oci::ResolveRuntimeBinary(config_.default_runtime, handler.runtime_path);
  condition.set_status(binary.ok());
  if (!binary.ok()) {
    condition.set_reason("RuntimeBinaryMissing");
    condition.set_message(std::string(binary.status().message()));
  }
  return condition;
}

runtime::v1::StatusResponse RuntimeInfo::Status(bool verbose) const {
  runtime::v1::StatusResponse response;
  runtime::v1::RuntimeStatus* status = response.mutable_status();
  *status->add_conditions() = RuntimeCondition();
  NetworkCondition network = network_();
  runtime::v1::RuntimeCondition* net = status->add_conditions();
  net->set_type("NetworkReady");
  net->set_status(network.ready);
  net->set_reason(network.reason);
  net->set_message(network.message);

  // "" is the default handler; each configured handler is listed by name as well.
  response.add_runtime_handlers()->set_name("");
  for (const auto& [name, handler] : config_.runtimes) {
    response.add_runtime_handlers()->set_name(name);
  }
  if (!verbose) return response;

  auto& info = *response.mutable_info();
  info["config"] = ConfigToJson(config_).dump();
  nlohmann::json runtime = {{"name", kRuntimeName}, {"version", kVersion}};
  absl::StatusOr<oci::CgroupMode> mode = oci::DetectCgroupMode();
  runtime["cgroupMode"] = mode.ok() ? oci::CgroupModeName(*mode) : mode.status().ToString();
  {
    absl::MutexLock lock(&mu_);
    runtime["podCIDR"] = pod_cidr_;
  }
  info["runtime"] = runtime.dump();
  return response;
}

runtime::v1::RuntimeConfigResponse RuntimeInfo::RuntimeConfig() const {
  runtime::v1::RuntimeConfigResponse response;
  response.mutable_linux()->set_cgroup_driver(
      config_.cgroup_manager == "systemd" ? runtime::v1::SYSTEMD : runtime::v1::CGROUPFS);
  return response;
}

absl::Status RuntimeInfo::UpdateRuntimeConfig(
    const runtime::v1::UpdateRuntimeConfigRequest& request) {
  const std::string& cidr = request.runtime_config().network_config().pod_cidr();
  // The kubelet sends an empty CIDR when it has none; keep what we know then.
  if (cidr.empty()) return absl::OkStatus();
  if (!IsCidrList(cidr)) {
    return absl::InvalidArgumentError(absl::StrCat("pod_cidr \"", cidr, "\" is not a CIDR"));
  }
  absl::MutexLock lock(&mu_);
  if (cidr == pod_cidr_) return absl::OkStatus();
  berth::state::v1::RuntimeRecord record;
  record.set_schema_version(kRecordSchema);
  record.set_pod_cidr(cidr);
  RETURN_IF_ERROR(Annotate(WriteFileAtomic(RecordPath(), record.SerializeAsString(), 0600),
                           "saving the pod CIDR"));
  pod_cidr_ = cidr;
  return absl::OkStatus();
}

}  // namespace berth
