// The registry client against a real registry (Debian's docker-registry: plain http, TLS with a
// per-run CA, basic auth) and against a small in-process server that plays a registry with a
// bearer token service, redirects to blob storage on another host, truncates and fails.

#include "image/registry_client.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"
#include "tests/fixtures/token_server.h"

namespace berth::image {
namespace {

using ::berth::testing::BuiltImage;
using ::berth::testing::BuiltIndex;
using ::berth::testing::HttpReply;
using ::berth::testing::HttpRequestRecord;
using ::berth::testing::ImageBuilder;
using ::berth::testing::TestRegistry;
using ::berth::testing::TokenServer;
using ::testing::HasSubstr;
using ::testing::Not;

RegistryClient::Options FastOptions(const std::string& certs_dir = "/nonexistent") {
  RegistryClient::Options options;
  options.certs_dir = certs_dir;
  options.connect_timeout = absl::Seconds(5);
  options.stall_timeout = absl::Seconds(10);
  options.retry_backoff = absl::Milliseconds(10);
  return options;
}

PullEndpoint Endpoint(const std::string& reference, bool insecure, bool mirror = false) {
  absl::StatusOr<Reference> ref = Reference::Parse(reference);
  EXPECT_TRUE(ref.ok()) << ref.status();
  return PullEndpoint{.reference = *ref, .insecure = insecure, .mirror = mirror};
}

absl::StatusOr<std::string> FetchAll(RegistryClient& client, const PullEndpoint& endpoint,
                                     const std::string& digest, const Credentials& creds,
                                     int64_t size = -1) {
  std::string out;
  int chunks = 0;
  absl::Status status = client.FetchBlob(
      endpoint, digest, creds,
      [&](absl::string_view chunk) {
        out.append(chunk.data(), chunk.size());
        ++chunks;
        return absl::OkStatus();
      },
      size);
  if (!status.ok()) return status;
  return out;
}

// Pulls `image` from `endpoint` and checks every byte against what the builder made.
void ExpectPullMatches(RegistryClient& client, const PullEndpoint& endpoint,
                       const Credentials& creds, const BuiltImage& image) {
  absl::StatusOr<FetchedManifest> manifest = client.GetManifest(endpoint, creds);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->digest, image.manifest_digest);
  EXPECT_EQ(manifest->bytes, image.manifest_json);
  EXPECT_EQ(manifest->media_type, kOciManifestMediaType);
  absl::StatusOr<Manifest> parsed = ParseManifest(manifest->bytes, manifest->media_type);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->config.digest, image.config_digest);

  absl::StatusOr<std::string> config =
      client.FetchBlobToString(endpoint, parsed->config.digest, creds, kMaxConfigBytes);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config, image.config_json);
  absl::StatusOr<ImageConfig> image_config = ParseImageConfig(*config);
  ASSERT_TRUE(image_config.ok()) << image_config.status();
  EXPECT_EQ(image_config->diff_ids, image.diff_ids());

  ASSERT_EQ(parsed->layers.size(), image.layers.size());
  for (size_t i = 0; i < image.layers.size(); ++i) {
    EXPECT_EQ(parsed->layers[i].digest, image.layers[i].digest);
    absl::StatusOr<std::string> blob =
        FetchAll(client, endpoint, parsed->layers[i].digest, creds, parsed->layers[i].size);
    ASSERT_TRUE(blob.ok()) << blob.status();
    EXPECT_EQ(berth::testing::Sha256Digest(*blob), image.layers[i].digest);
  }
}

absl::StatusOr<BuiltImage> BuildAndPush(const TestRegistry& registry, const std::string& repo,
                                        const std::string& tag) {
  ASSIGN_OR_RETURN(ImageBuilder builder, ImageBuilder::Create());
  ASSIGN_OR_RETURN(berth::testing::ImageSpec spec, berth::testing::BusyboxImage());
  berth::testing::LayerSpec app;
  app.entries = {berth::testing::LayerEntry::File("etc/app.conf", "x=1\n")};
  app.compression = berth::testing::Compression::kZstd;
  spec.layers.push_back(app);
  ASSIGN_OR_RETURN(BuiltImage image, builder.Build(spec, tag));
  RETURN_IF_ERROR(builder.Push(tag, registry, absl::StrCat(repo, ":", tag)));
  return image;
}

