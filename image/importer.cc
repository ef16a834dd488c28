#include "image/importer.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status.h"
#include "image/chain_id.h"
#include "image/layer_commit.h"
#include "image/reference.h"
#include "nlohmann/json.hpp"

namespace berth::image {

using json = nlohmann::json;

struct Importer::Candidate {
  std::vector<std::string> names;       // "repository:tag", normalized
  bool from_registry_manifest = false;  // OCI: the manifest is the original one (repo digests)
  std::string index_digest;             // when the entry named an index
  std::string index_bytes;
  std::string manifest_digest;
  std::string manifest_media_type;
  std::string manifest_bytes;
  std::map<std::string, std::string> annotations;
  std::string config_digest;
  std::string config_bytes;
  ImageConfig config;
  std::vector<std::string> layer_members;
  std::vector<std::string> layer_digests;
  std::vector<std::string> layer_media_types;
};

namespace {

constexpr char kOciLayoutMember[] = "oci-layout";
constexpr char kOciIndexMember[] = "index.json";
constexpr char kDockerManifestMember[] = "manifest.json";
constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";
constexpr char kContainerdNameAnnotation[] = "io.containerd.image.name";

// "repository:tag" for a name with a tag; nullopt for one that is no full reference (a bare
// OCI ref name such as "v1" or "latest") or names only a digest.
std::optional<std::string> NormalizedName(absl::string_view name) {
  absl::StatusOr<Reference> ref = Reference::Parse(name);
  if (!ref.ok() || !ref->has_tag()) return std::nullopt;
  return absl::StrCat(ref->repository(), ":", ref->tag());
}

void AddName(std::vector<std::string>& names, const std::string& name) {
  for (const std::string& have : names) {
    if (have == name) return;
  }
  names.push_back(name);
}

absl::StatusOr<std::string> ReadVerifiedBlob(const TarArchive& archive, const std::string& digest,
                                             size_t max_bytes) {
  ASSIGN_OR_RETURN(std::string member, BlobMemberName(digest));
  ASSIGN_OR_RETURN(std::string bytes, archive.Read(member, max_bytes));
  std::string actual = ComputeSha256Digest(bytes);
  if (actual != digest) {
    return absl::DataLossError(
        absl::StrCat("archive member ", member, " has digest ", actual, ", not ", digest));
  }
  return bytes;
}

// The names an index.json entry gives its image.
std::vector<std::string> OciNames(const Descriptor& entry) {
  std::vector<std::string> names;
  for (const char* key : {kContainerdNameAnnotation, kRefNameAnnotation}) {
    auto it = entry.annotations.find(key);
    if (it == entry.annotations.end()) continue;
    // A bare tag ("v1") would parse as docker.io/library/v1:latest: only full names count.
    if (std::string_view(key) == kRefNameAnnotation && !absl::StrContains(it->second, ':') &&
        !absl::StrContains(it->second, '/')) {
      continue;
    }
    if (std::optional<std::string> name = NormalizedName(it->second)) AddName(names, *name);
  }
  return names;
}

absl::Status CheckDiffIds(const ImageConfig& config, size_t layers, absl::string_view what) {
  if (config.diff_ids.size() != layers) {
    return absl::InvalidArgumentError(absl::StrCat(what, " names ", layers,
                                                   " layers but its config lists ",
                                                   config.diff_ids.size(), " diff ids"));
  }
  return absl::OkStatus();
}

// An OCI manifest for a docker save image, from verified digests only.
std::string SynthesizeManifest(const std::string& config_digest, size_t config_size,
                               const std::vector<std::string>& layer_digests,
                               const std::vector<int64_t>& layer_sizes) {
  json layers = json::array();
  for (size_t i = 0; i < layer_digests.size(); ++i) {
    layers.push_back({{"mediaType", kOciLayerMediaType},
                      {"digest", layer_digests[i]},
                      {"size", layer_sizes[i]}});
  }
  json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifestMediaType},
      {"config",
       {{"mediaType", kOciConfigMediaType}, {"digest", config_digest}, {"size", config_size}}},
      {"layers", layers}};
  return manifest.dump();
}

}  // namespace

absl::StatusOr<ArchiveFormat> DetectArchiveFormat(const std::map<std::string, int64_t>& members) {
  if (members.count(kOciLayoutMember) != 0 && members.count(kOciIndexMember) != 0) {
    return ArchiveFormat::kOciLayout;
  }
  if (members.count(kDockerManifestMember) != 0) return ArchiveFormat::kDockerSave;
  return absl::InvalidArgumentError(
      "the archive is neither an OCI image layout (oci-layout and index.json) nor a docker save "
      "archive (manifest.json)");
}

