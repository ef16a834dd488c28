#ifndef BERTH_IMAGE_ARCHIVE_LIBRARY_H_
#define BERTH_IMAGE_ARCHIVE_LIBRARY_H_

#include <archive.h>
#include <archive_entry.h>

#include "absl/status/status.h"

namespace berth::image {

// libarchive's entry points the layer unpacker and the archive importer use, resolved from
// libarchive.so.13 on the first unpack or import instead of being linked into berthd. Linked,
// libarchive and what it depends on (libxml2 and ICU for formats berth never reads, liblzma,
// libbz2, liblz4, libacl...) are loaded and relocated at every start: ~1.5 MiB of idle RSS in a
// daemon that may never pull.
struct ArchiveLibrary {
  decltype(&archive_entry_atime) entry_atime = nullptr;
  decltype(&archive_entry_atime_is_set) entry_atime_is_set = nullptr;
  decltype(&archive_entry_atime_nsec) entry_atime_nsec = nullptr;
  decltype(&archive_entry_filetype) entry_filetype = nullptr;
  decltype(&archive_entry_gid) entry_gid = nullptr;
  decltype(&archive_entry_hardlink) entry_hardlink = nullptr;
  decltype(&archive_entry_mtime) entry_mtime = nullptr;
  decltype(&archive_entry_mtime_is_set) entry_mtime_is_set = nullptr;
  decltype(&archive_entry_mtime_nsec) entry_mtime_nsec = nullptr;
  decltype(&archive_entry_pathname) entry_pathname = nullptr;
  decltype(&archive_entry_perm) entry_perm = nullptr;
  decltype(&archive_entry_rdev) entry_rdev = nullptr;
  decltype(&archive_entry_size) entry_size = nullptr;
  decltype(&archive_entry_symlink) entry_symlink = nullptr;
  decltype(&archive_entry_uid) entry_uid = nullptr;
  decltype(&archive_entry_xattr_next) entry_xattr_next = nullptr;
  decltype(&archive_entry_xattr_reset) entry_xattr_reset = nullptr;
  decltype(&archive_error_string) error_string = nullptr;
  decltype(&archive_read_data) read_data = nullptr;
  decltype(&archive_read_data_block) read_data_block = nullptr;
  decltype(&archive_read_free) read_free = nullptr;
  decltype(&archive_read_new) read_new = nullptr;
  decltype(&archive_read_next_header) read_next_header = nullptr;
  decltype(&archive_read_open) read_open = nullptr;
  decltype(&archive_read_open_filename) read_open_filename = nullptr;
  decltype(&archive_read_support_filter_gzip) read_support_filter_gzip = nullptr;
  decltype(&archive_read_support_filter_zstd) read_support_filter_zstd = nullptr;
  decltype(&archive_read_support_format_empty) read_support_format_empty = nullptr;
  decltype(&archive_read_support_format_gnutar) read_support_format_gnutar = nullptr;
  decltype(&archive_read_support_format_tar) read_support_format_tar = nullptr;
  decltype(&archive_set_error) set_error = nullptr;
};

// Loads libarchive, once per process (thread-safe). A failure is FailedPrecondition naming the
// library and stays the answer for the process's life.
absl::Status LoadArchive();

// The loaded library; only after LoadArchive() returned OK.
const ArchiveLibrary& Archive();

}  // namespace berth::image

#endif  // BERTH_IMAGE_ARCHIVE_LIBRARY_H_
