#include "image/manifest.h"

#include <sys/utsname.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace berth::image {
namespace {

using nlohmann::json;

absl::Status Invalid(absl::string_view what, absl::string_view fault) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", fault));
}

absl::Status Schema1Refused() {
  return absl::FailedPreconditionError(
      "Docker schema 1 manifests are not supported (a deprecated format without content "
      "addressing); push the image again with a current client to get a schema 2 or OCI "
      "manifest");
}

bool IsSchema1(absl::string_view media_type) {
  return media_type == kDockerSchema1MediaType || media_type == kDockerSchema1SignedMediaType;
}

// Parses `bytes` as a JSON object without exceptions.
absl::StatusOr<json> ParseObject(absl::string_view bytes, absl::string_view what, size_t max) {
  if (bytes.size() > max) {
    return Invalid(what, absl::StrCat(bytes.size(), " bytes is over the limit of ", max));
  }
  json doc = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Invalid(what, "not valid JSON");
  if (!doc.is_object()) return Invalid(what, "not a JSON object");
  return doc;
}

// `*out` = obj[key] when it is a string; absent or null leaves it empty unless `required`.
absl::Status GetString(const json& obj, const char* key, bool required, absl::string_view what,
                       std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return Invalid(what, absl::StrCat("missing \"", key, "\""));
    return absl::OkStatus();
  }
  if (!it->is_string()) return Invalid(what, absl::StrCat("\"", key, "\" is not a string"));
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetStringList(const json& obj, const char* key, absl::string_view what,
                           std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return Invalid(what, absl::StrCat("\"", key, "\" is not an array"));
  for (const json& item : *it) {
    if (!item.is_string()) {
      return Invalid(what, absl::StrCat("\"", key, "\" holds a value that is not a string"));
    }
    out->push_back(item.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status GetStringMap(const json& obj, const char* key, absl::string_view what,
                          std::map<std::string, std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return Invalid(what, absl::StrCat("\"", key, "\" is not an object"));
  for (const auto& [name, value] : it->items()) {
    if (!value.is_string()) {
      return Invalid(what, absl::StrCat("\"", key, "\".\"", name, "\" is not a string"));
    }
    (*out)[name] = value.get<std::string>();
  }
  return absl::OkStatus();
}

// The keys of an object used as a set ({"80/tcp": {}}), sorted.
absl::Status GetKeySet(const json& obj, const char* key, absl::string_view what,
                       std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return Invalid(what, absl::StrCat("\"", key, "\" is not an object"));
  for (const auto& item : it->items()) out->push_back(item.key());
  std::sort(out->begin(), out->end());
  return absl::OkStatus();
}

absl::Status CheckSchemaVersion(const json& doc, absl::string_view what) {
  auto it = doc.find("schemaVersion");
  if (it == doc.end()) return Invalid(what, "missing \"schemaVersion\"");
  if (!it->is_number_integer()) return Invalid(what, "\"schemaVersion\" is not an integer");
  if (it->get<int64_t>() == 1) return Schema1Refused();
  if (it->get<int64_t>() != 2) return Invalid(what, "\"schemaVersion\" is not 2");
  return absl::OkStatus();
}

// A "mediaType" field, when present, must agree with the type the document was served as.
absl::Status CheckMediaTypeField(const json& doc, absl::string_view media_type,
                                 absl::string_view what) {
  std::string field;
  absl::Status status = GetString(doc, "mediaType", false, what, &field);
  if (!status.ok()) return status;
  if (!field.empty() && field != media_type) {
    if (IsSchema1(field)) return Schema1Refused();
    return Invalid(what, absl::StrCat("\"mediaType\" is \"", field, "\" but it was served as \"",
                                      media_type, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<Platform> ParsePlatform(const json& obj, absl::string_view what) {
  if (!obj.is_object()) return Invalid(what, "\"platform\" is not an object");
  Platform platform;
  absl::Status status = GetString(obj, "os", true, what, &platform.os);
  if (status.ok()) status = GetString(obj, "architecture", true, what, &platform.architecture);
  if (status.ok()) status = GetString(obj, "variant", false, what, &platform.variant);
  if (!status.ok()) return status;
  return platform;
}

absl::StatusOr<Descriptor> ParseDescriptor(const json& obj, const std::string& what) {
  if (!obj.is_object()) return Invalid(what, "not an object");
  Descriptor desc;
  absl::Status status = GetString(obj, "mediaType", true, what, &desc.media_type);
  if (status.ok()) status = GetString(obj, "digest", true, what, &desc.digest);
  if (status.ok()) status = GetStringMap(obj, "annotations", what, &desc.annotations);
  if (!status.ok()) return status;
  if (absl::Status digest_ok = ValidateSha256Digest(desc.digest); !digest_ok.ok()) {
    return Invalid(what, digest_ok.message());
  }
  auto size = obj.find("size");
  if (size == obj.end()) return Invalid(what, "missing \"size\"");
  if (!size->is_number_integer() || size->get<int64_t>() < 0) {
    return Invalid(what, "\"size\" is not a non-negative integer");
  }
  desc.size = size->get<int64_t>();
  if (auto platform = obj.find("platform"); platform != obj.end() && !platform->is_null()) {
    absl::StatusOr<Platform> parsed = ParsePlatform(*platform, what);
    if (!parsed.ok()) return parsed.status();
    desc.platform = *std::move(parsed);
  }
  return desc;
}

absl::StatusOr<std::vector<Descriptor>> ParseDescriptorList(const json& doc, const char* key,
                                                            absl::string_view what) {
  auto it = doc.find(key);
  if (it == doc.end()) return Invalid(what, absl::StrCat("missing \"", key, "\""));
  if (!it->is_array()) return Invalid(what, absl::StrCat("\"", key, "\" is not an array"));
  if (it->size() > kMaxDescriptors) {
    return Invalid(what, absl::StrCat("more than ", kMaxDescriptors, " entries in \"", key, "\""));
  }
  std::vector<Descriptor> out;
  for (size_t i = 0; i < it->size(); ++i) {
    absl::StatusOr<Descriptor> desc =
        ParseDescriptor((*it)[i], absl::StrCat(what, ": ", key, "[", i, "]"));
    if (!desc.ok()) return desc.status();
    out.push_back(*std::move(desc));
  }
  return out;
}

std::string MapArchitecture(std::string arch) {
  arch = absl::AsciiStrToLower(arch);
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "aarch64") return "arm64";
  if (arch == "i386" || arch == "i486" || arch == "i586" || arch == "i686") return "386";
  if (arch == "armhf" || arch == "armel") return "arm";
  return arch;
}

}  // namespace

std::string Platform::String() const {
  if (variant.empty()) return absl::StrCat(os, "/", architecture);
  return absl::StrCat(os, "/", architecture, "/", variant);
}

Platform NormalizePlatform(Platform platform) {
  std::string original = absl::AsciiStrToLower(platform.architecture);
  platform.os = absl::AsciiStrToLower(platform.os);
  platform.architecture = MapArchitecture(platform.architecture);
  platform.variant = absl::AsciiStrToLower(platform.variant);
  if (platform.architecture == "arm64" && (platform.variant.empty() || platform.variant == "8")) {
    platform.variant = "v8";
  } else if (platform.architecture == "arm" && platform.variant.empty()) {
    platform.variant = original == "armel" ? "v6" : "v7";
  } else if (platform.architecture == "arm" && platform.variant.size() == 1) {
    platform.variant = absl::StrCat("v", platform.variant);  // "7" -> "v7"
  }
  return platform;
}

Platform NodePlatform() {
  struct utsname names;
  Platform platform{.os = "linux"};
  if (uname(&names) != 0) return platform;
  std::string machine = names.machine;
  if (absl::StartsWith(machine, "armv") && machine.size() >= 5) {
    platform.architecture = "arm";
    platform.variant = absl::StrCat("v", machine.substr(4, 1));  // armv7l -> v7
  } else {
    platform.architecture = machine;
  }
  return NormalizePlatform(std::move(platform));
}

absl::Status ValidateSha256Digest(absl::string_view digest) {
  constexpr absl::string_view kPrefix = "sha256:";
  if (!absl::StartsWith(digest, kPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest \"", digest.substr(0, 80), "\" is not sha256:<64 hex digits>"));
  }
  absl::string_view hex = digest.substr(kPrefix.size());
  bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
            });
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("digest \"", digest.substr(0, 80),
                                                   "\" does not have 64 lowercase hex digits"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LayerCompression> LayerCompressionOf(absl::string_view media_type) {
  if (media_type == kOciLayerMediaType) return LayerCompression::kNone;
  if (media_type == kOciLayerGzipMediaType || media_type == kDockerLayerGzipMediaType) {
    return LayerCompression::kGzip;
  }
  if (media_type == kOciLayerZstdMediaType) return LayerCompression::kZstd;
  if (absl::StrContains(media_type, "foreign") ||
      absl::StrContains(media_type, "nondistributable")) {
    return absl::InvalidArgumentError(
        absl::StrCat("layer media type \"", media_type,
                     "\" is a foreign (non-distributable) layer, which Berth does not download"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported layer media type \"", media_type.substr(0, 200), "\""));
}

bool IsIndexMediaType(absl::string_view media_type) {
  return media_type == kOciIndexMediaType || media_type == kDockerManifestListMediaType;
}

bool IsManifestMediaType(absl::string_view media_type) {
  return media_type == kOciManifestMediaType || media_type == kDockerManifestMediaType;
}

absl::StatusOr<std::string> DetectManifestMediaType(absl::string_view bytes,
                                                    absl::string_view content_type) {
  std::string type = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  if (IsSchema1(type)) return Schema1Refused();
  if (IsIndexMediaType(type) || IsManifestMediaType(type)) return type;
  absl::StatusOr<json> doc = ParseObject(bytes, "manifest", kMaxManifestBytes);
  if (!doc.ok()) return doc.status();
  std::string field;
  if (absl::Status status = GetString(*doc, "mediaType", false, "manifest", &field); !status.ok()) {
    return status;
  }
  if (IsSchema1(field)) return Schema1Refused();
  if (IsIndexMediaType(field) || IsManifestMediaType(field)) return field;
  if (!field.empty()) {
    return Invalid("manifest",
                   absl::StrCat("unsupported media type \"", field.substr(0, 200), "\""));
  }
  auto version = doc->find("schemaVersion");
  if (version != doc->end() && *version == 1) return Schema1Refused();
  if (doc->contains("manifests")) return std::string(kOciIndexMediaType);
  if (doc->contains("layers") || doc->contains("config")) {
    return std::string(kOciManifestMediaType);
  }
  return Invalid("manifest", absl::StrCat("cannot tell the kind of document (served as \"",
                                          content_type.substr(0, 200), "\")"));
}

absl::StatusOr<Index> ParseIndex(absl::string_view bytes, absl::string_view media_type) {
  if (IsSchema1(media_type)) return Schema1Refused();
  if (!IsIndexMediaType(media_type)) {
    return Invalid("index", absl::StrCat("\"", media_type, "\" is not an index media type"));
  }
  absl::StatusOr<json> doc = ParseObject(bytes, "index", kMaxManifestBytes);
  if (!doc.ok()) return doc.status();
  absl::Status status = CheckSchemaVersion(*doc, "index");
  if (status.ok()) status = CheckMediaTypeField(*doc, media_type, "index");
  Index index{.media_type = std::string(media_type)};
  if (status.ok()) status = GetStringMap(*doc, "annotations", "index", &index.annotations);
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<Descriptor>> manifests =
      ParseDescriptorList(*doc, "manifests", "index");
  if (!manifests.ok()) return manifests.status();
  index.manifests = *std::move(manifests);
  return index;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view bytes, absl::string_view media_type) {
  if (IsSchema1(media_type)) return Schema1Refused();
  if (!IsManifestMediaType(media_type)) {
    return Invalid("manifest", absl::StrCat("\"", media_type, "\" is not a manifest media type"));
  }
  absl::StatusOr<json> doc = ParseObject(bytes, "manifest", kMaxManifestBytes);
  if (!doc.ok()) return doc.status();
  absl::Status status = CheckSchemaVersion(*doc, "manifest");
  if (status.ok()) status = CheckMediaTypeField(*doc, media_type, "manifest");
  Manifest manifest{.media_type = std::string(media_type)};
  if (status.ok()) status = GetStringMap(*doc, "annotations", "manifest", &manifest.annotations);
  if (!status.ok()) return status;
  auto config = doc->find("config");
  if (config == doc->end()) return Invalid("manifest", "missing \"config\"");
  absl::StatusOr<Descriptor> config_desc = ParseDescriptor(*config, "manifest: config");
  if (!config_desc.ok()) return config_desc.status();
  if (config_desc->media_type != kOciConfigMediaType &&
      config_desc->media_type != kDockerConfigMediaType) {
    return Invalid("manifest",
                   absl::StrCat("config media type \"", config_desc->media_type.substr(0, 200),
                                "\" is not a container image configuration"));
  }
  manifest.config = *std::move(config_desc);
  absl::StatusOr<std::vector<Descriptor>> layers = ParseDescriptorList(*doc, "layers", "manifest");
  if (!layers.ok()) return layers.status();
  for (size_t i = 0; i < layers->size(); ++i) {
    if (absl::StatusOr<LayerCompression> c = LayerCompressionOf((*layers)[i].media_type); !c.ok()) {
      return Invalid(absl::StrCat("manifest: layers[", i, "]"), c.status().message());
    }
  }
  manifest.layers = *std::move(layers);
  return manifest;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view bytes) {
  constexpr absl::string_view kWhat = "image config";
  absl::StatusOr<json> doc = ParseObject(bytes, kWhat, kMaxConfigBytes);
  if (!doc.ok()) return doc.status();
  ImageConfig out;
  absl::Status status = GetString(*doc, "os", false, kWhat, &out.os);
  if (status.ok()) status = GetString(*doc, "architecture", false, kWhat, &out.architecture);
  if (status.ok()) status = GetString(*doc, "variant", false, kWhat, &out.variant);
  if (status.ok()) status = GetString(*doc, "created", false, kWhat, &out.created);
  if (!status.ok()) return status;

  if (auto config = doc->find("config"); config != doc->end() && !config->is_null()) {
    if (!config->is_object()) return Invalid(kWhat, "\"config\" is not an object");
    constexpr absl::string_view kConfigWhat = "image config: config";
    const json& c = *config;
    status = GetString(c, "User", false, kConfigWhat, &out.user);
    if (status.ok()) status = GetStringList(c, "Env", kConfigWhat, &out.env);
    if (status.ok()) status = GetStringList(c, "Entrypoint", kConfigWhat, &out.entrypoint);
    if (status.ok()) status = GetStringList(c, "Cmd", kConfigWhat, &out.cmd);
    if (status.ok()) status = GetString(c, "WorkingDir", false, kConfigWhat, &out.working_dir);
    if (status.ok()) status = GetStringMap(c, "Labels", kConfigWhat, &out.labels);
    if (status.ok()) status = GetString(c, "StopSignal", false, kConfigWhat, &out.stop_signal);
    if (status.ok()) status = GetKeySet(c, "Volumes", kConfigWhat, &out.volumes);
    if (status.ok()) status = GetKeySet(c, "ExposedPorts", kConfigWhat, &out.exposed_ports);
    if (!status.ok()) return status;
  }

  auto rootfs = doc->find("rootfs");
  if (rootfs == doc->end() || !rootfs->is_object()) {
    return Invalid(kWhat, "missing \"rootfs\" object");
  }
  std::string type;
  status = GetString(*rootfs, "type", true, "image config: rootfs", &type);
  if (status.ok() && type != "layers") {
    status = Invalid(kWhat,
                     absl::StrCat("rootfs.type is \"", type.substr(0, 100), "\", not \"layers\""));
  }
  if (status.ok() && !rootfs->contains("diff_ids")) {
    status = Invalid(kWhat, "missing rootfs.diff_ids");
  }
  if (status.ok())
    status = GetStringList(*rootfs, "diff_ids", "image config: rootfs", &out.diff_ids);
  if (!status.ok()) return status;
  if (out.diff_ids.size() > kMaxDescriptors) return Invalid(kWhat, "too many rootfs.diff_ids");
  for (size_t i = 0; i < out.diff_ids.size(); ++i) {
    if (absl::Status ok = ValidateSha256Digest(out.diff_ids[i]); !ok.ok()) {
      return Invalid(absl::StrCat(kWhat, ": rootfs.diff_ids[", i, "]"), ok.message());
    }
  }
  return out;
}

absl::StatusOr<Descriptor> ChoosePlatform(const Index& index, const Platform& want) {
  Platform target = NormalizePlatform(want);
  const Descriptor* fallback = nullptr;
  std::vector<std::string> offered;
  for (const Descriptor& desc : index.manifests) {
    if (!desc.platform.has_value()) continue;
    offered.push_back(desc.platform->String());
    if (!IsManifestMediaType(desc.media_type)) continue;
    Platform have = NormalizePlatform(*desc.platform);
    if (have.os != target.os || have.architecture != target.architecture) continue;
    if (have.variant == target.variant) return desc;
    if (desc.platform->variant.empty() && fallback == nullptr) fallback = &desc;
  }
  if (fallback != nullptr) return *fallback;
  return absl::NotFoundError(absl::StrCat(
      "no image for platform ", target.String(), " in the index; it offers ",
      offered.empty() ? std::string("no platform-specific images") : absl::StrJoin(offered, ", ")));
}

}  // namespace berth::image