absl::StatusOr<std::string> BlobMemberName(absl::string_view digest) {
  RETURN_IF_ERROR(ValidateSha256Digest(digest));
  ASSIGN_OR_RETURN(std::string hex, Sha256HexOf(digest, "blob"));
  return absl::StrCat("blobs/sha256/", hex);
}

absl::StatusOr<std::string> ConfigDigestFromMemberName(absl::string_view name) {
  absl::string_view hex = name;
  if (!absl::ConsumePrefix(&hex, "blobs/sha256/") && !absl::ConsumeSuffix(&hex, ".json")) {
    return absl::InvalidArgumentError(
        absl::StrCat("docker save config member \"", name.substr(0, 200),
                     "\" is neither <hex>.json nor blobs/sha256/<hex>"));
  }
  std::string digest = absl::StrCat("sha256:", hex);
  RETURN_IF_ERROR(ValidateSha256Digest(digest));
  return digest;
}

absl::StatusOr<std::vector<DockerSaveImage>> ParseDockerSaveManifest(absl::string_view bytes) {
  json doc = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    return absl::InvalidArgumentError("docker save manifest.json is not a JSON array");
  }
  if (doc.size() > kMaxDescriptors) {
    return absl::InvalidArgumentError("docker save manifest.json lists too many images");
  }
  std::vector<DockerSaveImage> images;
  for (const json& entry : doc) {
    if (!entry.is_object()) {
      return absl::InvalidArgumentError("docker save manifest.json: an entry is not an object");
    }
    DockerSaveImage image;
    auto config = entry.find("Config");
    if (config == entry.end() || !config->is_string()) {
      return absl::InvalidArgumentError("docker save manifest.json: an entry has no \"Config\"");
    }
    ASSIGN_OR_RETURN(image.config, CleanMemberName(config->get<std::string>()));
    if (auto tags = entry.find("RepoTags"); tags != entry.end() && !tags->is_null()) {
      if (!tags->is_array()) {
        return absl::InvalidArgumentError("docker save manifest.json: \"RepoTags\" is no array");
      }
      for (const json& tag : *tags) {
        if (!tag.is_string()) {
          return absl::InvalidArgumentError("docker save manifest.json: a tag is no string");
        }
        image.repo_tags.push_back(tag.get<std::string>());
      }
    }
    auto layers = entry.find("Layers");
    if (layers == entry.end() || !layers->is_array() || layers->size() > kMaxDescriptors) {
      return absl::InvalidArgumentError(
          "docker save manifest.json: an entry has no valid \"Layers\" list");
    }
    for (const json& layer : *layers) {
      if (!layer.is_string()) {
        return absl::InvalidArgumentError("docker save manifest.json: a layer is no string");
      }
      ASSIGN_OR_RETURN(std::string member, CleanMemberName(layer.get<std::string>()));
      image.layers.push_back(std::move(member));
    }
    images.push_back(std::move(image));
  }
  if (images.empty()) return absl::InvalidArgumentError("docker save manifest.json is empty");
  return images;
}

absl::StatusOr<std::vector<ImportedImage>> Importer::Import(const std::string& archive_path,
                                                            const ImportOptions& options) {
  TarArchive archive(archive_path);
  ASSIGN_OR_RETURN(auto members, archive.List());
  ArchiveFormat format = options.format;
  if (format == ArchiveFormat::kAuto) {
    ASSIGN_OR_RETURN(format, DetectArchiveFormat(members));
  }
  std::vector<Candidate> candidates;
  if (format == ArchiveFormat::kOciLayout) {
    ASSIGN_OR_RETURN(candidates, ReadOciLayout(archive, options));
  } else {
    ASSIGN_OR_RETURN(candidates, ReadDockerSave(archive));
  }
  for (Candidate& candidate : candidates) {
    for (size_t i = 0; i < candidate.layer_members.size(); ++i) {
      auto it = members.find(candidate.layer_members[i]);
      if (it == members.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("the archive has no member ", candidate.layer_members[i]));
      }
    }
  }
  if (!options.tag.empty()) {
    if (candidates.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat("--tag needs an archive with one image; ",
                                                     archive_path, " holds ", candidates.size()));
    }
    std::optional<std::string> name = NormalizedName(options.tag);
    if (!name.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("\"", options.tag, "\" is not an image name"));
    }
    AddName(candidates[0].names, *name);
  }
  // docker save manifests need the layer sizes: they are the member sizes (uncompressed tars).
  for (Candidate& candidate : candidates) {
    if (!candidate.manifest_bytes.empty()) continue;
    std::vector<int64_t> sizes;
    for (const std::string& member : candidate.layer_members) sizes.push_back(members[member]);
    candidate.manifest_bytes = SynthesizeManifest(
        candidate.config_digest, candidate.config_bytes.size(), candidate.layer_digests, sizes);
    candidate.manifest_digest = ComputeSha256Digest(candidate.manifest_bytes);
    candidate.manifest_media_type = kOciManifestMediaType;
  }
  std::vector<ImportedImage> imported;
  for (Candidate& candidate : candidates) {
    ASSIGN_OR_RETURN(ImportedImage image, StoreCandidate(archive, candidate));
    LOG_INFO("imported {} from {}", image.id, archive_path);
    imported.push_back(std::move(image));
  }
  return imported;
}

