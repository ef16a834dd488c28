// Namespace pins and a CNI chain run by hand, as the CNI spec describes.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/status.h"
#include "tests/bench/floor_ops.h"

namespace berth::bench::floor {
namespace {

constexpr std::pair<int, const char*> kTypes[] = {
    {CLONE_NEWNET, "net"}, {CLONE_NEWIPC, "ipc"}, {CLONE_NEWUTS, "uts"}};

absl::StatusOr<std::string> FindPlugin(const CniChain& chain, const std::string& type) {
  for (const std::string& dir : chain.plugin_dirs) {
    std::string path = absl::StrCat(dir, "/", type);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return absl::NotFoundError(
      absl::StrCat("no CNI plugin ", type, " in ", absl::StrJoin(chain.plugin_dirs, ":")));
}

absl::StatusOr<std::string> CallPlugin(const CniChain& chain, const nlohmann::json& plugin,
                                       const std::string& command, const std::string& id,
                                       const std::string& netns, const nlohmann::json* prev) {
  std::string type = plugin.value("type", "");
  ASSIGN_OR_RETURN(std::string binary, FindPlugin(chain, type));
  nlohmann::json config = plugin;
  config["name"] = chain.name;
  config["cniVersion"] = chain.cni_version;
  if (prev != nullptr && !prev->is_null()) config["prevResult"] = *prev;
  if (plugin.contains("capabilities") && plugin["capabilities"].value("portMappings", false)) {
    config["runtimeConfig"]["portMappings"] = nlohmann::json::array();
  }
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command,
      "CNI_CONTAINERID=" + id,
      "CNI_NETNS=" + netns,
      "CNI_IFNAME=eth0",
      "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=berth-bench;K8S_POD_NAME=" + id,
      "CNI_PATH=" + absl::StrJoin(chain.plugin_dirs, ":"),
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  ASSIGN_OR_RETURN(SpawnResult result, RunCommand({.argv = {binary},
                                                   .env = env,
                                                   .stdin_data = config.dump(),
                                                   .timeout = absl::Seconds(60)}));
  if (!result.success()) {
    return absl::InternalError(
        absl::StrCat("CNI ", command, " of ", type, ": ", result.Describe(), " ", result.out));
  }
  return result.out;
}

}  // namespace

absl::Status PinNamespaces(int clone_flags, const std::string& dir) {
  RETURN_IF_ERROR(MakeDirs(dir));
  for (const auto& [flag, type] : kTypes) {
    if ((clone_flags & flag) == 0) continue;
    std::string pin = absl::StrCat(dir, "/", type);
    int fd = ::open(pin.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0) return ErrnoStatus(errno, "creating " + pin);
    ::close(fd);
  }
  int error = 0;
  std::string failed;
  std::thread holder([&] {
    if (::unshare(clone_flags) != 0) {
      error = errno;
      failed = "unshare";
      return;
    }
    for (const auto& [flag, type] : kTypes) {
      if ((clone_flags & flag) == 0) continue;
      std::string source = absl::StrCat("/proc/thread-self/ns/", type);
      std::string pin = absl::StrCat(dir, "/", type);
      if (::mount(source.c_str(), pin.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        error = errno;
        failed = "bind-mounting " + source + " on " + pin;
        return;
      }
    }
  });
  holder.join();
  if (error != 0) return ErrnoStatus(error, failed);
  return absl::OkStatus();
}

void Unpin(const std::string& path) {
  ::umount2(path.c_str(), MNT_DETACH);
  ::unlink(path.c_str());
}

absl::StatusOr<CniChain> LoadConflist(const std::string& path,
                                      const std::vector<std::string>& plugin_dirs) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_object() || !list.contains("plugins") || !list["plugins"].is_array()) {
    return absl::InvalidArgumentError(path + " is not a CNI conflist");
  }
  CniChain chain{.name = list.value("name", ""),
                 .cni_version = list.value("cniVersion", "1.0.0"),
                 .plugin_dirs = plugin_dirs};
  for (const nlohmann::json& plugin : list["plugins"]) chain.plugins.push_back(plugin);
  return chain;
}

absl::StatusOr<nlohmann::json> CniAdd(const CniChain& chain, const std::string& container_id,
                                      const std::string& netns) {
  nlohmann::json result;
  for (const nlohmann::json& plugin : chain.plugins) {
    ASSIGN_OR_RETURN(std::string out,
                     CallPlugin(chain, plugin, "ADD", container_id, netns, &result));
    result = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    if (result.is_discarded()) {
      return absl::InternalError("CNI ADD: bad result " + out);
    }
  }
  return result;
}

absl::Status CniDel(const CniChain& chain, const std::string& container_id,
                    const std::string& netns, const nlohmann::json& result) {
  for (auto it = chain.plugins.rbegin(); it != chain.plugins.rend(); ++it) {
    RETURN_IF_ERROR(CallPlugin(chain, *it, "DEL", container_id, netns, &result).status());
  }
  return absl::OkStatus();
}

}  // namespace berth::bench::floor
