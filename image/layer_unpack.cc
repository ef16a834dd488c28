#include "image/layer_unpack.h"

#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "image/archive_library.h"
#include "image/safe_path.h"

namespace berth::image {
namespace {

constexpr size_t kReadBufferSize = 128 * 1024;
// The most memory the deferred directory times may take (paths of directory entries).
constexpr size_t kMaxDeferredBytes = 64 << 20;
constexpr size_t kMaxNameInMessages = 256;
constexpr int64_t kMaxId = 0xfffffffe;  // (uid_t)-1 means "unchanged" to chown
constexpr size_t kMaxXattrValue = 64 * 1024;

constexpr absl::string_view kWhiteoutPrefix = ".wh.";
constexpr absl::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr absl::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr char kOpaqueXattr[] = "trusted.overlay.opaque";

// Makes the calling thread's character set UTF-8 while it lives, so libarchive turns pax
// names (always UTF-8) into the same bytes instead of failing on a C locale.
class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale() : locale_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (locale_ != static_cast<locale_t>(0)) previous_ = ::uselocale(locale_);
  }
  ~ScopedUtf8Locale() {
    if (locale_ == static_cast<locale_t>(0)) return;
    ::uselocale(previous_);
    ::freelocale(locale_);
  }
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t locale_;
  locale_t previous_ = static_cast<locale_t>(0);
};

