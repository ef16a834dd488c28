#include "ctl/pod_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace berth::ctl {
namespace {

absl::Status RunPod(CriClient& client, const std::string& file, const std::string& handler,
                    std::string& out) {
  runtime::v1::RunPodSandboxRequest request;
  absl::Status read = ReadJsonMessage(file, *request.mutable_config());
  if (!read.ok()) return read;
  request.set_runtime_handler(handler);
  runtime::v1::RunPodSandboxResponse response;
  grpc::Status status = client.runtime().RunPodSandbox(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("RunPodSandbox", status);
  absl::StrAppend(&out, response.pod_sandbox_id(), "\n");
  return absl::OkStatus();
}

std::string Age(int64_t created_ns) {
  absl::Duration age = absl::Now() - absl::FromUnixNanos(created_ns);
  if (age < absl::Minutes(1)) return absl::StrCat(absl::ToInt64Seconds(age), "s ago");
  if (age < absl::Hours(1)) return absl::StrCat(absl::ToInt64Minutes(age), "m ago");
  return absl::StrCat(absl::ToInt64Hours(age), "h ago");
}

absl::Status ListPods(CriClient& client, const runtime::v1::PodSandboxFilter& filter,
                      const std::string& name, bool quiet, std::string& out) {
  runtime::v1::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  runtime::v1::ListPodSandboxResponse response;
  grpc::Status status =
      client.runtime().ListPodSandbox(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("ListPodSandbox", status);
  if (!quiet) {
    absl::StrAppend(&out, absl::StrFormat("%-13s %-14s %-8s %-30s %-20s %s\n", "POD ID",
                                          "CREATED", "STATE", "NAME", "NAMESPACE", "RUNTIME"));
  }
  for (const runtime::v1::PodSandbox& pod : response.items()) {
    if (!name.empty() && pod.metadata().name().find(name) == std::string::npos) continue;
    if (quiet) {
      absl::StrAppend(&out, pod.id(), "\n");
      continue;
    }
    absl::StrAppend(
        &out, absl::StrFormat("%-13s %-14s %-8s %-30s %-20s %s\n", pod.id().substr(0, 13),
                              Age(pod.created_at()),
                              pod.state() == runtime::v1::SANDBOX_READY ? "Ready" : "NotReady",
                              pod.metadata().name(), pod.metadata().namespace_(),
                              pod.runtime_handler().empty() ? "(default)" : pod.runtime_handler()));
  }
  return absl::OkStatus();
}

absl::Status InspectPods(CriClient& client, const std::vector<std::string>& ids, std::string& out) {
  for (const std::string& id : ids) {
    runtime::v1::PodSandboxStatusRequest request;
    request.set_pod_sandbox_id(id);
    request.set_verbose(true);
    runtime::v1::PodSandboxStatusResponse response;
    grpc::Status status =
        client.runtime().PodSandboxStatus(client.Context().get(), request, &response);
    if (!status.ok()) return CallError("PodSandboxStatus", status);
    absl::StatusOr<nlohmann::json> json = MessageToJson(response.status());
    if (!json.ok()) return json.status();
    nlohmann::json doc = {{"status", *json}};
    if (auto it = response.info().find("info"); it != response.info().end()) {
      doc["info"] = nlohmann::json::parse(it->second, nullptr, false);
    }
    absl::StrAppend(&out, doc.dump(2), "\n");
  }
  return absl::OkStatus();
}

absl::Status StopOrRemovePods(CriClient& client, const std::vector<std::string>& ids, bool remove,
                              std::string& out) {
  for (const std::string& id : ids) {
    grpc::Status status;
    if (remove) {
      runtime::v1::RemovePodSandboxRequest request;
      request.set_pod_sandbox_id(id);
      runtime::v1::RemovePodSandboxResponse response;
      status = client.runtime().RemovePodSandbox(client.Context().get(), request, &response);
    } else {
      runtime::v1::StopPodSandboxRequest request;
      request.set_pod_sandbox_id(id);
      runtime::v1::StopPodSandboxResponse response;
      status = client.runtime().StopPodSandbox(client.Context().get(), request, &response);
    }
    if (!status.ok()) return CallError(remove ? "RemovePodSandbox" : "StopPodSandbox", status);
    absl::StrAppend(&out, remove ? "Removed sandbox " : "Stopped sandbox ", id, "\n");
  }
  return absl::OkStatus();
}

}  // namespace

void PodCommands::Register(CLI::App& app) {
  runp_ = app.add_subcommand("runp", "Run a pod sandbox from a JSON pod config file");
  runp_->add_option("FILE", config_file_, "PodSandboxConfig as JSON")->required();
  runp_->add_option("--runtime", runtime_handler_, "Runtime handler");
  pods_ = app.add_subcommand("pods", "List pod sandboxes");
  pods_->add_option("--id", id_filter_, "Only pods whose id starts with this");
  pods_->add_option("--name", name_filter_, "Only pods whose name contains this");
  pods_->add_option("--state", state_filter_, "ready or notready");
  pods_->add_option("--label", label_filters_, "key=value label selector");
  pods_->add_flag("-q,--quiet", quiet_, "Only pod ids");
  inspectp_ = app.add_subcommand("inspectp", "Show pod sandboxes' status as JSON");
  inspectp_->add_option("POD-ID", ids_, "Pod ids")->required();
  stopp_ = app.add_subcommand("stopp", "Stop pod sandboxes");
  stopp_->add_option("POD-ID", ids_, "Pod ids")->required();
  rmp_ = app.add_subcommand("rmp", "Remove pod sandboxes");
  rmp_->add_option("POD-ID", ids_, "Pod ids")->required();
  rmp_->add_flag("-f,--force", force_, "Stop first (always done)");
}

bool PodCommands::Run(CriClient& client, std::string& out, absl::Status& status) {
  if (runp_->parsed()) {
    status = RunPod(client, config_file_, runtime_handler_, out);
  } else if (pods_->parsed()) {
    runtime::v1::PodSandboxFilter filter;
    filter.set_id(id_filter_);
    if (state_filter_ == "ready") {
      filter.mutable_state()->set_state(runtime::v1::SANDBOX_READY);
    } else if (state_filter_ == "notready") {
      filter.mutable_state()->set_state(runtime::v1::SANDBOX_NOTREADY);
    } else if (!state_filter_.empty()) {
      status = absl::InvalidArgumentError("--state must be ready or notready");
      return true;
    }
    for (const std::string& label : label_filters_) {
      size_t eq = label.find('=');
      if (eq == std::string::npos) {
        status = absl::InvalidArgumentError(absl::StrCat("--label ", label, " is not key=value"));
        return true;
      }
      (*filter.mutable_label_selector())[label.substr(0, eq)] = label.substr(eq + 1);
    }
    status = ListPods(client, filter, name_filter_, quiet_, out);
  } else if (inspectp_->parsed()) {
    status = InspectPods(client, ids_, out);
  } else if (stopp_->parsed() || rmp_->parsed()) {
    status = StopOrRemovePods(client, ids_, rmp_->parsed(), out);
  } else {
    return false;
  }
  return true;
}

}  // namespace berth::ctl
