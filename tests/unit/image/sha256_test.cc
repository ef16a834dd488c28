#include "image/sha256.h"

#include <string>

#include "gtest/gtest.h"
#include "image/chain_id.h"

namespace berth::image {
namespace {

// FIPS 180-4 / NIST CSRC example values.
TEST(Sha256Test, KnownVectors) {
  struct Case {
    std::string input;
    std::string digest;
  };
  const Case cases[] = {
      {"", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const Case& c : cases) {
    Sha256 hasher;
    hasher.Update(c.input);
    EXPECT_EQ(hasher.FinishDigest(), c.digest) << c.input.size() << " bytes";
    EXPECT_EQ(ComputeSha256Digest(c.input), c.digest);
  }
}

// Split at every offset (across the 64-byte block boundary too), the digest is the same.
TEST(Sha256Test, UpdatesInPiecesMatchOneShot) {
  std::string input;
  for (int i = 0; i < 200; ++i) input.push_back(static_cast<char>(i * 37 + 11));
  std::string whole = ComputeSha256Digest(input);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    Sha256 hasher;
    hasher.Update(input.data(), cut);
    hasher.Update(input.data() + cut, 0);
    hasher.Update(input.data() + cut, input.size() - cut);
    ASSERT_EQ(hasher.FinishDigest(), whole) << "cut at " << cut;
  }
}

TEST(Sha256Test, ChainIdOfTwoLayers) {
  const std::string base = "sha256:" + std::string(64, 'a');
  const std::string top = "sha256:" + std::string(64, 'b');
  EXPECT_EQ(*ChainId("", base), base);
  EXPECT_EQ(*ChainId(base, top), ComputeSha256Digest(base + " " + top));
  EXPECT_NE(*ChainId(base, top), *ChainId(top, base));
}

}  // namespace
}  // namespace berth::image
