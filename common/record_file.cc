#include "common/record_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {
namespace {

constexpr absl::string_view kTempSuffix = ".tmp";

struct Version {
  uint64_t number;
  std::string path;
};

// The versions of the record at `path` present in its directory, newest first, and the
// temporaries left by an interrupted write.
absl::Status ListVersions(const std::string& path, std::vector<Version>* versions,
                          std::vector<std::string>* temporaries) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return ErrnoStatus(errno, absl::StrCat("listing ", dir));
  while (const dirent* entry = ::readdir(stream)) {
    absl::string_view name = entry->d_name;
    if (name == base) {
      versions->push_back({0, path});
      continue;
    }
    if (!absl::StartsWith(name, base) || name.size() <= base.size() + 1 ||
        name[base.size()] != '.') {
      continue;
    }
    absl::string_view suffix = name.substr(base.size() + 1);
    uint64_t number = 0;
    if (absl::EndsWith(suffix, kTempSuffix)) {
      temporaries->push_back(absl::StrCat(dir, "/", name));
    } else if (absl::SimpleAtoi(suffix, &number) && number > 0) {
      versions->push_back({number, absl::StrCat(dir, "/", name)});
    }
  }
  ::closedir(stream);
  std::sort(versions->begin(), versions->end(),
            [](const Version& a, const Version& b) { return a.number > b.number; });
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteRecordFile(const std::string& path, absl::string_view data) {
  std::vector<Version> versions;
  std::vector<std::string> temporaries;
  RETURN_IF_ERROR(ListVersions(path, &versions, &temporaries));
  uint64_t next = versions.empty() ? 1 : versions.front().number + 1;
  std::string target = absl::StrCat(path, ".", next);
  std::string temporary = absl::StrCat(target, kTempSuffix);
  {
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return ErrnoStatus(errno, absl::StrCat("creating ", temporary));
    absl::Status written = WriteAll(fd.get(), data, temporary);
    if (!written.ok()) {
      ::unlink(temporary.c_str());
      return written;
    }
  }
  // A name nobody has: renaming to it is cheap, and never replaces a version.
  if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    absl::Status status = ErrnoStatus(errno, absl::StrCat("renaming ", temporary, " to ", target));
    ::unlink(temporary.c_str());
    return status;
  }
  for (const Version& old : versions) ::unlink(old.path.c_str());
  for (const std::string& leftover : temporaries) ::unlink(leftover.c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadRecordFile(const std::string& path,
                                           const std::function<bool(const std::string&)>& valid,
                                           size_t max_bytes) {
  std::vector<Version> versions;
  std::vector<std::string> temporaries;
  RETURN_IF_ERROR(ListVersions(path, &versions, &temporaries));
  for (const std::string& leftover : temporaries) ::unlink(leftover.c_str());
  for (size_t i = 0; i < versions.size(); ++i) {
    absl::StatusOr<std::string> data = ReadFile(versions[i].path, max_bytes);
    if (!data.ok() || !valid(*data)) continue;
    for (size_t j = 0; j < versions.size(); ++j) {
      if (j != i) ::unlink(versions[j].path.c_str());
    }
    return data;
  }
  return absl::NotFoundError(absl::StrCat("no readable version of the record ", path));
}

}  // namespace berth
