#include "image/blob_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "image/chain_id.h"

namespace berth::image {

BlobStore::BlobStore(std::string dir) : dir_(std::move(dir)) {}

absl::Status BlobStore::Init() const {
  return Annotate(MakeDirs(absl::StrCat(dir_, "/sha256"), 0700), "creating the blob store");
}

absl::StatusOr<std::string> BlobStore::PathOf(absl::string_view digest) const {
  ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(digest, "blob digest"));
  return absl::StrCat(dir_, "/sha256/", hex);
}

absl::Status BlobStore::Put(absl::string_view digest, absl::string_view bytes) const {
  ASSIGN_OR_RETURN(std::string path, PathOf(digest));
  if (bytes.size() > kMaxStoredBlobBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blob ", digest, " is ", bytes.size(), " bytes, over the limit of ", kMaxStoredBlobBytes));
  }
  std::string actual = ComputeSha256Digest(bytes);
  if (actual != digest) {
    return absl::InvalidArgumentError(
        absl::StrCat("blob ", digest, " refused: its content hashes to ", actual));
  }
  if (Has(digest) && Get(digest).ok()) return absl::OkStatus();  // else repair it
  return Annotate(WriteFileAtomic(path, bytes, 0644), absl::StrCat("storing blob ", digest));
}

absl::StatusOr<std::string> BlobStore::Get(absl::string_view digest, size_t max_bytes) const {
  ASSIGN_OR_RETURN(std::string path, PathOf(digest));
  absl::StatusOr<std::string> bytes = ReadFile(path, max_bytes);
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status())) {
      return absl::NotFoundError(absl::StrCat("blob ", digest, " is not in the store"));
    }
    return Annotate(bytes.status(), absl::StrCat("reading blob ", digest));
  }
  std::string actual = ComputeSha256Digest(*bytes);
  if (actual != digest) {
    return absl::DataLossError(
        absl::StrCat("stored blob ", digest, " is corrupt: its content hashes to ", actual));
  }
  return bytes;
}

bool BlobStore::Has(absl::string_view digest) const {
  absl::StatusOr<std::string> path = PathOf(digest);
  struct stat st;
  return path.ok() && ::lstat(path->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::StatusOr<int64_t> BlobStore::Size(absl::string_view digest) const {
  ASSIGN_OR_RETURN(std::string path, PathOf(digest));
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("blob ", digest, " is not in the store"));
    }
    return ErrnoStatus(errno, absl::StrCat("inspecting blob ", digest));
  }
  return static_cast<int64_t>(st.st_size);
}

absl::Status BlobStore::Delete(absl::string_view digest) const {
  ASSIGN_OR_RETURN(std::string path, PathOf(digest));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, absl::StrCat("removing blob ", digest));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> BlobStore::List(std::vector<std::string>* strays) const {
  std::string sha_dir = absl::StrCat(dir_, "/sha256");
  DIR* dir = ::opendir(sha_dir.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, absl::StrCat("listing ", sha_dir));
  std::vector<std::string> digests;
  while (struct dirent* entry = ::readdir(dir)) {
    absl::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    std::string digest = absl::StrCat("sha256:", name);
    if (Sha256HexOf(digest, "blob").ok() && entry->d_type == DT_REG) {
      digests.push_back(std::move(digest));
    } else if (Sha256HexOf(digest, "blob").ok() && entry->d_type == DT_UNKNOWN && Has(digest)) {
      digests.push_back(std::move(digest));
    } else if (strays != nullptr) {
      strays->push_back(absl::StrCat(sha_dir, "/", name));
    }
  }
  ::closedir(dir);
  std::sort(digests.begin(), digests.end());
  return digests;
}

}  // namespace berth::image
