#include "image/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/chain_id.h"

namespace berth::image {
namespace {

using state::v1::ImageRecord;
using state::v1::LayerRecord;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Hex(const std::string& digest) { return digest.substr(7); }

void WriteText(const std::string& path, const std::string& text) {
  ASSERT_TRUE(WriteFileAtomic(path, text).ok()) << path;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("berth-store-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    temp_ = std::make_unique<TempDir>(*std::move(dir));
    root_ = absl::StrCat(temp_->path(), "/root");
    Reopen();
  }

  void Reopen(std::vector<std::string> pinned = {}) {
    store_.reset();
    StoreOptions options;
    options.root = root_;
    options.pinned_images = std::move(pinned);
    options.sync_layers = false;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::string LayerDir(const std::string& chain_id) {
    return absl::StrCat(root_, "/layers/", Hex(chain_id));
  }
  std::string BlobPath(const std::string& digest) {
    return absl::StrCat(root_, "/images/blobs/sha256/", Hex(digest));
  }

  // Commits a layer whose diff id is the digest of `seed`, holding one file with `seed`.
  std::string CommitLayer(const std::string& parent, const std::string& seed) {
    std::string diff_id = ComputeSha256Digest(seed);
    absl::StatusOr<std::string> chain_id = ChainId(parent, diff_id);
    EXPECT_TRUE(chain_id.ok()) << chain_id.status();
    absl::StatusOr<StagedLayer> staged = store_->StageLayer();
    EXPECT_TRUE(staged.ok()) << staged.status();
    WriteText(absl::StrCat(staged->path(), "/", seed), seed);
    LayerRecord record;
    record.set_diff_id(diff_id);
    record.set_parent_chain_id(parent);
    record.set_digest(ComputeSha256Digest(seed + ".gz"));
    record.set_size(1000);
    absl::Status status = store_->CommitLayer(*std::move(staged), *chain_id, record);
    EXPECT_TRUE(status.ok()) << status;
    return *chain_id;
  }

  // Stores a config blob and the layers `seeds`, and adds the image.
  ImageRecord AddImage(const std::string& config, const std::vector<std::string>& seeds,
                       const std::vector<std::string>& tags,
                       const std::vector<std::string>& digests = {}) {
    ImageRecord record;
    std::string id = ComputeSha256Digest(config);
    EXPECT_TRUE(store_->PutBlob(id, config).ok());
    record.set_id(id);
    std::string parent;
    for (const std::string& seed : seeds) {
      parent = CommitLayer(parent, seed);
      record.add_chain_ids(parent);
    }
    for (const std::string& tag : tags) record.add_repo_tags(tag);
    for (const std::string& digest : digests) record.add_repo_digests(digest);
    absl::StatusOr<StoredImage> stored = store_->AddImage(record);
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() ? stored->record : record;
  }

  std::unique_ptr<TempDir> temp_;
  std::string root_;
  std::unique_ptr<Store> store_;
};

// ---- chain ids ----

TEST(ChainIdTest, Vectors) {
  std::string a = ComputeSha256Digest("a");
  std::string b = ComputeSha256Digest("b");
  std::string c = ComputeSha256Digest("c");
  EXPECT_EQ(a, "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
  EXPECT_EQ(ComputeSha256Digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(*ChainId("", a), a);
  EXPECT_EQ(*ChainId(a, b),
            "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
  absl::StatusOr<std::vector<std::string>> ids = ChainIds({a, b, c});
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(
      *ids,
      ElementsAre(a, "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676",
                  "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106"));
  EXPECT_FALSE(ChainId("", "sha256:abc").ok());
  EXPECT_FALSE(ChainId("", "sha512:" + std::string(128, 'a')).ok());
  EXPECT_FALSE(ChainId("bogus", a).ok());
  EXPECT_FALSE(ChainId("", Hex(a)).ok());
}

// ---- blobs ----

TEST_F(StoreTest, PutBlobVerifiesTheDigest) {
  std::string digest = ComputeSha256Digest("config");
  absl::Status status = store_->PutBlob(digest, "tampered");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(Exists(BlobPath(digest)));
  EXPECT_FALSE(store_->HasBlob(digest));
  EXPECT_EQ(store_->PutBlob("sha256:1234", "x").code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(store_->PutBlob(digest, "config").ok());
  ASSERT_TRUE(store_->PutBlob(digest, "config").ok());  // again: fine
  EXPECT_EQ(*store_->GetBlob(digest), "config");
  EXPECT_EQ(store_->GetBlob(ComputeSha256Digest("other")).status().code(),
            absl::StatusCode::kNotFound);

  WriteText(BlobPath(digest), "corrupted");
  EXPECT_EQ(store_->GetBlob(digest).status().code(), absl::StatusCode::kDataLoss);
}

// ---- layers ----

TEST_F(StoreTest, StageAndCommit) {
  absl::StatusOr<StagedLayer> staged = store_->StageLayer();
  ASSERT_TRUE(staged.ok()) << staged.status();
  std::string path = staged->path();
  EXPECT_TRUE(path.starts_with(root_ + "/tmp/")) << path;
  ASSERT_TRUE(Exists(path));
  WriteText(path + "/hello", "hello world");

  std::string diff_id = ComputeSha256Digest("tar");
  LayerRecord record;
  record.set_diff_id(diff_id);
  record.set_digest(ComputeSha256Digest("tar.gz"));
  record.set_size(42);
  ASSERT_TRUE(store_->CommitLayer(*std::move(staged), diff_id, record).ok());

  EXPECT_FALSE(Exists(path));
  EXPECT_TRUE(store_->HasLayer(diff_id));
  EXPECT_TRUE(Exists(LayerDir(diff_id) + "/layer.pb"));
  EXPECT_EQ(*ReadFile(LayerDir(diff_id) + "/diff/hello"), "hello world");
  EXPECT_EQ(*store_->LayerDiffPath(diff_id), LayerDir(diff_id) + "/diff");
  absl::StatusOr<LayerRecord> stored = store_->GetLayer(diff_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->chain_id(), diff_id);
  EXPECT_EQ(stored->schema_version(), 1u);
  EXPECT_EQ(stored->size(), 42);
  EXPECT_EQ(stored->unpacked_size(), 11);

  // A second commit of the same chain id keeps the first and drops the staged copy.
  absl::StatusOr<StagedLayer> again = store_->StageLayer();
  ASSERT_TRUE(again.ok());
  std::string again_path = again->path();
  WriteText(again_path + "/hello", "other");
  ASSERT_TRUE(store_->CommitLayer(*std::move(again), diff_id, record).ok());
  EXPECT_FALSE(Exists(again_path));
  EXPECT_EQ(*ReadFile(LayerDir(diff_id) + "/diff/hello"), "hello world");
}

TEST_F(StoreTest, DroppedStagedLayerIsRemoved) {
  std::string dir;
  {
    absl::StatusOr<StagedLayer> staged = store_->StageLayer();
    ASSERT_TRUE(staged.ok());
    dir = staged->path();
    WriteText(dir + "/file", "x");
    ASSERT_TRUE(::mkfifo((dir + "/fifo").c_str(), 0600) == 0);
  }
  EXPECT_FALSE(Exists(dir));
  EXPECT_THAT(store_->recovery().removed_paths, IsEmpty());
}

TEST_F(StoreTest, CommitRefusesAnInconsistentRecord) {
  absl::StatusOr<StagedLayer> staged = store_->StageLayer();
  ASSERT_TRUE(staged.ok());
  LayerRecord record;
  record.set_diff_id(ComputeSha256Digest("x"));
  absl::Status status = store_->CommitLayer(*std::move(staged), ComputeSha256Digest("y"), record);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_FALSE(store_->HasLayer(ComputeSha256Digest("y")));
}

TEST_F(StoreTest, ConcurrentAcquireUnpacksOnce) {
  std::string diff_id = ComputeSha256Digest("shared");
  std::atomic<int> unpacks{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<LayerLease> lease = store_->AcquireLayer(diff_id);
      if (!lease.ok()) {
        ++failures;
        return;
      }
      if (lease->needs_unpack()) {
        ++unpacks;
        absl::StatusOr<StagedLayer> staged = store_->StageLayer();
        if (!staged.ok()) {
          ++failures;
          return;
        }
        absl::SleepFor(absl::Milliseconds(50));
        LayerRecord record;
        record.set_diff_id(diff_id);
        if (!store_->CommitLayer(*std::move(staged), diff_id, record).ok()) ++failures;
      }
      if (!store_->HasLayer(diff_id)) ++failures;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(unpacks.load(), 1);
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(StoreTest, AbandonedLeasePassesToAWaiter) {
  std::string diff_id = ComputeSha256Digest("abandoned");
  absl::StatusOr<LayerLease> acquired = store_->AcquireLayer(diff_id);
  ASSERT_TRUE(acquired.ok());
  ASSERT_TRUE(acquired->needs_unpack());
  std::optional<LayerLease> first(*std::move(acquired));
  // A second asker times out while the first holds the unpack.
  absl::StatusOr<LayerLease> timed_out =
      store_->AcquireLayer(diff_id, absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded);

  std::atomic<bool> took_over{false};
  std::thread waiter([&] {
    absl::StatusOr<LayerLease> lease = store_->AcquireLayer(diff_id);
    took_over = lease.ok() && lease->needs_unpack();
  });
  absl::SleepFor(absl::Milliseconds(20));
  first.reset();  // gives up without a commit
  waiter.join();
  EXPECT_TRUE(took_over.load());
}

// ---- images ----

TEST_F(StoreTest, LookupByEveryForm) {
  std::string manifest = ComputeSha256Digest("manifest");
  ImageRecord image =
      AddImage("config-a", {"a0", "a1"}, {"busybox:latest"}, {"busybox@" + manifest});
  EXPECT_THAT(image.repo_tags(), ElementsAre("docker.io/library/busybox:latest"));
  EXPECT_THAT(image.repo_digests(), ElementsAre("docker.io/library/busybox@" + manifest));
  const std::string& id = image.id();
  for (const std::string& ref :
       {id, Hex(id), Hex(id).substr(0, 12), Hex(id).substr(0, 3), "sha256:" + Hex(id).substr(0, 8),
        std::string("busybox"), std::string("busybox:latest"),
        std::string("docker.io/library/busybox:latest"), std::string("library/busybox"),
        "busybox@" + manifest, "docker.io/library/busybox:latest@" + manifest}) {
    absl::StatusOr<StoredImage> found = store_->Lookup(ref);
    ASSERT_TRUE(found.ok()) << ref << ": " << found.status();
    EXPECT_EQ(found->record.id(), id) << ref;
  }
  for (const std::string& ref : {std::string("busybox:1.36"), std::string("alpine"),
                                 std::string("ab"), ComputeSha256Digest("nothing")}) {
    EXPECT_EQ(store_->Lookup(ref).status().code(), absl::StatusCode::kNotFound) << ref;
  }
  // Size: the config plus the unpacked layers ("a0" and "a1", two bytes each).
  EXPECT_EQ(image.size(), static_cast<int64_t>(std::string("config-a").size()) + 4);
}

TEST_F(StoreTest, TagMovesAndMergeUnionsNames) {
  ImageRecord a = AddImage("config-a", {"a0"}, {"busybox:latest", "busybox:1"});
  ImageRecord b = AddImage("config-b", {"b0"}, {"busybox"});
  EXPECT_EQ(store_->Lookup("busybox")->record.id(), b.id());
  EXPECT_EQ(store_->Lookup("busybox:1")->record.id(), a.id());
  EXPECT_THAT(store_->Lookup(a.id())->record.repo_tags(),
              ElementsAre("docker.io/library/busybox:1"));

  // The last tag moves away: the image stays, untagged.
  AddImage("config-b", {"b0"}, {"busybox:1"});
  absl::StatusOr<StoredImage> untagged = store_->Lookup(a.id());
  ASSERT_TRUE(untagged.ok());
  EXPECT_THAT(untagged->record.repo_tags(), IsEmpty());
  EXPECT_EQ(store_->List().size(), 2u);
  EXPECT_THAT(
      store_->Lookup(b.id())->record.repo_tags(),
      UnorderedElementsAre("docker.io/library/busybox:latest", "docker.io/library/busybox:1"));
}

TEST_F(StoreTest, AddImageNeedsItsContent) {
  ImageRecord record;
  record.set_id(ComputeSha256Digest("config"));
  EXPECT_EQ(store_->AddImage(record).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->PutBlob(record.id(), "config").ok());
  record.add_chain_ids(ComputeSha256Digest("missing layer"));
  EXPECT_EQ(store_->AddImage(record).status().code(), absl::StatusCode::kFailedPrecondition);
  record.clear_chain_ids();
  record.set_config_digest(ComputeSha256Digest("other"));
  EXPECT_EQ(store_->AddImage(record).status().code(), absl::StatusCode::kInvalidArgument);
  record.clear_config_digest();
  record.add_repo_tags("Not A Reference!");
  EXPECT_EQ(store_->AddImage(record).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store_->List(), IsEmpty());
}

TEST_F(StoreTest, RemoveCollectsUnsharedLayersAndBlobs) {
  ImageRecord a = AddImage("config-a", {"base", "a1"}, {"a:1"});
  ImageRecord b = AddImage("config-b", {"base", "b1"}, {"b:1"});
  ASSERT_EQ(a.chain_ids(0), b.chain_ids(0));

  ASSERT_TRUE(store_->Remove(a.id()).ok());
  EXPECT_EQ(store_->Lookup("a:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(0)));
  EXPECT_TRUE(Exists(LayerDir(a.chain_ids(0)) + "/diff/base"));
  EXPECT_FALSE(store_->HasLayer(a.chain_ids(1)));
  EXPECT_FALSE(Exists(LayerDir(a.chain_ids(1))));
  EXPECT_FALSE(store_->HasBlob(a.id()));
  EXPECT_TRUE(store_->HasBlob(b.id()));
  EXPECT_EQ(store_->Remove(a.id()).code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->Remove(b.id()).ok());
  EXPECT_FALSE(Exists(LayerDir(b.chain_ids(0))));
  EXPECT_FALSE(Exists(LayerDir(b.chain_ids(1))));
  EXPECT_FALSE(store_->HasBlob(b.id()));
  absl::StatusOr<ImageFsUsage> usage = store_->FsUsage();
  ASSERT_TRUE(usage.ok());
  // Left: images/, blobs/, sha256/, index.pb, layers/, tmp/.
  EXPECT_EQ(usage->inodes_used, 6);
}

TEST_F(StoreTest, LeasedLayerSurvivesRemove) {
  ImageRecord a = AddImage("config-a", {"base"}, {"a:1"});
  absl::StatusOr<LayerLease> lease = store_->AcquireLayer(a.chain_ids(0));
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(lease->needs_unpack());
  ASSERT_TRUE(store_->Remove(a.id()).ok());
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(0)));
  // A pull holding the lease can add an image on it; without one the next Open collects it.
  ASSERT_TRUE(store_->PutBlob(a.id(), "config-a").ok());
  ASSERT_TRUE(store_->AddImage(a).ok());
}

TEST_F(StoreTest, PinnedImages) {
  ImageRecord a = AddImage("config-a", {"a0"}, {"busybox"});
  ImageRecord b = AddImage("config-b", {"b0"}, {"registry.k8s.io/pause:3.9"});
  ImageRecord c = AddImage("config-c", {"c0"}, {"other:1"});
  ImageRecord d = AddImage("config-d", {"d0"}, {"plain:1"});
  Reopen({"busybox", "registry.k8s.io/pause*", Hex(c.id())});
  EXPECT_TRUE(store_->Lookup(a.id())->pinned);
  EXPECT_TRUE(store_->Lookup(b.id())->pinned);
  EXPECT_TRUE(store_->Lookup(c.id())->pinned);
  EXPECT_FALSE(store_->Lookup(d.id())->pinned);
  // An explicit removal of a pinned image is allowed.
  EXPECT_TRUE(store_->Remove(a.id()).ok());

  StoreOptions bad;
  bad.root = root_;
  bad.pinned_images = {"Bad Name"};
  EXPECT_EQ(Store::Open(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, PersistsAcrossReopen) {
  ImageRecord a = AddImage("config-a", {"base", "a1"}, {"a:1", "a:2"});
  ImageRecord b = AddImage("config-b", {"base"}, {"b:1"});
  Reopen();
  EXPECT_THAT(store_->recovery().removed_layers, IsEmpty());
  EXPECT_THAT(store_->recovery().removed_blobs, IsEmpty());
  ASSERT_EQ(store_->List().size(), 2u);
  absl::StatusOr<StoredImage> found = store_->Lookup("a:2");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->record.SerializeAsString(), a.SerializeAsString());
  EXPECT_EQ(store_->Lookup("b:1")->record.id(), b.id());
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(1)));
  EXPECT_EQ(store_->GetLayer(a.chain_ids(1))->diff_id(), ComputeSha256Digest("a1"));
}

// ---- crash recovery: leftovers made by hand, then Open ----

TEST_F(StoreTest, RecoveryRemovesStagingAndHalfCommittedLayers) {
  ImageRecord a = AddImage("config-a", {"a0"}, {"a:1"});
  store_.reset();
  // Crash mid-unpack, and mid-removal (a layer moved into tmp/).
  ASSERT_TRUE(MakeDirs(root_ + "/tmp/layer-abc123/diff/usr/bin").ok());
  WriteText(root_ + "/tmp/layer-abc123/diff/usr/bin/sh", "sh");
  ASSERT_TRUE(MakeDirs(root_ + "/tmp/removing-x-1-0/diff").ok());
  // A layer directory without layer.pb, one with a corrupt layer.pb, one whose record names
  // another chain id, and junk.
  std::string half = ComputeSha256Digest("half");
  ASSERT_TRUE(MakeDirs(LayerDir(half) + "/diff").ok());
  std::string corrupt = ComputeSha256Digest("corrupt");
  ASSERT_TRUE(MakeDirs(LayerDir(corrupt) + "/diff").ok());
  WriteText(LayerDir(corrupt) + "/layer.pb", "\xff\xff\xff garbage");
  std::string liar = ComputeSha256Digest("liar");
  ASSERT_TRUE(MakeDirs(LayerDir(liar) + "/diff").ok());
  LayerRecord record;
  record.set_chain_id(a.chain_ids(0));
  WriteText(LayerDir(liar) + "/layer.pb", record.SerializeAsString());
  ASSERT_TRUE(MakeDirs(root_ + "/layers/junk").ok());

  Reopen();
  EXPECT_FALSE(Exists(root_ + "/tmp/layer-abc123"));
  EXPECT_FALSE(Exists(root_ + "/tmp/removing-x-1-0"));
  EXPECT_TRUE(Exists(root_ + "/tmp"));
  EXPECT_FALSE(Exists(LayerDir(half)));
  EXPECT_FALSE(Exists(LayerDir(corrupt)));
  EXPECT_FALSE(Exists(LayerDir(liar)));
  EXPECT_FALSE(Exists(root_ + "/layers/junk"));
  EXPECT_EQ(store_->recovery().removed_paths.size(), 6u);
  EXPECT_TRUE(store_->Lookup("a:1").ok());
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(0)));
}

TEST_F(StoreTest, RecoveryRemovesOrphansOfAnInterruptedPull) {
  ImageRecord a = AddImage("config-a", {"a0"}, {"a:1"});
  // A pull that stored its blobs and committed a layer, then crashed before AddImage.
  std::string orphan_config = ComputeSha256Digest("config-orphan");
  ASSERT_TRUE(store_->PutBlob(orphan_config, "config-orphan").ok());
  std::string orphan_layer = CommitLayer("", "orphan");
  // A crash inside WriteFileAtomic leaves its temporary files.
  WriteText(BlobPath(orphan_config) + ".tmp-AbCdEf", "partial");
  WriteText(root_ + "/images/index.pb.tmp-XyZ123", "partial");
  store_.reset();

  Reopen();
  EXPECT_THAT(store_->recovery().removed_layers, ElementsAre(orphan_layer));
  EXPECT_THAT(store_->recovery().removed_blobs, ElementsAre(orphan_config));
  EXPECT_FALSE(Exists(LayerDir(orphan_layer)));
  EXPECT_FALSE(Exists(BlobPath(orphan_config)));
  EXPECT_FALSE(Exists(BlobPath(orphan_config) + ".tmp-AbCdEf"));
  EXPECT_FALSE(Exists(root_ + "/images/index.pb.tmp-XyZ123"));
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(0)));
  EXPECT_TRUE(store_->HasBlob(a.id()));
}

TEST_F(StoreTest, RecoveryDropsImagesWithMissingContent) {
  ImageRecord a = AddImage("config-a", {"base", "a1"}, {"a:1"});
  ImageRecord b = AddImage("config-b", {"base"}, {"b:1"});
  ImageRecord c = AddImage("config-c", {"c0"}, {"c:1"});
  store_.reset();
  ASSERT_TRUE(RemoveAll(LayerDir(a.chain_ids(1))).ok());  // a's top layer vanished
  WriteText(BlobPath(c.id()), "bit rot");                 // c's config is corrupt

  Reopen();
  EXPECT_THAT(store_->recovery().dropped_images, UnorderedElementsAre(a.id(), c.id()));
  EXPECT_EQ(store_->Lookup("a:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Lookup("c:1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Lookup("b:1").ok());
  EXPECT_TRUE(store_->HasLayer(a.chain_ids(0)));  // still used by b
  EXPECT_FALSE(store_->HasBlob(a.id()));
  EXPECT_FALSE(Exists(LayerDir(c.chain_ids(0))));
  // The index was rewritten: the next Open finds nothing to clean.
  Reopen();
  EXPECT_THAT(store_->recovery().dropped_images, IsEmpty());
  EXPECT_THAT(store_->recovery().removed_layers, IsEmpty());
  EXPECT_EQ(store_->List().size(), 1u);
}

TEST_F(StoreTest, CorruptIndexFailsOpen) {
  AddImage("config-a", {"a0"}, {"a:1"});
  store_.reset();
  WriteText(root_ + "/images/index.pb", "\xff\xff\xff not a record");
  StoreOptions options;
  options.root = root_;
  EXPECT_EQ(Store::Open(options).status().code(), absl::StatusCode::kDataLoss);
  // Nothing was removed.
  EXPECT_TRUE(Exists(root_ + "/layers/" + Hex(ComputeSha256Digest("a0"))));
}

// ---- usage ----

TEST_F(StoreTest, FsUsageCountsHardLinksOnce) {
  absl::StatusOr<ImageFsUsage> before = store_->FsUsage();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->mountpoint, root_);

  absl::StatusOr<StagedLayer> staged = store_->StageLayer();
  ASSERT_TRUE(staged.ok());
  std::string diff = staged->path();
  ASSERT_TRUE(MakeDirs(diff + "/dir").ok());
  WriteText(diff + "/dir/big", std::string(10000, 'x'));
  ASSERT_EQ(::link((diff + "/dir/big").c_str(), (diff + "/dir/big-link").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (diff + "/dir/sym").c_str()), 0);
  WriteText(diff + "/small", "12345");

  UsageWalker walker;
  ASSERT_TRUE(walker.Add(diff).ok());
  // diff/, dir/, big (twice linked), sym, small.
  EXPECT_EQ(walker.usage().inodes, 5);
  EXPECT_EQ(walker.usage().apparent_bytes, 10005);
  int64_t blocks = 0;
  for (const std::string& path :
       {diff, diff + "/dir", diff + "/dir/big", diff + "/dir/sym", diff + "/small"}) {
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    blocks += static_cast<int64_t>(st.st_blocks) * 512;
  }
  EXPECT_EQ(walker.usage().disk_bytes, blocks);

  // The staging directory itself (tmp/layer-XXXXXX) is one more inode.
  struct stat st;
  ASSERT_EQ(::lstat(staged->path().substr(0, staged->path().rfind('/')).c_str(), &st), 0);
  absl::StatusOr<ImageFsUsage> after = store_->FsUsage();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->inodes_used - before->inodes_used, 6);
  EXPECT_EQ(after->used_bytes - before->used_bytes, blocks + st.st_blocks * 512);

  UsageWalker missing;
  EXPECT_TRUE(missing.Add(root_ + "/nowhere").ok());
  EXPECT_EQ(missing.usage().inodes, 0);
}

}  // namespace
}  // namespace berth::image
