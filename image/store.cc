#include "image/store.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "image/reference.h"

namespace berth::image {
namespace {

using state::v1::ImageRecord;

constexpr char kIndexName[] = "index.pb";
constexpr size_t kMaxIndexBytes = 256 << 20;

std::string ImagesDir(const std::string& root) { return absl::StrCat(root, "/images"); }
std::string LayersDir(const std::string& root) { return absl::StrCat(root, "/layers"); }
std::string TmpDir(const std::string& root) { return absl::StrCat(root, "/tmp"); }

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, absl::StrCat("listing ", path));
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(dir)) {
    absl::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

// The blobs an image record keeps alive.
std::vector<std::string> BlobsOf(const ImageRecord& image) {
  std::vector<std::string> out = {image.config_digest()};
  if (!image.manifest_digest().empty()) out.push_back(image.manifest_digest());
  if (!image.index_digest().empty()) out.push_back(image.index_digest());
  return out;
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

Store::Store(StoreOptions options, PinRules pins)
    : options_(std::move(options)),
      pins_(std::move(pins)),
      blobs_(absl::StrCat(ImagesDir(options_.root), "/blobs")),
      layers_(LayersDir(options_.root), TmpDir(options_.root), options_.sync_layers) {}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  if (options.root.empty()) return absl::InvalidArgumentError("the image store needs a root");
  options.root = StripTrailingSlashes(std::move(options.root));
  ASSIGN_OR_RETURN(PinRules pins, ParsePins(options.pinned_images));
  std::string context = absl::StrCat("opening the image store in ", options.root);
  RETURN_IF_ERROR(Annotate(MakeDirs(options.root, 0711), context));
  RETURN_IF_ERROR(Annotate(MakeDirs(ImagesDir(options.root), 0700), context));
  std::unique_ptr<Store> store(new Store(std::move(options), std::move(pins)));
  RETURN_IF_ERROR(Annotate(store->Recover(), context));
  return store;
}

std::string Store::IndexPath() const {
  return absl::StrCat(ImagesDir(options_.root), "/", kIndexName);
}

// ---- pinning ----

absl::StatusOr<Store::PinRules> Store::ParsePins(const std::vector<std::string>& pinned) {
  PinRules pins;
  for (const std::string& entry : pinned) {
    if (entry.empty()) continue;
    if (LooksLikeImageId(entry)) {
      pins.ids.insert(absl::StartsWith(entry, "sha256:") ? entry : absl::StrCat("sha256:", entry));
    } else if (absl::EndsWith(entry, "*")) {
      pins.prefixes.push_back(entry.substr(0, entry.size() - 1));
    } else {
      absl::StatusOr<Reference> ref = Reference::Parse(entry);
      if (!ref.ok()) return Annotate(ref.status(), "pinned image");
      pins.names.insert(ref->has_digest() ? absl::StrCat(ref->repository(), "@", ref->digest())
                                          : ref->String());
    }
  }
  return pins;
}

bool Store::IsPinned(const ImageRecord& record) const {
  if (pins_.ids.contains(record.id())) return true;
  auto matches = [this](const std::string& name) {
    if (pins_.names.contains(name)) return true;
    for (const std::string& prefix : pins_.prefixes) {
      if (absl::StartsWith(name, prefix)) return true;
    }
    return false;
  };
  for (const std::string& name : record.repo_tags()) {
    if (matches(name)) return true;
  }
  for (const std::string& name : record.repo_digests()) {
    if (matches(name)) return true;
  }
  return false;
}

StoredImage Store::Stored(const ImageRecord& record) const {
  return StoredImage{record, IsPinned(record)};
}

// ---- recovery ----

absl::Status Store::Recover() {
  RETURN_IF_ERROR(ClearStaging());
  RETURN_IF_ERROR(layers_.Load(&recovery_.removed_paths));
  RETURN_IF_ERROR(blobs_.Init());
  RETURN_IF_ERROR(VerifyBlobs());
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(LoadIndex());
  RETURN_IF_ERROR(DropBrokenImages());
  return RemoveOrphans();
}

absl::Status Store::ClearStaging() {
  std::string tmp = TmpDir(options_.root);
  RETURN_IF_ERROR(MakeDirs(tmp, 0700));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(tmp));
  for (const std::string& name : names) {
    std::string path = absl::StrCat(tmp, "/", name);
    LOG_INFO("removing staging leftover {}", path);
    RETURN_IF_ERROR(RemoveAll(path));
    recovery_.removed_paths.push_back(path);
  }
  return absl::OkStatus();
}

absl::Status Store::VerifyBlobs() {
  std::vector<std::string> strays;
  ASSIGN_OR_RETURN(std::vector<std::string> digests, blobs_.List(&strays));
  for (const std::string& path : strays) {
    LOG_INFO("removing stray file {} from the blob store", path);
    RETURN_IF_ERROR(RemoveAll(path));
    recovery_.removed_paths.push_back(path);
  }
  for (const std::string& digest : digests) {
    absl::StatusOr<std::string> bytes = blobs_.Get(digest);
    if (bytes.ok()) continue;
    if (!absl::IsDataLoss(bytes.status()) && !absl::IsResourceExhausted(bytes.status())) {
      return bytes.status();
    }
    LOG_WARN("removing blob {}: {}", digest, bytes.status());
    RETURN_IF_ERROR(blobs_.Delete(digest));
    recovery_.removed_blobs.push_back(digest);
  }
  return absl::OkStatus();
}

