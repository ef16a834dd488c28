// MeasureDir (declared in rootfs.h): the writable layer's usage for ContainerStats.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "common/status.h"
#include "common/unique_fd.h"
#include "oci/rootfs.h"

namespace berth::oci {
namespace {

constexpr int kMaxDepth = 512;

struct Walk {
  dev_t dev;
  DiskUsage usage;
  std::set<std::pair<dev_t, ino_t>> linked;  // inodes with several links, counted once
};

void Count(Walk& walk, const struct stat& st) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 &&
      !walk.linked.insert({st.st_dev, st.st_ino}).second) {
    return;
  }
  walk.usage.inodes++;
  walk.usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
}

// Walks the directory `fd` (owned); entries that vanish meanwhile are skipped.
absl::Status WalkDir(Walk& walk, int fd, int depth, const std::string& path) {
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "reading " + path);
  }
  absl::Status status;
  while (struct dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_dev != walk.dev) continue;  // a mount point: not ours to count
    Count(walk, st);
    if (!S_ISDIR(st.st_mode)) continue;
    if (depth >= kMaxDepth) {
      status = absl::FailedPreconditionError(path + ": directories nested too deep");
      break;
    }
    int child =
        ::openat(::dirfd(dir), entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) continue;
    status = WalkDir(walk, child, depth + 1, path + "/" + entry->d_name);
    if (!status.ok()) break;
  }
  ::closedir(dir);
  return status;
}

}  // namespace

absl::StatusOr<DiskUsage> MeasureDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "opening " + dir);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, "inspecting " + dir);
  }
  Walk walk{.dev = st.st_dev};
  Count(walk, st);
  RETURN_IF_ERROR(WalkDir(walk, fd, 0, dir));
  return walk.usage;
}

}  // namespace berth::oci
