#include "image/puller.h"

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status.h"
#include "image/chain_id.h"
#include "image/layer_commit.h"

namespace berth::image {

struct Puller::Fetched {
  std::string index_digest;  // when the tag named an index
  std::string index_bytes;
  FetchedManifest manifest;
  Manifest parsed;
  std::string config_bytes;
  ImageConfig config;
};

namespace {

// Whether a failure at one endpoint should let the next endpoint (a mirror's fallback, the
// primary) try. Integrity and auth failures at the primary are final.
bool TryNextEndpoint(const absl::Status& status, const PullEndpoint& endpoint) {
  if (endpoint.mirror) return true;
  return status.code() == absl::StatusCode::kNotFound ||
         status.code() == absl::StatusCode::kUnavailable;
}

absl::StatusOr<Reference> WithDigest(const Reference& ref, const std::string& digest) {
  return Reference::Parse(absl::StrCat(ref.repository(), "@", digest));
}

}  // namespace

Puller::Puller(Store* store, PullSourceFactory sources, const RegistriesConfig* registries,
               const AuthFile* auth_file, PullerOptions options)
    : store_(store),
      sources_(std::move(sources)),
      registries_(registries),
      auth_file_(auth_file),
      options_(std::move(options)) {}

absl::StatusOr<std::string> Puller::Pull(absl::string_view image, const Credentials& creds) {
  if (image.empty()) return absl::InvalidArgumentError("no image given to pull");
  std::string key(image);
  std::shared_ptr<InFlight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = in_flight_.find(key);
    if (it == in_flight_.end()) {
      flight = std::make_shared<InFlight>();
      in_flight_[key] = flight;
      leader = true;
    } else {
      flight = it->second;
    }
  }
  if (!leader) {
    flight->done.WaitForNotification();
    return flight->result;
  }
  flight->result = PullCandidates(image, creds);
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(key);
  }
  flight->done.Notify();
  return flight->result;
}

absl::StatusOr<std::string> Puller::PullCandidates(absl::string_view image,
                                                   const Credentials& creds) {
  if (LooksLikeImageId(image)) {
    absl::StatusOr<StoredImage> stored = store_->Lookup(image);
    if (stored.ok()) return stored->record.id();
    return absl::NotFoundError(
        absl::StrCat("image id ", image, " is not stored and an id cannot be pulled"));
  }
  ASSIGN_OR_RETURN(Reference parsed, Reference::Parse(image));
  std::vector<Reference> candidates = {parsed};
  if (!parsed.fully_qualified()) {
    ASSIGN_OR_RETURN(candidates, registries_->ShortNameCandidates(image));
  }
  // One source (one worker process in berthd) for every registry this pull tries; it ends
  // with the pull.
  ASSIGN_OR_RETURN(std::unique_ptr<PullSource> source, sources_());
  absl::Status last = absl::NotFoundError(absl::StrCat("no registry to pull ", image, " from"));
  for (const Reference& candidate : candidates) {
    absl::StatusOr<std::string> id = PullReference(*source, candidate, creds);
    if (id.ok()) return id;
    last = id.status();
    if (last.code() != absl::StatusCode::kNotFound) break;
  }
  return last;
}

absl::StatusOr<std::string> Puller::PullReference(PullSource& source, const Reference& ref,
                                                  const Credentials& request_creds) {
  ASSIGN_OR_RETURN(std::vector<PullEndpoint> endpoints, registries_->ResolvePull(ref));
  Credentials creds = request_creds;
  if (creds.empty() && auth_file_ != nullptr) {
    ASSIGN_OR_RETURN(std::optional<Credentials> stored, auth_file_->Lookup(ref));
    if (stored.has_value()) creds = *stored;
  }
  if (creds.registry.empty()) creds.registry = ref.domain();
  absl::Status last = absl::NotFoundError(absl::StrCat("no endpoint for ", ref.String()));
  for (const PullEndpoint& endpoint : endpoints) {
    absl::StatusOr<std::string> id = PullFrom(source, ref, endpoint, creds);
    if (id.ok()) return id;
    last = id.status();
    LOG_INFO("pulling {} from {}: {}", ref.String(), endpoint.reference.String(), last);
    if (!TryNextEndpoint(last, endpoint)) break;
  }
  return last;
}

