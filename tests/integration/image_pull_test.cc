// PullImage through berthd (CRI over gRPC) where the registry client's tests cannot reach:
// TLS trusted through registry_certs_dir, basic auth and the bearer token flow with the
// request's AuthConfig (secrets never in berthd's log), a berthd killed in the middle of a
// pull, and RemoveImage of an image a container uses.

#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/cri_fixture.h"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/pausing_proxy.h"
#include "tests/fixtures/registry.h"
#include "tests/fixtures/token_server.h"

namespace berth::testing {
namespace {

namespace cri = runtime::v1;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUser[] = "berth";
constexpr char kPassword[] = "s3cret-Pw-4417";
constexpr char kWrongPassword[] = "wr0ng-Pw-9923";

// Bytes of regular files under `dir` (0 when it is absent); files may vanish meanwhile.
int64_t FileBytesUnder(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored)) {
      uintmax_t size = it->file_size(ignored);
      if (!ignored) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

// A berthd per test, its registries.conf and [berth.image] keys chosen by the test, and CRI
// image calls. Subclasses provide the registries.
class PullThroughBerthdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void StartDaemon(const std::string& registries_conf, const std::string& image_keys) {
    auto dir = TempDir::Make("berth-pull-conf-");
    ASSERT_TRUE(dir.ok());
    conf_dir_.emplace(std::move(*dir));
    std::string conf = conf_dir_->path() + "/registries.conf";
    ASSERT_TRUE(WriteFileAtomic(conf, registries_conf).ok());
    DaemonOptions options;
    options.extra_config =
        absl::StrCat("[berth.image]\nregistries_conf = \"", conf,
                     "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n", image_keys);
    auto daemon = TestDaemon::Start(options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    client_.emplace(daemon_->Client(absl::Seconds(60)));
  }

  void TearDown() override {
    client_.reset();
    if (daemon_ != nullptr) {
      absl::Status stopped = daemon_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
    }
  }

  // A directory laid out like /etc/containers/certs.d holding `registry`'s CA.
  std::string CertsDirTrusting(const TestRegistry& registry) {
    auto dir = TempDir::Make("berth-certs-d-");
    EXPECT_TRUE(dir.ok());
    certs_dir_.emplace(std::move(*dir));
    std::string host_dir = absl::StrCat(certs_dir_->path(), "/", registry.host());
    EXPECT_TRUE(MakeDirs(host_dir).ok());
    absl::StatusOr<std::string> ca = ReadFile(registry.ca_cert_path());
    EXPECT_TRUE(ca.ok()) << ca.status();
    EXPECT_TRUE(WriteFileAtomic(host_dir + "/ca.crt", ca.value_or("")).ok());
    return certs_dir_->path();
  }

  grpc::Status Pull(const std::string& image, const cri::AuthConfig* auth = nullptr,
                    std::string* ref = nullptr) {
    cri::PullImageRequest request;
    request.mutable_image()->set_image(image);
    if (auth != nullptr) *request.mutable_auth() = *auth;
    cri::PullImageResponse response;
    grpc::Status status = client_->image().PullImage(client_->Context().get(), request, &response);
    if (ref != nullptr) *ref = response.image_ref();
    return status;
  }

  std::optional<cri::Image> Status(const std::string& image) {
    cri::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    cri::ImageStatusResponse response;
    grpc::Status status =
        client_->image().ImageStatus(client_->Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (!response.has_image()) return std::nullopt;
    return response.image();
  }

  int ImageCount() {
    cri::ListImagesResponse response;
    grpc::Status status = client_->image().ListImages(client_->Context().get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.images_size();
  }

  // Nothing of an image in the store: no image, layer, blob, or staging entry.
  void ExpectStoreEmpty() {
    EXPECT_EQ(ImageCount(), 0);
    EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 0) << "a layer stayed behind";
    EXPECT_EQ(CountEntries(daemon_->root() + "/images/blobs/sha256"), 0) << "a blob stayed behind";
    EXPECT_EQ(CountEntries(daemon_->root() + "/tmp"), 0) << "staging stayed behind";
  }

  // berthd's log must hold none of `secrets` (and must hold something, so the check means it).
  void ExpectLogFreeOf(const std::vector<std::string>& secrets) {
    std::string log = daemon_->Log();
    EXPECT_THAT(log, HasSubstr("PullImage")) << "the log at debug level records every RPC";
    for (const std::string& secret : secrets) {
      EXPECT_THAT(log, Not(HasSubstr(secret))) << "a secret reached berthd's log";
    }
  }

  std::optional<TempDir> conf_dir_;
  std::optional<TempDir> certs_dir_;
  std::unique_ptr<TestDaemon> daemon_;
  std::optional<ctl::CriClient> client_;
};

// ---- TLS and basic auth against Debian's docker-registry ----------------------------------------

// Two TLS registries with the same image: one open, one behind htpasswd basic auth.
class RegistryTlsAuthTest : public PullThroughBerthdTest {
 protected:
  static void SetUpTestSuite() {
    PullThroughBerthdTest::SetUpTestSuite();
    auto tls = TestRegistry::Start({.tls = true});
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = tls->release();
    auto auth = TestRegistry::Start({.tls = true, .username = kUser, .password = kPassword});
    ASSERT_TRUE(auth.ok()) << auth.status();
    auth_ = auth->release();
    auto builder = ImageBuilder::Create();
    ASSERT_TRUE(builder.ok()) << builder.status();
    auto spec = BusyboxImage();
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->layers.push_back(LayerSpec{.entries = {LayerEntry::File("etc/tls-auth", "yes\n")}});
    auto built = builder->Build(*spec, "v1");
    ASSERT_TRUE(built.ok()) << built.status();
    image_ = new BuiltImage(*built);
    ASSERT_TRUE(builder->Push("v1", *tls_, "secure/app:v1").ok());
    ASSERT_TRUE(builder->Push("v1", *auth_, "private/app:v1").ok());
  }
  static void TearDownTestSuite() {
    delete image_;
    delete tls_;
    delete auth_;
    image_ = nullptr;
    tls_ = auth_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(image_, nullptr) << "the suite's setup failed"; }

  static std::string TlsName() { return tls_->host() + "/secure/app:v1"; }
  static std::string AuthName() { return auth_->host() + "/private/app:v1"; }

  static TestRegistry* tls_;
  static TestRegistry* auth_;
  static BuiltImage* image_;
};
TestRegistry* RegistryTlsAuthTest::tls_ = nullptr;
TestRegistry* RegistryTlsAuthTest::auth_ = nullptr;
BuiltImage* RegistryTlsAuthTest::image_ = nullptr;

TEST_F(RegistryTlsAuthTest, TlsPullTrustsTheCaInRegistryCertsDir) {
  std::string certs = CertsDirTrusting(*tls_);
  // The registry is not insecure: its certificate must verify.
  ASSERT_NO_FATAL_FAILURE(StartDaemon("", absl::StrCat("registry_certs_dir = \"", certs, "\"\n")));
  std::string ref;
  grpc::Status status = Pull(TlsName(), nullptr, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image_->image_id());
  std::optional<cri::Image> image = Status(TlsName());
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->id(), image_->image_id());
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 2);
}

TEST_F(RegistryTlsAuthTest, TlsPullWithoutTheCaFailsNamingRegistryAndCertificate) {
  auto empty = TempDir::Make("berth-certs-d-empty-");
  ASSERT_TRUE(empty.ok());
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon("", absl::StrCat("registry_certs_dir = \"", empty->path(), "\"\n")));
  grpc::Status status = Pull(TlsName());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("registry ", tls_->host())));
  EXPECT_THAT(status.error_message(), HasSubstr("certificate verification failed"));
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat(empty->path(), "/", tls_->host())))
      << "the message says where the CA would be trusted from";
  ExpectStoreEmpty();
}

