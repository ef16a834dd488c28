#include "common/temp_dir.h"

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"

namespace berth {

absl::StatusOr<TempDir> TempDir::Make(const std::string& prefix, std::string parent) {
  if (parent.empty()) {
    const char* env = std::getenv("TMPDIR");
    parent = (env != nullptr && *env != '\0') ? env : "/tmp";
  }
  std::string pattern = absl::StrCat(parent, "/", prefix, "XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ErrnoStatus(errno, absl::StrCat("creating a temporary directory in ", parent));
  }
  return TempDir(std::move(pattern));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    this->~TempDir();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  absl::Status status = RemoveAll(path_);
  if (!status.ok()) LOG_WARN("removing temporary directory: {}", status.ToString());
}

std::string TempDir::Release() {
  std::string path = std::move(path_);
  path_.clear();
  return path;
}

}  // namespace berth
