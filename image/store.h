#ifndef BERTH_IMAGE_STORE_H_
#define BERTH_IMAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "image/blob_store.h"
#include "image/image_index.h"
#include "image/layer_store.h"
#include "proto/state.pb.h"

namespace berth::image {

struct StoreOptions {
  // berthd passes /var/lib/berth.
  std::string root;
  // Images reported as pinned (CRI Image.pinned, which the kubelet's image GC skips): an id
  // ("sha256:<hex>" or the hex), a reference matched after normalization ("busybox" means
  // docker.io/library/busybox:latest; "repo@sha256:..." matches a repo digest), or a pattern
  // ending in '*' matched as a prefix of the normalized names ("registry.k8s.io/pause*").
  std::vector<std::string> pinned_images;
  // syncfs(2) before a layer is published, so a crash never leaves a committed layer with
  // unwritten file data. Tests turn it off for speed.
  bool sync_layers = true;
};

struct StoredImage {
  state::v1::ImageRecord record;
  bool pinned = false;
};

// For ImageFsInfo.
struct ImageFsUsage {
  std::string mountpoint;  // the store root
  int64_t used_bytes = 0;  // allocated blocks under images/, layers/ and tmp/
  int64_t inodes_used = 0;
  int64_t timestamp_unix_nanos = 0;
};

// What Open found and cleaned; also logged.
struct RecoveryReport {
  std::vector<std::string> removed_paths;   // staging leftovers, broken layers, stray files
  std::vector<std::string> dropped_images;  // ids whose layers or config were missing
  std::vector<std::string> removed_layers;  // chain ids no image referenced
  std::vector<std::string> removed_blobs;   // digests no image referenced, or corrupt
};

// The persistent image store under <root>:
//   images/blobs/sha256/<hex>   manifests, indexes and configs (BlobStore)
//   images/index.pb             the ImageIndexRecord, written atomically
//   layers/<chain-id hex>/      diff/ and layer.pb (LayerStore)
//   tmp/                        staging; emptied by Open
// Thread-safe. Must outlive the StagedLayers and LayerLeases it hands out.
//
// Write order, so that a crash at any point leaves a state Open cleans up:
// - Pull (the caller): PutBlob (each blob atomic) -> AcquireLayer + StageLayer + unpack +
//   CommitLayer (see LayerStore: tmp, layer.pb, sync, rename) -> AddImage (index.pb atomic).
//   Before AddImage the new blobs and layers are orphans: Open removes them.
// - AddImage: checks that every blob and layer it names is present, then writes index.pb.
// - Remove: writes index.pb without the image first, then removes the layers and blobs no other
//   image uses (layers are moved into tmp/ in one rename, then deleted). A crash after the index
//   write leaves orphans or tmp/ content: Open removes them.
// - Open: empties tmp/; removes layer directories without a valid layer.pb and diff/; removes
//   blob files that are not whole blobs or do not match their digest; loads index.pb; drops
//   images whose config blob or layers are missing (logged, index rewritten); removes layers
//   and blobs no image references. Every step is idempotent, so a crash during Open is fine.
//
// Garbage collection is of layers and blobs only: an image leaves the store by Remove alone.
// Remove of a pinned image is allowed, as in CRI-O: pinning tells the kubelet's image GC to
// skip the image; an explicit RemoveImage is the user's decision.
//
// Concurrent pulls: hold a LayerLease (AcquireLayer) on every layer of the image from before
// the layer is checked or unpacked until AddImage returns; leased layers are never collected.
// A blob PutBlob stored for a pull can be collected by a concurrent Remove of an image using
// the same blob; AddImage then fails with FailedPrecondition and the pull may be retried.
class Store {
 public:
  // Creates the layout when missing and runs crash recovery. DataLoss when index.pb exists but
  // does not parse (nothing is removed then); InvalidArgument for a malformed pinned entry.
  static absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);

  const std::string& root() const { return options_.root; }
  const RecoveryReport& recovery() const { return recovery_; }

