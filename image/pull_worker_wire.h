#ifndef BERTH_IMAGE_PULL_WORKER_WIRE_H_
#define BERTH_IMAGE_PULL_WORKER_WIRE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"
#include "google/protobuf/message_lite.h"
#include "image/registries_config.h"
#include "image/registry_auth.h"
#include "proto/pull_worker.pb.h"

namespace berth::image {

// The framing and encoding of the pull worker's protocol (proto/pull_worker.proto): on each
// call's stream socket, one request frame and one response frame, each a 4-byte little-endian
// length then the serialized message.

// The largest request the worker reads (an endpoint, credentials and a few names).
inline constexpr size_t kMaxPullWorkerRequestBytes = 1 << 20;

// Writes one frame holding `message`.
absl::Status WriteFrame(int fd, const google::protobuf::MessageLite& message);

// Reads one frame's payload, refusing a length above `max_bytes` (ResourceExhausted) before
// reading it. Unavailable when the peer closed before the first byte, DataLoss for a frame cut
// short. Names `peer` in errors.
absl::StatusOr<std::string> ReadFrame(int fd, size_t max_bytes, absl::string_view peer);

// Passes `fd` over the unix socket `socket` (SCM_RIGHTS, with one byte of data).
absl::Status SendFd(int socket, int fd);
// Receives one fd sent by SendFd (close-on-exec). An invalid UniqueFd when the peer closed the
// socket; an error for a message without exactly one fd (any fds it carried are closed).
absl::StatusOr<UniqueFd> ReceiveFd(int socket);

pullworker::v1::Endpoint EndpointToProto(const PullEndpoint& endpoint);
// InvalidArgument for a reference that does not parse.
absl::StatusOr<PullEndpoint> EndpointFromProto(const pullworker::v1::Endpoint& endpoint);
pullworker::v1::Credentials CredentialsToProto(const Credentials& creds);
Credentials CredentialsFromProto(const pullworker::v1::Credentials& creds);

// A response carrying `status` (which must not be OK: the caller sets the result instead).
pullworker::v1::Response ErrorResponse(const absl::Status& status);
// The status a response carries: OK, or its code and message (an unknown code is Internal).
absl::Status ResponseStatus(const pullworker::v1::Response& response);

}  // namespace berth::image

#endif  // BERTH_IMAGE_PULL_WORKER_WIRE_H_