TEST_F(RegistryTlsAuthTest, BasicAuthWithTheRightPassword) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon("", absl::StrCat("registry_certs_dir = \"", CertsDirTrusting(*auth_), "\"\n")));
  cri::AuthConfig auth;
  auth.set_username(kUser);
  auth.set_password(kPassword);
  std::string ref;
  grpc::Status status = Pull(AuthName(), &auth, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image_->image_id());
  ASSERT_TRUE(Status(AuthName()).has_value());

  // The same credentials as the base64 `auth` field, bound to the registry by server_address.
  cri::RemoveImageRequest remove;
  remove.mutable_image()->set_image(ref);
  cri::RemoveImageResponse removed;
  ASSERT_TRUE(client_->image().RemoveImage(client_->Context().get(), remove, &removed).ok());
  ExpectStoreEmpty();
  cri::AuthConfig encoded;
  encoded.set_auth(absl::Base64Escape(absl::StrCat(kUser, ":", kPassword)));
  encoded.set_server_address(absl::StrCat("https://", auth_->host()));
  status = Pull(AuthName(), &encoded);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ImageCount(), 1);

  ExpectLogFreeOf({kPassword, absl::Base64Escape(absl::StrCat(kUser, ":", kPassword))});
}

TEST_F(RegistryTlsAuthTest, BasicAuthWithAWrongPasswordStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon("", absl::StrCat("registry_certs_dir = \"", CertsDirTrusting(*auth_), "\"\n")));
  cri::AuthConfig auth;
  auth.set_username(kUser);
  auth.set_password(kWrongPassword);
  grpc::Status status = Pull(AuthName(), &auth);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("registry ", auth_->host())));
  EXPECT_THAT(status.error_message(), HasSubstr("credentials were rejected"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr(kWrongPassword)));
  ExpectStoreEmpty();

  // No credentials at all: refused the same way, saying so.
  status = Pull(AuthName());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("no credentials"));
  ExpectStoreEmpty();
  ExpectLogFreeOf({kWrongPassword, absl::Base64Escape(absl::StrCat(kUser, ":", kWrongPassword))});
}

