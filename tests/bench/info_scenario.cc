// The info scenario: the two cheapest RuntimeService calls, a floor for any RPC's cost.
#include "common/status.h"
#include "tests/bench/scenario.h"

namespace berth::bench {

absl::Status InfoRunOnce(const BenchOptions& options, Target& target) {
  ctl::CriClient& client = *target.client;
  runtime::v1::VersionRequest version_request;
  runtime::v1::VersionResponse version;
  RETURN_IF_ERROR(Timed(target, "info", "Version", [&] {
    return client.runtime().Version(client.Context().get(), version_request, &version);
  }));
  runtime::v1::StatusRequest status_request;
  runtime::v1::StatusResponse status;
  return Timed(target, "info", "Status", [&] {
    return client.runtime().Status(client.Context().get(), status_request, &status);
  });
}

}  // namespace berth::bench
