#ifndef BERTH_SERVER_OFFLOAD_H_
#define BERTH_SERVER_OFFLOAD_H_

#include <utility>

#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "server/executor.h"
#include "server/grpc_status.h"

namespace berth {

// Runs `work` (returning absl::Status) on `executor` and finishes the unary call with it, so
// that gRPC's callback threads never wait for runc, a monitor or a CNI plugin.
template <typename Work>
grpc::ServerUnaryReactor* Offload(grpc::CallbackServerContext* context, Executor* executor,
                                  Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  executor->Run([reactor, work = std::move(work)]() mutable {
    reactor->Finish(ToGrpcStatus(work()));
  });
  return reactor;
}

}  // namespace berth

#endif  // BERTH_SERVER_OFFLOAD_H_
