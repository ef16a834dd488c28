#ifndef BERTH_IMAGE_BLOB_STORE_H_
#define BERTH_IMAGE_BLOB_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::image {

// The largest blob (manifest, index or config) the store accepts or reads.
inline constexpr size_t kMaxStoredBlobBytes = 16 << 20;

// Small content-addressed documents in <dir>/sha256/<hex>: manifests, indexes and configs.
// Every write is verified against its digest and lands atomically (tmp + fsync + rename), so a
// blob file is either absent or whole. Thread-safe: it holds no state besides the directory.
class BlobStore {
 public:
  // `dir` is <root>/images/blobs.
  explicit BlobStore(std::string dir);

  // Creates the directories.
  absl::Status Init() const;

  // Stores `bytes` under `digest` ("sha256:<hex>"). InvalidArgument when the bytes do not hash
  // to the digest (nothing is written); an existing blob is kept as it is.
  absl::Status Put(absl::string_view digest, absl::string_view bytes) const;

  // The bytes of blob `digest`, verified again on read: NotFound when absent, DataLoss when the
  // file no longer matches its digest.
  absl::StatusOr<std::string> Get(absl::string_view digest,
                                  size_t max_bytes = kMaxStoredBlobBytes) const;

  bool Has(absl::string_view digest) const;

  // The size in bytes of blob `digest`; NotFound when absent.
  absl::StatusOr<int64_t> Size(absl::string_view digest) const;

  // Removes blob `digest`; an absent blob is fine.
  absl::Status Delete(absl::string_view digest) const;

  // Every stored digest, sorted. Entries that are not blobs (temporary files left by a crash)
  // go to `strays` as paths when it is given.
  absl::StatusOr<std::vector<std::string>> List(std::vector<std::string>* strays = nullptr) const;

  // <dir>/sha256/<hex>; InvalidArgument for a malformed digest.
  absl::StatusOr<std::string> PathOf(absl::string_view digest) const;

 private:
  std::string dir_;
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_BLOB_STORE_H_