// ---- the bearer token flow: a registry that wants tokens from its token service ---------------

constexpr char kTokenUser[] = "alice";
constexpr char kTokenPassword[] = "t0ken-Pw-6031";
constexpr char kToken[] = "bearer-tok-3a9f1c77e2";

// A registry (TokenServer on loopback, plain http) that serves one built image as
// "bearer/app:v1" to requests bearing kToken, which its token service at /token issues for
// basic credentials kTokenUser:kTokenPassword and the repository's pull scope.
class BearerRegistryTest : public PullThroughBerthdTest {
 protected:
  void SetUp() override {
    auto builder = ImageBuilder::Create();
    ASSERT_TRUE(builder.ok()) << builder.status();
    auto spec = BusyboxImage();
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->layers.push_back(LayerSpec{.entries = {LayerEntry::File("etc/bearer", "yes\n")}});
    auto built = builder->Build(*spec, "v1");
    ASSERT_TRUE(built.ok()) << built.status();
    image_ = *built;
    std::vector<std::string> digests = image_.layer_digests();
    digests.push_back(image_.config_digest);
    for (const std::string& digest : digests) {
      auto blob = builder->ReadBlob(digest);
      ASSERT_TRUE(blob.ok()) << blob.status();
      blobs_[digest] = *blob;
    }
    auto server = TokenServer::Start([this](const HttpRequestRecord& r) { return Handle(r); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::string Name() const { return server_->host() + "/bearer/app:v1"; }

  HttpReply Unauthorized() const {
    return HttpReply{
        .status = 401,
        .headers = {{"WWW-Authenticate",
                     absl::StrCat("Bearer realm=\"", server_->url(),
                                  "/token\",service=\"berth-test\",scope=\"repository:bearer/"
                                  "app:pull\"")},
                    {"Content-Type", "application/json"}},
        .body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})"};
  }

  HttpReply Handle(const HttpRequestRecord& r) {
    if (r.path == "/token") {
      bool scoped = absl::StrContains(r.query, "scope=repository%3Abearer%2Fapp%3Apull") &&
                    absl::StrContains(r.query, "service=berth-test");
      std::string basic =
          "Basic " + absl::Base64Escape(absl::StrCat(kTokenUser, ":", kTokenPassword));
      if (!scoped || r.Header("authorization") != basic) return HttpReply{.status = 401};
      return HttpReply{.headers = {{"Content-Type", "application/json"}},
                       .body = absl::StrCat(R"({"token":")", kToken, R"(","expires_in":300})")};
    }
    if (r.Header("authorization") != absl::StrCat("Bearer ", kToken)) return Unauthorized();
    const std::string manifests = "/v2/bearer/app/manifests/";
    if (r.path == manifests + "v1" || r.path == manifests + image_.manifest_digest) {
      return HttpReply{.headers = {{"Content-Type", kOciManifestMediaType},
                                   {"Docker-Content-Digest", image_.manifest_digest}},
                       .body = image_.manifest_json};
    }
    const std::string blobs = "/v2/bearer/app/blobs/";
    if (absl::StartsWith(r.path, blobs)) {
      auto it = blobs_.find(r.path.substr(blobs.size()));
      if (it != blobs_.end()) return HttpReply{.body = it->second};
    }
    return HttpReply{.status = 404,
                     .body = R"({"errors":[{"code":"NOT_FOUND","message":"unknown"}]})"};
  }

  void StartInsecureDaemon() {
    StartDaemon(
        absl::StrCat("[[registry]]\nlocation = \"", server_->host(), "\"\ninsecure = true\n"), "");
  }

  BuiltImage image_;
  std::map<std::string, std::string> blobs_;
  std::unique_ptr<TokenServer> server_;
};

TEST_F(BearerRegistryTest, TokenFlowWithBasicCredentials) {
  ASSERT_NO_FATAL_FAILURE(StartInsecureDaemon());
  cri::AuthConfig auth;
  auth.set_username(kTokenUser);
  auth.set_password(kTokenPassword);
  std::string ref;
  grpc::Status status = Pull(Name(), &auth, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image_.image_id());
  ASSERT_TRUE(Status(Name()).has_value());

  // The password went to the token service only; everything else carried the token, fetched
  // once for the whole pull (cached per scope).
  int token_requests = 0, authorized = 0;
  for (const HttpRequestRecord& r : server_->requests()) {
    if (r.path == "/token") {
      ++token_requests;
    } else if (r.path != "/v2/") {
      EXPECT_EQ(r.Header("authorization"), absl::StrCat("Bearer ", kToken)) << r.target;
      ++authorized;
    }
  }
  EXPECT_EQ(token_requests, 1);
  EXPECT_GE(authorized, 2 + static_cast<int>(image_.layers.size())) << "manifest, config, layers";
  ExpectLogFreeOf(
      {kTokenPassword, kToken, absl::Base64Escape(absl::StrCat(kTokenUser, ":", kTokenPassword))});
}

TEST_F(BearerRegistryTest, RefusedTokenIsUnauthenticatedAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(StartInsecureDaemon());
  cri::AuthConfig auth;
  auth.set_username(kTokenUser);
  auth.set_password(kWrongPassword);
  grpc::Status status = Pull(Name(), &auth);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(absl::StrCat("registry ", server_->host())));
  EXPECT_THAT(status.error_message(), Not(HasSubstr(kWrongPassword)));
  ExpectStoreEmpty();
  ExpectLogFreeOf({kWrongPassword});
}

// ---- berthd killed in the middle of a pull ------------------------------------------------------

constexpr int64_t kBigFileBytes = 48 << 20;
constexpr int64_t kPauseAfterBytes = 16 << 20;

// Incompressible, deterministic bytes.
std::string PseudoRandomBytes(size_t size) {
  std::string out(size, '\0');
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < size; i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(state >> (8 * j));
  }
  return out;
}

