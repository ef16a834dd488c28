#include "image/layer_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "image/chain_id.h"

namespace berth::image {
namespace {

constexpr uint32_t kLayerSchemaVersion = 1;
constexpr char kLayerRecordName[] = "layer.pb";
constexpr char kDiffName[] = "diff";
constexpr int kWalkAttempts = 5;

thread_local UsageWalker* current_walker = nullptr;

// Makes the unpacked files durable before the rename that publishes them.
absl::Status SyncFilesystemOf(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening directory ", dir));
  if (::syncfs(fd.get()) != 0) return ErrnoStatus(errno, absl::StrCat("syncing ", dir));
  return absl::OkStatus();
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::Status CheckRecord(const std::string& chain_id, const state::v1::LayerRecord& record) {
  ASSIGN_OR_RETURN(std::string expected, ChainId(record.parent_chain_id(), record.diff_id()));
  if (expected != chain_id) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer ", chain_id, ": parent ", record.parent_chain_id(), " and diff id ",
                     record.diff_id(), " give the chain id ", expected));
  }
  if (!record.digest().empty())
    RETURN_IF_ERROR(Sha256HexOf(record.digest(), "layer digest").status());
  if (record.size() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", chain_id, ": negative size"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- UsageWalker ----

int UsageWalker::Visit(const char* path, const struct stat* st, int type, struct FTW* ftw) {
  // FTW_NS: the entry vanished or cannot be inspected; skip it.
  if (type != FTW_NS && current_walker != nullptr) current_walker->Count(*st);
  return FTW_CONTINUE;
}

void UsageWalker::Count(const struct stat& st) {
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked_.emplace(st.st_dev, st.st_ino).second) {
    return;
  }
  usage_.inodes += 1;
  usage_.disk_bytes += static_cast<int64_t>(st.st_blocks) * 512;
  if (S_ISREG(st.st_mode)) usage_.apparent_bytes += static_cast<int64_t>(st.st_size);
}

absl::Status UsageWalker::Add(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus(errno, absl::StrCat("inspecting ", path));
  }
  // nftw fails when a directory vanishes between its stat and its opening (a concurrent
  // removal): walk again from the same starting counts.
  const TreeUsage usage_before = usage_;
  const std::set<std::pair<dev_t, ino_t>> linked_before = linked_;
  int err = 0;
  for (int attempt = 0; attempt < kWalkAttempts; ++attempt) {
    UsageWalker* saved = current_walker;
    current_walker = this;
    int rc = ::nftw(path.c_str(), &UsageWalker::Visit, 32, FTW_PHYS | FTW_MOUNT | FTW_ACTIONRETVAL);
    err = errno;
    current_walker = saved;
    if (rc == 0) return absl::OkStatus();
    if (err != ENOENT) break;
    usage_ = usage_before;
    linked_ = linked_before;
  }
  return ErrnoStatus(err, absl::StrCat("measuring ", path));
}

// ---- StagedLayer ----

StagedLayer::StagedLayer(StagedLayer&& other) noexcept
    : dir_(std::exchange(other.dir_, "")), diff_(std::exchange(other.diff_, "")) {}

StagedLayer& StagedLayer::operator=(StagedLayer&& other) noexcept {
  if (this != &other) {
    Discard();
    dir_ = std::exchange(other.dir_, "");
    diff_ = std::exchange(other.diff_, "");
  }
  return *this;
}

StagedLayer::~StagedLayer() { Discard(); }

void StagedLayer::Discard() {
  if (dir_.empty()) return;
  if (absl::Status status = RemoveAll(dir_); !status.ok()) {
    LOG_WARN("removing staged layer {}: {}", dir_, status);
  }
  dir_.clear();
  diff_.clear();
}

// ---- LayerLease ----

