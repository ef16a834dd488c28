#include "oci/runtime_cli.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace berth::oci {
namespace {

std::vector<std::string> BaseArgv(const std::string& runtime, const std::string& root) {
  std::vector<std::string> argv = {runtime};
  if (!root.empty()) {
    argv.push_back("--root");
    argv.push_back(root);
  }
  return argv;
}

}  // namespace

RuntimeInvocation UpdateResourcesInvocation(const std::string& runtime, const std::string& root,
                                            const std::string& container_id,
                                            const runtime::v1::LinuxContainerResources& resources) {
  RuntimeInvocation invocation;
  invocation.argv = BaseArgv(runtime, root);
  for (const char* arg : {"update", "--resources", "-"}) invocation.argv.push_back(arg);
  invocation.argv.push_back(container_id);
  invocation.stdin_data = ResourcesToOci(resources).dump();
  return invocation;
}

RuntimeInvocation StateInvocation(const std::string& runtime, const std::string& root,
                                  const std::string& container_id) {
  RuntimeInvocation invocation;
  invocation.argv = BaseArgv(runtime, root);
  invocation.argv.push_back("state");
  invocation.argv.push_back(container_id);
  return invocation;
}

absl::StatusOr<RuntimeState> ParseRuntimeState(absl::string_view json) {
  nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("runtime state output is not a JSON object");
  }
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) {
    return absl::InvalidArgumentError("runtime state output has no status");
  }
  RuntimeState state;
  state.status = status->get<std::string>();
  if (auto id = doc.find("id"); id != doc.end() && id->is_string()) state.id = *id;
  if (auto bundle = doc.find("bundle"); bundle != doc.end() && bundle->is_string()) {
    state.bundle = *bundle;
  }
  if (auto pid = doc.find("pid"); pid != doc.end() && !pid->is_null()) {
    if (!pid->is_number_integer() || pid->get<int64_t>() < 0 || pid->get<int64_t>() > INT32_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("runtime state: bad pid ", pid->dump()));
    }
    state.pid = pid->get<int>();
  }
  return state;
}

}  // namespace berth::oci
