#ifndef BERTH_CTL_POD_COMMANDS_H_
#define BERTH_CTL_POD_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "ctl/client.h"

namespace berth::ctl {

// The pod verbs: runp, pods, inspectp, stopp, rmp (as crictl's).
class PodCommands {
 public:
  void Register(CLI::App& app);
  // Runs the verb that was parsed; false when none of these was.
  bool Run(CriClient& client, std::string& out, absl::Status& status);

 private:
  CLI::App* runp_ = nullptr;
  CLI::App* pods_ = nullptr;
  CLI::App* inspectp_ = nullptr;
  CLI::App* stopp_ = nullptr;
  CLI::App* rmp_ = nullptr;
  std::string config_file_;
  std::string runtime_handler_;
  std::vector<std::string> ids_;
  std::string id_filter_;
  std::string name_filter_;
  std::string state_filter_;
  std::vector<std::string> label_filters_;
  bool quiet_ = false;
  bool force_ = false;
};

}  // namespace berth::ctl

#endif  // BERTH_CTL_POD_COMMANDS_H_
