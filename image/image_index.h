#ifndef BERTH_IMAGE_IMAGE_INDEX_H_
#define BERTH_IMAGE_IMAGE_INDEX_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/state.pb.h"

namespace berth::image {

// Normalizes a tag name ("busybox" -> "docker.io/library/busybox:latest"); InvalidArgument
// for a name that does not parse or carries a digest.
absl::StatusOr<std::string> NormalizeRepoTag(absl::string_view name);
// Normalizes a digest name ("busybox@sha256:..." -> "docker.io/library/busybox@sha256:...");
// InvalidArgument for a name without a digest. A tag in it is dropped.
absl::StatusOr<std::string> NormalizeRepoDigest(absl::string_view name);

// The images of the store by id, with their names: tags and repo digests. Every name belongs
// to one image at most. Not thread-safe: the Store serializes access.
class ImageIndex {
 public:
  // Builds the index from its persisted form; InvalidArgument for a malformed record.
  static absl::StatusOr<ImageIndex> FromRecord(const state::v1::ImageIndexRecord& record);
  state::v1::ImageIndexRecord ToRecord() const;

  // Checks an image record before Add: a valid id, config digest equal to the id (filled in
  // when empty), valid digests and chain ids; names normalized, duplicates dropped.
  static absl::Status Normalize(state::v1::ImageRecord& record);

  // Adds `record` (normalized), or merges it into the image with the same id: names are the
  // union, the other fields come from `record`. Every name of `record` moves here from any
  // other image, which stays listed even when left without names. Returns the stored record.
  const state::v1::ImageRecord& Add(state::v1::ImageRecord record);

  // The image `ref` names, in this order: a full id ("sha256:<hex>" or the bare hex); a tag or
  // digest reference, normalized ("busybox", "docker.io/library/busybox:latest",
  // "busybox@sha256:..."); a unique id prefix of at least 3 hex digits. NotFound when nothing
  // matches, InvalidArgument when a prefix matches several images.
  absl::StatusOr<const state::v1::ImageRecord*> Lookup(absl::string_view ref) const;

  // The image with id `id` exactly, or nullptr.
  const state::v1::ImageRecord* Find(const std::string& id) const;

  // Removes image `id` and its names; false when absent.
  bool Remove(const std::string& id);

  std::vector<const state::v1::ImageRecord*> All() const;
  size_t size() const { return images_.size(); }

 private:
  void DropName(const std::string& name, const std::string& keep_id);
  absl::StatusOr<const state::v1::ImageRecord*> LookupPrefix(absl::string_view hex) const;

  std::map<std::string, state::v1::ImageRecord> images_;  // by id
  std::map<std::string, std::string> names_;              // tag or repo digest -> id
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_IMAGE_INDEX_H_