absl::StatusOr<Puller::Fetched> Puller::FetchMetadata(PullSource& source,
                                                      const PullEndpoint& endpoint,
                                                      const Credentials& creds) {
  Fetched fetched;
  ASSIGN_OR_RETURN(fetched.manifest, source.GetManifest(endpoint, creds));
  if (IsIndexMediaType(fetched.manifest.media_type)) {
    ASSIGN_OR_RETURN(Index index, ParseIndex(fetched.manifest.bytes, fetched.manifest.media_type));
    ASSIGN_OR_RETURN(Descriptor chosen, ChoosePlatform(index, options_.platform));
    fetched.index_digest = fetched.manifest.digest;
    fetched.index_bytes = std::move(fetched.manifest.bytes);
    PullEndpoint by_digest = endpoint;
    ASSIGN_OR_RETURN(by_digest.reference, WithDigest(endpoint.reference, chosen.digest));
    ASSIGN_OR_RETURN(fetched.manifest, source.GetManifest(by_digest, creds));
    if (IsIndexMediaType(fetched.manifest.media_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat("index ", fetched.index_digest, " points at another index"));
    }
  }
  ASSIGN_OR_RETURN(fetched.parsed,
                   ParseManifest(fetched.manifest.bytes, fetched.manifest.media_type));
  ASSIGN_OR_RETURN(fetched.config_bytes,
                   source.FetchConfig(endpoint, fetched.parsed.config.digest, creds,
                                      options_.max_config_bytes));
  ASSIGN_OR_RETURN(fetched.config, ParseImageConfig(fetched.config_bytes));
  if (fetched.config.diff_ids.size() != fetched.parsed.layers.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("manifest ", fetched.manifest.digest, " names ", fetched.parsed.layers.size(),
                     " layers but its config lists ", fetched.config.diff_ids.size(), " diff ids"));
  }
  return fetched;
}

absl::StatusOr<std::string> Puller::PullFrom(PullSource& source, const Reference& ref,
                                             const PullEndpoint& endpoint,
                                             const Credentials& creds) {
  absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(Fetched fetched, FetchMetadata(source, endpoint, creds));
  ASSIGN_OR_RETURN(std::vector<std::string> chain_ids, ChainIds(fetched.config.diff_ids));
  state::v1::ImageRecord record;
  record.set_id(fetched.parsed.config.digest);
  record.set_config_digest(fetched.parsed.config.digest);
  record.set_manifest_digest(fetched.manifest.digest);
  record.set_manifest_media_type(fetched.manifest.media_type);
  record.set_index_digest(fetched.index_digest);
  for (const std::string& chain_id : chain_ids) record.add_chain_ids(chain_id);
  // Names are the ones asked for, not a mirror's: the kubelet looks the image up by them.
  if (ref.has_tag()) record.add_repo_tags(absl::StrCat(ref.repository(), ":", ref.tag()));
  const std::string& top_digest =
      fetched.index_digest.empty() ? fetched.manifest.digest : fetched.index_digest;
  record.add_repo_digests(absl::StrCat(ref.repository(), "@", top_digest));
  for (const auto& [key, value] : fetched.parsed.annotations) {
    (*record.mutable_annotations())[key] = value;
  }
  absl::StatusOr<std::string> id = StoreImage(source, endpoint, creds, fetched, record);
  if (!id.ok()) {
    // The layers committed before the failure belong to no image: drop them (unless another
    // image or a concurrent pull uses them).
    store_->DiscardUnreferenced(record);
    return id.status();
  }
  LOG_INFO("pulled {} ({}) in {:.0f} ms", ref.String(), *id,
           absl::ToDoubleMilliseconds(absl::Now() - start));
  return id;
}

