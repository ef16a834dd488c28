#include "cni/config_dir.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::cni {
namespace {

// At most this many skipped files are described in NetworkStatus::message.
constexpr size_t kMaxSkippedInMessage = 5;

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return absl::StrCat(dir, "/", name);
}

// The configuration file names in `dir`, sorted bytewise.
absl::StatusOr<std::vector<std::string>> ListConfigFiles(const std::string& dir) {
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return ErrnoStatus(errno, absl::StrCat("listing ", dir));
  std::vector<std::string> names;
  errno = 0;
  // readdir is safe here: the stream is private to this call.
  while (struct dirent* entry = ::readdir(stream)) {  // NOLINT(concurrency-mt-unsafe)
    if (IsNetworkConfigFileName(entry->d_name)) names.emplace_back(entry->d_name);
    errno = 0;
  }
  int err = errno;
  ::closedir(stream);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("listing ", dir));
  std::sort(names.begin(), names.end());
  return names;
}

// Reads and parses the file `path` of the directory into `set`: a network, or a skipped entry.
// Directories, and files that vanished since the listing, are passed over without a word (a
// watcher sees the directory change again).
void LoadFile(const std::string& path, const LoadOptions& options, NetworkSet& set) {
  auto skip = [&](std::string reason, bool missing_plugin = false) {
    set.skipped.push_back(SkippedFile{path, std::move(reason), missing_plugin});
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;  // gone, or a dangling link
    return skip(std::string(ErrnoStatus(errno, "inspecting the file").message()));
  }
  if (S_ISDIR(st.st_mode)) return;
  if (!S_ISREG(st.st_mode)) return skip("not a regular file");
  if (static_cast<uintmax_t>(st.st_size) > options.max_file_bytes) {
    return skip(absl::StrCat("the file is ", st.st_size, " bytes, over the limit of ",
                             options.max_file_bytes, " bytes"));
  }
  absl::StatusOr<std::string> text = ReadFile(path, options.max_file_bytes);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return;
    return skip(std::string(text.status().message()));
  }
  absl::StatusOr<NetworkConfig> net = absl::EndsWith(path, ".conflist")
                                          ? ParseNetworkConfigList(*text, path)
                                          : ParseNetworkConfig(*text, path);
  if (!net.ok()) return skip(std::string(net.status().message()));
  if (const NetworkConfig* earlier = set.Find(net->name); earlier != nullptr) {
    return skip(absl::StrCat("network \"", net->name, "\" is already defined by ",
                             BaseName(earlier->file)));
  }
  if (options.check_plugins) {
    for (const PluginConfig& plugin : net->plugins) {
      absl::StatusOr<std::string> found = FindPlugin(plugin.type, options.plugin_dirs);
      if (!found.ok()) {
        return skip(std::string(found.status().message()), absl::IsNotFound(found.status()));
      }
    }
  }
  set.networks.push_back(*std::move(net));
}

std::string DescribeSkipped(const std::vector<SkippedFile>& skipped) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < skipped.size() && i < kMaxSkippedInMessage; ++i) {
    parts.push_back(absl::StrCat(BaseName(skipped[i].file), ": ", skipped[i].reason));
  }
  std::string out = absl::StrJoin(parts, "; ");
  if (skipped.size() > kMaxSkippedInMessage) {
    absl::StrAppend(&out, "; and ", skipped.size() - kMaxSkippedInMessage, " more");
  }
  return out;
}

bool SameNetwork(const NetworkConfig& a, const NetworkConfig& b) {
  return a.file == b.file && a.name == b.name && a.cni_version == b.cni_version && a.raw == b.raw;
}

}  // namespace

const NetworkConfig* NetworkSet::Default() const {
  return networks.empty() ? nullptr : &networks.front();
}

const NetworkConfig* NetworkSet::Find(absl::string_view name) const {
  for (const NetworkConfig& net : networks) {
    if (net.name == name) return &net;
  }
  return nullptr;
}

bool NetworkSet::HasMissingPlugins() const {
  return std::any_of(skipped.begin(), skipped.end(),
                     [](const SkippedFile& file) { return file.missing_plugin; });
}

NetworkStatus NetworkSet::Status() const {
  NetworkStatus status;
  if (const NetworkConfig* net = Default(); net != nullptr) {
    status.ready = true;
    status.default_network = net->name;
    status.default_file = net->file;
    return status;
  }
  status.reason = kNetworkNotReadyReason;
  status.message = absl::StrCat("no valid CNI network configuration in ", dir);
  if (absl::IsNotFound(dir_status)) {
    absl::StrAppend(&status.message, ": the directory does not exist");
  } else if (!dir_status.ok()) {
    absl::StrAppend(&status.message, ": ", dir_status.message());
  } else if (skipped.empty()) {
    absl::StrAppend(&status.message, ": no .conflist, .conf or .json files");
  } else {
    absl::StrAppend(&status.message, ": ", DescribeSkipped(skipped));
  }
  return status;
}

bool NetworkSet::SameAs(const NetworkSet& other) const {
  return dir == other.dir && dir_status == other.dir_status && skipped == other.skipped &&
         std::equal(networks.begin(), networks.end(), other.networks.begin(), other.networks.end(),
                    SameNetwork);
}

NetworkSet LoadNetworkDir(const LoadOptions& options) {
  NetworkSet set;
  set.dir = options.network_dir;
  absl::StatusOr<std::vector<std::string>> names = ListConfigFiles(options.network_dir);
  if (!names.ok()) {
    set.dir_status = names.status();
    return set;
  }
  for (const std::string& name : *names) {
    LoadFile(JoinPath(options.network_dir, name), options, set);
  }
  if (options.log_skipped) LogSkipped(set);
  return set;
}

void LogSkipped(const NetworkSet& set) {
  for (const SkippedFile& file : set.skipped) {
    LOG_WARN("skipping CNI network configuration {}: {}", file.file, file.reason);
  }
}

absl::StatusOr<std::string> FindPlugin(const std::string& type,
                                       const std::vector<std::string>& plugin_dirs) {
  if (!IsValidPluginType(type)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid plugin type \"", type, "\""));
  }
  if (plugin_dirs.empty()) {
    return absl::NotFoundError(
        absl::StrCat("plugin ", type, " not found: no plugin directories are configured"));
  }
  for (const std::string& dir : plugin_dirs) {
    if (dir.empty()) continue;
    std::string path = JoinPath(dir, type);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
      return path;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("plugin ", type, " not found in ", absl::StrJoin(plugin_dirs, ":")));
}

}  // namespace berth::cni
