#include "common/sealed_copy.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth {

unsigned SealedCopySeals() { return F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE; }

absl::StatusOr<UniqueFd> MakeSealedCopy(const std::string& path) {
  UniqueFd source(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!source) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  struct stat st;
  if (::fstat(source.get(), &st) != 0) return ErrnoStatus(errno, absl::StrCat("stat of ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  std::string name = absl::StrCat("sealed:", path.substr(path.rfind('/') + 1));
  UniqueFd copy(::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) return ErrnoStatus(errno, "memfd_create");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t sent = ::sendfile(copy.get(), source.get(), &offset,
                              static_cast<size_t>(st.st_size - offset));
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return ErrnoStatus(errno, absl::StrCat("copying ", path));
    if (sent == 0) return absl::DataLossError(absl::StrCat(path, " shrank while being copied"));
  }
  // Executable bits, as the file had them (a memfd starts 0777 minus nothing else).
  if (::fchmod(copy.get(), st.st_mode & 0755) != 0) return ErrnoStatus(errno, "fchmod");
  if (::fcntl(copy.get(), F_ADD_SEALS, SealedCopySeals()) != 0) {
    return ErrnoStatus(errno, "sealing the copy");
  }
  return copy;
}

bool IsSealedCopy(int fd) {
  int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && static_cast<unsigned>(seals) == SealedCopySeals();
}

}  // namespace berth
