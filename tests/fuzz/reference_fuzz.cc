// libFuzzer target for image references, the first parser every CRI image request reaches.
// Checks that parsing never crashes and that what it accepts prints back to itself: the
// canonical and familiar forms both parse to an equal reference.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "image/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  bool is_id = berth::image::LooksLikeImageId(input);
  absl::StatusOr<berth::image::Reference> ref = berth::image::Reference::Parse(input);
  if (!ref.ok()) return 0;
  if (is_id) __builtin_trap();  // an image id must never parse as a name

  absl::StatusOr<berth::image::Reference> canonical = berth::image::Reference::Parse(ref->String());
  if (!canonical.ok() || *canonical != *ref || !canonical->fully_qualified()) __builtin_trap();

  absl::StatusOr<berth::image::Reference> familiar =
      berth::image::Reference::Parse(ref->Familiar());
  if (!familiar.ok() || *familiar != *ref) __builtin_trap();

  if (ref->repository().size() > berth::image::kMaxNameLength) __builtin_trap();
  if (ref->has_digest() && !berth::image::ValidateDigest(ref->digest()).ok()) __builtin_trap();
  if (!ref->has_tag() && !ref->has_digest()) __builtin_trap();
  return 0;
}