// --- plain http -------------------------------------------------------------------------------

class PlainRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start({});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = registry->release();
    absl::StatusOr<BuiltImage> image = BuildAndPush(*registry_, "app", "v1");
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new BuiltImage(*std::move(image));
  }
  static void TearDownTestSuite() {
    delete image_;
    delete registry_;
  }
  std::string Ref(const std::string& rest) const { return registry_->host() + "/" + rest; }

  static TestRegistry* registry_;
  static BuiltImage* image_;
};
TestRegistry* PlainRegistryTest::registry_ = nullptr;
BuiltImage* PlainRegistryTest::image_ = nullptr;

TEST_F(PlainRegistryTest, PullsByTagAndDigestOverHttp) {
  ASSERT_NE(image_, nullptr);
  RegistryClient client(FastOptions());
  ExpectPullMatches(client, Endpoint(Ref("app:v1"), /*insecure=*/true), {}, *image_);
  ExpectPullMatches(client, Endpoint(Ref("app@" + image_->manifest_digest), true), {}, *image_);
}

TEST_F(PlainRegistryTest, SecureEndpointRefusesPlainHttp) {
  RegistryClient client(FastOptions());
  absl::Status status = client.GetManifest(Endpoint(Ref("app:v1"), false), {}).status();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(registry_->host()));
}

TEST_F(PlainRegistryTest, MissingImageIsNotFound) {
  RegistryClient client(FastOptions());
  absl::Status status = client.GetManifest(Endpoint(Ref("app:nope"), true), {}).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(Ref("app:nope")));
  std::string missing = "sha256:" + std::string(64, '0');
  status = FetchAll(client, Endpoint(Ref("app:v1"), true), missing, {}).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(missing));
}

