#include "image/tar_archive.h"

#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "image/archive_library.h"

namespace berth::image {
namespace {

constexpr size_t kBlockSize = 1 << 20;

struct ArchiveCloser {
  void operator()(struct archive* a) const { Archive().read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveCloser>;

absl::StatusOr<ArchivePtr> OpenArchive(const std::string& path) {
  RETURN_IF_ERROR(LoadArchive());
  ArchivePtr a(Archive().read_new());
  if (a == nullptr) return absl::ResourceExhaustedError("allocating an archive reader");
  Archive().read_support_format_tar(a.get());
  Archive().read_support_filter_gzip(a.get());
  Archive().read_support_filter_zstd(a.get());
  if (Archive().read_open_filename(a.get(), path.c_str(), kBlockSize) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("opening archive ", path, ": ", Archive().error_string(a.get())));
  }
  return a;
}

absl::Status ArchiveError(struct archive* a, const std::string& path) {
  const char* message = Archive().error_string(a);
  return absl::InvalidArgumentError(
      absl::StrCat("reading archive ", path, ": ", message != nullptr ? message : "error"));
}

// Calls `visit` for each regular-file member whose name cleans; `visit` returns true to stop.
// The archive is positioned at that member's data then.
absl::Status ForEachMember(
    struct archive* a, const std::string& path,
    const std::function<absl::StatusOr<bool>(const std::string&, struct archive_entry*)>& visit) {
  struct archive_entry* entry = nullptr;
  while (true) {
    int r = Archive().read_next_header(a, &entry);
    if (r == ARCHIVE_EOF) return absl::OkStatus();
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(a, path);
    if (Archive().entry_filetype(entry) != AE_IFREG) continue;
    const char* raw = Archive().entry_pathname(entry);
    if (raw == nullptr) continue;
    absl::StatusOr<std::string> name = CleanMemberName(raw);
    if (!name.ok()) continue;
    ASSIGN_OR_RETURN(bool stop, visit(*name, entry));
    if (stop) return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::string> CleanMemberName(absl::string_view name) {
  absl::string_view rest = name;
  while (absl::ConsumePrefix(&rest, "./")) {
  }
  if (rest.empty() || absl::StartsWith(rest, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("archive member name \"", name.substr(0, 200), "\" is empty or absolute"));
  }
  for (absl::string_view part : absl::StrSplit(rest, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("archive member name \"", name.substr(0, 200), "\" is not a plain path"));
    }
  }
  return std::string(rest);
}

absl::StatusOr<std::map<std::string, int64_t>> TarArchive::List(size_t max_members) const {
  ASSIGN_OR_RETURN(ArchivePtr a, OpenArchive(path_));
  std::map<std::string, int64_t> members;
  absl::Status listed = ForEachMember(
      a.get(), path_,
      [&](const std::string& name, struct archive_entry* entry) -> absl::StatusOr<bool> {
        if (members.size() >= max_members) {
          return absl::InvalidArgumentError(
              absl::StrCat("archive ", path_, " has more than ", max_members, " members"));
        }
        members[name] = Archive().entry_size(entry);
        return false;
      });
  RETURN_IF_ERROR(listed);
  if (members.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, " is an empty or unreadable archive"));
  }
  return members;
}

absl::StatusOr<std::string> TarArchive::Read(absl::string_view name, size_t max_bytes) const {
  std::string data;
  absl::Status streamed = Stream(name, [&](absl::string_view chunk) {
    if (data.size() + chunk.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("archive member ", name, " is larger than ", max_bytes, " bytes"));
    }
    data.append(chunk.data(), chunk.size());
    return absl::OkStatus();
  });
  RETURN_IF_ERROR(streamed);
  return data;
}

absl::Status TarArchive::Stream(absl::string_view name,
                                const std::function<absl::Status(absl::string_view)>& sink) const {
  ASSIGN_OR_RETURN(ArchivePtr a, OpenArchive(path_));
  bool found = false;
  absl::Status streamed = ForEachMember(
      a.get(), path_,
      [&](const std::string& member, struct archive_entry*) -> absl::StatusOr<bool> {
        if (member != name) return false;
        found = true;
        std::vector<char> buffer(kBlockSize);
        while (true) {
          la_ssize_t n = Archive().read_data(a.get(), buffer.data(), buffer.size());
          if (n < 0) return ArchiveError(a.get(), path_);
          if (n == 0) break;
          RETURN_IF_ERROR(sink(absl::string_view(buffer.data(), static_cast<size_t>(n))));
        }
        return true;
      });
  RETURN_IF_ERROR(streamed);
  if (!found) {
    return absl::NotFoundError(absl::StrCat("archive ", path_, " has no member ", name));
  }
  return absl::OkStatus();
}

}  // namespace berth::image