  // ---- blobs ----
  // Stores `bytes` under `digest`; InvalidArgument when they do not match.
  absl::Status PutBlob(absl::string_view digest, absl::string_view bytes);
  // Verified on read: NotFound, DataLoss.
  absl::StatusOr<std::string> GetBlob(absl::string_view digest) const;
  bool HasBlob(absl::string_view digest) const;

  // ---- layers ----
  // Per-chain-id coordination: see LayerLease. Waits up to `deadline` while another holder
  // unpacks the layer.
  absl::StatusOr<LayerLease> AcquireLayer(const std::string& chain_id,
                                          absl::Time deadline = absl::InfiniteFuture());
  // An empty directory under tmp/ to unpack into; removed when dropped uncommitted.
  absl::StatusOr<StagedLayer> StageLayer();
  // See LayerStore::Commit. Succeeds, dropping `staged`, when the layer is already present.
  absl::Status CommitLayer(StagedLayer staged, const std::string& chain_id,
                           state::v1::LayerRecord record);
  bool HasLayer(const std::string& chain_id) const;
  absl::StatusOr<state::v1::LayerRecord> GetLayer(const std::string& chain_id) const;
  // layers/<hex>/diff, the overlay lower dir of the layer.
  absl::StatusOr<std::string> LayerDiffPath(const std::string& chain_id) const;

  // ---- images ----
  // Adds or merges `record` (see ImageIndex::Add: names normalized, tags and repo digests move
  // to this image). The config blob, the manifest and index blobs when named, and every layer
  // must be present (FailedPrecondition otherwise). The store sets `size` (the unpacked size
  // of the layers plus the config size: the space the image takes here, which is what the
  // kubelet's image GC wants to free) and `created_unix_nanos` (first add).
  absl::StatusOr<StoredImage> AddImage(state::v1::ImageRecord record);
  // By id, hex id, unique id prefix (>= 3 hex digits), tag or digest reference (normalized
  // here: "busybox" works). NotFound when absent.
  absl::StatusOr<StoredImage> Lookup(absl::string_view ref) const;
  std::vector<StoredImage> List() const;
  // Removes image `id` ("sha256:<hex>" exactly) with every name, then the layers and blobs no
  // other image uses. NotFound when absent.
  absl::Status Remove(const std::string& id);

  // After a pull that did not become an image: removes the layers and blobs `attempted` names
  // that no image uses and no pull holds a lease on, so a failed pull leaves nothing behind.
  void DiscardUnreferenced(const state::v1::ImageRecord& attempted);

  absl::StatusOr<ImageFsUsage> FsUsage() const;

 private:
  struct PinRules {
    std::set<std::string> ids;
    std::set<std::string> names;
    std::vector<std::string> prefixes;
  };
  // Layers and blobs to delete after a change to the index.
  struct Garbage {
    std::vector<std::string> layers;
    std::vector<std::string> blobs;
  };

  explicit Store(StoreOptions options, PinRules pins);

  static absl::StatusOr<PinRules> ParsePins(const std::vector<std::string>& pinned);
  bool IsPinned(const state::v1::ImageRecord& record) const;
  StoredImage Stored(const state::v1::ImageRecord& record) const;

  // Open's steps.
  absl::Status Recover();
  absl::Status ClearStaging();
  absl::Status VerifyBlobs();
  absl::Status LoadIndex() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DropBrokenImages() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RemoveOrphans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status CheckContent(state::v1::ImageRecord& record) const;
  absl::Status PersistLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The layers and blobs of `gone` that no image in the index references any more.
  Garbage UnreferencedLocked(const state::v1::ImageRecord& gone) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes blobs and detaches layers (under mu_); returns layer directories to delete.
  std::vector<std::string> CollectLocked(const Garbage& garbage) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RemoveDetached(const std::vector<std::string>& paths);

  std::string IndexPath() const;

  const StoreOptions options_;
  const PinRules pins_;
  BlobStore blobs_;
  LayerStore layers_;
  RecoveryReport recovery_;

  mutable absl::Mutex mu_;
  ImageIndex index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_STORE_H_
