#include "image/layer_commit.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::image {
namespace {

constexpr int kPipeBytes = 1 << 20;

}  // namespace

absl::StatusOr<LayerDigests> StreamIntoLayer(const BlobSource& source, const std::string& dir,
                                             const UnpackOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "creating a pipe");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  // A larger pipe than the default 64 KiB lets the download run ahead of the unpacker (and the
  // other way round) with fewer wake-ups; best effort, as the host may cap pipe sizes lower.
  (void)::fcntl(write_end.get(), F_SETPIPE_SZ, kPipeBytes);
  // The source runs on its own thread and feeds the pipe; the unpacker reads it here. When the
  // unpacker stops early (a hostile entry), closing the read end fails the source.
  absl::Status fed;
  bool unpacker_gone = false;  // the pipe broke: the unpacker stopped first
  std::thread feeder([&] {
    fed = source([&](absl::string_view chunk) {
      absl::Status written = WriteAll(write_end.get(), chunk, "the layer unpacker");
      if (!written.ok()) unpacker_gone = true;
      return written;
    });
    write_end.Reset();
  });
  absl::StatusOr<LayerDigests> unpacked = UnpackLayer(read_end.get(), dir, options);
  read_end.Reset();
  feeder.join();
  // A source failure says more (a 404, a digest mismatch) than the unpacker's early EOF; an
  // unpacker that stopped first (a hostile entry) says more than the broken pipe.
  if (!fed.ok() && !unpacker_gone) return fed;
  if (!unpacked.ok()) return unpacked.status();
  if (!fed.ok()) return fed;
  return unpacked;
}

UnpackOptions UnpackOptionsFor(const LayerToCommit& layer) {
  UnpackOptions options;
  options.expected_digest = layer.digest;
  options.expected_diff_id = layer.diff_id;
  options.source_verifies_digest = layer.source_verifies_digest;
  return options;
}

absl::Status CommitUnpackedLayer(Store* store, const LayerToCommit& layer,
                                 const LayerUnpacker& unpack, std::string* digest,
                                 const std::function<void()>& on_unpacked) {
  const std::string what =
      absl::StrCat("layer ", layer.digest.empty() ? layer.diff_id : layer.digest);
  if (!layer.media_type.empty()) RETURN_IF_ERROR(LayerCompressionOf(layer.media_type).status());
  // Removed by its destructor unless committed.
  ASSIGN_OR_RETURN(StagedLayer staged, store->StageLayer());
  absl::StatusOr<LayerDigests> unpacked = unpack(staged.path());
  if (on_unpacked) on_unpacked();
  if (!unpacked.ok()) return Annotate(unpacked.status(), what);
  state::v1::LayerRecord record;
  record.set_chain_id(layer.chain_id);
  record.set_diff_id(layer.diff_id);
  record.set_digest(unpacked->digest);
  record.set_size(unpacked->compressed_size);
  record.set_media_type(layer.media_type);
  record.set_parent_chain_id(layer.parent);
  if (digest != nullptr) *digest = unpacked->digest;
  return store->CommitLayer(std::move(staged), layer.chain_id, std::move(record));
}

absl::Status UnpackAndCommitLayer(Store* store, const LayerToCommit& layer,
                                  const BlobSource& source, std::string* digest,
                                  const std::function<void()>& on_unpacked) {
  UnpackOptions options = UnpackOptionsFor(layer);
  return CommitUnpackedLayer(
      store, layer,
      [&](const std::string& dir) { return StreamIntoLayer(source, dir, options); }, digest,
      on_unpacked);
}

}  // namespace berth::image
