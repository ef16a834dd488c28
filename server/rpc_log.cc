#include "server/rpc_log.h"

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"

namespace berth {
namespace {

using grpc::experimental::InterceptionHookPoints;

class RpcLogInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RpcLogInterceptor(grpc::experimental::ServerRpcInfo* info)
      : method_(info->method()), start_(absl::Now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = methods->GetSendStatus();
      LOG_DEBUG("rpc {} code={} {:.3f}ms{}{}", method_, static_cast<int>(status.error_code()),
                absl::ToDoubleMilliseconds(absl::Now() - start_), status.ok() ? "" : ": ",
                status.error_message());
    }
    methods->Proceed();
  }

 private:
  std::string method_;
  absl::Time start_;
};

class RpcLogFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcLogInterceptor(info);
  }
};

}  // namespace

std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
RpcLogInterceptors() {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> out;
  if (DebugLoggingEnabled()) out.push_back(std::make_unique<RpcLogFactory>());
  return out;
}

}  // namespace berth
