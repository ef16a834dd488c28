// The ImageService end to end: berthd pulls from a real registry (Debian's docker-registry on
// loopback) images built from busybox, and serves them through the CRI.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"

namespace berth::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class ImageServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    auto registry = TestRegistry::Start(RegistryOptions{});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
    auto builder = ImageBuilder::Create();
    ASSERT_TRUE(builder.ok()) << builder.status();
    builder_.emplace(std::move(*builder));
    auto spec = BusyboxImage();
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->user = "1000";
    spec->layers.push_back(LayerSpec{
        .entries = {LayerEntry::File("etc/hello", "hello\n"), LayerEntry::Whiteout("bin/vi")}});
    auto built = builder_->Build(*spec, "v1");
    ASSERT_TRUE(built.ok()) << built.status();
    image_ = *built;
    ASSERT_TRUE(builder_->Push("v1", *registry_, "test/busybox:1.0").ok());
    name_ = absl::StrCat(registry_->host(), "/test/busybox:1.0");
  }

  // berthd trusting the registry as an insecure (plain http) one, plus `extra_registries`.
  void StartDaemon(const std::string& extra_registries = "") {
    auto dir = TempDir::Make("berth-registries-");
    ASSERT_TRUE(dir.ok());
    conf_dir_.emplace(std::move(*dir));
    std::string conf = conf_dir_->path() + "/registries.conf";
    ASSERT_TRUE(WriteFileAtomic(conf, absl::StrCat("[[registry]]\nlocation = \"", registry_->host(),
                                                   "\"\ninsecure = true\n", extra_registries))
                    .ok());
    DaemonOptions options;
    options.extra_config =
        absl::StrCat("[berth.image]\nregistries_conf = \"", conf,
                     "\"\nregistries_conf_dir = \"\"\nglobal_auth_file = \"\"\n");
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

  grpc::Status Pull(const std::string& image, std::string* ref,
                    const runtime::v1::AuthConfig* auth = nullptr) {
    runtime::v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    if (auth != nullptr) *request.mutable_auth() = *auth;
    runtime::v1::PullImageResponse response;
    grpc::Status status = client_->image().PullImage(client_->Context().get(), request, &response);
    if (ref != nullptr) *ref = response.image_ref();
    return status;
  }

  runtime::v1::ImageStatusResponse Status(const std::string& image, bool verbose = false) {
    runtime::v1::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    request.set_verbose(verbose);
    runtime::v1::ImageStatusResponse response;
    grpc::Status status =
        client_->image().ImageStatus(client_->Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Remove(const std::string& image) {
    runtime::v1::RemoveImageRequest request;
    request.mutable_image()->set_image(image);
    runtime::v1::RemoveImageResponse response;
    return client_->image().RemoveImage(client_->Context().get(), request, &response);
  }

  std::vector<runtime::v1::Image> List(const std::string& filter = "") {
    runtime::v1::ListImagesRequest request;
    if (!filter.empty()) request.mutable_filter()->mutable_image()->set_image(filter);
    runtime::v1::ListImagesResponse response;
    grpc::Status status = client_->image().ListImages(client_->Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.images().begin(), response.images().end()};
  }

  std::unique_ptr<TestRegistry> registry_;
  std::optional<ImageBuilder> builder_;
  BuiltImage image_;
  std::string name_;
  std::optional<TempDir> conf_dir_;
  std::unique_ptr<TestDaemon> daemon_;
  std::optional<ctl::CriClient> client_;
};

TEST_F(ImageServiceTest, PullStatusListRemove) {
  StartDaemon();
  std::string ref;
  grpc::Status status = Pull(name_, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << daemon_->Log();
  EXPECT_EQ(ref, image_.image_id()) << "image_ref must be the config digest";

  runtime::v1::ImageStatusResponse by_tag = Status(name_);
  ASSERT_TRUE(by_tag.has_image());
  EXPECT_EQ(by_tag.image().id(), image_.image_id());
  EXPECT_THAT(by_tag.image().repo_tags(), Contains(name_));
  EXPECT_THAT(by_tag.image().repo_digests(),
              Contains(absl::StrCat(registry_->host(), "/test/busybox@", image_.manifest_digest)));
  EXPECT_GT(by_tag.image().size(), 0u);
  EXPECT_EQ(by_tag.image().uid().value(), 1000);
  EXPECT_EQ(Status(image_.image_id()).image().id(), image_.image_id()) << "lookup by id";
  runtime::v1::ImageStatusResponse verbose = Status(name_, true);
  EXPECT_THAT(verbose.info().at("info"), HasSubstr(image_.manifest_digest));

  // The layers are unpacked, the whiteout is an overlay whiteout.
  std::string layers = daemon_->root() + "/layers";
  EXPECT_EQ(CountEntries(layers), 2);

  // An absent image: an empty answer, not an error.
  EXPECT_FALSE(Status(absl::StrCat(registry_->host(), "/test/absent:1")).has_image());

  std::vector<runtime::v1::Image> all = List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id(), image_.image_id());
  EXPECT_EQ(List(name_).size(), 1u);
  EXPECT_EQ(List(absl::StrCat(registry_->host(), "/test/absent:1")).size(), 0u);

  runtime::v1::ImageFsInfoResponse fs;
  ASSERT_TRUE(client_->image()
                  .ImageFsInfo(client_->Context().get(), runtime::v1::ImageFsInfoRequest(), &fs)
                  .ok());
  ASSERT_EQ(fs.image_filesystems_size(), 1);
  EXPECT_GT(fs.image_filesystems(0).used_bytes().value(), 500u * 1024) << "busybox alone is larger";
  EXPECT_GT(fs.image_filesystems(0).inodes_used().value(), 10u);
  EXPECT_EQ(fs.image_filesystems(0).fs_id().mountpoint(), daemon_->root());
  ASSERT_EQ(fs.container_filesystems_size(), 1);

  // Remove by tag: every name goes, the layers go.
  ASSERT_TRUE(Remove(name_).ok());
  EXPECT_FALSE(Status(image_.image_id()).has_image());
  EXPECT_EQ(CountEntries(layers), 0);
  EXPECT_TRUE(Remove(name_).ok()) << "RemoveImage is idempotent";
}

TEST_F(ImageServiceTest, ImageSurvivesRestartAndRemovesById) {
  StartDaemon();
  ASSERT_TRUE(Pull(name_, nullptr).ok());
  client_.reset();
  ASSERT_TRUE(daemon_->Stop().ok());
  ASSERT_TRUE(daemon_->Restart().ok());
  client_.emplace(daemon_->Client(absl::Seconds(60)));
  ASSERT_EQ(List().size(), 1u);
  ASSERT_TRUE(Remove(image_.image_id()).ok());
  EXPECT_EQ(List().size(), 0u);
}

TEST_F(ImageServiceTest, MirrorFallsBackToThePrimary) {
  // A mirror nobody listens on comes first; the pull still succeeds from the primary.
  StartDaemon("[[registry.mirror]]\nlocation = \"127.0.0.1:1\"\ninsecure = true\n");
  std::string ref;
  grpc::Status status = Pull(name_, &ref);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ref, image_.image_id());
}

TEST_F(ImageServiceTest, CorruptBlobFailsAndLeavesNothing) {
  StartDaemon();
  std::string blob = registry_->BlobPath(image_.layers.back().digest);
  std::string data = *ReadFile(blob);
  data[data.size() / 2] ^= 0x55;
  {
    std::ofstream out(blob, std::ios::binary | std::ios::trunc);
    out << data;
  }
  grpc::Status status = Pull(name_, nullptr);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.error_message(), HasSubstr(image_.layers.back().digest));
  EXPECT_EQ(List().size(), 0u);
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 0) << "no layer may stay behind";
  EXPECT_EQ(CountEntries(daemon_->root() + "/tmp"), 0) << "no staging dir may stay behind";
}

