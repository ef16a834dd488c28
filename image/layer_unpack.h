#ifndef BERTH_IMAGE_LAYER_UNPACK_H_
#define BERTH_IMAGE_LAYER_UNPACK_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "image/layer_stream.h"

namespace berth::image {

struct UnpackOptions {
  // "sha256:<hex>" of the blob and of the decompressed tar; either may be empty (not checked).
  std::string expected_digest;
  std::string expected_diff_id;
  // The source verifies `expected_digest` itself (the registry client hashes a blob as it
  // streams it, and the caller commits nothing unless the source succeeded): the raw bytes are
  // then not hashed a second time and the returned digest is `expected_digest`, which must be
  // set. The diff id is always computed.
  bool source_verifies_digest = false;
  // Limits against decompression bombs and hostile archives.
  int64_t max_uncompressed_bytes = kDefaultMaxUncompressedBytes;
  int64_t max_entries = 5'000'000;
  // The most one entry's header may carry: its name, link target and extended attributes.
  size_t max_header_bytes = 1 << 20;
};

// Unpacks one OCI image layer read from `source_fd` (a file or a pipe, read to its end) into
// `target_dir`, an empty directory the caller created and owns: it renames it into the layer
// store on success and removes it on failure (this function does not clean up after an error).
//
// The layer may be gzip (one or more members), zstd or uncompressed; the digests of the raw
// bytes and of the tar stream are computed while streaming and compared with the expected
// ones at the end (DataLoss naming both digests). Memory use does not grow with the layer.
//
// Every entry is untrusted. Nothing is ever created outside `target_dir`: names are resolved
// with openat2(RESOLVE_IN_ROOT) and never through a symbolic link, and the last component is
// created with *at() calls that do not follow links. Refused with InvalidArgument naming the
// entry: absolute names, ".." components, paths through a symbolic link or a non-directory,
// a symbolic link replacing a directory, hard links to directories or to missing or escaping
// targets, unknown ".wh..wh." names, owners that are not valid ids and oversized headers;
// ResourceExhausted beyond `max_entries` or `max_uncompressed_bytes`. When the kernel refuses
// mknod (no CAP_MKNOD), device nodes and whiteouts fail with PermissionDenied.
//
// OCI whiteouts become overlayfs whiteouts: "dir/.wh.name" a 0/0 character device
// "dir/name", "dir/.wh..wh..opq" the xattr trusted.overlay.opaque=y on "dir". Owners, modes
// (setuid, setgid and sticky included), extended attributes and times are preserved, with
// these exceptions about extended attributes: trusted.overlay.* and user.overlay.* from the
// layer are dropped (a layer must not forge overlay metadata), and security.* attributes other
// than security.capability are skipped when the kernel refuses them (the host's LSM owns
// labels). POSIX ACLs stored as tar ACL records (not as xattrs) are not applied.
absl::StatusOr<LayerDigests> UnpackLayer(int source_fd, const std::string& target_dir,
                                         const UnpackOptions& options);

}  // namespace berth::image

#endif  // BERTH_IMAGE_LAYER_UNPACK_H_