LayerLease::LayerLease(LayerLease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      chain_id_(std::move(other.chain_id_)),
      owner_(std::exchange(other.owner_, false)) {}

LayerLease& LayerLease::operator=(LayerLease&& other) noexcept {
  if (this != &other) {
    Release();
    store_ = std::exchange(other.store_, nullptr);
    chain_id_ = std::move(other.chain_id_);
    owner_ = std::exchange(other.owner_, false);
  }
  return *this;
}

LayerLease::~LayerLease() { Release(); }

void LayerLease::Release() {
  if (store_ == nullptr) return;
  store_->ReleaseLease(chain_id_, owner_);
  store_ = nullptr;
  owner_ = false;
}

// ---- LayerStore ----

LayerStore::LayerStore(std::string layers_dir, std::string tmp_dir, bool sync)
    : layers_dir_(std::move(layers_dir)), tmp_dir_(std::move(tmp_dir)), sync_(sync) {}

absl::StatusOr<state::v1::LayerRecord> LayerStore::ReadValidLayer(const std::string& name) const {
  std::string chain_id = absl::StrCat("sha256:", name);
  RETURN_IF_ERROR(Sha256HexOf(chain_id, "layer directory name").status());
  std::string dir = absl::StrCat(layers_dir_, "/", name);
  if (!IsDirectory(dir)) return absl::DataLossError("not a directory");
  if (!IsDirectory(absl::StrCat(dir, "/", kDiffName))) return absl::DataLossError("no diff/");
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(absl::StrCat(dir, "/", kLayerRecordName), 1 << 20));
  state::v1::LayerRecord record;
  if (!record.ParseFromString(bytes)) return absl::DataLossError("layer.pb does not parse");
  if (record.chain_id() != chain_id) {
    return absl::DataLossError(absl::StrCat("layer.pb names ", record.chain_id()));
  }
  return record;
}

absl::Status LayerStore::Load(std::vector<std::string>* removed) {
  RETURN_IF_ERROR(Annotate(MakeDirs(layers_dir_, 0700), "creating the layer store"));
  RETURN_IF_ERROR(Annotate(MakeDirs(tmp_dir_, 0700), "creating the staging directory"));
  std::vector<std::string> names;
  DIR* dir = ::opendir(layers_dir_.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, absl::StrCat("listing ", layers_dir_));
  while (struct dirent* entry = ::readdir(dir)) {
    absl::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  std::map<std::string, state::v1::LayerRecord> loaded;
  for (const std::string& name : names) {
    absl::StatusOr<state::v1::LayerRecord> record = ReadValidLayer(name);
    if (record.ok()) {
      loaded.emplace(record->chain_id(), *std::move(record));
      continue;
    }
    std::string path = absl::StrCat(layers_dir_, "/", name);
    LOG_WARN("removing {}, not a whole layer: {}", path, record.status());
    RETURN_IF_ERROR(Annotate(RemoveAll(path), "removing a broken layer"));
    if (removed != nullptr) removed->push_back(path);
  }
  absl::MutexLock lock(&mu_);
  layers_ = std::move(loaded);
  return absl::OkStatus();
}

absl::StatusOr<StagedLayer> LayerStore::Stage() {
  RETURN_IF_ERROR(Annotate(MakeDirs(tmp_dir_, 0700), "creating the staging directory"));
  std::string dir = absl::StrCat(tmp_dir_, "/layer-XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) {
    return ErrnoStatus(errno, absl::StrCat("creating a staging directory in ", tmp_dir_));
  }
  std::string diff = absl::StrCat(dir, "/", kDiffName);
  StagedLayer staged(dir, diff);
  if (::mkdir(diff.c_str(), 0755) != 0) return ErrnoStatus(errno, "creating " + diff);
  return staged;
}

std::string LayerStore::TrashPath(const std::string& what) {
  return absl::StrCat(tmp_dir_, "/removing-", what, "-", ::getpid(), "-", trash_counter_++);
}

absl::Status LayerStore::Commit(StagedLayer staged, const std::string& chain_id,
                                state::v1::LayerRecord record) {
  ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(chain_id, "chain id"));
  if (staged.dir_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("layer ", chain_id, ": nothing staged"));
  }
  RETURN_IF_ERROR(CheckRecord(chain_id, record));
  if (Has(chain_id)) {
    absl::MutexLock lock(&mu_);
    MarkUnpackedLocked(chain_id);
    return absl::OkStatus();  // `staged` is removed on return
  }
  UsageWalker walker;
  RETURN_IF_ERROR(walker.Add(staged.diff_));
  record.set_schema_version(kLayerSchemaVersion);
  record.set_chain_id(chain_id);
  record.set_unpacked_size(walker.usage().apparent_bytes);
  record.set_created_unix_nanos(absl::ToUnixNanos(absl::Now()));
  std::string context = absl::StrCat("committing layer ", chain_id);
  RETURN_IF_ERROR(Annotate(WriteFileAtomic(absl::StrCat(staged.dir_, "/", kLayerRecordName),
                                           record.SerializeAsString(), 0600),
                           context));
  if (sync_) RETURN_IF_ERROR(Annotate(SyncFilesystemOf(staged.dir_), context));
  absl::MutexLock lock(&mu_);
  if (!layers_.contains(chain_id)) {
    RETURN_IF_ERROR(Annotate(PublishLocked(staged, chain_id, hex), context));
    layers_.emplace(chain_id, std::move(record));
  }
  MarkUnpackedLocked(chain_id);
  return absl::OkStatus();
}

