// OpenSSL 3 marks the SHA256_* functions deprecated in favour of EVP; see sha256.h for why
// they are used here. They stay in OpenSSL 3.x, which is what Debian 12 and 13 ship.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "image/sha256.h"

namespace berth::image {

Sha256::Sha256() { SHA256_Init(&ctx_); }

void Sha256::Update(const void* data, size_t size) {
  if (size > 0) SHA256_Update(&ctx_, data, size);
}

std::string Sha256::FinishDigest() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &ctx_);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  out.reserve(out.size() + 2 * sizeof(md));
  for (unsigned char byte : md) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

}  // namespace berth::image