absl::StatusOr<std::vector<Importer::Candidate>> Importer::ReadOciLayout(
    const TarArchive& archive, const ImportOptions& options) {
  ASSIGN_OR_RETURN(std::string layout, archive.Read(kOciLayoutMember, 4096));
  json layout_doc = json::parse(layout, nullptr, false);
  if (layout_doc.is_discarded() || !layout_doc.is_object() ||
      !layout_doc.contains("imageLayoutVersion")) {
    return absl::InvalidArgumentError("the archive's oci-layout file is not valid");
  }
  ASSIGN_OR_RETURN(std::string index_bytes, archive.Read(kOciIndexMember, kMaxManifestBytes));
  ASSIGN_OR_RETURN(Index index, ParseIndex(index_bytes, kOciIndexMediaType));
  std::vector<Candidate> candidates;
  for (const Descriptor& entry : index.manifests) {
    Candidate candidate;
    candidate.names = OciNames(entry);
    candidate.from_registry_manifest = true;
    Descriptor manifest = entry;
    if (IsIndexMediaType(entry.media_type)) {
      ASSIGN_OR_RETURN(candidate.index_bytes,
                       ReadVerifiedBlob(archive, entry.digest, kMaxManifestBytes));
      ASSIGN_OR_RETURN(Index nested, ParseIndex(candidate.index_bytes, entry.media_type));
      ASSIGN_OR_RETURN(manifest, ChoosePlatform(nested, options.platform));
      candidate.index_digest = entry.digest;
    }
    if (!IsManifestMediaType(manifest.media_type)) {
      return absl::InvalidArgumentError(absl::StrCat("index.json entry ", manifest.digest,
                                                     " has media type \"", manifest.media_type,
                                                     "\", not an image manifest"));
    }
    candidate.manifest_digest = manifest.digest;
    candidate.manifest_media_type = manifest.media_type;
    ASSIGN_OR_RETURN(candidate.manifest_bytes,
                     ReadVerifiedBlob(archive, manifest.digest, kMaxManifestBytes));
    ASSIGN_OR_RETURN(Manifest parsed, ParseManifest(candidate.manifest_bytes, manifest.media_type));
    candidate.annotations = parsed.annotations;
    candidate.config_digest = parsed.config.digest;
    ASSIGN_OR_RETURN(candidate.config_bytes,
                     ReadVerifiedBlob(archive, parsed.config.digest, kMaxConfigBytes));
    ASSIGN_OR_RETURN(candidate.config, ParseImageConfig(candidate.config_bytes));
    RETURN_IF_ERROR(CheckDiffIds(candidate.config, parsed.layers.size(),
                                 absl::StrCat("manifest ", manifest.digest)));
    for (const Descriptor& layer : parsed.layers) {
      RETURN_IF_ERROR(LayerCompressionOf(layer.media_type).status());
      ASSIGN_OR_RETURN(std::string member, BlobMemberName(layer.digest));
      candidate.layer_members.push_back(std::move(member));
      candidate.layer_digests.push_back(layer.digest);
      candidate.layer_media_types.push_back(layer.media_type);
    }
    // Two entries for one image (two tags): one candidate with both names.
    bool merged = false;
    for (Candidate& other : candidates) {
      if (other.manifest_digest == candidate.manifest_digest &&
          other.index_digest == candidate.index_digest) {
        for (const std::string& name : candidate.names) AddName(other.names, name);
        merged = true;
      }
    }
    if (!merged) candidates.push_back(std::move(candidate));
  }
  if (candidates.empty()) return absl::InvalidArgumentError("index.json lists no image");
  return candidates;
}

