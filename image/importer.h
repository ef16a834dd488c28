#ifndef BERTH_IMAGE_IMPORTER_H_
#define BERTH_IMAGE_IMPORTER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "image/manifest.h"
#include "image/store.h"
#include "image/tar_archive.h"

namespace berth::image {

enum class ArchiveFormat { kAuto, kOciLayout, kDockerSave };

struct ImportOptions {
  // Another name for the image ("example.com/app:v1", normalized like a pull's: "app:v1" is
  // docker.io/library/app:v1). Only for an archive holding one image.
  std::string tag;
  // kAuto: detected from the members (an OCI layout wins when both are present).
  ArchiveFormat format = ArchiveFormat::kAuto;
  // The platform chosen from an index.
  Platform platform = NodePlatform();
};

struct ImportedImage {
  std::string id;                  // the config digest
  std::vector<std::string> names;  // tags given to it
};

// One entry of a `docker save` manifest.json.
struct DockerSaveImage {
  std::string config;  // member name of the config: "<hex>.json" or "blobs/sha256/<hex>"
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;  // member names of the layer tars, base layer first
};

// The format of an archive holding `members` (cleaned names).
absl::StatusOr<ArchiveFormat> DetectArchiveFormat(const std::map<std::string, int64_t>& members);

// Parses manifest.json; member names are cleaned (InvalidArgument for "..", absolute names).
absl::StatusOr<std::vector<DockerSaveImage>> ParseDockerSaveManifest(absl::string_view bytes);

// The config digest a docker-save config member name encodes: "<hex>.json" or
// "blobs/sha256/<hex>" -> "sha256:<hex>".
absl::StatusOr<std::string> ConfigDigestFromMemberName(absl::string_view name);

// "blobs/sha256/<hex>" for a digest.
absl::StatusOr<std::string> BlobMemberName(absl::string_view digest);

// Imports the images of an OCI image layout archive or a `docker save` archive on local disk
// into the Store, with the same verification as a pull: every manifest and config matches its
// digest, every layer its digest (when known) and its diff id. A failure leaves nothing
// behind. Images from a docker save archive get an OCI manifest built here from the verified
// config and layer digests (docker's own manifests are not in the archive), and no repo digest.
// Thread-safe (the Store is).
class Importer {
 public:
  explicit Importer(Store* store) : store_(store) {}

  absl::StatusOr<std::vector<ImportedImage>> Import(const std::string& archive_path,
                                                    const ImportOptions& options);

 private:
  struct Candidate;  // an image found in the archive, with what verifies it

  absl::StatusOr<std::vector<Candidate>> ReadOciLayout(const TarArchive& archive,
                                                       const ImportOptions& options);
  absl::StatusOr<std::vector<Candidate>> ReadDockerSave(const TarArchive& archive);
  absl::StatusOr<ImportedImage> StoreCandidate(const TarArchive& archive, Candidate& candidate);
  absl::StatusOr<ImportedImage> StoreLayersAndImage(const TarArchive& archive, Candidate& candidate,
                                                    state::v1::ImageRecord& record);

  Store* store_;
};

}  // namespace berth::image

#endif  // BERTH_IMAGE_IMPORTER_H_