absl::Status Store::LoadIndex() {
  std::string images_dir = ImagesDir(options_.root);
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(images_dir));
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, absl::StrCat(kIndexName, ".tmp-"))) continue;
    std::string path = absl::StrCat(images_dir, "/", name);
    RETURN_IF_ERROR(RemoveAll(path));  // an interrupted WriteFileAtomic
    recovery_.removed_paths.push_back(path);
  }
  absl::StatusOr<std::string> bytes = ReadFile(IndexPath(), kMaxIndexBytes);
  if (absl::IsNotFound(bytes.status())) return absl::OkStatus();  // a new store
  RETURN_IF_ERROR(bytes.status());
  state::v1::ImageIndexRecord record;
  if (!record.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(IndexPath(),
                                            " does not parse; move it away to "
                                            "start with an empty store"));
  }
  absl::StatusOr<ImageIndex> index = ImageIndex::FromRecord(record);
  if (!index.ok())
    return absl::DataLossError(absl::StrCat(IndexPath(), ": ", index.status().message()));
  index_ = *std::move(index);
  return absl::OkStatus();
}

absl::Status Store::DropBrokenImages() {
  std::vector<std::string> broken;
  for (const ImageRecord* image : index_.All()) {
    std::string missing;
    if (!blobs_.Has(image->config_digest()))
      missing = absl::StrCat("config ", image->config_digest());
    for (const std::string& chain_id : image->chain_ids()) {
      if (missing.empty() && !layers_.Has(chain_id)) missing = absl::StrCat("layer ", chain_id);
    }
    if (missing.empty()) continue;
    LOG_WARN("dropping image {} from the index: its {} is missing", image->id(), missing);
    broken.push_back(image->id());
  }
  if (broken.empty()) return absl::OkStatus();
  for (const std::string& id : broken) index_.Remove(id);
  recovery_.dropped_images = broken;
  return PersistLocked();
}

absl::Status Store::RemoveOrphans() {
  std::set<std::string> layers, blobs;
  for (const ImageRecord* image : index_.All()) {
    layers.insert(image->chain_ids().begin(), image->chain_ids().end());
    for (std::string& blob : BlobsOf(*image)) blobs.insert(std::move(blob));
  }
  for (const std::string& chain_id : layers_.List()) {
    if (layers.contains(chain_id)) continue;
    LOG_INFO("removing layer {}: no image uses it", chain_id);
    RETURN_IF_ERROR(layers_.Remove(chain_id));
    recovery_.removed_layers.push_back(chain_id);
  }
  ASSIGN_OR_RETURN(std::vector<std::string> digests, blobs_.List());
  for (const std::string& digest : digests) {
    if (blobs.contains(digest)) continue;
    LOG_INFO("removing blob {}: no image uses it", digest);
    RETURN_IF_ERROR(blobs_.Delete(digest));
    recovery_.removed_blobs.push_back(digest);
  }
  return absl::OkStatus();
}

// ---- blobs and layers ----

absl::Status Store::PutBlob(absl::string_view digest, absl::string_view bytes) {
  return blobs_.Put(digest, bytes);
}

absl::StatusOr<std::string> Store::GetBlob(absl::string_view digest) const {
  return blobs_.Get(digest);
}

bool Store::HasBlob(absl::string_view digest) const { return blobs_.Has(digest); }

absl::StatusOr<LayerLease> Store::AcquireLayer(const std::string& chain_id, absl::Time deadline) {
  return layers_.Acquire(chain_id, deadline);
}

absl::StatusOr<StagedLayer> Store::StageLayer() { return layers_.Stage(); }

absl::Status Store::CommitLayer(StagedLayer staged, const std::string& chain_id,
                                state::v1::LayerRecord record) {
  return layers_.Commit(std::move(staged), chain_id, std::move(record));
}

bool Store::HasLayer(const std::string& chain_id) const { return layers_.Has(chain_id); }

absl::StatusOr<state::v1::LayerRecord> Store::GetLayer(const std::string& chain_id) const {
  return layers_.Get(chain_id);
}

absl::StatusOr<std::string> Store::LayerDiffPath(const std::string& chain_id) const {
  return layers_.DiffPath(chain_id);
}

// ---- images ----

absl::Status Store::CheckContent(ImageRecord& record) const {
  for (const std::string& digest : BlobsOf(record)) {
    if (!blobs_.Has(digest)) {
      return absl::FailedPreconditionError(
          absl::StrCat("image ", record.id(), ": blob ", digest, " is not in the store"));
    }
  }
  ASSIGN_OR_RETURN(int64_t size, blobs_.Size(record.config_digest()));
  for (const std::string& chain_id : record.chain_ids()) {
    absl::StatusOr<state::v1::LayerRecord> layer = layers_.Get(chain_id);
    if (!layer.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("image ", record.id(), ": layer ", chain_id, " is not in the store"));
    }
    size += layer->unpacked_size();
  }
  record.set_size(size);
  if (record.created_unix_nanos() == 0) {
    record.set_created_unix_nanos(absl::ToUnixNanos(absl::Now()));
  }
  return absl::OkStatus();
}

