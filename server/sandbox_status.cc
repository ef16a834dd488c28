// PodSandboxStatus, ListPodSandbox and id lookup.
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "server/registry_util.h"
#include "server/sandbox_manager.h"
#include "server/sandbox_validate.h"

namespace berth {
namespace {

using state::v1::SandboxRecord;

runtime::v1::PodSandboxState CriState(const Sandbox& sandbox)
    ABSL_SHARED_LOCKS_REQUIRED(sandbox.mu) {
  return sandbox.record.state() == SandboxRecord::READY && !sandbox.monitor_lost->load()
             ? runtime::v1::SANDBOX_READY
             : runtime::v1::SANDBOX_NOTREADY;
}

runtime::v1::PodSandbox Summary(const Sandbox& sandbox) ABSL_SHARED_LOCKS_REQUIRED(sandbox.mu) {
  const SandboxRecord& record = sandbox.record;
  runtime::v1::PodSandbox item;
  item.set_id(record.id());
  *item.mutable_metadata() = record.config().metadata();
  item.set_state(CriState(sandbox));
  item.set_created_at(record.created_unix_nanos());
  *item.mutable_labels() = record.config().labels();
  *item.mutable_annotations() = record.config().annotations();
  item.set_runtime_handler(record.runtime_handler());
  return item;
}

std::string VerboseInfo(const Sandbox& sandbox) ABSL_SHARED_LOCKS_REQUIRED(sandbox.mu) {
  const SandboxRecord& record = sandbox.record;
  nlohmann::json info;
  info["pid"] = record.monitor_pid();
  info["monitorConnected"] = sandbox.monitor != nullptr && !sandbox.monitor_lost->load();
  info["name"] = record.name();
  info["runtimeHandler"] = record.runtime_handler();
  info["namespaces"] = nlohmann::json::object();
  for (const auto& [type, pin] : record.namespaces()) info["namespaces"][type] = pin;
  info["cgroupPath"] = record.cgroup_path();
  info["shm"] = record.shm_path();
  if (sandbox.attachment.has_value()) {
    info["cniNetwork"] = sandbox.attachment->network.name;
    info["cniResult"] = sandbox.attachment->result.raw;
  }
  info["config"] = ProtoJson(record.config());
  return info.dump();
}

}  // namespace

std::vector<std::shared_ptr<Sandbox>> SandboxManager::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return Values(sandboxes_);
}

absl::StatusOr<std::shared_ptr<Sandbox>> SandboxManager::Find(
    const std::string& id_or_prefix) const {
  absl::MutexLock lock(&mu_);
  return FindByIdPrefix(sandboxes_, id_or_prefix, "pod sandbox");
}

absl::StatusOr<runtime::v1::PodSandboxStatusResponse> SandboxManager::Status(
    const std::string& id, bool verbose) {
  ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sandbox, Find(id));
  absl::ReaderMutexLock lock(&sandbox->mu);
  const SandboxRecord& record = sandbox->record;
  runtime::v1::PodSandboxStatusResponse response;
  runtime::v1::PodSandboxStatus& status = *response.mutable_status();
  status.set_id(record.id());
  *status.mutable_metadata() = record.config().metadata();
  status.set_state(CriState(*sandbox));
  status.set_created_at(record.created_unix_nanos());
  if (!record.ips().empty()) {
    status.mutable_network()->set_ip(record.ips(0));
    for (int i = 1; i < record.ips_size(); ++i) {
      status.mutable_network()->add_additional_ips()->set_ip(record.ips(i));
    }
  }
  runtime::v1::NamespaceOption& ns =
      *status.mutable_linux()->mutable_namespaces()->mutable_options();
  ns = record.config().linux().security_context().namespace_options();
  *status.mutable_labels() = record.config().labels();
  *status.mutable_annotations() = record.config().annotations();
  status.set_runtime_handler(record.runtime_handler());
  if (verbose) (*response.mutable_info())["info"] = VerboseInfo(*sandbox);
  response.set_timestamp(absl::ToUnixNanos(absl::Now()));
  return response;
}

std::vector<runtime::v1::PodSandbox> SandboxManager::List(
    const runtime::v1::PodSandboxFilter& filter) {
  std::vector<runtime::v1::PodSandbox> items;
  for (const std::shared_ptr<Sandbox>& sandbox : Snapshot()) {
    absl::ReaderMutexLock lock(&sandbox->mu);
    if (sandbox->removed) continue;
    if (!filter.id().empty() && !absl::StartsWith(sandbox->record.id(), filter.id())) continue;
    if (filter.has_state() && filter.state().state() != CriState(*sandbox)) continue;
    if (LabelsMatch(filter.label_selector(), sandbox->record.config().labels())) {
      items.push_back(Summary(*sandbox));
    }
  }
  return items;
}

}  // namespace berth
