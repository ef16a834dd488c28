#ifndef BERTH_IMAGE_LAYER_STORE_H_
#define BERTH_IMAGE_LAYER_STORE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/state.pb.h"

struct FTW;

namespace berth::image {

class LayerStore;

// Space used by directory trees, for ImageFsInfo and layer sizes.
struct TreeUsage {
  int64_t disk_bytes = 0;      // allocated blocks (st_blocks * 512), like du
  int64_t apparent_bytes = 0;  // st_size of regular files, like du --apparent-size
  int64_t inodes = 0;          // directories, files, links, devices...
};

// Walks trees without following symbolic links and without crossing into other mounts. An inode
// with several hard links is counted once, across every tree given to the same walker. Entries
// that vanish during the walk are skipped.
class UsageWalker {
 public:
  // Adds the tree at `path`; a missing path adds nothing.
  absl::Status Add(const std::string& path);
  const TreeUsage& usage() const { return usage_; }

 private:
  // The nftw(3) callback; the walker in progress is thread-local.
  static int Visit(const char* path, const struct stat* st, int type, struct FTW* ftw);
  void Count(const struct stat& st);

  TreeUsage usage_;
  std::set<std::pair<dev_t, ino_t>> linked_;  // inodes with st_nlink > 1 already counted
};

// A fresh empty directory for unpacking one layer, <root>/tmp/layer-XXXXXX/diff. Removed with
// everything in it when destroyed, unless LayerStore::Commit took it.
class StagedLayer {
 public:
  StagedLayer(StagedLayer&& other) noexcept;
  StagedLayer& operator=(StagedLayer&& other) noexcept;
  StagedLayer(const StagedLayer&) = delete;
  StagedLayer& operator=(const StagedLayer&) = delete;
  ~StagedLayer();

  // The directory to unpack the layer into.
  const std::string& path() const { return diff_; }

 private:
  friend class LayerStore;
  StagedLayer(std::string dir, std::string diff) : dir_(std::move(dir)), diff_(std::move(diff)) {}
  void Discard();

  std::string dir_;  // <root>/tmp/layer-XXXXXX, which becomes layers/<hex> on commit
  std::string diff_;
};

// A claim on one chain id, from LayerStore::Acquire. While any lease on a chain id lives, the
// layer is not garbage collected. At most one lease at a time has needs_unpack(): its holder
// stages, unpacks and commits the layer; others asking meanwhile wait until it is committed (or
// that lease is dropped without a commit, when one of them takes over).
class LayerLease {
 public:
  LayerLease(LayerLease&& other) noexcept;
  LayerLease& operator=(LayerLease&& other) noexcept;
  LayerLease(const LayerLease&) = delete;
  LayerLease& operator=(const LayerLease&) = delete;
  ~LayerLease();

  const std::string& chain_id() const { return chain_id_; }
  // True when the layer was absent and this holder must unpack and commit it.
  bool needs_unpack() const { return owner_; }

 private:
  friend class LayerStore;
  LayerLease(LayerStore* store, std::string chain_id, bool owner)
      : store_(store), chain_id_(std::move(chain_id)), owner_(owner) {}
  void Release();

  LayerStore* store_ = nullptr;
  std::string chain_id_;
  bool owner_ = false;
};

// Unpacked layers in <layers_dir>/<chain-id hex>/{diff/, layer.pb}, staged in <tmp_dir>.
// Thread-safe. Must outlive its StagedLayers and LayerLeases.
//
// Commit order (every crash point leaves either nothing or a whole layer under layers/):
//   1. the layer is unpacked into tmp/layer-XXXXXX/diff (StagedLayer);
//   2. tmp/layer-XXXXXX/layer.pb is written atomically, then the filesystem is synced (when
//      `sync` is set) so the unpacked files are durable before they become visible;
//   3. tmp/layer-XXXXXX is renamed to layers/<hex> (atomic) and layers/ is fsynced.
// A crash before 3 leaves only tmp/ content, which Load's caller clears. Removal renames
// layers/<hex> into tmp/ first, so a half-deleted layer is never left under layers/.
class LayerStore {
 public:
  LayerStore(std::string layers_dir, std::string tmp_dir, bool sync);

  // Recovery and loading, before any other call: creates the directories, removes every entry
  // of layers/ that is not a whole committed layer (its path goes to `removed`), and loads the
  // records of the others.
  absl::Status Load(std::vector<std::string>* removed);

  absl::StatusOr<StagedLayer> Stage();

  // Moves `staged` into the store as `chain_id`. `record` must hold the diff id, the parent
  // chain id (empty for a base layer) with ChainId(parent, diff_id) == chain_id, and the
  // blob's digest and size; the store fills schema_version, chain_id, unpacked_size and
  // created_unix_nanos. When the layer is already present the staged copy is dropped and the
  // call succeeds.
  absl::Status Commit(StagedLayer staged, const std::string& chain_id,
                      state::v1::LayerRecord record);

  // A lease on `chain_id` (see LayerLease); waits while another holder unpacks it, up to
  // `deadline` (DeadlineExceeded).
  absl::StatusOr<LayerLease> Acquire(const std::string& chain_id,
                                     absl::Time deadline = absl::InfiniteFuture());

  bool Has(const std::string& chain_id) const;
  // NotFound when absent.
  absl::StatusOr<state::v1::LayerRecord> Get(const std::string& chain_id) const;
  // <layers_dir>/<hex>/diff, for an overlay lower dir; InvalidArgument for a malformed id.
  absl::StatusOr<std::string> DiffPath(const std::string& chain_id) const;
  // Every committed chain id, sorted.
  std::vector<std::string> List() const;

  // Takes layer `chain_id` out of the store unless a lease holds it: it is no longer listed and
  // its directory moves into tmp/ at once. Returns the directory the caller must RemoveAll
  // (possibly slow, so outside any lock), or "" when there is nothing to remove (absent or
  // held). `held` tells which, when given.
  absl::StatusOr<std::string> Detach(const std::string& chain_id, bool* held = nullptr);
  // Detach and RemoveAll in one call.
  absl::Status Remove(const std::string& chain_id);

 private:
  friend class LayerLease;
  struct InFlight {
    int holds = 0;
    bool unpacking = false;
  };

  absl::StatusOr<state::v1::LayerRecord> ReadValidLayer(const std::string& name) const;
  absl::Status PublishLocked(StagedLayer& staged, const std::string& chain_id,
                             const std::string& hex) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A fresh path under tmp/ to move doomed directories to.
  std::string TrashPath(const std::string& what);
  void MarkUnpackedLocked(const std::string& chain_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseLease(const std::string& chain_id, bool owner);

  const std::string layers_dir_;
  const std::string tmp_dir_;
  const bool sync_;
  std::atomic<uint64_t> trash_counter_{0};

  mutable absl::Mutex mu_;
  absl::CondVar cv_;
  std::map<std::string, state::v1::LayerRecord> layers_ ABSL_GUARDED_BY(mu_);
  // std::map: references to entries stay valid while other entries come and go.
  std::map<std::string, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_LAYER_STORE_H_
