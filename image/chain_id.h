#ifndef BERTH_IMAGE_CHAIN_ID_H_
#define BERTH_IMAGE_CHAIN_ID_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::image {

// "sha256:" followed by the 64 lowercase hex digits of the SHA-256 of `bytes`.
std::string ComputeSha256Digest(absl::string_view bytes);

// The hex part of a "sha256:<64 lowercase hex>" digest; InvalidArgument naming `what` and the
// digest for anything else (other algorithms included: the store keys everything by sha256).
absl::StatusOr<std::string> Sha256HexOf(absl::string_view digest, absl::string_view what);

// The OCI image spec's chain id of a layer on top of the layer whose chain id is `parent`:
// `diff_id` itself for a base layer (empty `parent`), else
// sha256(parent + " " + diff_id). Both digests are validated.
absl::StatusOr<std::string> ChainId(absl::string_view parent, absl::string_view diff_id);

// The chain ids of a stack of layers given their diff ids, base layer first.
absl::StatusOr<std::vector<std::string>> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::image

#endif  // BERTH_IMAGE_CHAIN_ID_H_