class PullCrashTest : public PullThroughBerthdTest {};

TEST_F(PullCrashTest, KillMidPullLeavesNothingAndTheNextPullWorks) {
  auto registry = TestRegistry::Start({});
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto builder = ImageBuilder::Create();
  ASSERT_TRUE(builder.ok()) << builder.status();
  auto spec = BusyboxImage();
  ASSERT_TRUE(spec.ok()) << spec.status();
  spec->layers.push_back(
      LayerSpec{.entries = {LayerEntry::File("big.bin", PseudoRandomBytes(kBigFileBytes))},
                .compression = Compression::kNone});
  auto image = builder->Build(*spec, "big");
  ASSERT_TRUE(image.ok()) << image.status();
  ASSERT_TRUE(builder->Push("big", **registry, "test/big:1").ok());
  // berthd reaches the registry through a proxy that stops the transfer at a known byte count.
  auto proxy = PausingProxy::Start((*registry)->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  std::string name = (*proxy)->host() + "/test/big:1";
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      absl::StrCat("[[registry]]\nlocation = \"", (*proxy)->host(), "\"\ninsecure = true\n"), ""));

  (*proxy)->PauseAfter(kPauseAfterBytes);
  grpc::Status interrupted;
  std::thread pull([&] {
    ctl::CriClient client = daemon_->Client(absl::Seconds(120));
    cri::PullImageRequest request;
    request.mutable_image()->set_image(name);
    cri::PullImageResponse response;
    interrupted = client.image().PullImage(client.Context().get(), request, &response);
  });
  // Should an assertion end the test early, the pull must not hang on the held transfer.
  absl::Cleanup finish_pull = [&] {
    (*proxy)->Resume();
    if (pull.joinable()) pull.join();
  };
  // Mid-pull: the proxy holds the rest of the big layer, part of which is unpacked in staging.
  ASSERT_TRUE((*proxy)->WaitUntilHolding(absl::Seconds(60))) << (*proxy)->forwarded();
  std::string tmp = daemon_->root() + "/tmp";
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (FileBytesUnder(tmp) < (4 << 20) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GE(FileBytesUnder(tmp), 4 << 20) << "no partial layer in staging";
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  pull.join();
  EXPECT_FALSE(interrupted.ok()) << "the pull cannot have finished";
  EXPECT_GT(CountEntries(tmp), 0) << "the crash left staging behind, as a real one would";

  // The next start removes what the dead pull left; nothing of the image is listed.
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client(absl::Seconds(120)));
  EXPECT_FALSE(Status(name).has_value());
  ExpectStoreEmpty();

  // A second pull succeeds and the image is whole.
  (*proxy)->Resume();
  std::string ref;
  grpc::Status status = Pull(name, nullptr, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image->image_id());
  std::optional<cri::Image> stored = Status(name);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->id(), image->image_id());
  EXPECT_GE(static_cast<int64_t>(stored->size()), kBigFileBytes);
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 2);
  EXPECT_EQ(CountEntries(tmp), 0);
  int64_t big = -1;
  for (const auto& layer : std::filesystem::directory_iterator(daemon_->root() + "/layers")) {
    std::error_code error;
    uintmax_t size = std::filesystem::file_size(layer.path() / "diff" / "big.bin", error);
    if (!error) big = static_cast<int64_t>(size);
  }
  EXPECT_EQ(big, kBigFileBytes) << "the big file is whole in its layer";
}

