// mounts: the defaults every container gets, the sandbox's /dev/shm, /etc/hosts,
// /etc/resolv.conf and /etc/hostname, the CRI mounts, then the image's Volumes. A CRI mount
// replaces a default with the same destination; parents are mounted before their children.
//
// CRI mounts: the host path is resolved on the host once (symbolic links followed there);
// the container path must be absolute, without "..", and not into /proc (but the files lxcfs
// bind-mounts, which runc also allows) or /sys (privileged containers excepted).
// Propagation: PRIVATE -> rprivate; HOST_TO_CONTAINER -> rslave, the host path on a shared or
// slave mount; BIDIRECTIONAL -> rshared, privileged containers only, the host path on a shared
// mount. Like containerd and CRI-O, a host mount with the wrong propagation is an error
// (FailedPrecondition naming it), never silently changed. recursive_read_only needs readonly
// and PRIVATE, and runc 1.1 has no "rro": it is refused (Unimplemented), never downgraded to
// a plain read-only mount.
//
// Image Volumes (as CRI-O's "bind" mode): each one not at or under a CRI mount gets a fresh
// directory <volumes_dir>/<escaped path> (made here, with the owner and mode the image gives
// that directory; no copy of its content), bind-mounted rprivate and writable. Never a host
// path: a volume that is relative, "/", holds "..", or points into /proc or /sys is refused.

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "oci/mountinfo.h"
#include "oci/spec_parts.h"

namespace berth::oci {
namespace {

using Json = nlohmann::json;
using runtime::v1::MountPropagation;

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

// Files under /proc that may be bind-mounted over (lxcfs's, the ones runc itself allows).
constexpr const char* kProcFilesAllowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",    "/proc/swaps",
    "/proc/uptime",  "/proc/loadavg",   "/proc/slabinfo", "/proc/net/dev",
};

bool IsUnder(absl::string_view path, absl::string_view dir) {
  return path == dir || (absl::StartsWith(path, dir) && path[dir.size()] == '/');
}

struct PathRules {
  const char* what;        // "mount" or "image volume", for messages
  bool allow_sys = false;  // privileged containers may mount into /sys
  bool allow_proc_files = true;
};

// The cleaned absolute container path ("/a/./b/" -> "/a/b"), or InvalidArgument: relative,
// NUL bytes, "..", /proc (but kProcFilesAllowed), /sys (unless allowed).
absl::StatusOr<std::string> ContainerPath(const std::string& path, const PathRules& rules) {
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(rules.what, " destination \"", path, "\" is not an absolute path"));
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(rules.what, " destination \"", path, "\" contains \"..\""));
    }
    parts.push_back(part);
  }
  std::string clean = "/" + absl::StrJoin(parts, "/");
  if (IsUnder(clean, "/proc")) {
    bool allowed = rules.allow_proc_files &&
                   std::any_of(std::begin(kProcFilesAllowed), std::end(kProcFilesAllowed),
                               [&](const char* file) { return clean == file; });
    if (!allowed) {
      return absl::InvalidArgumentError(
          absl::StrCat(rules.what, " destination \"", path, "\" is inside /proc"));
    }
  }
  if (IsUnder(clean, "/sys") && !rules.allow_sys) {
    return absl::InvalidArgumentError(absl::StrCat(
        rules.what, " destination \"", path, "\" is inside /sys (only privileged containers)"));
  }
  return clean;
}

const char* PropagationOption(MountPropagation propagation) {
  switch (propagation) {
    case runtime::v1::PROPAGATION_HOST_TO_CONTAINER:
      return "rslave";
    case runtime::v1::PROPAGATION_BIDIRECTIONAL:
      return "rshared";
    default:
      return "rprivate";
  }
}

// The host mount holding `source` must pass on the events `propagation` promises.
absl::Status CheckHostPropagation(MountPropagation propagation, const std::string& source,
                                  const std::string& destination) {
  if (propagation != runtime::v1::PROPAGATION_HOST_TO_CONTAINER &&
      propagation != runtime::v1::PROPAGATION_BIDIRECTIONAL) {
    return absl::OkStatus();
  }
  absl::StatusOr<MountInfo> host = MountContaining(source);
  if (!host.ok()) {
    return Annotate(host.status(), absl::StrCat("mount ", destination, ": finding the host mount"));
  }
  bool bidirectional = propagation == runtime::v1::PROPAGATION_BIDIRECTIONAL;
  if (bidirectional ? host->shared() : host->shared() || host->slave()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "mount ", destination, ": ", bidirectional ? "bidirectional" : "host-to-container",
      " propagation needs host path ", source, " on a ",
      bidirectional ? "shared" : "shared or slave", " mount, but its mount ", host->mount_point,
      " is ", host->PropagationName(), " (make it shared: mount --make-rshared ", host->mount_point,
      ")"));
}