absl::Status Store::PersistLocked() {
  return Annotate(WriteFileAtomic(IndexPath(), index_.ToRecord().SerializeAsString(), 0600),
                  "writing the image index");
}

absl::StatusOr<StoredImage> Store::AddImage(ImageRecord record) {
  RETURN_IF_ERROR(ImageIndex::Normalize(record));
  StoredImage result;
  std::vector<std::string> doomed;
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(CheckContent(record));
    ImageIndex before = index_;
    std::optional<ImageRecord> previous;
    if (const ImageRecord* old = index_.Find(record.id())) previous = *old;
    result = Stored(index_.Add(std::move(record)));
    if (absl::Status status = PersistLocked(); !status.ok()) {
      index_ = std::move(before);
      return Annotate(status, absl::StrCat("adding image ", result.record.id()));
    }
    // A merge may have replaced the manifest (or index) the image came from.
    if (previous.has_value()) doomed = CollectLocked(UnreferencedLocked(*previous));
  }
  RemoveDetached(doomed);
  return result;
}

absl::StatusOr<StoredImage> Store::Lookup(absl::string_view ref) const {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(const ImageRecord* image, index_.Lookup(ref));
  return Stored(*image);
}

std::vector<StoredImage> Store::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<StoredImage> out;
  for (const ImageRecord* image : index_.All()) out.push_back(Stored(*image));
  return out;
}

absl::Status Store::Remove(const std::string& id) {
  std::vector<std::string> doomed;
  {
    absl::MutexLock lock(&mu_);
    const ImageRecord* found = index_.Find(id);
    if (found == nullptr) {
      return absl::NotFoundError(absl::StrCat("image ", id, " is not in the store"));
    }
    ImageRecord gone = *found;
    ImageIndex before = index_;
    index_.Remove(id);
    if (absl::Status status = PersistLocked(); !status.ok()) {
      index_ = std::move(before);
      return Annotate(status, absl::StrCat("removing image ", id));
    }
    doomed = CollectLocked(UnreferencedLocked(gone));
  }
  RemoveDetached(doomed);
  return absl::OkStatus();
}

void Store::DiscardUnreferenced(const ImageRecord& attempted) {
  std::vector<std::string> doomed;
  {
    absl::MutexLock lock(&mu_);
    doomed = CollectLocked(UnreferencedLocked(attempted));
  }
  RemoveDetached(doomed);
}

Store::Garbage Store::UnreferencedLocked(const ImageRecord& gone) const {
  std::set<std::string> layers, blobs;
  for (const ImageRecord* image : index_.All()) {
    layers.insert(image->chain_ids().begin(), image->chain_ids().end());
    for (std::string& blob : BlobsOf(*image)) blobs.insert(std::move(blob));
  }
  Garbage garbage;
  for (const std::string& chain_id : gone.chain_ids()) {
    if (!layers.contains(chain_id)) garbage.layers.push_back(chain_id);
  }
  for (std::string& blob : BlobsOf(gone)) {
    if (!blobs.contains(blob)) garbage.blobs.push_back(std::move(blob));
  }
  return garbage;
}

std::vector<std::string> Store::CollectLocked(const Garbage& garbage) {
  // Failures here only leave orphans, which the next Open removes: log and go on.
  for (const std::string& digest : garbage.blobs) {
    if (absl::Status status = blobs_.Delete(digest); !status.ok()) {
      LOG_WARN("garbage collection: {}", status);
    }
  }
  std::vector<std::string> doomed;
  for (const std::string& chain_id : garbage.layers) {
    bool held = false;
    absl::StatusOr<std::string> path = layers_.Detach(chain_id, &held);
    if (!path.ok()) {
      LOG_WARN("garbage collection: {}", path.status());
    } else if (held) {
      LOG_DEBUG("garbage collection: keeping layer {}, a pull holds it", chain_id);
    } else if (!path->empty()) {
      doomed.push_back(*std::move(path));
    }
  }
  return doomed;
}

void Store::RemoveDetached(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (absl::Status status = RemoveAll(path); !status.ok()) {
      LOG_WARN("garbage collection: removing {}: {}", path, status);
    }
  }
}

absl::StatusOr<ImageFsUsage> Store::FsUsage() const {
  UsageWalker walker;
  for (const std::string& dir :
       {ImagesDir(options_.root), LayersDir(options_.root), TmpDir(options_.root)}) {
    RETURN_IF_ERROR(Annotate(walker.Add(dir), "measuring the image filesystem"));
  }
  ImageFsUsage usage;
  usage.mountpoint = options_.root;
  usage.used_bytes = walker.usage().disk_bytes;
  usage.inodes_used = walker.usage().inodes;
  usage.timestamp_unix_nanos = absl::ToUnixNanos(absl::Now());
  return usage;
}

}  // namespace berth::image
