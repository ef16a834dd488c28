#include "ctl/client.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace berth::ctl {

absl::StatusOr<std::string> ResolveEndpoint(const std::string& flag_value) {
  std::string endpoint = flag_value;
  if (endpoint.empty()) {
    const char* env = std::getenv("CONTAINER_RUNTIME_ENDPOINT");
    endpoint = (env != nullptr && *env != '\0') ? env : kDefaultEndpoint;
  }
  if (absl::StartsWith(endpoint, "/")) endpoint = absl::StrCat("unix://", endpoint);
  if (!absl::StartsWith(endpoint, "unix://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", endpoint, "\" is not a unix socket (unix:///path)"));
  }
  return endpoint;
}

absl::StatusOr<CriClient> CriClient::Connect(const std::string& endpoint, absl::Duration timeout) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  CriClient client;
  client.channel_ = grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
  if (client.channel_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot open a channel to ", endpoint));
  }
  client.runtime_ = runtime::v1::RuntimeService::NewStub(client.channel_);
  client.image_ = runtime::v1::ImageService::NewStub(client.channel_);
  client.admin_ = berth::admin::v1::Admin::NewStub(client.channel_);
  client.timeout_ = timeout;
  return client;
}

std::unique_ptr<grpc::ClientContext> CriClient::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  return context;
}

absl::Status CallError(const char* rpc, const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(rpc, ": ", status.error_message()));
}

absl::StatusOr<nlohmann::json> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string text;
  if (!google::protobuf::util::MessageToJsonString(message, &text, options).ok()) {
    return absl::InternalError("cannot render the reply as JSON");
  }
  return nlohmann::json::parse(text);
}

absl::Status ReadJsonMessage(const std::string& path, google::protobuf::Message& message) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(*text, &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::string(status.message().data(), status.message().size())));
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl
