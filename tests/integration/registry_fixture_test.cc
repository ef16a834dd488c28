// Tests of the registry and image fixtures themselves: what they build is what the registry
// serves, over plain HTTP and over TLS with basic auth.

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::StartsWith;

constexpr char kAcceptAll[] =
    "Accept: application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json";

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Busybox plus a layer with a whiteout, an opaque directory, a hard link and a symlink.
absl::StatusOr<ImageSpec> TwoLayerSpec() {
  absl::StatusOr<ImageSpec> spec = BusyboxImage();
  if (!spec.ok()) return spec;
  LayerSpec top;
  top.created_by = "berth test: app layer";
  top.entries = {
      LayerEntry::Whiteout("bin/vi"),
      LayerEntry::Directory("var"),
      LayerEntry::Opaque("var"),
      LayerEntry::File("var/data.txt", "hello\n"),
      LayerEntry::Hardlink("var/data-link.txt", "var/data.txt"),
      LayerEntry::Symlink("var/current", "data.txt"),
      LayerEntry::File("etc/app.conf", "x=1\n", 0600),
  };
  spec->layers.push_back(std::move(top));
  spec->user = "1000:1000";
  spec->workdir = "/var";
  spec->entrypoint = {"/bin/sh", "-c"};
  spec->cmd = {"sleep 3600"};
  spec->labels = {{"io.berth.test", "two-layer"}};
  spec->stop_signal = "SIGUSR1";
  spec->exposed_ports = {"8080/tcp"};
  spec->volumes = {"/data"};
  return spec;
}

const LayerEntry* FindEntry(const std::vector<LayerEntry>& entries, LayerEntry::Kind kind,
                            const std::string& path) {
  for (const LayerEntry& entry : entries) {
    if (entry.kind == kind && entry.path == path) return &entry;
  }
  return nullptr;
}

RegistryResponse Get(const TestRegistry& registry, const std::string& path,
                     std::vector<std::string> headers = {}) {
  RegistryRequest request;
  request.path = path;
  request.headers = std::move(headers);
  absl::StatusOr<RegistryResponse> response = registry.Request(request);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? *std::move(response) : RegistryResponse{};
}

// Everything a test needs checked about one pushed image.
void ExpectServed(const TestRegistry& registry, const std::string& repository,
                  const std::string& tag, const BuiltImage& image) {
  absl::StatusOr<std::string> digest = registry.ManifestDigest(repository, tag);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, image.manifest_digest);

  RegistryResponse manifest =
      Get(registry, absl::StrCat("/v2/", repository, "/manifests/", tag), {kAcceptAll});
  EXPECT_EQ(manifest.status, 200);
  EXPECT_EQ(manifest.body, image.manifest_json);
  EXPECT_EQ(manifest.Header("Docker-Content-Digest"), image.manifest_digest);

  RegistryResponse config =
      Get(registry, absl::StrCat("/v2/", repository, "/blobs/", image.config_digest));
  EXPECT_EQ(config.status, 200);
  EXPECT_EQ(Sha256Digest(config.body), image.config_digest);
  for (const BuiltLayer& layer : image.layers) {
    RegistryResponse blob =
        Get(registry, absl::StrCat("/v2/", repository, "/blobs/", layer.digest));
    EXPECT_EQ(blob.status, 200);
    EXPECT_EQ(static_cast<int64_t>(blob.body.size()), layer.size);
    EXPECT_EQ(Sha256Digest(blob.body), layer.digest);
  }
  // On disk where BlobPath says, so a later test can corrupt it.
  absl::StatusOr<std::string> stored = ReadFile(registry.BlobPath(image.config_digest));
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(*stored, image.config_json);
}

// `curl` with the given arguments; returns {exit code, stdout}.
std::pair<int, std::string> Curl(std::vector<std::string> args) {
  SpawnOptions options;
  options.argv = {"curl", "-sS", "--noproxy", "*", "--max-time", "10"};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.timeout = absl::Seconds(20);
  absl::StatusOr<SpawnResult> result = RunCommand(options);
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {-1, ""};
  return {result->exit_code, result->out};
}

TEST(ImageBuilderTest, BuildsDeterministicWellFormedImages) {
  absl::StatusOr<ImageSpec> spec = TwoLayerSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<ImageBuilder> first = ImageBuilder::Create();
  absl::StatusOr<ImageBuilder> second = ImageBuilder::Create();
  ASSERT_TRUE(first.ok() && second.ok());
  absl::StatusOr<BuiltImage> a = first->Build(*spec, "v1");
  absl::StatusOr<BuiltImage> b = second->Build(*spec, "v1");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->manifest_digest, b->manifest_digest);
  EXPECT_EQ(a->image_id(), b->image_id());
  EXPECT_EQ(a->layer_digests(), b->layer_digests());
  EXPECT_EQ(a->platform, NativePlatform());
  ASSERT_EQ(a->layers.size(), 2u);

  // Digests are those of the stored bytes; the gzip header carries no time.
  for (const BuiltLayer& layer : a->layers) {
    absl::StatusOr<std::string> blob = first->ReadBlob(layer.digest);
    ASSERT_TRUE(blob.ok()) << blob.status();
    EXPECT_EQ(Sha256Digest(*blob), layer.digest);
    EXPECT_EQ(layer.media_type, kOciLayerGzipMediaType);
    ASSERT_GT(blob->size(), 10u);
    EXPECT_EQ(blob->substr(0, 2), "\x1f\x8b");
    EXPECT_EQ(blob->substr(4, 4), std::string(4, '\0'));
    EXPECT_NE(layer.digest, layer.diff_id);
  }
  EXPECT_EQ(a->total_size,
            a->manifest_size + a->config_size + a->layers[0].size + a->layers[1].size);

  // The top layer reads back with its whiteout, opaque marker and links.
  absl::StatusOr<std::string> top = first->ReadBlob(a->layers[1].digest);
  ASSERT_TRUE(top.ok());
  absl::StatusOr<std::vector<LayerEntry>> entries = ReadLayerBlob(*top);
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_NE(FindEntry(*entries, LayerEntry::Kind::kWhiteout, "bin/vi"), nullptr);
  EXPECT_NE(FindEntry(*entries, LayerEntry::Kind::kOpaque, "var"), nullptr);
  const LayerEntry* link = FindEntry(*entries, LayerEntry::Kind::kHardlink, "var/data-link.txt");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->target, "var/data.txt");
  const LayerEntry* conf = FindEntry(*entries, LayerEntry::Kind::kFile, "etc/app.conf");
  ASSERT_NE(conf, nullptr);
  EXPECT_EQ(conf->content, "x=1\n");
  EXPECT_EQ(conf->mode, 0600u);
  EXPECT_EQ(LayerEntry::Whiteout("bin/vi").TarPath(), "bin/.wh.vi");
  EXPECT_EQ(LayerEntry::Opaque("var").TarPath(), "var/.wh..wh..opq");

  // The base layer: busybox, applet links, users, sticky /tmp.
  absl::StatusOr<std::string> base = first->ReadBlob(a->layers[0].digest);
  ASSERT_TRUE(base.ok());
  absl::StatusOr<std::vector<LayerEntry>> base_entries = ReadLayerBlob(*base);
  ASSERT_TRUE(base_entries.ok()) << base_entries.status();
  const LayerEntry* sh = FindEntry(*base_entries, LayerEntry::Kind::kSymlink, "bin/sh");
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(sh->target, "busybox");
  const LayerEntry* tmp = FindEntry(*base_entries, LayerEntry::Kind::kDirectory, "tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->mode, 01777u);
  const LayerEntry* passwd = FindEntry(*base_entries, LayerEntry::Kind::kFile, "etc/passwd");
  ASSERT_NE(passwd, nullptr);
  EXPECT_THAT(passwd->content, ::testing::HasSubstr("berth:x:1000:1000:"));

  // Config and manifest.
  json config = json::parse(a->config_json);
  EXPECT_EQ(config["rootfs"]["diff_ids"].get<std::vector<std::string>>(), a->diff_ids());
  EXPECT_EQ(config["config"]["User"], "1000:1000");
  EXPECT_EQ(config["config"]["StopSignal"], "SIGUSR1");
  EXPECT_TRUE(config["config"]["ExposedPorts"].contains("8080/tcp"));
  EXPECT_TRUE(config["config"]["Volumes"].contains("/data"));
  EXPECT_EQ(config["history"].size(), 2u);
  json manifest = json::parse(a->manifest_json);
  EXPECT_EQ(manifest["mediaType"], kOciManifestMediaType);
  EXPECT_EQ(manifest["config"]["digest"], a->config_digest);
  EXPECT_EQ(manifest["layers"][1]["digest"], a->layers[1].digest);

  absl::StatusOr<std::string> index = ReadFile(first->layout_dir() + "/index.json");
  ASSERT_TRUE(index.ok());
  json index_doc = json::parse(*index);
  EXPECT_EQ(index_doc["manifests"][0]["digest"], a->manifest_digest);
  EXPECT_EQ(index_doc["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "v1");
}

TEST(ImageBuilderTest, UncompressedAndZstdLayersPushUnchanged) {
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok());
  ImageSpec spec;
  LayerSpec plain;
  plain.compression = Compression::kNone;
  plain.entries = {LayerEntry::File("a.txt", "a")};
  LayerSpec zstd;
  zstd.compression = Compression::kZstd;
  zstd.entries = {LayerEntry::File("b.txt", "b")};
  spec.layers = {plain, zstd};
  absl::StatusOr<BuiltImage> image = builder->Build(spec, "mixed");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->layers[0].digest, image->layers[0].diff_id);
  EXPECT_EQ(image->layers[0].media_type, kOciLayerMediaType);
  EXPECT_EQ(image->layers[1].media_type, kOciLayerZstdMediaType);
  absl::StatusOr<std::string> blob = builder->ReadBlob(image->layers[1].digest);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->substr(0, 4), "\x28\xb5\x2f\xfd");
  absl::StatusOr<std::vector<LayerEntry>> entries = ReadLayerBlob(*blob);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].content, "b");

  // skopeo pushes them as they are (no recompression: --preserve-digests).
  absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::Status pushed = builder->Push("mixed", **registry, "berth/mixed:v1");
  ASSERT_TRUE(pushed.ok()) << pushed;
  ExpectServed(**registry, "berth/mixed", "v1", *image);
}

TEST(RegistryFixtureTest, PlainRegistryServesPushedImage) {
  absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_THAT((*registry)->url(), StartsWith("http://127.0.0.1:"));
  EXPECT_EQ((*registry)->host(), absl::StrCat("127.0.0.1:", (*registry)->port()));

  absl::StatusOr<ImageSpec> spec = TwoLayerSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok());
  absl::StatusOr<BuiltImage> image = builder->Build(*spec, "v1");
  ASSERT_TRUE(image.ok()) << image.status();
  absl::Status pushed = builder->Push("v1", **registry, "berth/busybox:v1");
  ASSERT_TRUE(pushed.ok()) << pushed;
  ExpectServed(**registry, "berth/busybox", "v1", *image);

  auto [code, out] = Curl({"-o", "/dev/null", "-D", "-", "-H", kAcceptAll,
                           (*registry)->url() + "/v2/berth/busybox/manifests/v1"});
  EXPECT_EQ(code, 0);
  EXPECT_THAT(absl::AsciiStrToLower(out),
              ::testing::HasSubstr("docker-content-digest: " + image->manifest_digest));
}

TEST(RegistryFixtureTest, TlsRegistryWithAuth) {
  RegistryOptions options;
  options.tls = true;
  options.username = "berth";
  options.password = "s3cret-pass";
  absl::StatusOr<std::unique_ptr<TestRegistry>> started = TestRegistry::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  const TestRegistry& registry = **started;
  EXPECT_THAT(registry.url(), StartsWith("https://127.0.0.1:"));
  EXPECT_TRUE(PathExists(registry.cert_dir() + "/ca.crt"));
  EXPECT_EQ(registry.cert_dir(), registry.certs_d_dir() + "/" + registry.host());

  RegistryRequest anonymous;
  anonymous.path = "/v2/";
  anonymous.authenticate = false;
  absl::StatusOr<RegistryResponse> denied = registry.Request(anonymous);
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(Get(registry, "/v2/").status, 200);

  absl::StatusOr<ImageSpec> spec = TwoLayerSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok());
  absl::StatusOr<BuiltImage> image = builder->Build(*spec, "v1");
  ASSERT_TRUE(image.ok()) << image.status();
  absl::Status pushed = builder->Push("v1", registry, "secure/busybox:v1");
  ASSERT_TRUE(pushed.ok()) << pushed;
  ExpectServed(registry, "secure/busybox", "v1", *image);

  // The curl CLI with the CA and credentials sees the same digest; without credentials 401;
  // without the CA the certificate is not trusted.
  const std::string manifest_url = registry.url() + "/v2/secure/busybox/manifests/v1";
  auto [code, out] = Curl({"--cacert", registry.ca_cert_path(), "-u", "berth:s3cret-pass", "-o",
                           "/dev/null", "-D", "-", "-H", kAcceptAll, manifest_url});
  EXPECT_EQ(code, 0);
  EXPECT_THAT(absl::AsciiStrToLower(out),
              ::testing::HasSubstr("docker-content-digest: " + image->manifest_digest));
  auto [code401, status401] = Curl(
      {"--cacert", registry.ca_cert_path(), "-o", "/dev/null", "-w", "%{http_code}", manifest_url});
  EXPECT_EQ(code401, 0);
  EXPECT_EQ(status401, "401");
  auto [untrusted, unused] = Curl({"-o", "/dev/null", manifest_url});
  EXPECT_EQ(untrusted, 60);  // CURLE_PEER_FAILED_VERIFICATION
}

TEST(RegistryFixtureTest, MultiPlatformIndex) {
  absl::StatusOr<std::unique_ptr<TestRegistry>> started = TestRegistry::Start({});
  ASSERT_TRUE(started.ok()) << started.status();
  const TestRegistry& registry = **started;
  absl::StatusOr<ImageSpec> amd64 = BusyboxImage("linux/amd64");
  absl::StatusOr<ImageSpec> arm64 = BusyboxImage("linux/arm64/v8");
  ASSERT_TRUE(amd64.ok() && arm64.ok());
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok());
  absl::StatusOr<BuiltIndex> index = builder->BuildIndex({*amd64, *arm64}, "multi");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->images.size(), 2u);
  const BuiltImage* arm = index->ForPlatform("linux/arm64/v8");
  const BuiltImage* amd = index->ForPlatform("linux/amd64");
  ASSERT_TRUE(arm != nullptr && amd != nullptr);
  EXPECT_NE(arm->image_id(), amd->image_id());
  EXPECT_NE(arm->layer_digests(), amd->layer_digests());

  absl::Status pushed = builder->Push("multi", registry, "berth/multi:v1");
  ASSERT_TRUE(pushed.ok()) << pushed;
  absl::StatusOr<std::string> digest = registry.ManifestDigest("berth/multi", "v1");
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, index->digest);
  RegistryResponse served = Get(registry, "/v2/berth/multi/manifests/v1", {kAcceptAll});
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, index->json);
  EXPECT_THAT(served.Header("Content-Type"), StartsWith(kOciIndexMediaType));
  json doc = json::parse(index->json);
  ASSERT_EQ(doc["manifests"].size(), 2u);
  EXPECT_EQ(doc["manifests"][1]["platform"]["variant"], "v8");

  for (const BuiltImage& image : index->images) {
    ExpectServed(registry, "berth/multi", image.manifest_digest, image);
  }
  // The arm64 image says so.
  RegistryResponse base = Get(registry, "/v2/berth/multi/blobs/" + arm->layers[0].digest);
  absl::StatusOr<std::vector<LayerEntry>> entries = ReadLayerBlob(base.body);
  ASSERT_TRUE(entries.ok()) << entries.status();
  const LayerEntry* marker = FindEntry(*entries, LayerEntry::Kind::kFile, kPlatformMarkerPath);
  ASSERT_NE(marker, nullptr);
  EXPECT_EQ(marker->content, "linux/arm64/v8\n");
}

TEST(ImageBuilderTest, ExportsOciAndDockerArchives) {
  absl::StatusOr<TempDir> out = TempDir::Make("berth-archives-");
  ASSERT_TRUE(out.ok());
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok());
  absl::StatusOr<ImageSpec> spec = TwoLayerSpec();
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<BuiltImage> image = builder->Build(*spec, "v1");
  ASSERT_TRUE(image.ok()) << image.status();

  const std::string oci_path = out->path() + "/image.oci.tar";
  absl::Status exported = builder->ExportOciArchive("v1", oci_path);
  ASSERT_TRUE(exported.ok()) << exported;
  absl::StatusOr<std::string> oci = ReadFile(oci_path, 64 << 20);
  ASSERT_TRUE(oci.ok()) << oci.status();
  absl::StatusOr<std::vector<LayerEntry>> oci_entries = ReadLayerBlob(*oci);
  ASSERT_TRUE(oci_entries.ok()) << oci_entries.status();
  std::vector<std::string> oci_names;
  for (const LayerEntry& e : *oci_entries) oci_names.push_back(e.path);
  EXPECT_THAT(oci_names, Contains("oci-layout"));
  EXPECT_THAT(oci_names, Contains("index.json"));
  EXPECT_THAT(oci_names, Contains("blobs/sha256/" + image->manifest_digest.substr(7)));

  const std::string docker_path = out->path() + "/image.docker.tar";
  exported = builder->ExportDockerArchive("v1", docker_path, "berth/busybox:v1");
  ASSERT_TRUE(exported.ok()) << exported;
  absl::StatusOr<std::string> docker = ReadFile(docker_path, 64 << 20);
  ASSERT_TRUE(docker.ok()) << docker.status();
  absl::StatusOr<std::vector<LayerEntry>> docker_entries = ReadLayerBlob(*docker);
  ASSERT_TRUE(docker_entries.ok()) << docker_entries.status();
  const LayerEntry* manifest = FindEntry(*docker_entries, LayerEntry::Kind::kFile, "manifest.json");
  ASSERT_NE(manifest, nullptr);
  json doc = json::parse(manifest->content);
  ASSERT_EQ(doc.size(), 1u);
  // The image id survives the conversion to Docker schema 2.
  EXPECT_THAT(doc[0]["Config"].get<std::string>(),
              ::testing::HasSubstr(image->config_digest.substr(7)));
  EXPECT_THAT(doc[0]["RepoTags"].get<std::vector<std::string>>(),
              Contains(::testing::HasSubstr("berth/busybox:v1")));
  EXPECT_EQ(doc[0]["Layers"].size(), 2u);
}

TEST(RegistryFixtureTest, LeavesNoProcessOrFilesBehind) {
  RegistryOptions options;
  options.tls = true;
  absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const std::string root = (*registry)->root_dir();
  const pid_t pid = (*registry)->pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(PathExists(root + "/config.yml"));
  EXPECT_TRUE(PathExists((*registry)->storage_dir()));
  registry->reset();
  EXPECT_FALSE(PathExists(root));
  EXPECT_FALSE(PathExists(absl::StrCat("/proc/", pid)));
}

TEST(RegistryFixtureTest, RejectsHalfCredentials) {
  RegistryOptions options;
  options.username = "only-a-user";
  EXPECT_TRUE(absl::IsInvalidArgument(TestRegistry::Start(options).status()));
}

}  // namespace
}  // namespace berth::testing
