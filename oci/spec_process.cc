// process: args, env, cwd, terminal, noNewPrivileges, oomScoreAdj and the default
// capabilities. process.user lives in spec_user.cc.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "oci/spec_parts.h"

namespace berth::oci {
namespace {

const std::string kRootDir = "/";

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// CRI-O's default capability set.
constexpr const char* kDefaultCapabilities[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_KILL",
};

absl::string_view EnvKey(absl::string_view entry) { return entry.substr(0, entry.find('=')); }

// Sets `entry` in `env`, replacing the one with the same key in place.
void SetEnv(std::vector<std::string>& env, std::string entry) {
  absl::string_view key = EnvKey(entry);
  for (std::string& existing : env) {
    if (EnvKey(existing) == key) {
      existing = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

std::vector<std::string> MergedEnv(const SpecInput& input) {
  std::vector<std::string> env;
  if (!input.sandbox.hostname.empty())
    SetEnv(env, absl::StrCat("HOSTNAME=", input.sandbox.hostname));
  for (const std::string& entry : input.image.env) SetEnv(env, entry);
  for (const runtime::v1::KeyValue& kv : input.config->envs()) {
    SetEnv(env, absl::StrCat(kv.key(), "=", kv.value()));
  }
  bool has_path =
      std::any_of(env.begin(), env.end(), [](const std::string& e) { return EnvKey(e) == "PATH"; });
  if (!has_path) env.insert(env.begin(), kDefaultPath);
  return env;
}

}  // namespace

absl::Status AddProcessArgs(const SpecInput& input, nlohmann::json& spec) {
  const auto& command = input.config->command();
  const auto& args = input.config->args();
  // Kubernetes: command replaces the Entrypoint (and drops the image Cmd); args replace Cmd.
  std::vector<std::string> argv;
  if (!command.empty()) {
    argv.assign(command.begin(), command.end());
  } else {
    argv = input.image.entrypoint;
  }
  if (!args.empty()) {
    argv.insert(argv.end(), args.begin(), args.end());
  } else if (command.empty()) {
    argv.insert(argv.end(), input.image.cmd.begin(), input.image.cmd.end());
  }
  if (argv.empty()) return absl::InvalidArgumentError("no command specified");
  spec["process"]["args"] = argv;
  return absl::OkStatus();
}

absl::Status AddProcessBasics(const SpecInput& input, nlohmann::json& spec) {
  nlohmann::json& process = spec["process"];
  process["terminal"] = input.config->tty();
  process["env"] = MergedEnv(input);
  const std::string& cwd = !input.config->working_dir().empty() ? input.config->working_dir()
                           : !input.image.working_dir.empty()   ? input.image.working_dir
                                                                : kRootDir;
  if (cwd[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("working directory \"", cwd, "\" is not absolute"));
  }
  process["cwd"] = cwd;
  process["noNewPrivileges"] = SecurityContext(input).no_new_privs();
  int64_t oom = input.config->linux().resources().oom_score_adj();
  oom = std::clamp<int64_t>(oom, input.min_oom_score_adj, 1000);
  process["oomScoreAdj"] = oom;
  return absl::OkStatus();
}

absl::Status AddDefaultCapabilities(const SpecInput& input, nlohmann::json& spec) {
  nlohmann::json caps = nlohmann::json::array();
  for (const char* cap : kDefaultCapabilities) caps.push_back(cap);
  spec["process"]["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  return absl::OkStatus();
}

}  // namespace berth::oci
