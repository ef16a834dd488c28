#include "oci/in_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::oci {

absl::StatusOr<std::string> ReadFileInRoot(const std::string& root, const std::string& path,
                                           size_t max_bytes) {
  std::string what = absl::StrCat(path, " in ", root);
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return ErrnoStatus(errno, "opening " + root);
  struct open_how how = {};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  absl::string_view stripped = path;
  while (absl::ConsumePrefix(&stripped, "/")) {
  }
  const std::string relative = stripped.empty() ? std::string(".") : std::string(stripped);
  int fd;
  do {
    fd = static_cast<int>(
        ::syscall(SYS_openat2, root_fd.get(), relative.c_str(), &how, sizeof(how)));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) return ErrnoStatus(errno, "opening " + what);
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoStatus(errno, "inspecting " + what);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(what, " is not a regular file"));
  }
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(file.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "reading " + what);
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > max_bytes) {
      return absl::FailedPreconditionError(absl::StrCat(what, " is larger than ", max_bytes));
    }
  }
  return data;
}

}  // namespace berth::oci
