#include "sandbox/shm.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::sandbox {
namespace {

// Stacked mounts at one path are unmounted one by one; this bounds the loop.
constexpr int kMaxUnmounts = 16;

absl::StatusOr<bool> IsDirectory(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus(errno, absl::StrCat("stat ", path));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return true;
}

// Whether `path` is a mount point: its device differs from its parent's, or (a bind of the
// same filesystem) it is the root of its mount. The device test covers tmpfs.
absl::StatusOr<bool> IsMountPoint(const std::string& path) {
  struct stat st, parent;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("stat ", path));
  std::string up = path + "/..";
  if (::stat(up.c_str(), &parent) != 0) return ErrnoStatus(errno, absl::StrCat("stat ", up));
  return st.st_dev != parent.st_dev || st.st_ino == parent.st_ino;
}

}  // namespace

absl::Status MountShm(const std::string& path, int64_t bytes) {
  if (path.empty() || bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mounting shm at \"", path, "\": invalid size ", bytes));
  }
  ASSIGN_OR_RETURN(bool existed, IsDirectory(path));
  if (existed) {
    ASSIGN_OR_RETURN(bool mounted, IsMountPoint(path));
    if (mounted) return absl::AlreadyExistsError(absl::StrCat(path, " is already a mount"));
  } else {
    RETURN_IF_ERROR(Annotate(MakeDirs(path, 0755), "creating the shm directory"));
  }
  std::string data = absl::StrCat("mode=1777,size=", bytes);
  if (::mount("shm", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) != 0) {
    int err = errno;
    if (!existed) ::rmdir(path.c_str());
    return ErrnoStatus(err, absl::StrCat("mounting tmpfs (", data, ") at ", path));
  }
  return absl::OkStatus();
}

absl::Status UnmountShm(const std::string& path) {
  for (int i = 0; i < kMaxUnmounts; ++i) {
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    // EINVAL: not (or no longer) a mount point; ENOENT: no such path.
    if (errno == EINVAL || errno == ENOENT) break;
    return ErrnoStatus(errno, absl::StrCat("unmounting ", path));
  }
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("removing ", path));
  }
  return absl::OkStatus();
}

}  // namespace berth::sandbox