TEST_F(ImageServiceTest, ConcurrentPullsShareTheWork) {
  StartDaemon();
  std::vector<std::string> refs(4);
  std::vector<grpc::Status> statuses(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { statuses[i] = Pull(name_, &refs[i]); });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << statuses[i].error_message();
    EXPECT_EQ(refs[i], image_.image_id());
  }
  EXPECT_EQ(List().size(), 1u);
}

TEST_F(ImageServiceTest, BadInputIsInvalidArgument) {
  StartDaemon();
  grpc::Status status = Pull("", nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  status = Pull("UPPER/Case::bad", nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("UPPER/Case::bad"));
  status = Pull(absl::StrCat(registry_->host(), "/test/absent:1"), nullptr);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
}

TEST_F(ImageServiceTest, BerthctlImageVerbs) {
  StartDaemon();
  auto berthctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BerthctlPath(), "--endpoint", daemon_->endpoint()});
    absl::StatusOr<SpawnResult> result = RunCommand({.argv = args, .timeout = absl::Seconds(60)});
    EXPECT_TRUE(result.ok());
    return result.ok() ? *result : SpawnResult{};
  };
  SpawnResult pulled = berthctl({"pull", name_});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_THAT(pulled.out, HasSubstr(image_.image_id()));
  SpawnResult images = berthctl({"images"});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  EXPECT_THAT(images.out, HasSubstr(registry_->host() + "/test/busybox"));
  EXPECT_THAT(images.out, HasSubstr("1.0"));
  EXPECT_THAT(images.out, HasSubstr(image_.image_id().substr(7, 13)));
  SpawnResult quiet = berthctl({"images", "-q"});
  EXPECT_EQ(quiet.out, image_.image_id() + "\n");
  SpawnResult inspect = berthctl({"inspecti", name_});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_THAT(inspect.out, HasSubstr(image_.manifest_digest));
  SpawnResult fsinfo = berthctl({"imagefsinfo"});
  ASSERT_EQ(fsinfo.exit_code, 0) << fsinfo.err;
  EXPECT_THAT(fsinfo.out, HasSubstr("usedBytes"));
  SpawnResult removed = berthctl({"rmi", name_});
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(berthctl({"images", "-q"}).out, "");
  SpawnResult missing = berthctl({"inspecti", name_});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no such image"));
}

}  // namespace
}  // namespace berth::testing