// CRI mount_options: only options that take rights away (or change access times).
bool IsAllowedExtraOption(const std::string& option) {
  static const std::set<std::string> kAllowed = {
      "nosuid", "nodev", "noexec", "noatime", "nodiratime", "relatime", "strictatime",
  };
  return kAllowed.count(option) != 0;
}

absl::Status CheckFlags(const runtime::v1::Mount& mount, const std::string& destination,
                        bool privileged) {
  if (!mount.uidmappings().empty() || !mount.gidmappings().empty()) {
    return absl::UnimplementedError(
        absl::StrCat("mount ", destination, ": id-mapped mounts are not supported"));
  }
  if (mount.propagation() == runtime::v1::PROPAGATION_BIDIRECTIONAL && !privileged) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mount ", destination, ": bidirectional propagation needs a privileged container"));
  }
  if (mount.recursive_read_only()) {
    if (!mount.readonly()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount ", destination, ": recursive_read_only needs readonly"));
    }
    if (mount.propagation() != runtime::v1::PROPAGATION_PRIVATE) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount ", destination, ": recursive_read_only needs PROPAGATION_PRIVATE"));
    }
    return absl::UnimplementedError(absl::StrCat(
        "mount ", destination,
        ": recursive read-only mounts are not supported by the OCI runtime (runc 1.1 has no "
        "\"rro\" option; the runtime handler does not announce recursive_read_only_mounts)"));
  }
  for (const std::string& option : mount.mount_options()) {
    if (!IsAllowedExtraOption(option)) {
      return absl::InvalidArgumentError(
          absl::StrCat("mount ", destination, ": mount option \"", option, "\" is not allowed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> CriMount(const runtime::v1::Mount& mount, bool privileged) {
  ASSIGN_OR_RETURN(
      std::string destination,
      ContainerPath(mount.container_path(), PathRules{.what = "mount", .allow_sys = privileged}));
  if (mount.host_path().empty()) {
    if (mount.has_image()) {
      return absl::UnimplementedError(
          absl::StrCat("image volume mounts are not supported (", destination, ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat("mount ", destination, " has no host path"));
  }
  RETURN_IF_ERROR(CheckFlags(mount, destination, privileged));
  char* resolved = ::realpath(mount.host_path().c_str(), nullptr);
  if (resolved == nullptr) {
    int err = errno;
    absl::Status status =
        ErrnoStatus(err, "host path " + mount.host_path() + " of mount " + destination);
    return err == ENOENT ? absl::InvalidArgumentError(status.message()) : status;
  }
  std::string source(resolved);
  ::free(resolved);
  RETURN_IF_ERROR(CheckHostPropagation(mount.propagation(), source, destination));
  std::vector<std::string> options = {"rbind", PropagationOption(mount.propagation()),
                                      mount.readonly() ? "ro" : "rw"};
  for (const std::string& option : mount.mount_options()) options.push_back(option);
  return Mount(destination, "bind", source, options);
}

// "/var/lib/data" -> "var%2Flib%2Fdata": one flat, reversible name per volume.
std::string EscapeVolumePath(absl::string_view path) {
  std::string out;
  for (char c : path.substr(1)) {
    if (c == '%') {
      out += "%25";
    } else if (c == '/') {
      out += "%2F";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The owner and mode the image gives directory `path` (resolved inside `rootfs`); nullopt when
// it has none there.
std::optional<struct stat> ImageDirectory(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return std::nullopt;
  struct open_how how = {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  std::string relative = path.substr(1);
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, root.get(), relative.c_str(), &how, sizeof(how)));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return std::nullopt;
  UniqueFd dir(fd);
  struct stat st;
  if (::fstat(dir.get(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return st;
}

// Makes the volume's directory (a new one: an existing entry is an error).
absl::Status MakeVolumeDirectory(const std::string& dir, const std::optional<struct stat>& like) {
  mode_t mode = like ? (like->st_mode & 07777) : 0755;
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(errno, "making " + dir);
  if (like && ::lchown(dir.c_str(), like->st_uid, like->st_gid) != 0) {
    return ErrnoStatus(errno, "setting the owner of " + dir);
  }
  if (::chmod(dir.c_str(), mode) != 0) return ErrnoStatus(errno, "setting the mode of " + dir);
  return absl::OkStatus();
}

// The image's Volumes not at or under a CRI mount nor at a default mount.
absl::StatusOr<std::vector<Json>> ImageVolumeMounts(const SpecInput& input,
                                                    const std::vector<Json>& taken,
                                                    const std::vector<Json>& defaults) {
  std::vector<Json> mounts;
  if (input.volumes_dir.empty()) return mounts;
  std::set<std::string> seen;
  for (const std::string& volume : input.image.volumes) {
    absl::StatusOr<std::string> destination = ContainerPath(
        volume, PathRules{.what = "image volume", .allow_sys = false, .allow_proc_files = false});
    if (destination.ok() && *destination == "/") {
      destination = absl::InvalidArgumentError("image volume destination \"/\" is the root");
    }
    if (!destination.ok()) return destination.status();
    auto under = [&](const Json& m) {
      return IsUnder(*destination, m["destination"].get_ref<const std::string&>());
    };
    auto at = [&](const Json& m) { return m["destination"] == *destination; };
    if (std::any_of(taken.begin(), taken.end(), under) ||
        std::any_of(defaults.begin(), defaults.end(), at) || !seen.insert(*destination).second) {
      continue;
    }
    std::string name = EscapeVolumePath(*destination);
    if (name.size() > 255) {
      return absl::InvalidArgumentError(
          absl::StrCat("image volume destination \"", volume, "\" is too long"));
    }
    std::string source = absl::StrCat(input.volumes_dir, "/", name);
    if (mounts.empty() && ::mkdir(input.volumes_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "making " + input.volumes_dir);
    }
    RETURN_IF_ERROR(
        Annotate(MakeVolumeDirectory(source, ImageDirectory(input.rootfs, *destination)),
                 absl::StrCat("image volume ", *destination)));
    mounts.push_back(Mount(*destination, "bind", source, {"rbind", "rprivate", "rw"}));
  }
  return mounts;
}

size_t Depth(const Json& mount) {
  const std::string& destination = mount["destination"].get_ref<const std::string&>();
  return std::count(destination.begin(), destination.end(), '/') - (destination == "/" ? 1 : 0);
}

}  // namespace

absl::Status AddMounts(const SpecInput& input, Json& spec) {
  const bool privileged = SecurityContext(input).privileged();
  std::vector<Json> cri;
  std::string rootfs_propagation;
  for (const runtime::v1::Mount& mount : input.config->mounts()) {
    ASSIGN_OR_RETURN(Json m, CriMount(mount, privileged));
    if (mount.propagation() == runtime::v1::PROPAGATION_BIDIRECTIONAL) {
      rootfs_propagation = "rshared";
    } else if (mount.propagation() == runtime::v1::PROPAGATION_HOST_TO_CONTAINER &&
               rootfs_propagation.empty()) {
      rootfs_propagation = "rslave";
    }
    cri.push_back(std::move(m));
  }
  std::vector<Json> defaults = DefaultMounts(input);
  ASSIGN_OR_RETURN(std::vector<Json> volumes, ImageVolumeMounts(input, cri, defaults));
  std::vector<Json> mounts;
  for (Json& m : defaults) {
    bool covered = std::any_of(cri.begin(), cri.end(),
                               [&](const Json& c) { return c["destination"] == m["destination"]; });
    if (!covered) mounts.push_back(std::move(m));
  }
  for (Json& m : cri) mounts.push_back(std::move(m));
  for (Json& m : volumes) mounts.push_back(std::move(m));
  std::stable_sort(mounts.begin(), mounts.end(),
                   [](const Json& a, const Json& b) { return Depth(a) < Depth(b); });
  spec["mounts"] = mounts;
  if (!rootfs_propagation.empty()) spec["linux"]["rootfsPropagation"] = rootfs_propagation;
  return absl::OkStatus();
}

}  // namespace berth::oci
