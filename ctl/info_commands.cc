#include "ctl/info_commands.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace berth::ctl {

absl::Status Version(CriClient& client, std::string& out) {
  runtime::v1::VersionRequest request;
  runtime::v1::VersionResponse response;
  grpc::Status status = client.runtime().Version(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("Version", status);
  absl::StrAppend(&out, "Version:  ", response.version(), "\n",
                  "RuntimeName:  ", response.runtime_name(), "\n",
                  "RuntimeVersion:  ", response.runtime_version(), "\n",
                  "RuntimeApiVersion:  ", response.runtime_api_version(), "\n");
  return absl::OkStatus();
}

absl::Status Info(CriClient& client, std::string& out) {
  runtime::v1::StatusRequest request;
  request.set_verbose(true);
  runtime::v1::StatusResponse response;
  grpc::Status status = client.runtime().Status(client.Context().get(), request, &response);
  if (!status.ok()) return CallError("Status", status);
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string status_json;
  if (!google::protobuf::util::MessageToJsonString(response.status(), &status_json, options).ok()) {
    return absl::InternalError("cannot render the runtime status as JSON");
  }
  nlohmann::json doc;
  doc["status"] = nlohmann::json::parse(status_json);
  nlohmann::json handlers = nlohmann::json::array();
  for (const auto& handler : response.runtime_handlers()) handlers.push_back(handler.name());
  doc["runtimeHandlers"] = handlers;
  // Each verbose info value is JSON of its own; show it as such when it parses.
  for (const auto& [key, value] : response.info()) {
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    doc[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  absl::StrAppend(&out, doc.dump(2), "\n");
  return absl::OkStatus();
}

}  // namespace berth::ctl
