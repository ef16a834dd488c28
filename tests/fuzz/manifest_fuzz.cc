// libFuzzer target for the registry documents Berth parses before trusting anything: manifest
// media type detection, OCI/Docker manifests and indexes, image configs, and platform choice.
// Checks that parsing never crashes and that what it accepts holds only valid digests.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "image/manifest.h"

namespace {

void CheckDescriptor(const berth::image::Descriptor& desc) {
  if (!berth::image::ValidateSha256Digest(desc.digest).ok() || desc.size < 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::image;  // NOLINT(build/namespaces): a fuzzer entry point
  absl::string_view input(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<std::string> detected = DetectManifestMediaType(input, "");
  if (detected.ok() && !IsIndexMediaType(*detected) && !IsManifestMediaType(*detected)) {
    __builtin_trap();
  }
  for (const char* type : {kOciIndexMediaType, kDockerManifestListMediaType}) {
    absl::StatusOr<Index> index = ParseIndex(input, type);
    if (!index.ok()) continue;
    for (const Descriptor& desc : index->manifests) CheckDescriptor(desc);
    absl::StatusOr<Descriptor> chosen = ChoosePlatform(*index, NodePlatform());
    if (chosen.ok()) CheckDescriptor(*chosen);
    (void)ChoosePlatform(*index, Platform{"linux", "arm", ""});
  }
  for (const char* type : {kOciManifestMediaType, kDockerManifestMediaType}) {
    absl::StatusOr<Manifest> manifest = ParseManifest(input, type);
    if (!manifest.ok()) continue;
    CheckDescriptor(manifest->config);
    for (const Descriptor& layer : manifest->layers) {
      CheckDescriptor(layer);
      if (!LayerCompressionOf(layer.media_type).ok()) __builtin_trap();
    }
  }
  absl::StatusOr<ImageConfig> config = ParseImageConfig(input);
  if (config.ok()) {
    for (const std::string& diff_id : config->diff_ids) {
      if (!ValidateSha256Digest(diff_id).ok()) __builtin_trap();
    }
  }
  return 0;
}
