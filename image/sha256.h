#ifndef BERTH_IMAGE_SHA256_H_
#define BERTH_IMAGE_SHA256_H_

#include <openssl/sha.h>

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace berth::image {

// SHA-256 over a stream of updates, computed by OpenSSL's SHA-256 block code directly rather
// than through EVP. The EVP path initializes OpenSSL's provider machinery on first use (config,
// provider and algorithm stores, property parsing, the DRBG): in berthd that put ~1.9 MiB of
// libcrypto's code resident for the first ~100-byte chain id or manifest digest. This touches
// only the hash itself, at the same speed (the same assembly), and cannot fail.
class Sha256 {
 public:
  Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(absl::string_view data) { Update(data.data(), data.size()); }
  // "sha256:" and 64 lowercase hex digits. The hasher is spent afterwards.
  std::string FinishDigest();

 private:
  SHA256_CTX ctx_;
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_SHA256_H_