absl::StatusOr<std::vector<Importer::Candidate>> Importer::ReadDockerSave(
    const TarArchive& archive) {
  ASSIGN_OR_RETURN(std::string manifest_bytes,
                   archive.Read(kDockerManifestMember, kMaxManifestBytes));
  ASSIGN_OR_RETURN(std::vector<DockerSaveImage> images, ParseDockerSaveManifest(manifest_bytes));
  std::vector<Candidate> candidates;
  for (const DockerSaveImage& image : images) {
    Candidate candidate;
    ASSIGN_OR_RETURN(candidate.config_digest, ConfigDigestFromMemberName(image.config));
    ASSIGN_OR_RETURN(candidate.config_bytes, archive.Read(image.config, kMaxConfigBytes));
    std::string actual = ComputeSha256Digest(candidate.config_bytes);
    if (actual != candidate.config_digest) {
      return absl::DataLossError(absl::StrCat("config member ", image.config, " has digest ",
                                              actual, ", not ", candidate.config_digest));
    }
    ASSIGN_OR_RETURN(candidate.config, ParseImageConfig(candidate.config_bytes));
    RETURN_IF_ERROR(CheckDiffIds(candidate.config, image.layers.size(),
                                 absl::StrCat("docker save image ", candidate.config_digest)));
    for (const std::string& tag : image.repo_tags) {
      std::optional<std::string> name = NormalizedName(tag);
      if (!name.has_value()) {
        return absl::InvalidArgumentError(
            absl::StrCat("docker save tag \"", tag.substr(0, 200), "\" is not an image name"));
      }
      AddName(candidate.names, *name);
    }
    // The layers are uncompressed tars: the blob digest is the diff id.
    candidate.layer_members = image.layers;
    candidate.layer_digests = candidate.config.diff_ids;
    candidate.layer_media_types.assign(image.layers.size(), kOciLayerMediaType);
    candidates.push_back(std::move(candidate));
  }
  return candidates;
}

absl::StatusOr<ImportedImage> Importer::StoreCandidate(const TarArchive& archive,
                                                       Candidate& candidate) {
  ASSIGN_OR_RETURN(std::vector<std::string> chain_ids, ChainIds(candidate.config.diff_ids));
  state::v1::ImageRecord record;
  record.set_id(candidate.config_digest);
  record.set_config_digest(candidate.config_digest);
  record.set_manifest_digest(candidate.manifest_digest);
  record.set_manifest_media_type(candidate.manifest_media_type);
  record.set_index_digest(candidate.index_digest);
  for (const std::string& chain_id : chain_ids) record.add_chain_ids(chain_id);
  const std::string& top_digest =
      candidate.index_digest.empty() ? candidate.manifest_digest : candidate.index_digest;
  for (const std::string& name : candidate.names) {
    record.add_repo_tags(name);
    if (candidate.from_registry_manifest) {
      absl::StatusOr<Reference> ref = Reference::Parse(name);
      if (ref.ok()) record.add_repo_digests(absl::StrCat(ref->repository(), "@", top_digest));
    }
  }
  for (const auto& [key, value] : candidate.annotations) {
    (*record.mutable_annotations())[key] = value;
  }
  absl::StatusOr<ImportedImage> imported = StoreLayersAndImage(archive, candidate, record);
  if (!imported.ok()) {
    // Layers committed before the failure belong to no image: drop them (unless another image
    // or a concurrent pull uses them).
    store_->DiscardUnreferenced(record);
    return Annotate(imported.status(), absl::StrCat("importing image ", candidate.config_digest));
  }
  return imported;
}

absl::StatusOr<ImportedImage> Importer::StoreLayersAndImage(const TarArchive& archive,
                                                            Candidate& candidate,
                                                            state::v1::ImageRecord& record) {
  std::vector<std::string> chain_ids(record.chain_ids().begin(), record.chain_ids().end());
  // Leases keep the layers from garbage collection until the image record names them.
  std::vector<LayerLease> leases;
  for (const std::string& chain_id : chain_ids) {
    ASSIGN_OR_RETURN(LayerLease lease, store_->AcquireLayer(chain_id));
    leases.push_back(std::move(lease));
  }
  for (size_t i = 0; i < chain_ids.size(); ++i) {
    if (!leases[i].needs_unpack()) continue;
    LayerToCommit layer{.digest = candidate.layer_digests[i],
                        .media_type = candidate.layer_media_types[i],
                        .diff_id = candidate.config.diff_ids[i],
                        .chain_id = chain_ids[i],
                        .parent = i == 0 ? "" : chain_ids[i - 1]};
    const std::string& member = candidate.layer_members[i];
    RETURN_IF_ERROR(UnpackAndCommitLayer(
        store_, layer, [&](const BlobSink& sink) { return archive.Stream(member, sink); }));
  }
  RETURN_IF_ERROR(store_->PutBlob(candidate.config_digest, candidate.config_bytes));
  RETURN_IF_ERROR(store_->PutBlob(candidate.manifest_digest, candidate.manifest_bytes));
  if (!candidate.index_digest.empty()) {
    RETURN_IF_ERROR(store_->PutBlob(candidate.index_digest, candidate.index_bytes));
  }
  ASSIGN_OR_RETURN(StoredImage stored, store_->AddImage(std::move(record)));
  ImportedImage imported{.id = stored.record.id()};
  imported.names.assign(stored.record.repo_tags().begin(), stored.record.repo_tags().end());
  return imported;
}

}  // namespace berth::image
