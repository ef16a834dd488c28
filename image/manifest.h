#ifndef BERTH_IMAGE_MANIFEST_H_
#define BERTH_IMAGE_MANIFEST_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::image {

// Manifest and index media types a registry may answer with.
inline constexpr char kOciIndexMediaType[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifestMediaType[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kDockerManifestListMediaType[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifestMediaType[] =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerSchema1MediaType[] =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr char kDockerSchema1SignedMediaType[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

// Image configuration media types.
inline constexpr char kOciConfigMediaType[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kDockerConfigMediaType[] = "application/vnd.docker.container.image.v1+json";

// Layer media types Berth unpacks.
inline constexpr char kOciLayerMediaType[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzipMediaType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstdMediaType[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kDockerLayerGzipMediaType[] =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

// The Accept header value for a manifest request: every manifest and index type above that
// Berth can use (schema 1 is not asked for).
inline constexpr char kManifestAcceptHeader[] =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

// Size caps for documents that are held in memory whole.
inline constexpr size_t kMaxManifestBytes = 4 << 20;
inline constexpr size_t kMaxConfigBytes = 8 << 20;
// More entries than this in an index or layers in a manifest are refused.
inline constexpr size_t kMaxDescriptors = 1024;

// An OCI platform, spelled as in the OCI image spec (GOOS/GOARCH names).
struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // "amd64", "arm64", "arm"
  std::string variant;       // "v8", "v7"; may be empty

  // "linux/arm64/v8", or "linux/amd64" without a variant.
  std::string String() const;
  friend bool operator==(const Platform& a, const Platform& b) {
    return a.os == b.os && a.architecture == b.architecture && a.variant == b.variant;
  }
};

// The platform as OCI spells it: architecture aliases mapped ("x86_64" -> "amd64", "aarch64"
// -> "arm64"), the default variant filled in ("arm64" -> "v8", "arm" -> "v7"), lower case.
Platform NormalizePlatform(Platform platform);

// The node's platform from uname(2), normalized: linux/amd64, linux/arm64/v8, linux/arm/v7...
Platform NodePlatform();

// A content descriptor, validated: a known-good digest ("sha256:" and 64 lowercase hex
// digits) and a non-negative size.
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  // index entries only
};

// An OCI image index or a Docker manifest list.
struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// An OCI image manifest or a Docker schema 2 manifest.
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;  // base layer first
  std::map<std::string, std::string> annotations;
};

enum class LayerCompression { kNone, kGzip, kZstd };

// The compression of a layer media type Berth accepts; InvalidArgument otherwise (foreign and
// non-distributable layers are refused by name).
absl::StatusOr<LayerCompression> LayerCompressionOf(absl::string_view media_type);

// The parts of an image configuration (OCI image config or Docker container config) that
// Berth uses.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string created;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::vector<std::string> volumes;        // keys of Volumes, sorted
  std::vector<std::string> exposed_ports;  // keys of ExposedPorts ("80/tcp"), sorted
  std::vector<std::string> diff_ids;       // rootfs.diff_ids, base layer first
};

// True for the index and manifest-list media types.
bool IsIndexMediaType(absl::string_view media_type);
// True for the single-image manifest media types.
bool IsManifestMediaType(absl::string_view media_type);

// The media type of a manifest document: `content_type` (the registry's Content-Type, may be
// empty or generic) when it is a known manifest type, else the document's own "mediaType", else
// inferred from its shape ("manifests" -> OCI index, "layers" -> OCI manifest). A document whose
// "mediaType" contradicts `content_type` is refused; schema 1 is refused with
// FailedPrecondition saying so.
absl::StatusOr<std::string> DetectManifestMediaType(absl::string_view bytes,
                                                    absl::string_view content_type);

// Parsers for untrusted registry documents. Every referenced digest is validated, sizes are
// capped (kMaxManifestBytes, kMaxConfigBytes), and a "mediaType" field that disagrees with
// `media_type` is refused. Errors are InvalidArgument naming the field at fault.
absl::StatusOr<Index> ParseIndex(absl::string_view bytes, absl::string_view media_type);
absl::StatusOr<Manifest> ParseManifest(absl::string_view bytes, absl::string_view media_type);
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view bytes);

// The index entry to pull for `want` (normalized first): an image manifest whose os and
// architecture match, preferring an exact variant match, then one without a variant. NotFound
// listing the platforms the index offers when none fits.
absl::StatusOr<Descriptor> ChoosePlatform(const Index& index, const Platform& want);

// Checks "sha256:" followed by exactly 64 lowercase hex digits.
absl::Status ValidateSha256Digest(absl::string_view digest);

}  // namespace berth::image

#endif  // BERTH_IMAGE_MANIFEST_H_
