#include "common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {
namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Removes the entry `name` in the directory `dirfd`, which lies on device `dev`.
absl::Status RemoveAt(int dirfd, const char* name, dev_t dev, const std::string& shown) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("inspecting ", shown));
  }
  if (S_ISDIR(st.st_mode)) {
    if (st.st_dev != dev) {
      return absl::FailedPreconditionError(absl::StrCat("not removing ", shown, ": a mount point"));
    }
    int sub = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return ErrnoStatus(errno, absl::StrCat("opening ", shown));
    DIR* dir = ::fdopendir(sub);
    if (dir == nullptr) {
      ::close(sub);
      return ErrnoStatus(errno, absl::StrCat("listing ", shown));
    }
    absl::Status status;
    while (struct dirent* entry = ::readdir(dir)) {
      absl::string_view child(entry->d_name);
      if (child == "." || child == "..") continue;
      status = RemoveAt(sub, entry->d_name, dev, absl::StrCat(shown, "/", child));
      if (!status.ok()) break;
    }
    ::closedir(dir);
    RETURN_IF_ERROR(status);
    if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("removing ", shown));
    }
    return absl::OkStatus();
  }
  if (::unlinkat(dirfd, name, 0) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("removing ", shown));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("writing ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status SyncDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening directory ", dir));
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, absl::StrCat("syncing directory ", dir));
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode,
                             Durability durability) {
  const bool durable = durability == Durability::kDurable;
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("creating a temporary file for ", path));
  absl::Status status = WriteAll(fd.get(), data, tmp);
  if (status.ok() && ::fchmod(fd.get(), mode) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("setting the mode of ", tmp));
  }
  if (status.ok() && durable && ::fsync(fd.get()) != 0) {
    status = ErrnoStatus(errno, "syncing " + tmp);
  }
  fd.Reset();
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("renaming ", tmp, " to ", path));
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return durable ? SyncDirectory(DirName(path)) : absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("inspecting ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("reading ", path));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat(path, " is larger than the limit of ", max_bytes, " bytes"));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("empty directory path");
  // Deepest first: the parents usually exist, and then one mkdir is all it takes (a walk down
  // from the root costs a failed mkdir and a path lookup per component). Going up until a
  // directory exists, then down making the missing ones.
  std::vector<size_t> missing;  // prefix lengths, deepest first
  size_t end = path.size();
  while (end > 0) {
    std::string dir = path.substr(0, end);
    if (dir == "/" || ::mkdir(dir.c_str(), mode) == 0 || errno == EEXIST) break;
    if (errno != ENOENT) return ErrnoStatus(errno, absl::StrCat("creating directory ", dir));
    missing.push_back(end);
    size_t slash = path.rfind('/', end - 1);
    if (slash == std::string::npos) break;  // a relative path's first component is missing
    end = slash == 0 ? 1 : slash;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    std::string dir = path.substr(0, *it);
    if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("creating directory ", dir));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "inspecting " + path);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) {
  std::string parent = DirName(path);
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (base.empty() || base == "." || base == "..") {
    return absl::InvalidArgumentError(absl::StrCat("refusing to remove ", path));
  }
  UniqueFd dirfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("opening ", parent));
  }
  struct stat st;
  if (::fstatat(dirfd.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("inspecting ", path));
  }
  return RemoveAt(dirfd.get(), base.c_str(), st.st_dev, path);
}

}  // namespace berth