TEST_F(PlainRegistryTest, WrongSizeIsDataLoss) {
  RegistryClient client(FastOptions());
  const auto& layer = image_->layers[0];
  absl::Status status =
      FetchAll(client, Endpoint(Ref("app:v1"), true), layer.digest, {}, layer.size - 1).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  status =
      FetchAll(client, Endpoint(Ref("app:v1"), true), layer.digest, {}, layer.size + 1).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST_F(PlainRegistryTest, SinkErrorAbortsTransfer) {
  RegistryClient client(FastOptions());
  int calls = 0;
  absl::Status status = client.FetchBlob(Endpoint(Ref("app:v1"), true), image_->layers[0].digest,
                                         {}, [&](absl::string_view) {
                                           ++calls;
                                           return absl::CancelledError("disk full");
                                         });
  EXPECT_TRUE(absl::IsCancelled(status)) << status;
  EXPECT_EQ(calls, 1);
}

TEST_F(PlainRegistryTest, ConcurrentFetches) {
  RegistryClient client(FastOptions());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      const auto& layer = image_->layers[i % image_->layers.size()];
      absl::StatusOr<std::string> blob =
          FetchAll(client, Endpoint(Ref("app:v1"), true), layer.digest, {}, layer.size);
      if (!blob.ok() || berth::testing::Sha256Digest(*blob) != layer.digest) ++failures;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// Runs last in the suite: it damages a blob.
TEST_F(PlainRegistryTest, ZCorruptedBlobIsDataLoss) {
  const auto& layer = image_->layers[0];
  std::string path = registry_->BlobPath(layer.digest);
  absl::StatusOr<std::string> data = ReadFile(path, 64 << 20);
  ASSERT_TRUE(data.ok()) << data.status();
  std::string corrupt = *data;
  corrupt[corrupt.size() / 2] ^= 0x55;
  ASSERT_TRUE(WriteFileAtomic(path, corrupt).ok());

  RegistryClient client(FastOptions());
  absl::Status status =
      FetchAll(client, Endpoint(Ref("app:v1"), true), layer.digest, {}, layer.size).status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(layer.digest));
  EXPECT_THAT(status.message(), HasSubstr("does not match"));
  ASSERT_TRUE(WriteFileAtomic(path, *data).ok());
}

TEST(MultiPlatformTest, IndexPicksTheNativePlatform) {
  absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<ImageBuilder> builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  std::string native = berth::testing::NativePlatform();
  std::string other = native == "linux/amd64" ? "linux/arm64/v8" : "linux/amd64";
  std::vector<berth::testing::ImageSpec> specs;
  for (const std::string& platform : {other, std::string("linux/arm/v7"), native}) {
    absl::StatusOr<berth::testing::ImageSpec> spec = berth::testing::BusyboxImage(platform);
    ASSERT_TRUE(spec.ok()) << spec.status();
    specs.push_back(*spec);
  }
  absl::StatusOr<BuiltIndex> index = builder->BuildIndex(specs, "multi");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_TRUE(builder->Push("multi", **registry, "multi:v1").ok());

  RegistryClient client(FastOptions());
  PullEndpoint endpoint = Endpoint((*registry)->host() + "/multi:v1", true);
  absl::StatusOr<FetchedManifest> fetched = client.GetManifest(endpoint, {});
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->media_type, kOciIndexMediaType);
  EXPECT_EQ(fetched->digest, index->digest);
  absl::StatusOr<Index> parsed = ParseIndex(fetched->bytes, fetched->media_type);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  absl::StatusOr<Descriptor> chosen = ChoosePlatform(*parsed, NodePlatform());
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  const BuiltImage* want = index->ForPlatform(native);
  ASSERT_NE(want, nullptr);
  EXPECT_EQ(chosen->digest, want->manifest_digest);

  PullEndpoint by_digest = Endpoint((*registry)->host() + "/multi@" + chosen->digest, true);
  ExpectPullMatches(client, by_digest, {}, *want);
  absl::StatusOr<std::string> layer =
      FetchAll(client, by_digest, want->layers[0].digest, {}, want->layers[0].size);
  ASSERT_TRUE(layer.ok()) << layer.status();
  absl::StatusOr<std::vector<berth::testing::LayerEntry>> entries =
      berth::testing::ReadLayerBlob(*layer);
  ASSERT_TRUE(entries.ok()) << entries.status();
  bool found = false;
  for (const auto& entry : *entries) {
    if (entry.path == berth::testing::kPlatformMarkerPath) {
      EXPECT_EQ(entry.content, native + "\n");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// --- TLS and basic auth -------------------------------------------------------------------------

TEST(TlsRegistryTest, VerifiesWithCertsDir) {
  absl::StatusOr<std::unique_ptr<TestRegistry>> registry = TestRegistry::Start({.tls = true});
  ASSERT_TRUE(registry.ok()) << registry.status();
  absl::StatusOr<BuiltImage> image = BuildAndPush(**registry, "tls/app", "v1");
  ASSERT_TRUE(image.ok()) << image.status();
  PullEndpoint endpoint = Endpoint((*registry)->host() + "/tls/app:v1", false);

  RegistryClient trusted(FastOptions((*registry)->certs_d_dir()));
  ExpectPullMatches(trusted, endpoint, {}, *image);

  RegistryClient untrusted(FastOptions());
  absl::Status status = untrusted.GetManifest(endpoint, {}).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("certificate"));

  // insecure: https without verification.
  ExpectPullMatches(untrusted, Endpoint((*registry)->host() + "/tls/app:v1", true), {}, *image);
}

class BasicAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<TestRegistry>> registry =
        TestRegistry::Start({.tls = true, .username = "berth", .password = "s3cret-pw"});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = registry->release();
    absl::StatusOr<BuiltImage> image = BuildAndPush(*registry_, "private/app", "v1");
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new BuiltImage(*std::move(image));
  }
  static void TearDownTestSuite() {
    delete image_;
    delete registry_;
  }
  PullEndpoint Private(bool mirror = false) const {
    return Endpoint(registry_->host() + "/private/app:v1", false, mirror);
  }
  RegistryClient::Options Options() const { return FastOptions(registry_->certs_d_dir()); }

  static TestRegistry* registry_;
  static BuiltImage* image_;
};
TestRegistry* BasicAuthTest::registry_ = nullptr;
BuiltImage* BasicAuthTest::image_ = nullptr;

