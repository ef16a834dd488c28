#ifndef BERTH_COMMON_TEMP_DIR_H_
#define BERTH_COMMON_TEMP_DIR_H_

#include <string>

#include "absl/status/statusor.h"

namespace berth {

// A directory made with mkdtemp and removed with everything in it when destroyed.
class TempDir {
 public:
  // Makes `<parent>/<prefix>XXXXXX`; the parent defaults to $TMPDIR or /tmp.
  static absl::StatusOr<TempDir> Make(const std::string& prefix, std::string parent = "");

  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory on disk; the caller owns it now.
  std::string Release();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace berth

#endif  // BERTH_COMMON_TEMP_DIR_H_