struct ArchiveDeleter {
  void operator()(struct archive* a) const { Archive().read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// What libarchive's read callback needs; `error` keeps why the stream failed.
struct ReadContext {
  LayerStream* stream;
  std::vector<char> buffer;
  absl::Status error;
};

la_ssize_t ReadCallback(struct archive* a, void* client_data, const void** buffer) {
  auto* context = static_cast<ReadContext*>(client_data);
  absl::StatusOr<size_t> n = context->stream->Read(context->buffer.data(), context->buffer.size());
  if (!n.ok()) {
    context->error = n.status();
    Archive().set_error(a, EIO, "%s", std::string(n.status().message()).c_str());
    return -1;
  }
  *buffer = context->buffer.data();
  return static_cast<la_ssize_t>(*n);
}

std::string Quoted(absl::string_view name) {
  if (name.size() <= kMaxNameInMessages) return absl::StrCat("\"", absl::CHexEscape(name), "\"");
  return absl::StrCat("\"", absl::CHexEscape(name.substr(0, kMaxNameInMessages)), "...\"");
}

// The error of the stream feeding libarchive when there is one, else libarchive's own.
absl::Status ArchiveStatus(const ReadContext& context, struct archive* a, absl::string_view what) {
  if (!context.error.ok()) return context.error;
  const char* message = Archive().error_string(a);
  return absl::InvalidArgumentError(absl::StrCat("malformed tar stream ", what, ": ",
                                                 message != nullptr ? message : "unknown error"));
}

// One filesystem object being given its metadata: an open fd when there is one (regular
// files, directories), else a name in a directory (symbolic links, devices, fifos), which is
// never opened, so devices are not touched and links not followed.
struct Node {
  int dir_fd = -1;
  std::string name;
  int fd = -1;
  bool is_symlink = false;
};

// "/proc/self/fd/<dir>/<name>": the name inside a directory we hold, for the calls that have
// no *at() form (lsetxattr). The directory fd is trusted; the last component is not followed.
std::string ProcPath(const Node& node) {
  return absl::StrCat("/proc/self/fd/", node.dir_fd, "/", node.name);
}

enum class XattrPolicy { kDrop, kSkipIfRefused, kRequired };

XattrPolicy PolicyFor(absl::string_view name) {
  if (absl::StartsWith(name, "trusted.overlay.") || absl::StartsWith(name, "user.overlay.")) {
    return XattrPolicy::kDrop;
  }
  if (absl::StartsWith(name, "security.") && name != "security.capability") {
    return XattrPolicy::kSkipIfRefused;
  }
  return XattrPolicy::kRequired;
}

absl::Status SetXattr(const Node& node, const char* name, const void* value, size_t size) {
  int rc = node.fd >= 0 ? ::fsetxattr(node.fd, name, value, size, 0)
                        : ::lsetxattr(ProcPath(node).c_str(), name, value, size, 0);
  if (rc == 0) return absl::OkStatus();
  int err = errno;
  if (PolicyFor(name) == XattrPolicy::kSkipIfRefused &&
      (err == EOPNOTSUPP || err == EINVAL || err == EPERM || err == EACCES)) {
    LOG_DEBUG("layer unpack: the kernel refused xattr {}; skipped", name);
    return absl::OkStatus();
  }
  return ErrnoStatus(err, absl::StrCat("setting extended attribute ", name));
}

absl::Status ApplyXattrs(const Node& node, struct archive_entry* entry) {
  Archive().entry_xattr_reset(entry);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (Archive().entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (name == nullptr || *name == '\0') {
      return absl::InvalidArgumentError("extended attribute with an empty name");
    }
    if (size > kMaxXattrValue) {
      return absl::InvalidArgumentError(absl::StrCat("extended attribute ", name, " is too large"));
    }
    if (PolicyFor(name) == XattrPolicy::kDrop) {
      LOG_DEBUG("layer unpack: dropping overlay xattr {} from the layer", name);
      continue;
    }
    RETURN_IF_ERROR(SetXattr(node, name, value, size));
  }
  return absl::OkStatus();
}

absl::Status ApplyOwnerAndMode(const Node& node, struct archive_entry* entry) {
  int64_t uid = Archive().entry_uid(entry);
  int64_t gid = Archive().entry_gid(entry);
  if (uid < 0 || uid > kMaxId || gid < 0 || gid > kMaxId) {
    return absl::InvalidArgumentError(absl::StrCat("invalid owner ", uid, ":", gid));
  }
  int rc = node.fd >= 0 ? ::fchown(node.fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid))
                        : ::fchownat(node.dir_fd, node.name.c_str(), static_cast<uid_t>(uid),
                                     static_cast<gid_t>(gid), AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return ErrnoStatus(errno, absl::StrCat("setting owner ", uid, ":", gid));
  if (node.is_symlink) return absl::OkStatus();  // a link's mode means nothing
  // After chown, which clears setuid and setgid.
  mode_t mode = Archive().entry_perm(entry) & 07777;
  rc = node.fd >= 0 ? ::fchmod(node.fd, mode) : ::fchmodat(node.dir_fd, node.name.c_str(), mode, 0);
  if (rc != 0) return ErrnoStatus(errno, absl::StrCat("setting mode 0", absl::Hex(mode)));
  return absl::OkStatus();
}

absl::StatusOr<std::array<struct timespec, 2>> EntryTimes(struct archive_entry* entry) {
  std::array<struct timespec, 2> times{};
  times[1].tv_nsec = UTIME_OMIT;
  if (Archive().entry_mtime_is_set(entry)) {
    times[1].tv_sec = Archive().entry_mtime(entry);
    times[1].tv_nsec = Archive().entry_mtime_nsec(entry);
  }
  times[0] = times[1];
  if (Archive().entry_atime_is_set(entry)) {
    times[0].tv_sec = Archive().entry_atime(entry);
    times[0].tv_nsec = Archive().entry_atime_nsec(entry);
  }
  for (const struct timespec& t : times) {
    if (t.tv_nsec != UTIME_OMIT && (t.tv_nsec < 0 || t.tv_nsec >= 1'000'000'000)) {
      return absl::InvalidArgumentError("invalid timestamp");
    }
  }
  return times;
}

absl::Status ApplyTimes(const Node& node, const std::array<struct timespec, 2>& times) {
  int rc = node.fd >= 0
               ? ::futimens(node.fd, times.data())
               : ::utimensat(node.dir_fd, node.name.c_str(), times.data(), AT_SYMLINK_NOFOLLOW);
  if (rc != 0) return ErrnoStatus(errno, "setting times");
  return absl::OkStatus();
}

// Metadata in the order that keeps it: owner, then mode (chown clears setuid), then xattrs
// (chown clears security.capability too), then times (which nothing after changes).
absl::Status ApplyMetadata(const Node& node, struct archive_entry* entry, bool set_times) {
  RETURN_IF_ERROR(ApplyOwnerAndMode(node, entry));
  RETURN_IF_ERROR(ApplyXattrs(node, entry));
  if (!set_times) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto times, EntryTimes(entry));
  return ApplyTimes(node, times);
}

absl::Status MakeNode(int dir_fd, const std::string& name, mode_t mode, dev_t rdev) {
  if (::mknodat(dir_fd, name.c_str(), mode, rdev) == 0) return absl::OkStatus();
  int err = errno;
  if (err == EPERM) {
    return absl::PermissionDeniedError(
        "creating a device node is not permitted (unpacking layers needs CAP_MKNOD)");
  }
  return ErrnoStatus(err, "creating the node");
}

// Applies the entries of one layer below a root directory fd.
class Unpacker {
 public:
  Unpacker(int root_fd, const UnpackOptions& options) : root_fd_(root_fd), options_(options) {}

  // Reads every entry from `a` and applies it.
  absl::Status ApplyAll(struct archive* a, ReadContext& context);
  // Sets the times of the directories the layer named, now that nothing changes them.
  absl::Status Finish();

 private:
  struct DeferredTimes {
    std::string path;
    std::array<struct timespec, 2> times;
  };

  absl::Status ApplyEntry(struct archive* a, struct archive_entry* entry, absl::string_view name);
  absl::Status CheckHeaderSize(struct archive_entry* entry, absl::string_view name) const;
  absl::Status ApplyWhiteout(absl::string_view parent, absl::string_view base);
  absl::Status ApplyDirectory(struct archive_entry* entry, const std::string& path);
  absl::Status ApplyRegular(struct archive* a, struct archive_entry* entry, int parent_fd,
                            const std::string& base);
  absl::Status WriteData(struct archive* a, int fd, int64_t size);
  absl::Status ApplySymlink(struct archive_entry* entry, int parent_fd, const std::string& base);
  absl::Status ApplySpecial(struct archive_entry* entry, int parent_fd, const std::string& base);
  absl::Status ApplyHardLink(absl::string_view target, int parent_fd, const std::string& base);

  int root_fd_;
  const UnpackOptions& options_;
  ReadContext* context_ = nullptr;
  int64_t entries_ = 0;
  std::vector<DeferredTimes> deferred_;
  size_t deferred_bytes_ = 0;
};

absl::Status Unpacker::ApplyAll(struct archive* a, ReadContext& context) {
  context_ = &context;
  std::string previous = "(start of the layer)";
  while (true) {
    struct archive_entry* entry = nullptr;
    int rc = Archive().read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) return absl::OkStatus();
    if (rc != ARCHIVE_OK) {
      return ArchiveStatus(context, a, absl::StrCat("after entry ", Quoted(previous)));
    }
    if (++entries_ > options_.max_entries) {
      return absl::ResourceExhaustedError(
          absl::StrCat("layer has more than the limit of ", options_.max_entries, " entries"));
    }
    const char* name = Archive().entry_pathname(entry);
    if (name == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer entry after ", Quoted(previous), " has no usable name"));
    }
    RETURN_IF_ERROR(
        Annotate(ApplyEntry(a, entry, name), absl::StrCat("layer entry ", Quoted(name))));
    previous = name;
  }
}

absl::Status Unpacker::CheckHeaderSize(struct archive_entry* entry, absl::string_view name) const {
  size_t total = name.size();
  if (const char* link = Archive().entry_hardlink(entry)) total += std::strlen(link);
  if (const char* link = Archive().entry_symlink(entry)) total += std::strlen(link);
  Archive().entry_xattr_reset(entry);
  const char* xattr_name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (Archive().entry_xattr_next(entry, &xattr_name, &value, &size) == ARCHIVE_OK) {
    total += size + (xattr_name != nullptr ? std::strlen(xattr_name) : 0);
  }
  if (total > options_.max_header_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header of ", total, " bytes exceeds the limit of ", options_.max_header_bytes));
  }
  return absl::OkStatus();
}

absl::Status Unpacker::ApplyEntry(struct archive* a, struct archive_entry* entry,
                                  absl::string_view name) {
  RETURN_IF_ERROR(CheckHeaderSize(entry, name));
  ASSIGN_OR_RETURN(std::string path, CleanEntryPath(name));
  auto [parent, base] = SplitParent(path);
  if (absl::StartsWith(base, kWhiteoutPrefix)) return ApplyWhiteout(parent, base);
  const char* hardlink = Archive().entry_hardlink(entry);
  mode_t type = Archive().entry_filetype(entry);
  if (hardlink == nullptr && type == AE_IFDIR) return ApplyDirectory(entry, path);
  if (path.empty()) return absl::InvalidArgumentError("the layer root must be a directory");

  ASSIGN_OR_RETURN(UniqueFd parent_fd, OpenOrCreateDirInRoot(root_fd_, parent));
  std::string base_name(base);
  if (hardlink != nullptr) return ApplyHardLink(hardlink, parent_fd.get(), base_name);
  switch (type) {
    case AE_IFREG:
      return ApplyRegular(a, entry, parent_fd.get(), base_name);
    case AE_IFLNK:
      return ApplySymlink(entry, parent_fd.get(), base_name);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return ApplySpecial(entry, parent_fd.get(), base_name);
    default:
      return absl::InvalidArgumentError(absl::StrCat("unsupported entry type 0", absl::Hex(type)));
  }
}

absl::Status Unpacker::ApplyWhiteout(absl::string_view parent, absl::string_view base) {
  if (base == kOpaqueMarker) {
    ASSIGN_OR_RETURN(UniqueFd dir, OpenOrCreateDirInRoot(root_fd_, parent));
    if (::fsetxattr(dir.get(), kOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoStatus(errno, absl::StrCat("marking directory opaque with ", kOpaqueXattr));
    }
    return absl::OkStatus();
  }
  if (absl::StartsWith(base, kWhiteoutMetaPrefix)) {
    return absl::InvalidArgumentError("unknown whiteout metadata name");
  }
  std::string hidden(base.substr(kWhiteoutPrefix.size()));
  if (hidden.empty() || hidden == "." || hidden == "..") {
    return absl::InvalidArgumentError("invalid whiteout name");
  }
  ASSIGN_OR_RETURN(UniqueFd dir, OpenOrCreateDirInRoot(root_fd_, parent));
  // Whatever this layer itself put there goes: the whiteout hides the lower layers' entry.
  RETURN_IF_ERROR(RemoveAt(dir.get(), hidden));
  return Annotate(MakeNode(dir.get(), hidden, S_IFCHR, makedev(0, 0)), "creating the whiteout");
}

absl::Status Unpacker::ApplyDirectory(struct archive_entry* entry, const std::string& path) {
  UniqueFd dir;
  UniqueFd parent_fd;
  if (path.empty()) {
    ASSIGN_OR_RETURN(dir, OpenInRoot(root_fd_, "", O_RDONLY | O_DIRECTORY));
  } else {
    auto [parent, base] = SplitParent(path);
    std::string name(base);
    ASSIGN_OR_RETURN(parent_fd, OpenOrCreateDirInRoot(root_fd_, parent));
    absl::StatusOr<struct stat> existing = StatAt(parent_fd.get(), name);
    if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
    if (!existing.ok() || !S_ISDIR(existing->st_mode)) {
      // Anything else there (a symbolic link included) is replaced, never written through.
      RETURN_IF_ERROR(RemoveAt(parent_fd.get(), name));
      if (::mkdirat(parent_fd.get(), name.c_str(), 0700) != 0) {
        return ErrnoStatus(errno, "creating the directory");
      }
    }
    int fd =
        ::openat(parent_fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "opening the directory");
    dir.Reset(fd);
  }
  RETURN_IF_ERROR(ApplyMetadata(Node{.fd = dir.get()}, entry, /*set_times=*/false));
  // Times last: creating the directory's contents would change its mtime.
  ASSIGN_OR_RETURN(auto times, EntryTimes(entry));
  deferred_bytes_ += path.size() + sizeof(DeferredTimes);
  if (deferred_bytes_ > kMaxDeferredBytes) {
    return absl::ResourceExhaustedError("too many directories in the layer");
  }
  deferred_.push_back(DeferredTimes{path, times});
  return absl::OkStatus();
}

absl::Status Unpacker::ApplyRegular(struct archive* a, struct archive_entry* entry, int parent_fd,
                                    const std::string& base) {
  RETURN_IF_ERROR(RemoveAt(parent_fd, base));
  int fd =
      ::openat(parent_fd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "creating the file");
  UniqueFd file(fd);
  RETURN_IF_ERROR(WriteData(a, file.get(), Archive().entry_size(entry)));
  return ApplyMetadata(Node{.fd = file.get()}, entry, /*set_times=*/true);
}

absl::Status Unpacker::WriteData(struct archive* a, int fd, int64_t size) {
  if (size < 0) return absl::InvalidArgumentError("negative size");
  while (true) {
    const void* block = nullptr;
    size_t length = 0;
    la_int64_t offset = 0;
    int rc = Archive().read_data_block(a, &block, &length, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return ArchiveStatus(*context_, a, "in the file's data");
    if (offset < 0 || length > static_cast<size_t>(size) ||
        offset > size - static_cast<int64_t>(length)) {
      return absl::InvalidArgumentError("data block outside the file's size");
    }
    const char* data = static_cast<const char*>(block);
    while (length > 0) {
      ssize_t n = ::pwrite(fd, data, length, offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "writing the file");
      data += n;
      length -= static_cast<size_t>(n);
      offset += n;
    }
  }
  // Sparse files end in a hole that no block covers.
  if (::ftruncate(fd, size) != 0) return ErrnoStatus(errno, "setting the file's size");
  return absl::OkStatus();
}

absl::Status Unpacker::ApplySymlink(struct archive_entry* entry, int parent_fd,
                                    const std::string& base) {
  const char* target = Archive().entry_symlink(entry);
  if (target == nullptr || *target == '\0') {
    return absl::InvalidArgumentError("symbolic link without a target");
  }
  absl::StatusOr<struct stat> existing = StatAt(parent_fd, base);
  if (existing.ok() && S_ISDIR(existing->st_mode)) {
    return absl::InvalidArgumentError("a symbolic link may not replace a directory");
  }
  RETURN_IF_ERROR(RemoveAt(parent_fd, base));
  // The target is stored as it is and never followed here.
  if (::symlinkat(target, parent_fd, base.c_str()) != 0) {
    return ErrnoStatus(errno, "creating the symbolic link");
  }
  return ApplyMetadata(Node{.dir_fd = parent_fd, .name = base, .is_symlink = true}, entry,
                       /*set_times=*/true);
}

absl::Status Unpacker::ApplySpecial(struct archive_entry* entry, int parent_fd,
                                    const std::string& base) {
  RETURN_IF_ERROR(RemoveAt(parent_fd, base));
  mode_t type = Archive().entry_filetype(entry);
  dev_t rdev = type == AE_IFIFO ? 0 : Archive().entry_rdev(entry);
  RETURN_IF_ERROR(MakeNode(parent_fd, base, type | 0600, rdev));
  return ApplyMetadata(Node{.dir_fd = parent_fd, .name = base}, entry, /*set_times=*/true);
}

absl::Status Unpacker::ApplyHardLink(absl::string_view target, int parent_fd,
                                     const std::string& base) {
  absl::StatusOr<std::string> clean = CleanEntryPath(target);
  if (!clean.ok())
    return Annotate(clean.status(), absl::StrCat("hard link target ", Quoted(target)));
  if (clean->empty()) return absl::InvalidArgumentError("hard link to the layer root");
  auto [target_parent, target_base] = SplitParent(*clean);
  std::string target_name(target_base);
  absl::StatusOr<UniqueFd> target_dir = OpenInRoot(root_fd_, target_parent, O_RDONLY | O_DIRECTORY);
  absl::StatusOr<struct stat> target_stat = target_dir.ok()
                                                ? StatAt(target_dir->get(), target_name)
                                                : absl::StatusOr<struct stat>(target_dir.status());
  if (absl::IsNotFound(target_stat.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("hard link target ", Quoted(target), " does not exist"));
  }
  RETURN_IF_ERROR(
      Annotate(target_stat.status(), absl::StrCat("hard link target ", Quoted(target))));
  if (S_ISDIR(target_stat->st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("hard link target ", Quoted(target), " is a directory"));
  }
  absl::StatusOr<struct stat> existing = StatAt(parent_fd, base);
  if (existing.ok() && existing->st_dev == target_stat->st_dev &&
      existing->st_ino == target_stat->st_ino) {
    return absl::OkStatus();  // already this very file
  }
  RETURN_IF_ERROR(RemoveAt(parent_fd, base));
  // No AT_SYMLINK_FOLLOW: a link to a symbolic link links the symbolic link itself.
  if (::linkat(target_dir->get(), target_name.c_str(), parent_fd, base.c_str(), 0) != 0) {
    return ErrnoStatus(errno, absl::StrCat("creating the hard link to ", Quoted(target)));
  }
  return absl::OkStatus();
}

absl::Status Unpacker::Finish() {
  for (const DeferredTimes& deferred : deferred_) {
    // A directory that a later entry replaced or removed is skipped.
    absl::StatusOr<UniqueFd> dir =
        OpenInRoot(root_fd_, deferred.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dir.ok()) continue;
    RETURN_IF_ERROR(Annotate(ApplyTimes(Node{.fd = dir->get()}, deferred.times),
                             absl::StrCat("layer entry ", Quoted(deferred.path))));
  }
  deferred_.clear();
  return absl::OkStatus();
}

absl::Status ReadAndApply(LayerStream& stream, Unpacker& unpacker) {
  RETURN_IF_ERROR(LoadArchive());
  ScopedUtf8Locale utf8;
  ArchivePtr a(Archive().read_new());
  if (a == nullptr) return absl::ResourceExhaustedError("allocating the tar reader failed");
  // Tar (ustar, pax, GNU) only, and no libarchive filters: the stream is already decompressed,
  // so the diff id is computed on exactly what is parsed. "empty" accepts a 0-byte layer.
  if (Archive().read_support_format_tar(a.get()) != ARCHIVE_OK ||
      Archive().read_support_format_gnutar(a.get()) != ARCHIVE_OK ||
      Archive().read_support_format_empty(a.get()) != ARCHIVE_OK) {
    return absl::InternalError("configuring the tar reader failed");
  }
  ReadContext context{&stream, std::vector<char>(kReadBufferSize), absl::OkStatus()};
  if (Archive().read_open(a.get(), &context, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return ArchiveStatus(context, a.get(), "at its start");
  }
  return unpacker.ApplyAll(a.get(), context);
}

absl::Status CheckDigest(absl::string_view what, const std::string& expected,
                         const std::string& actual) {
  if (expected.empty() || expected == actual) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("layer ", what, " mismatch: expected ", expected, ", got ", actual));
}

absl::Status CheckExpectedFormat(absl::string_view what, const std::string& expected) {
  if (expected.empty() || absl::StartsWith(expected, "sha256:")) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("expected layer ", what, " ", expected, " is not a sha256 digest"));
}

}  // namespace

absl::StatusOr<LayerDigests> UnpackLayer(int source_fd, const std::string& target_dir,
                                         const UnpackOptions& options) {
  RETURN_IF_ERROR(CheckExpectedFormat("digest", options.expected_digest));
  RETURN_IF_ERROR(CheckExpectedFormat("diff id", options.expected_diff_id));
  if (options.source_verifies_digest && options.expected_digest.empty()) {
    return absl::InvalidArgumentError("a source that verifies the digest needs that digest");
  }
  int fd = ::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("opening layer directory ", target_dir));
  UniqueFd root(fd);

  LayerStream stream(source_fd, options.max_uncompressed_bytes,
                     /*hash_source=*/!options.source_verifies_digest);
  Unpacker unpacker(root.get(), options);
  std::string context = absl::StrCat("unpacking layer into ", target_dir);
  RETURN_IF_ERROR(Annotate(ReadAndApply(stream, unpacker), context));
  RETURN_IF_ERROR(Annotate(stream.DrainToEnd(), context));
  RETURN_IF_ERROR(Annotate(unpacker.Finish(), context));
  LayerDigests digests = stream.Finish();
  if (options.source_verifies_digest) digests.digest = options.expected_digest;
  if (digests.digest.empty() || digests.diff_id.empty()) {
    return absl::InternalError(absl::StrCat(context, ": sha256 failed"));
  }
  RETURN_IF_ERROR(CheckDigest("digest", options.expected_digest, digests.digest));
  RETURN_IF_ERROR(CheckDigest("diff id", options.expected_diff_id, digests.diff_id));
  return digests;
}

}  // namespace berth::image
