#include "image/chain_id.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "image/sha256.h"

namespace berth::image {
namespace {

constexpr absl::string_view kSha256Prefix = "sha256:";
constexpr size_t kSha256HexLength = 64;

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string ComputeSha256Digest(absl::string_view bytes) {
  Sha256 hasher;
  hasher.Update(bytes);
  return hasher.FinishDigest();
}

absl::StatusOr<std::string> Sha256HexOf(absl::string_view digest, absl::string_view what) {
  absl::string_view hex = digest;
  if (!absl::ConsumePrefix(&hex, kSha256Prefix) || hex.size() != kSha256HexLength ||
      !IsLowerHex(hex)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", digest,
                                                   "\": want sha256: and 64 lowercase hex digits"));
  }
  return std::string(hex);
}

absl::StatusOr<std::string> ChainId(absl::string_view parent, absl::string_view diff_id) {
  RETURN_IF_ERROR(Sha256HexOf(diff_id, "diff id").status());
  if (parent.empty()) return std::string(diff_id);
  RETURN_IF_ERROR(Sha256HexOf(parent, "parent chain id").status());
  return ComputeSha256Digest(absl::StrCat(parent, " ", diff_id));
}

absl::StatusOr<std::vector<std::string>> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  std::string parent;
  for (const std::string& diff_id : diff_ids) {
    ASSIGN_OR_RETURN(parent, ChainId(parent, diff_id));
    out.push_back(parent);
  }
  return out;
}

}  // namespace berth::image
