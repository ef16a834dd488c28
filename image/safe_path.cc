#include "image/safe_path.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::image {
namespace {

// openat2 returns EAGAIN when a concurrent rename or mount could have raced the lookup.
constexpr int kOpenat2Attempts = 16;

int Openat2(int dir_fd, const std::string& path, int flags, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    long fd = ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    if ((errno == EAGAIN && attempt + 1 < kOpenat2Attempts) || errno == EINTR) continue;
    return -1;
  }
}

absl::Status ResolveError(int err, absl::string_view path) {
  switch (err) {
    case ELOOP:
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" goes through a symbolic link"));
    case ENOTDIR:
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" goes through something that is not a directory"));
    case EXDEV:
      return absl::InvalidArgumentError(
          absl::StrCat("\"", path, "\" leaves the root or crosses a mount point"));
    default:
      return ErrnoStatus(err, absl::StrCat("opening \"", path, "\""));
  }
}

// Opens the single component `name` of `dir_fd` as a directory, creating it when missing.
absl::StatusOr<UniqueFd> OpenOrCreateChildDir(int dir_fd, const std::string& name,
                                              absl::string_view full_path) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
  constexpr uint64_t kResolve =
      RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  int fd = Openat2(dir_fd, name, kFlags, kResolve);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) {
    int err = errno;
    struct stat st;
    if (err == ENOTDIR && ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(st.st_mode)) {
      err = ELOOP;
    }
    return ResolveError(err, full_path);
  }
  if (::mkdirat(dir_fd, name.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("creating directory \"", full_path, "\""));
  }
  fd = Openat2(dir_fd, name, kFlags, kResolve);
  if (fd < 0) return ResolveError(errno, full_path);
  UniqueFd dir(fd);
  if (::fchmod(dir.get(), 0755) != 0) {
    return ErrnoStatus(errno, absl::StrCat("setting the mode of \"", full_path, "\""));
  }
  return dir;
}

absl::Status RemoveDirContents(int dir_fd, absl::string_view path);

absl::Status RemoveAtImpl(int dir_fd, const std::string& name, absl::string_view path) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR) return ErrnoStatus(errno, absl::StrCat("removing \"", path, "\""));
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening \"", path, "\""));
  RETURN_IF_ERROR(RemoveDirContents(fd, path));  // takes ownership of fd
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("removing directory \"", path, "\""));
  }
  return absl::OkStatus();
}

// Empties the directory open as `dir_fd`, which it closes.
absl::Status RemoveDirContents(int dir_fd, absl::string_view path) {
  DIR* dir = ::fdopendir(dir_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dir_fd);
    return ErrnoStatus(err, absl::StrCat("listing \"", path, "\""));
  }
  // Names first, removal after: removing while reading a directory stream may skip entries.
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  absl::Status status = absl::OkStatus();
  if (errno != 0) status = ErrnoStatus(errno, absl::StrCat("listing \"", path, "\""));
  for (const std::string& name : names) {
    if (!status.ok()) break;
    status = RemoveAtImpl(::dirfd(dir), name, absl::StrCat(path, "/", name));
  }
  ::closedir(dir);
  return status;
}

}  // namespace

absl::StatusOr<std::string> CleanEntryPath(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty name");
  if (name.front() == '/') return absl::InvalidArgumentError("absolute path");
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") return absl::InvalidArgumentError("path escapes the layer root");
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

std::pair<absl::string_view, absl::string_view> SplitParent(absl::string_view clean_path) {
  size_t slash = clean_path.rfind('/');
  if (slash == absl::string_view::npos) return {absl::string_view(), clean_path};
  return {clean_path.substr(0, slash), clean_path.substr(slash + 1)};
}

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, absl::string_view path, int flags,
                                    bool follow_symlinks) {
  uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  if (!follow_symlinks) resolve |= RESOLVE_NO_SYMLINKS;
  std::string target = path.empty() ? std::string(".") : std::string(path);
  int fd = Openat2(root_fd, target, flags, resolve);
  if (fd >= 0) return UniqueFd(fd);
  int err = errno;
  if (err == ENOTDIR && (flags & O_NOFOLLOW) != 0) {
    // O_DIRECTORY on a final symbolic link reports ENOTDIR; name the link for what it is.
    UniqueFd last(Openat2(root_fd, target, O_PATH | O_NOFOLLOW, resolve));
    struct stat st;
    if (last.valid() && ::fstat(last.get(), &st) == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
  }
  return ResolveError(err, path);
}

absl::StatusOr<UniqueFd> OpenOrCreateDirInRoot(int root_fd, absl::string_view path) {
  absl::StatusOr<UniqueFd> direct = OpenInRoot(root_fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (direct.ok() || !absl::IsNotFound(direct.status())) return direct;
  // Some directory on the way is missing: walk down one component at a time.
  ASSIGN_OR_RETURN(UniqueFd current, OpenInRoot(root_fd, "", O_RDONLY | O_DIRECTORY));
  size_t end = 0;
  while (end < path.size()) {
    size_t slash = path.find('/', end);
    if (slash == absl::string_view::npos) slash = path.size();
    std::string name(path.substr(end, slash - end));
    ASSIGN_OR_RETURN(current, OpenOrCreateChildDir(current.get(), name, path.substr(0, slash)));
    end = slash + 1;
  }
  return current;
}

absl::StatusOr<struct stat> StatAt(int dir_fd, absl::string_view name) {
  struct stat st;
  std::string name_str(name);
  if (::fstatat(dir_fd, name_str.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, absl::StrCat("inspecting \"", name, "\""));
  }
  return st;
}

absl::Status RemoveAt(int dir_fd, absl::string_view name) {
  return RemoveAtImpl(dir_fd, std::string(name), name);
}

}  // namespace berth::image
