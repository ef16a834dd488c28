#include "tests/bench/scenario.h"

namespace berth::bench {

const std::vector<Scenario>& Scenarios() {
  static const std::vector<Scenario> kScenarios = {
      {"info", "Version and Status", nullptr, InfoRunOnce, nullptr},
      {"image",
       "PullImage of --image (absent before each pull), ImageStatus, ListImages, RemoveImage; "
       "pull MB/s and the daemon's peak RSS during the pull",
       ImagePrepare, ImageRunOnce, nullptr},
  };
  return kScenarios;
}

const Scenario* FindScenario(const std::string& name) {
  for (const Scenario& scenario : Scenarios()) {
    if (name == scenario.name) return &scenario;
  }
  return nullptr;
}

}  // namespace berth::bench