absl::StatusOr<std::string> Puller::StoreImage(PullSource& source, const PullEndpoint& endpoint,
                                               const Credentials& creds, const Fetched& fetched,
                                               state::v1::ImageRecord record) {
  std::vector<std::string> chain_ids(record.chain_ids().begin(), record.chain_ids().end());
  // Leases keep the layers from garbage collection until the image record names them.
  std::vector<LayerLease> leases;
  RETURN_IF_ERROR(FetchLayers(source, endpoint, creds, fetched, chain_ids, leases));
  RETURN_IF_ERROR(store_->PutBlob(fetched.parsed.config.digest, fetched.config_bytes));
  RETURN_IF_ERROR(store_->PutBlob(fetched.manifest.digest, fetched.manifest.bytes));
  if (!fetched.index_digest.empty()) {
    RETURN_IF_ERROR(store_->PutBlob(fetched.index_digest, fetched.index_bytes));
  }
  ASSIGN_OR_RETURN(StoredImage stored, store_->AddImage(std::move(record)));
  return stored.record.id();
}

absl::Status Puller::FetchLayers(PullSource& source, const PullEndpoint& endpoint,
                                 const Credentials& creds, const Fetched& fetched,
                                 const std::vector<std::string>& chain_ids,
                                 std::vector<LayerLease>& leases) {
  // Take every lease first, base layer first; those that need an unpack become jobs.
  std::vector<size_t> jobs;
  for (size_t i = 0; i < chain_ids.size(); ++i) {
    ASSIGN_OR_RETURN(LayerLease lease, store_->AcquireLayer(chain_ids[i]));
    if (lease.needs_unpack()) jobs.push_back(i);
    leases.push_back(std::move(lease));
  }
  // Up to max_parallel_downloads layers download and unpack at once. One more thread than that
  // lets the next layer start while a finished one is still being committed (syncfs, rename).
  struct Slots {
    absl::Mutex mu;
    int free ABSL_GUARDED_BY(mu) = 0;
    absl::Status first_error ABSL_GUARDED_BY(mu);
    bool CanStart() const ABSL_SHARED_LOCKS_REQUIRED(mu) { return free > 0 || !first_error.ok(); }
  } slots;
  const int parallel = std::max(1, options_.max_parallel_downloads);
  {
    absl::MutexLock lock(&slots.mu);
    slots.free = parallel;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t j = next++; j < jobs.size(); j = next++) {
      {
        absl::MutexLock lock(&slots.mu);
        slots.mu.Await(absl::Condition(&slots, &Slots::CanStart));
        if (!slots.first_error.ok()) return;
        --slots.free;
      }
      bool released = false;
      auto release = [&] {
        if (released) return;
        released = true;
        absl::MutexLock lock(&slots.mu);
        ++slots.free;
      };
      size_t i = jobs[j];
      absl::Status status =
          FetchLayer(source, endpoint, creds, fetched.parsed.layers[i], fetched.config.diff_ids[i],
                     chain_ids[i], i == 0 ? "" : chain_ids[i - 1], release);
      release();
      if (!status.ok()) {
        absl::MutexLock lock(&slots.mu);
        if (slots.first_error.ok()) slots.first_error = status;
      }
    }
  };
  size_t threads = std::min<size_t>(jobs.size(), static_cast<size_t>(parallel) + 1);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  absl::MutexLock lock(&slots.mu);
  return slots.first_error;
}

absl::Status Puller::FetchLayer(PullSource& source, const PullEndpoint& endpoint,
                                const Credentials& creds, const Descriptor& layer,
                                const std::string& diff_id, const std::string& chain_id,
                                const std::string& parent,
                                const std::function<void()>& downloaded) {
  LayerToCommit target{.digest = layer.digest,
                       .media_type = layer.media_type,
                       .diff_id = diff_id,
                       .chain_id = chain_id,
                       .parent = parent,
                       // FetchBlob hashes the blob as it streams and fails on a mismatch.
                       .source_verifies_digest = true};
  // The source downloads and unpacks into the directory staged here; the commit (or the
  // removal of the staged directory) stays here.
  UnpackOptions options = UnpackOptionsFor(target);
  return CommitUnpackedLayer(
      store_, target,
      [&](const std::string& dir) {
        return source.FetchLayerInto(endpoint, creds, layer, options, dir);
      },
      /*digest=*/nullptr, downloaded);
}

}  // namespace berth::image
