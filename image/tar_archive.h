#ifndef BERTH_IMAGE_TAR_ARCHIVE_H_
#define BERTH_IMAGE_TAR_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::image {

// Read-only access to the members of an image archive on disk (a tar, possibly compressed),
// by name, one pass per call: nothing is ever extracted to the filesystem. Member names are
// compared after CleanMemberName; names the archive holds that do not clean are skipped.
class TarArchive {
 public:
  explicit TarArchive(std::string path) : path_(std::move(path)) {}

  // Regular-file members and their sizes. InvalidArgument when the file is not an archive or
  // holds more than `max_members`.
  absl::StatusOr<std::map<std::string, int64_t>> List(size_t max_members = 100'000) const;

  // The whole member `name` (a cleaned name): NotFound when absent, ResourceExhausted when
  // larger than `max_bytes`.
  absl::StatusOr<std::string> Read(absl::string_view name, size_t max_bytes) const;

  // Streams member `name` into `sink` in chunks; NotFound when absent.
  absl::Status Stream(absl::string_view name,
                      const std::function<absl::Status(absl::string_view)>& sink) const;

 private:
  const std::string path_;
};

// "./a/b" -> "a/b". InvalidArgument for an empty or absolute name, or one with a ".." or
// empty component: archive member names (and names that manifests give) are never trusted.
absl::StatusOr<std::string> CleanMemberName(absl::string_view name);

}  // namespace berth::image

#endif  // BERTH_IMAGE_TAR_ARCHIVE_H_
