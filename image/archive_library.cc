#include "image/archive_library.h"

#include "common/status.h"
#include "image/shared_object.h"

namespace berth::image {
namespace {

constexpr char kSoname[] = "libarchive.so.13";

ArchiveLibrary library;

absl::Status Load() {
  ASSIGN_OR_RETURN(void* handle, OpenSharedObject(kSoname, "layer unpacking and image import"));
  auto resolve = [&](const char* name, auto& out) {
    return ResolveSymbol(handle, kSoname, name, out);
  };
  for (absl::Status status : {
           resolve("archive_entry_atime", library.entry_atime),
           resolve("archive_entry_atime_is_set", library.entry_atime_is_set),
           resolve("archive_entry_atime_nsec", library.entry_atime_nsec),
           resolve("archive_entry_filetype", library.entry_filetype),
           resolve("archive_entry_gid", library.entry_gid),
           resolve("archive_entry_hardlink", library.entry_hardlink),
           resolve("archive_entry_mtime", library.entry_mtime),
           resolve("archive_entry_mtime_is_set", library.entry_mtime_is_set),
           resolve("archive_entry_mtime_nsec", library.entry_mtime_nsec),
           resolve("archive_entry_pathname", library.entry_pathname),
           resolve("archive_entry_perm", library.entry_perm),
           resolve("archive_entry_rdev", library.entry_rdev),
           resolve("archive_entry_size", library.entry_size),
           resolve("archive_entry_symlink", library.entry_symlink),
           resolve("archive_entry_uid", library.entry_uid),
           resolve("archive_entry_xattr_next", library.entry_xattr_next),
           resolve("archive_entry_xattr_reset", library.entry_xattr_reset),
           resolve("archive_error_string", library.error_string),
           resolve("archive_read_data", library.read_data),
           resolve("archive_read_data_block", library.read_data_block),
           resolve("archive_read_free", library.read_free),
           resolve("archive_read_new", library.read_new),
           resolve("archive_read_next_header", library.read_next_header),
           resolve("archive_read_open", library.read_open),
           resolve("archive_read_open_filename", library.read_open_filename),
           resolve("archive_read_support_filter_gzip", library.read_support_filter_gzip),
           resolve("archive_read_support_filter_zstd", library.read_support_filter_zstd),
           resolve("archive_read_support_format_empty", library.read_support_format_empty),
           resolve("archive_read_support_format_gnutar", library.read_support_format_gnutar),
           resolve("archive_read_support_format_tar", library.read_support_format_tar),
           resolve("archive_set_error", library.set_error),
       }) {
    RETURN_IF_ERROR(status);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadArchive() {
  static const absl::Status* const status = new absl::Status(Load());
  return *status;
}

const ArchiveLibrary& Archive() { return library; }

}  // namespace berth::image
