#ifndef BERTH_SERVER_RPC_LOG_H_
#define BERTH_SERVER_RPC_LOG_H_

#include <memory>
#include <vector>

#include "grpcpp/support/server_interceptor.h"

namespace berth {

// Interceptor factories that log one line per RPC at debug level: method, gRPC code and
// duration. Request and response bodies are never logged (they may carry credentials).
// Empty when debug logging is off, so the hot path pays nothing.
std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcLogInterceptors();

}  // namespace berth

#endif  // BERTH_SERVER_RPC_LOG_H_