TEST_F(BasicAuthTest, RightPasswordWorks) {
  ASSERT_NE(image_, nullptr);
  RegistryClient client(Options());
  ExpectPullMatches(client, Private(), {.username = "berth", .password = "s3cret-pw"}, *image_);
  absl::StatusOr<Credentials> from_auth =
      Credentials::FromAuth(absl::Base64Escape("berth:s3cret-pw"));
  ASSERT_TRUE(from_auth.ok());
  from_auth->registry = registry_->host();
  EXPECT_TRUE(client.GetManifest(Private(), *from_auth).ok());
}

TEST_F(BasicAuthTest, WrongPasswordIsUnauthenticated) {
  RegistryClient client(Options());
  absl::Status status =
      client.GetManifest(Private(), {.username = "berth", .password = "wrong-pw-xyz"}).status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(absl::StrCat("registry ", registry_->host(), ": authentication required")));
  EXPECT_THAT(status.message(), Not(HasSubstr("wrong-pw-xyz")));
  status = FetchAll(client, Private(), image_->config_digest,
                    {.username = "berth", .password = "wrong-pw-xyz"})
               .status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
}

TEST_F(BasicAuthTest, NoCredentialsIsUnauthenticated) {
  RegistryClient client(Options());
  absl::Status status = client.GetManifest(Private(), {}).status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(registry_->host()));
}

TEST_F(BasicAuthTest, CredentialsAreNotSentToOtherRegistriesOrMirrors) {
  RegistryClient client(Options());
  Credentials good{.username = "berth", .password = "s3cret-pw"};
  // Unbound credentials go to a primary endpoint only.
  EXPECT_TRUE(absl::IsUnauthenticated(client.GetManifest(Private(/*mirror=*/true), good).status()));
  // Bound to another registry: not sent.
  Credentials elsewhere = good;
  elsewhere.registry = "other.example.com";
  EXPECT_TRUE(absl::IsUnauthenticated(client.GetManifest(Private(), elsewhere).status()));
  // Bound to this one: sent, even to it as a mirror.
  Credentials bound = good;
  bound.registry = registry_->host();
  EXPECT_TRUE(client.GetManifest(Private(/*mirror=*/true), bound).ok());
}

// --- bearer tokens, redirects, truncation, retries: an in-process fake registry ---------------

class FakeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
    layer_ = std::string(200000, 'L');
    for (size_t i = 0; i < layer_.size(); i += 7) layer_[i] = static_cast<char>(i);
    nlohmann::json manifest = {{"schemaVersion", 2},
                               {"mediaType", kOciManifestMediaType},
                               {"config",
                                {{"mediaType", kOciConfigMediaType},
                                 {"digest", berth::testing::Sha256Digest(config_)},
                                 {"size", config_.size()}}},
                               {"layers",
                                {{{"mediaType", kOciLayerMediaType},
                                  {"digest", berth::testing::Sha256Digest(layer_)},
                                  {"size", layer_.size()}}}}};
    manifest_ = manifest.dump();
    absl::StatusOr<std::unique_ptr<TokenServer>> server =
        TokenServer::Start([this](const HttpRequestRecord& r) { return Handle(r); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  std::string Challenge() const {
    return absl::StrCat(R"(Bearer realm=")", server_->url(),
                        R"(/token",service="fake-registry",scope="repository:test/app:pull")");
  }

  HttpReply Unauthorized() const {
    return HttpReply{
        .status = 401,
        .headers = {{"WWW-Authenticate", Challenge()}, {"Content-Type", "application/json"}},
        .body = R"({"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]})"};
  }

  HttpReply Token(const HttpRequestRecord& r) {
    if (!absl::StrContains(r.target, "scope=repository%3Atest%2Fapp%3Apull") &&
        !absl::StrContains(r.body, "scope=repository%3Atest%2Fapp%3Apull")) {
      return HttpReply{.status = 400};
    }
    std::string basic = "Basic " + absl::Base64Escape("alice:token-pw");
    if (r.method == "POST" && absl::StrContains(r.body, "grant_type=refresh_token") &&
        absl::StrContains(r.body, "refresh_token=refresh-123")) {
      return HttpReply{.body = R"({"access_token":"tok-refresh","expires_in":300})"};
    }
    if (r.Header("authorization") == basic) {
      return HttpReply{.body = R"({"token":"tok-alice","expires_in":300})"};
    }
    if (r.Header("authorization").empty() && anonymous_allowed_) {
      return HttpReply{.body = R"({"token":"tok-anon"})"};
    }
    return HttpReply{.status = 401};
  }

  HttpReply Handle(const HttpRequestRecord& r) {
    if (r.path == "/token") return Token(r);
    if (absl::StartsWith(r.path, "/storage/")) {
      return HttpReply{.body = layer_};
    }
    if (r.path == "/v2/") return Unauthorized();
    std::string auth = r.Header("authorization");
    bool authorized = auth == "Bearer tok-alice" || auth == "Bearer tok-refresh" ||
                      auth == "Bearer given-token" ||
                      (anonymous_allowed_ && auth == "Bearer tok-anon");
    if (!authorized) return Unauthorized();
    if (r.path == "/v2/test/app/manifests/v1" ||
        r.path == "/v2/test/app/manifests/" + berth::testing::Sha256Digest(manifest_)) {
      return HttpReply{.headers = {{"Content-Type", kOciManifestMediaType}},
                       .body = serve_wrong_manifest_ ? manifest_ + " " : manifest_};
    }
    if (r.path == "/v2/test/app/blobs/" + berth::testing::Sha256Digest(config_)) {
      if (failures_before_success_ > 0) {
        --failures_before_success_;
        return HttpReply{.status = 503};
      }
      return HttpReply{.body = config_};
    }
    if (r.path == "/v2/test/app/blobs/" + berth::testing::Sha256Digest(layer_)) {
      if (truncate_) return HttpReply{.body = layer_.substr(0, 1000), .content_length = 200000};
      // Blob storage on "another host": same server, reached by a different name.
      return HttpReply{.status = 307,
                       .headers = {{"Location", absl::StrCat("http://localhost:", server_->port(),
                                                             "/storage/blob?sig=x")}}};
    }
    if (absl::StrContains(r.path, "/manifests/")) return HttpReply{.status = 404};
    return HttpReply{.status = 404,
                     .body = R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]})"};
  }

  PullEndpoint App(const std::string& ref = "test/app:v1") const {
    return Endpoint(absl::StrCat(server_->host(), "/", ref), /*insecure=*/true);
  }
  int CountPath(const std::string& path) const {
    int n = 0;
    for (const HttpRequestRecord& r : server_->requests()) n += r.path == path;
    return n;
  }

  std::string config_;
  std::string layer_;
  std::string manifest_;
  std::atomic<bool> anonymous_allowed_{false};
  std::atomic<bool> truncate_{false};
  std::atomic<bool> serve_wrong_manifest_{false};
  std::atomic<int> failures_before_success_{0};
  std::unique_ptr<TokenServer> server_;
};

TEST_F(FakeRegistryTest, BearerFlowWithBasicCredentialsAndTokenCache) {
  RegistryClient client(FastOptions());
  Credentials creds{.username = "alice", .password = "token-pw"};
  absl::StatusOr<FetchedManifest> manifest = client.GetManifest(App(), creds);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->bytes, manifest_);
  absl::StatusOr<std::string> config =
      client.FetchBlobToString(App(), berth::testing::Sha256Digest(config_), creds, 1 << 20);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config, config_);
  absl::StatusOr<std::string> layer =
      FetchAll(client, App(), berth::testing::Sha256Digest(layer_), creds, layer_.size());
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(*layer, layer_);

  // One token for all three requests; the password went to the token service only; blob
  // storage on another host got no Authorization.
  EXPECT_EQ(CountPath("/token"), 1);
  for (const HttpRequestRecord& r : server_->requests()) {
    if (r.path == "/token") {
      EXPECT_EQ(r.Header("authorization"), "Basic " + absl::Base64Escape("alice:token-pw"));
    } else if (absl::StartsWith(r.path, "/storage/")) {
      EXPECT_EQ(r.Header("authorization"), "") << r.target;
      EXPECT_EQ(r.Header("host"), absl::StrCat("localhost:", server_->port()));
    } else if (r.path != "/v2/") {
      EXPECT_EQ(r.Header("authorization"), "Bearer tok-alice") << r.target;
    }
  }
  EXPECT_EQ(CountPath("/storage/blob"), 1);
}

