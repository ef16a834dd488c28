// mounts: the defaults every container gets, the sandbox's /dev/shm, /etc/hosts,
// /etc/resolv.conf and /etc/hostname, then the CRI mounts. A CRI mount replaces a default with
// the same destination; parents are mounted before their children.

#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "oci/spec_parts.h"

namespace berth::oci {
namespace {

using Json = nlohmann::json;

Json Mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

std::vector<Json> DefaultMounts(const SpecInput& input) {
  const SandboxInfo& sb = input.sandbox;
  std::vector<Json> mounts = {
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  };
  if (sb.shm_path.empty()) {
    mounts.push_back(Mount("/dev/shm", "tmpfs", "shm",
                           {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
  } else {
    mounts.push_back(
        Mount("/dev/shm", "bind", sb.shm_path, {"rbind", "nosuid", "noexec", "nodev"}));
  }
  // Read-only with a read-only rootfs, as containerd does.
  std::string rw = SecurityContext(input).readonly_rootfs() ? "ro" : "rw";
  const std::pair<const char*, const std::string*> files[] = {
      {"/etc/hosts", &sb.hosts_path},
      {"/etc/resolv.conf", &sb.resolv_conf_path},
      {"/etc/hostname", &sb.hostname_path},
  };
  for (const auto& [destination, source] : files) {
    if (source->empty()) continue;
    mounts.push_back(Mount(destination, "bind", *source, {"rbind", "rprivate", rw}));
  }
  return mounts;
}

// "/a/b/../c/" -> "/a/c": a lexical clean of an absolute container path.
std::string CleanPath(const std::string& path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  return "/" + absl::StrJoin(parts, "/");
}

const char* PropagationOption(runtime::v1::MountPropagation propagation) {
  switch (propagation) {
    case runtime::v1::PROPAGATION_HOST_TO_CONTAINER:
      return "rslave";
    case runtime::v1::PROPAGATION_BIDIRECTIONAL:
      return "rshared";
    default:
      return "rprivate";
  }
}

absl::StatusOr<Json> CriMount(const runtime::v1::Mount& mount) {
  const std::string& destination = mount.container_path();
  if (destination.empty() || destination[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("mount destination \"", destination, "\" is not an absolute path"));
  }
  if (mount.host_path().empty()) {
    if (mount.has_image()) {
      return absl::UnimplementedError(
          absl::StrCat("image volume mounts are not supported (", destination, ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat("mount ", destination, " has no host path"));
  }
  char* resolved = ::realpath(mount.host_path().c_str(), nullptr);
  if (resolved == nullptr) {
    int err = errno;
    absl::Status status =
        ErrnoStatus(err, "host path " + mount.host_path() + " of mount " + destination);
    return err == ENOENT ? absl::InvalidArgumentError(status.message()) : status;
  }
  std::string source(resolved);
  ::free(resolved);
  std::vector<std::string> options = {"rbind", PropagationOption(mount.propagation()),
                                      mount.readonly() ? "ro" : "rw"};
  for (const std::string& option : mount.mount_options()) options.push_back(option);
  return Mount(CleanPath(destination), "bind", source, options);
}

size_t Depth(const Json& mount) {
  const std::string& destination = mount["destination"].get_ref<const std::string&>();
  return std::count(destination.begin(), destination.end(), '/') - (destination == "/" ? 1 : 0);
}

}  // namespace

absl::Status AddMounts(const SpecInput& input, Json& spec) {
  std::vector<Json> cri;
  std::string rootfs_propagation;
  for (const runtime::v1::Mount& mount : input.config->mounts()) {
    ASSIGN_OR_RETURN(Json m, CriMount(mount));
    if (mount.propagation() == runtime::v1::PROPAGATION_BIDIRECTIONAL) {
      rootfs_propagation = "rshared";
    } else if (mount.propagation() == runtime::v1::PROPAGATION_HOST_TO_CONTAINER &&
               rootfs_propagation.empty()) {
      rootfs_propagation = "rslave";
    }
    cri.push_back(std::move(m));
  }
  std::vector<Json> mounts;
  for (Json& m : DefaultMounts(input)) {
    bool covered = std::any_of(cri.begin(), cri.end(),
                               [&](const Json& c) { return c["destination"] == m["destination"]; });
    if (!covered) mounts.push_back(std::move(m));
  }
  for (Json& m : cri) mounts.push_back(std::move(m));
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const Json& a, const Json& b) { return Depth(a) < Depth(b); });
  spec["mounts"] = mounts;
  if (!rootfs_propagation.empty()) spec["linux"]["rootfsPropagation"] = rootfs_propagation;
  return absl::OkStatus();
}

}  // namespace berth::oci
