#ifndef BERTH_CTL_CLIENT_H_
#define BERTH_CTL_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "proto/admin.grpc.pb.h"
#include "proto/cri/api.grpc.pb.h"

namespace berth::ctl {

inline constexpr char kDefaultEndpoint[] = "unix:///run/berth/berth.sock";

// The endpoint to use: the flag when given, else $CONTAINER_RUNTIME_ENDPOINT, else Berth's
// default socket. A bare path becomes unix://PATH; only unix endpoints are accepted.
absl::StatusOr<std::string> ResolveEndpoint(const std::string& flag_value);

// Stubs for both CRI services over one channel, and a per-call timeout.
class CriClient {
 public:
  static absl::StatusOr<CriClient> Connect(const std::string& endpoint, absl::Duration timeout);

  runtime::v1::RuntimeService::Stub& runtime() { return *runtime_; }
  runtime::v1::ImageService::Stub& image() { return *image_; }
  // Berth's own admin API (berthd only).
  berth::admin::v1::Admin::Stub& admin() { return *admin_; }
  // A context whose deadline is `timeout` from now.
  std::unique_ptr<grpc::ClientContext> Context() const;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
  std::unique_ptr<runtime::v1::ImageService::Stub> image_;
  std::unique_ptr<berth::admin::v1::Admin::Stub> admin_;
  absl::Duration timeout_;
};

// "rpc Version: <code>: <message>" for a failed call.
absl::Status CallError(const char* rpc, const grpc::Status& status);

// A CRI message as JSON (every primitive field printed), for the inspect verbs.
absl::StatusOr<nlohmann::json> MessageToJson(const google::protobuf::Message& message);

// Parses a JSON request file (crictl's pod and container config files) into `message`;
// InvalidArgument names the file and the problem.
absl::Status ReadJsonMessage(const std::string& path, google::protobuf::Message& message);

}  // namespace berth::ctl

#endif  // BERTH_CTL_CLIENT_H_