TEST_F(FakeRegistryTest, AnonymousToken) {
  anonymous_allowed_ = true;
  RegistryClient client(FastOptions());
  absl::StatusOr<FetchedManifest> manifest = client.GetManifest(App(), {});
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  std::vector<HttpRequestRecord> requests = server_->requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(requests[1].path, "/token");
  EXPECT_EQ(requests[1].Header("authorization"), "");
  EXPECT_THAT(requests[1].query, HasSubstr("service=fake-registry"));
}

TEST_F(FakeRegistryTest, IdentityTokenUsesRefreshGrant) {
  RegistryClient client(FastOptions());
  Credentials creds{.username = "<token>", .identity_token = "refresh-123"};
  ASSERT_TRUE(client.GetManifest(App(), creds).ok());
  std::vector<HttpRequestRecord> requests = server_->requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_THAT(requests[1].body, HasSubstr("grant_type=refresh_token"));
  EXPECT_EQ(requests.back().Header("authorization"), "Bearer tok-refresh");
}

TEST_F(FakeRegistryTest, RegistryTokenIsSentAsIs) {
  RegistryClient client(FastOptions());
  ASSERT_TRUE(client.GetManifest(App(), {.registry_token = "given-token"}).ok());
  EXPECT_EQ(CountPath("/token"), 0);
}

TEST_F(FakeRegistryTest, RefusedTokenIsUnauthenticatedWithoutSecrets) {
  RegistryClient client(FastOptions());
  absl::Status status =
      client.GetManifest(App(), {.username = "alice", .password = "bad-pw-777"}).status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr(server_->host()));
  EXPECT_THAT(status.message(), Not(HasSubstr("bad-pw-777")));
  // Anonymous and refused.
  status = client.GetManifest(App(), {}).status();
  EXPECT_TRUE(absl::IsUnauthenticated(status)) << status;
}

TEST_F(FakeRegistryTest, TruncatedBodyIsDataLoss) {
  truncate_ = true;
  RegistryClient client(FastOptions());
  absl::Status status = FetchAll(client, App(), berth::testing::Sha256Digest(layer_),
                                 {.registry_token = "given-token"})
                            .status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
}

TEST_F(FakeRegistryTest, ManifestDigestMustMatchReference) {
  serve_wrong_manifest_ = true;
  RegistryClient client(FastOptions());
  absl::Status status = client
                            .GetManifest(App("test/app@" + berth::testing::Sha256Digest(manifest_)),
                                         {.registry_token = "given-token"})
                            .status();
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST_F(FakeRegistryTest, RetriesTransientFailuresOnly) {
  RegistryClient client(FastOptions());
  Credentials creds{.registry_token = "given-token"};
  failures_before_success_ = 2;
  absl::StatusOr<std::string> config =
      client.FetchBlobToString(App(), berth::testing::Sha256Digest(config_), creds, 1 << 20);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(CountPath("/v2/test/app/blobs/" + berth::testing::Sha256Digest(config_)), 3);

  failures_before_success_ = 10;
  absl::Status status =
      client.FetchBlobToString(App(), berth::testing::Sha256Digest(config_), creds, 1 << 20)
          .status();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;

  server_->ClearRequests();
  std::string missing = "sha256:" + std::string(64, 'e');
  status = FetchAll(client, App(), missing, creds).status();
  EXPECT_TRUE(absl::IsNotFound(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("BLOB_UNKNOWN"));
  EXPECT_EQ(CountPath("/v2/test/app/blobs/" + missing), 1);
}

TEST_F(FakeRegistryTest, OversizeManifestRefused) {
  RegistryClient::Options options = FastOptions();
  options.max_manifest_bytes = 100;
  RegistryClient client(options);
  absl::Status status = client.GetManifest(App(), {.registry_token = "given-token"}).status();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
}

}  // namespace
}  // namespace berth::image
