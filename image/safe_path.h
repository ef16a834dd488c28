#ifndef BERTH_IMAGE_SAFE_PATH_H_
#define BERTH_IMAGE_SAFE_PATH_H_

#include <sys/stat.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

// Path handling inside a directory tree that untrusted input fills (a layer being unpacked):
// names are checked before use and every lookup is made by the kernel relative to a directory
// fd of the root, so neither "..", an absolute name nor a symbolic link can lead outside it.
namespace berth::image {

// Validates an archive entry name and returns it normalized: a leading "./" (or "/" runs and
// "." components anywhere) dropped, no trailing slash, components joined by single slashes.
// The root itself ("./", ".") is returned as "". InvalidArgument for an empty name, an
// absolute name ("absolute path") and a name with a ".." component ("path escapes the layer
// root").
absl::StatusOr<std::string> CleanEntryPath(absl::string_view name);

// Splits a clean path into its parent ("" for the root) and last component.
std::pair<absl::string_view, absl::string_view> SplitParent(absl::string_view clean_path);

// Opens `path` (relative; "" is the root) below `root_fd` with openat2(2):
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV, plus RESOLVE_NO_SYMLINKS unless
// `follow_symlinks`. Following symbolic links keeps them inside the root ("/" and ".." of a
// link resolve to the root). O_CLOEXEC is always added. Errors are errno statuses, except a
// path through a symbolic link where none are followed, through a non-directory or across a
// mount, which are InvalidArgument naming the path.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, absl::string_view path, int flags,
                                    bool follow_symlinks = false);

// Opens the directory `path` below `root_fd` for reading, never following symbolic links,
// creating missing directories (mode 0755, owned by the caller) on the way.
absl::StatusOr<UniqueFd> OpenOrCreateDirInRoot(int root_fd, absl::string_view path);

// lstat of `name` in `dir_fd`: NotFound when it does not exist.
absl::StatusOr<struct stat> StatAt(int dir_fd, absl::string_view name);

// Removes `name` in `dir_fd` whatever it is: a directory with all its contents, never following
// symbolic links. A missing name is fine.
absl::Status RemoveAt(int dir_fd, absl::string_view name);

}  // namespace berth::image

#endif  // BERTH_IMAGE_SAFE_PATH_H_
