#include "oci/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::oci {
namespace {

// The kernel's messages queued on an fs context ("e overlayfs: ..."), joined.
std::string FsContextLog(int fs_fd) {
  std::string log;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fs_fd, buf, sizeof(buf) - 1);
    if (n <= 0) break;
    absl::string_view line(buf, static_cast<size_t>(n));
    absl::ConsumeSuffix(&line, "\n");
    absl::StrAppend(&log, log.empty() ? "" : "; ", line);
  }
  return log;
}

absl::Status FsError(int err, int fs_fd, absl::string_view what) {
  std::string log = FsContextLog(fs_fd);
  return ErrnoStatus(err, log.empty() ? std::string(what) : absl::StrCat(what, " (", log, ")"));
}

absl::Status SetString(int fs_fd, const char* key, const std::string& value) {
  if (::fsconfig(fs_fd, FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
    return FsError(errno, fs_fd, absl::StrCat("overlay option ", key, "=", value));
  }
  return absl::OkStatus();
}

// kVolatileWhy: a writable layer is mounted "volatile" (Linux >= 5.10): overlayfs then skips
// syncs of the upper filesystem, above all the syncfs of the whole upper filesystem at every
// unmount, which on a busy node makes each RemoveContainer wait for everybody's dirty pages.
// A container's writable layer never outlives a crash of the machine in use: after a reboot
// nothing remounts it (the kubelet makes new containers) and it is only removed.

// NotFound-free "unsupported" marker: the caller falls back to mount(2).
absl::Status Unsupported() { return absl::UnimplementedError("new mount API unsupported"); }

absl::Status MountOverlayNewApi(const std::vector<std::string>& lowers, const std::string& upper,
                                const std::string& work, const std::string& target, bool readonly) {
  UniqueFd fs(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs) {
    if (errno == ENOSYS) return Unsupported();
    return ErrnoStatus(errno, "fsopen(overlay)");
  }
  RETURN_IF_ERROR(SetString(fs.get(), "source", "overlay"));
  for (size_t i = 0; i < lowers.size(); ++i) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", lowers[i].c_str(), 0) != 0) {
      int err = errno;
      if (i == 0 && err == EINVAL) {
        std::string log = FsContextLog(fs.get());
        if (log.find("nknown parameter") != std::string::npos) return Unsupported();
      }
      return FsError(err, fs.get(), absl::StrCat("overlay lower dir ", lowers[i]));
    }
  }
  if (!upper.empty()) {
    RETURN_IF_ERROR(SetString(fs.get(), "upperdir", upper));
    RETURN_IF_ERROR(SetString(fs.get(), "workdir", work));
    // See kVolatileWhy; a kernel before 5.10 refuses the flag, and then syncs as before.
    ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "volatile", nullptr, 0);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return FsError(errno, fs.get(), "creating the overlay");
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, readonly ? MOUNT_ATTR_RDONLY : 0));
  if (!mnt) return FsError(errno, fs.get(), "fsmount(overlay)");
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoStatus(errno, "attaching the overlay at " + target);
  }
  return absl::OkStatus();
}

// Escapes a lowerdir entry for the classic option string; commas cannot be expressed.
absl::StatusOr<std::string> EscapeLower(const std::string& dir) {
  if (dir.find(',') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("overlay lower dir ", dir, " has a comma"));
  }
  std::string out;
  for (char c : dir) {
    if (c == ':' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

namespace internal {

absl::Status MountOverlayLegacy(const std::vector<std::string>& lowers, const std::string& upper,
                                const std::string& work, const std::string& target, bool readonly) {
  std::vector<std::string> escaped;
  for (const std::string& dir : lowers) {
    ASSIGN_OR_RETURN(std::string e, EscapeLower(dir));
    escaped.push_back(std::move(e));
  }
  std::string options = "lowerdir=" + absl::StrJoin(escaped, ":");
  if (!upper.empty()) absl::StrAppend(&options, ",upperdir=", upper, ",workdir=", work);
  size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  if (options.size() >= page) {
    return absl::InvalidArgumentError(absl::StrCat(
        "overlay of ", lowers.size(), " layers at ", target, ": mount options are ", options.size(),
        " bytes, over the ", page - 1,
        "-byte limit of mount(2), and this kernel has no \"lowerdir+\" (Linux >= 6.8)"));
  }
  unsigned long flags = readonly ? MS_RDONLY : 0;
  // See kVolatileWhy; a kernel before 5.10 refuses the option (EINVAL): mount without it.
  std::string with_volatile = options + ",volatile";
  if (!upper.empty() && with_volatile.size() < page &&
      ::mount("overlay", target.c_str(), "overlay", flags, with_volatile.c_str()) == 0) {
    return absl::OkStatus();
  }
  if (::mount("overlay", target.c_str(), "overlay", flags, options.c_str()) != 0) {
    return ErrnoStatus(errno, "mounting the overlay at " + target);
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::Status MountOverlay(const std::vector<std::string>& lower_dirs, const std::string& upper,
                          const std::string& work, const std::string& target, bool readonly) {
  std::vector<std::string> lowers = lower_dirs;
  if (upper.empty() != work.empty()) {
    return absl::InvalidArgumentError("overlay at " + target + ": upper and work go together");
  }
  if (lowers.empty()) {
    if (upper.empty()) {
      return absl::InvalidArgumentError("overlay at " + target + ": no layers and no upper dir");
    }
    std::string parent = upper.substr(0, upper.find_last_of('/'));
    std::string empty = (parent.empty() ? "" : parent) + "/empty-lower";
    if (::mkdir(empty.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, "creating " + empty);
    }
    lowers.push_back(empty);
  }
  absl::Status status = MountOverlayNewApi(lowers, upper, work, target, readonly);
  if (absl::IsUnimplemented(status)) {
    status = internal::MountOverlayLegacy(lowers, upper, work, target, readonly);
  }
  return Annotate(status, absl::StrCat("mounting the rootfs at ", target));
}

absl::Status UnmountRootfs(const std::string& target) {
  // Loops for stacked mounts; stops at the first "not a mount point".
  for (int i = 0; i < 16; ++i) {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    int err = errno;
    if (err == EINVAL || err == ENOENT) return absl::OkStatus();
    if (err != EBUSY) return ErrnoStatus(err, "unmounting " + target);
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "detaching " + target);
    }
  }
  return absl::FailedPreconditionError("unmounting " + target + ": too many stacked mounts");
}

}  // namespace berth::oci