// ---- RemoveImage of an image a container uses ---------------------------------------------------

class ImageInUseTest : public CriFixture {
 protected:
  grpc::Status RemoveImage(const std::string& image) {
    cri::RemoveImageRequest request;
    request.mutable_image()->set_image(image);
    cri::RemoveImageResponse response;
    return client().image().RemoveImage(client().Context().get(), request, &response);
  }
  bool Listed(const std::string& image) {
    cri::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    cri::ImageStatusResponse response;
    EXPECT_TRUE(client().image().ImageStatus(client().Context().get(), request, &response).ok());
    return response.has_image();
  }
  // Every RemoveImage form is refused with FailedPrecondition naming `container`.
  void ExpectRefused(const std::vector<std::string>& forms, const std::string& container) {
    for (const std::string& form : forms) {
      grpc::Status status = RemoveImage(form);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << form << ": " << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr(container)) << form;
    }
  }
};

TEST_F(ImageInUseTest, RemoveImageIsRefusedNamingTheContainerUntilItIsRemoved) {
  const BuiltImage& busybox = images().busybox;
  std::string by_tag = images().busybox_name;
  std::vector<std::string> forms = {
      by_tag, busybox.image_id(),
      absl::StrCat(images().registry->host(), "/test/busybox@", busybox.manifest_digest)};
  std::string pod = RunPod("in-use");
  std::string holder = MustRun(pod, Config("holder", {"sleep", "3600"}));
  ExpectRefused(forms, holder);
  EXPECT_TRUE(Listed(by_tag)) << "a refused removal keeps every name";

  // An exited container still holds its image, also after berthd restarts.
  ASSERT_TRUE(StopContainer(holder, 0).ok());
  WaitFor(holder, cri::CONTAINER_EXITED);
  ExpectRefused({busybox.image_id()}, holder);
  client_.reset();
  ASSERT_TRUE(daemon_->Kill().ok());
  ASSERT_TRUE(daemon_->Restart().ok()) << daemon_->Log();
  client_.emplace(daemon_->Client(absl::Seconds(60)));
  ExpectRefused({by_tag}, holder);

  // Once the container is gone the image goes.
  ASSERT_TRUE(RemoveContainer(holder).ok());
  grpc::Status removed = RemoveImage(by_tag);
  EXPECT_TRUE(removed.ok()) << removed.error_message();
  EXPECT_FALSE(Listed(busybox.image_id()));
  EXPECT_TRUE(Listed(images().entrypoint_name)) << "only that image went";
}

}  // namespace
}  // namespace berth::testing
