#ifndef BERTH_SERVER_GRPC_STATUS_H_
#define BERTH_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace berth {

// The one place an absl::Status becomes a grpc::Status (the codes are the same numbers).
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace berth

#endif  // BERTH_SERVER_GRPC_STATUS_H_
