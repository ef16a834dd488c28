#include "image/archive_library.h"

#include "common/status.h"
#include "image/shared_object.h"

namespace berth::image {
namespace {

constexpr char kSoname[] = "libarchive.so.13";

ArchiveLibrary library;

absl::Status Load() {
  ASSIGN_OR_RETURN(void* handle, OpenSharedObject(kSoname, "layer unpacking and image import"));
  RETURN_IF_ERROR(ResolveSymbols(
      handle, kSoname,
      Symbol{"archive_entry_atime", library.entry_atime},
      Symbol{"archive_entry_atime_is_set", library.entry_atime_is_set},
      Symbol{"archive_entry_atime_nsec", library.entry_atime_nsec},
      Symbol{"archive_entry_filetype", library.entry_filetype},
      Symbol{"archive_entry_gid", library.entry_gid},
      Symbol{"archive_entry_hardlink", library.entry_hardlink},
      Symbol{"archive_entry_mtime", library.entry_mtime},
      Symbol{"archive_entry_mtime_is_set", library.entry_mtime_is_set},
      Symbol{"archive_entry_mtime_nsec", library.entry_mtime_nsec},
      Symbol{"archive_entry_pathname", library.entry_pathname},
      Symbol{"archive_entry_perm", library.entry_perm},
      Symbol{"archive_entry_rdev", library.entry_rdev},
      Symbol{"archive_entry_size", library.entry_size},
      Symbol{"archive_entry_symlink", library.entry_symlink},
      Symbol{"archive_entry_uid", library.entry_uid},
      Symbol{"archive_entry_xattr_next", library.entry_xattr_next},
      Symbol{"archive_entry_xattr_reset", library.entry_xattr_reset},
      Symbol{"archive_error_string", library.error_string},
      Symbol{"archive_read_data", library.read_data},
      Symbol{"archive_read_data_block", library.read_data_block},
      Symbol{"archive_read_free", library.read_free},
      Symbol{"archive_read_new", library.read_new},
      Symbol{"archive_read_next_header", library.read_next_header},
      Symbol{"archive_read_open", library.read_open},
      Symbol{"archive_read_open_filename", library.read_open_filename},
      Symbol{"archive_read_support_filter_gzip", library.read_support_filter_gzip},
      Symbol{"archive_read_support_filter_zstd", library.read_support_filter_zstd},
      Symbol{"archive_read_support_format_empty", library.read_support_format_empty},
      Symbol{"archive_read_support_format_gnutar", library.read_support_format_gnutar},
      Symbol{"archive_read_support_format_tar", library.read_support_format_tar},
      Symbol{"archive_set_error", library.set_error}));
  return absl::OkStatus();
}

}  // namespace

absl::Status LoadArchive() {
  static const absl::Status* const status = new absl::Status(Load());
  return *status;
}

const ArchiveLibrary& Archive() { return library; }

}  // namespace berth::image
