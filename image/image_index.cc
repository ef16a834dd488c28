#include "image/image_index.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "image/chain_id.h"
#include "image/reference.h"

namespace berth::image {
namespace {

using state::v1::ImageRecord;

constexpr size_t kMinIdPrefix = 3;

bool IsLowerHex(absl::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Normalizes every entry of `names` with `normalize` and drops duplicates, keeping the order.
template <typename Fn>
absl::Status NormalizeNames(google::protobuf::RepeatedPtrField<std::string>* names, Fn normalize) {
  std::vector<std::string> out;
  for (const std::string& name : *names) {
    ASSIGN_OR_RETURN(std::string normal, normalize(name));
    if (std::find(out.begin(), out.end(), normal) == out.end()) out.push_back(std::move(normal));
  }
  names->Clear();
  for (std::string& name : out) names->Add(std::move(name));
  return absl::OkStatus();
}

void AddUnique(google::protobuf::RepeatedPtrField<std::string>* names, const std::string& name) {
  if (std::find(names->begin(), names->end(), name) == names->end()) *names->Add() = name;
}

void Erase(google::protobuf::RepeatedPtrField<std::string>* names, const std::string& name) {
  auto it = std::find(names->begin(), names->end(), name);
  if (it != names->end()) names->erase(it);
}

}  // namespace

absl::StatusOr<std::string> NormalizeRepoTag(absl::string_view name) {
  ASSIGN_OR_RETURN(Reference ref, Reference::Parse(name));
  if (ref.has_digest() || !ref.has_tag()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a tag reference"));
  }
  return ref.String();
}

absl::StatusOr<std::string> NormalizeRepoDigest(absl::string_view name) {
  ASSIGN_OR_RETURN(Reference ref, Reference::Parse(name));
  if (!ref.has_digest()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a digest reference"));
  }
  return absl::StrCat(ref.repository(), "@", ref.digest());
}

absl::Status ImageIndex::Normalize(ImageRecord& record) {
  RETURN_IF_ERROR(Sha256HexOf(record.id(), "image id").status());
  std::string context = absl::StrCat("image ", record.id());
  if (record.config_digest().empty()) record.set_config_digest(record.id());
  if (record.config_digest() != record.id()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": config digest ", record.config_digest(), " differs from the id"));
  }
  if (!record.manifest_digest().empty()) {
    RETURN_IF_ERROR(
        Annotate(Sha256HexOf(record.manifest_digest(), "manifest digest").status(), context));
  }
  if (!record.index_digest().empty()) {
    RETURN_IF_ERROR(Annotate(Sha256HexOf(record.index_digest(), "index digest").status(), context));
  }
  for (const std::string& chain_id : record.chain_ids()) {
    RETURN_IF_ERROR(Annotate(Sha256HexOf(chain_id, "chain id").status(), context));
  }
  RETURN_IF_ERROR(Annotate(NormalizeNames(record.mutable_repo_tags(), NormalizeRepoTag), context));
  return Annotate(NormalizeNames(record.mutable_repo_digests(), NormalizeRepoDigest), context);
}

absl::StatusOr<ImageIndex> ImageIndex::FromRecord(const state::v1::ImageIndexRecord& record) {
  ImageIndex index;
  for (ImageRecord image : record.images()) {
    RETURN_IF_ERROR(Normalize(image));
    index.Add(std::move(image));
  }
  return index;
}

state::v1::ImageIndexRecord ImageIndex::ToRecord() const {
  state::v1::ImageIndexRecord record;
  record.set_schema_version(1);
  for (const auto& [id, image] : images_) *record.add_images() = image;
  return record;
}

void ImageIndex::DropName(const std::string& name, const std::string& keep_id) {
  auto it = names_.find(name);
  if (it == names_.end() || it->second == keep_id) return;
  auto owner = images_.find(it->second);
  if (owner != images_.end()) {
    Erase(owner->second.mutable_repo_tags(), name);
    Erase(owner->second.mutable_repo_digests(), name);
  }
  names_.erase(it);
}

const ImageRecord& ImageIndex::Add(ImageRecord record) {
  const std::string id = record.id();
  for (const std::string& name : record.repo_tags()) DropName(name, id);
  for (const std::string& name : record.repo_digests()) DropName(name, id);
  auto it = images_.find(id);
  if (it != images_.end()) {
    // Merge: the names are the union, everything else is the newer record's.
    for (const std::string& name : it->second.repo_tags())
      AddUnique(record.mutable_repo_tags(), name);
    for (const std::string& name : it->second.repo_digests()) {
      AddUnique(record.mutable_repo_digests(), name);
    }
    if (it->second.created_unix_nanos() != 0) {
      record.set_created_unix_nanos(it->second.created_unix_nanos());
    }
    it->second = std::move(record);
  } else {
    it = images_.emplace(id, std::move(record)).first;
  }
  for (const std::string& name : it->second.repo_tags()) names_[name] = id;
  for (const std::string& name : it->second.repo_digests()) names_[name] = id;
  return it->second;
}

const ImageRecord* ImageIndex::Find(const std::string& id) const {
  auto it = images_.find(id);
  return it == images_.end() ? nullptr : &it->second;
}

absl::StatusOr<const ImageRecord*> ImageIndex::Lookup(absl::string_view ref) const {
  absl::string_view hex = ref;
  bool had_prefix = absl::ConsumePrefix(&hex, "sha256:");
  if (LooksLikeImageId(ref)) {
    if (const ImageRecord* image = Find(absl::StrCat("sha256:", hex))) return image;
    return absl::NotFoundError(absl::StrCat("image ", ref, " is not in the store"));
  }
  if (!had_prefix) {
    absl::StatusOr<Reference> parsed = Reference::Parse(ref);
    if (parsed.ok()) {
      std::string key = parsed->has_digest()
                            ? absl::StrCat(parsed->repository(), "@", parsed->digest())
                            : parsed->String();
      auto it = names_.find(key);
      if (it != names_.end()) return Find(it->second);
    }
  }
  if (hex.size() >= kMinIdPrefix && IsLowerHex(hex)) return LookupPrefix(hex);
  return absl::NotFoundError(absl::StrCat("image ", ref, " is not in the store"));
}

absl::StatusOr<const ImageRecord*> ImageIndex::LookupPrefix(absl::string_view hex) const {
  std::string prefix = absl::StrCat("sha256:", hex);
  auto it = images_.lower_bound(prefix);
  if (it == images_.end() || !absl::StartsWith(it->first, prefix)) {
    return absl::NotFoundError(absl::StrCat("no image id starts with ", hex));
  }
  auto next = std::next(it);
  if (next != images_.end() && absl::StartsWith(next->first, prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("image id prefix ", hex, " is ambiguous: it matches several images"));
  }
  return &it->second;
}

bool ImageIndex::Remove(const std::string& id) {
  auto it = images_.find(id);
  if (it == images_.end()) return false;
  for (const std::string& name : it->second.repo_tags()) names_.erase(name);
  for (const std::string& name : it->second.repo_digests()) names_.erase(name);
  images_.erase(it);
  return true;
}

std::vector<const ImageRecord*> ImageIndex::All() const {
  std::vector<const ImageRecord*> out;
  out.reserve(images_.size());
  for (const auto& [id, image] : images_) out.push_back(&image);
  return out;
}

}  // namespace berth::image