absl::Status LayerStore::PublishLocked(StagedLayer& staged, const std::string& chain_id,
                                       const std::string& hex) {
  std::string target = absl::StrCat(layers_dir_, "/", hex);
  if (::rename(staged.dir_.c_str(), target.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY) {
      return ErrnoStatus(errno, absl::StrCat("renaming ", staged.dir_, " to ", target));
    }
    // A directory that is not a known layer: a leftover. Move it aside and try again.
    std::string trash = TrashPath(hex);
    if (::rename(target.c_str(), trash.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("moving aside ", target));
    }
    if (absl::Status status = RemoveAll(trash); !status.ok()) {
      LOG_WARN("removing {}: {}", trash, status);
    }
    if (::rename(staged.dir_.c_str(), target.c_str()) != 0) {
      return ErrnoStatus(errno, absl::StrCat("renaming ", staged.dir_, " to ", target));
    }
  }
  staged.dir_.clear();
  staged.diff_.clear();
  return SyncDirectory(layers_dir_);
}

void LayerStore::MarkUnpackedLocked(const std::string& chain_id) {
  auto it = in_flight_.find(chain_id);
  if (it != in_flight_.end() && it->second.unpacking) {
    it->second.unpacking = false;
    cv_.SignalAll();
  }
}

absl::StatusOr<LayerLease> LayerStore::Acquire(const std::string& chain_id, absl::Time deadline) {
  RETURN_IF_ERROR(Sha256HexOf(chain_id, "chain id").status());
  absl::MutexLock lock(&mu_);
  InFlight& entry = in_flight_[chain_id];
  ++entry.holds;
  while (entry.unpacking && !layers_.contains(chain_id)) {
    if (cv_.WaitWithDeadline(&mu_, deadline) && absl::Now() >= deadline) {
      if (--entry.holds == 0) in_flight_.erase(chain_id);
      return absl::DeadlineExceededError(
          absl::StrCat("waiting for another pull to unpack layer ", chain_id));
    }
  }
  bool owner = !layers_.contains(chain_id);
  if (owner) entry.unpacking = true;
  return LayerLease(this, chain_id, owner);
}

void LayerStore::ReleaseLease(const std::string& chain_id, bool owner) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(chain_id);
  if (it == in_flight_.end()) return;
  if (owner && it->second.unpacking) {
    // The holder gave up without committing: let a waiter take over.
    it->second.unpacking = false;
    cv_.SignalAll();
  }
  if (--it->second.holds <= 0) in_flight_.erase(it);
}

bool LayerStore::Has(const std::string& chain_id) const {
  absl::MutexLock lock(&mu_);
  return layers_.contains(chain_id);
}

absl::StatusOr<state::v1::LayerRecord> LayerStore::Get(const std::string& chain_id) const {
  absl::MutexLock lock(&mu_);
  auto it = layers_.find(chain_id);
  if (it == layers_.end()) {
    return absl::NotFoundError(absl::StrCat("layer ", chain_id, " is not in the store"));
  }
  return it->second;
}

absl::StatusOr<std::string> LayerStore::DiffPath(const std::string& chain_id) const {
  ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(chain_id, "chain id"));
  return absl::StrCat(layers_dir_, "/", hex, "/", kDiffName);
}

std::vector<std::string> LayerStore::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(layers_.size());
  for (const auto& [chain_id, record] : layers_) out.push_back(chain_id);
  return out;
}

absl::StatusOr<std::string> LayerStore::Detach(const std::string& chain_id, bool* held) {
  ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(chain_id, "chain id"));
  std::string path = absl::StrCat(layers_dir_, "/", hex);
  absl::MutexLock lock(&mu_);
  if (held != nullptr) *held = in_flight_.contains(chain_id);
  if (in_flight_.contains(chain_id) || layers_.erase(chain_id) == 0) return std::string();
  // Out of layers/ in one step, so a crash never leaves a half-deleted layer there.
  std::string doomed = TrashPath(hex);
  if (::rename(path.c_str(), doomed.c_str()) != 0) {
    int err = errno;
    LOG_WARN("moving layer {} to {}: {}; removing it in place", path, doomed, strerror(err));
    // Invalidate it first: without layer.pb a leftover is swept at the next start.
    if (::unlink(absl::StrCat(path, "/", kLayerRecordName).c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, absl::StrCat("invalidating layer ", chain_id));
    }
    return path;
  }
  return doomed;
}

absl::Status LayerStore::Remove(const std::string& chain_id) {
  ASSIGN_OR_RETURN(std::string doomed, Detach(chain_id));
  if (doomed.empty()) return absl::OkStatus();
  return Annotate(RemoveAll(doomed), absl::StrCat("removing layer ", chain_id));
}

}  // namespace berth::image
