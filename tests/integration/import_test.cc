// berthctl import end to end: OCI layout and docker save archives built from busybox are
// streamed to berthd over berth.admin.v1 and then served through the CRI.
#include <dirent.h>
#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fixtures/daemon.h"
#include "tests/fixtures/image_builder.h"

namespace berth::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class ImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    auto builder = ImageBuilder::Create();
    ASSERT_TRUE(builder.ok()) << builder.status();
    builder_.emplace(std::move(*builder));
    auto spec = BusyboxImage();
    ASSERT_TRUE(spec.ok()) << spec.status();
    spec->layers.push_back(LayerSpec{.entries = {LayerEntry::File("etc/hello", "hello\n")}});
    auto built = builder_->Build(*spec, "v1");
    ASSERT_TRUE(built.ok()) << built.status();
    image_ = *built;
    auto dir = TempDir::Make("berth-import-");
    ASSERT_TRUE(dir.ok());
    dir_.emplace(std::move(*dir));
    auto daemon = TestDaemon::Start();
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

  SpawnResult Berthctl(std::vector<std::string> args) {
    args.insert(args.begin(), {BerthctlPath(), "--endpoint", daemon_->endpoint()});
    absl::StatusOr<SpawnResult> result = RunCommand({.argv = args, .timeout = absl::Seconds(120)});
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SpawnResult{};
  }

  runtime::v1::ImageStatusResponse Status(const std::string& image) {
    runtime::v1::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    runtime::v1::ImageStatusResponse response;
    grpc::Status status =
        client_->image().ImageStatus(client_->Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  std::vector<runtime::v1::Image> List() {
    runtime::v1::ListImagesRequest request;
    runtime::v1::ListImagesResponse response;
    grpc::Status status = client_->image().ListImages(client_->Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.images().begin(), response.images().end()};
  }

  std::optional<ImageBuilder> builder_;
  BuiltImage image_;
  std::optional<TempDir> dir_;
  std::unique_ptr<TestDaemon> daemon_;
  std::optional<ctl::CriClient> client_;
};

TEST_F(ImportTest, OciArchiveWithTag) {
  std::string archive = dir_->path() + "/image.oci.tar";
  ASSERT_TRUE(builder_->ExportOciArchive("v1", archive).ok());
  SpawnResult imported = Berthctl({"import", archive, "--tag", "example.com/test/busybox:oci"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.out, HasSubstr(image_.image_id()));
  EXPECT_THAT(imported.out, HasSubstr("example.com/test/busybox:oci"));
  runtime::v1::ImageStatusResponse status = Status("example.com/test/busybox:oci");
  EXPECT_EQ(status.image().id(), image_.image_id());
  EXPECT_THAT(status.image().repo_digests(),
              Contains(absl::StrCat("example.com/test/busybox@", image_.manifest_digest)));
  std::vector<runtime::v1::Image> images = List();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].id(), image_.image_id());
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 2);
  // The received archive is gone.
  EXPECT_EQ(CountEntries(daemon_->root() + "/tmp"), 0);
  // Importing again is idempotent.
  imported = Berthctl({"import", archive, "--tag", "example.com/test/busybox:oci"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(List().size(), 1u);
}

TEST_F(ImportTest, OciArchiveWithBareTagNeedsTagFlagForAName) {
  std::string archive = dir_->path() + "/image.oci.tar";
  ASSERT_TRUE(builder_->ExportOciArchive("v1", archive).ok());
  SpawnResult imported = Berthctl({"import", archive});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(Status(image_.image_id()).image().id(), image_.image_id());
}

TEST_F(ImportTest, DockerSaveArchive) {
  std::string archive = dir_->path() + "/image.docker.tar";
  ASSERT_TRUE(builder_->ExportDockerArchive("v1", archive, "busybox:latest").ok());
  SpawnResult imported = Berthctl({"import", archive, "--tag", "example.com/extra:1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_THAT(imported.out, HasSubstr("docker.io/library/busybox:latest"));
  runtime::v1::ImageStatusResponse status = Status("busybox:latest");
  EXPECT_EQ(status.image().id(), image_.image_id());
  EXPECT_THAT(status.image().repo_tags(), Contains("docker.io/library/busybox:latest"));
  EXPECT_THAT(status.image().repo_tags(), Contains("example.com/extra:1"));
  EXPECT_EQ(Status("example.com/extra:1").image().id(), image_.image_id());
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 2);
}

TEST_F(ImportTest, CorruptedLayerFailsAndLeavesNothing) {
  std::string archive = dir_->path() + "/image.oci.tar";
  ASSERT_TRUE(builder_->ExportOciArchive("v1", archive).ok());
  auto bytes = ReadFile(archive, 256 << 20);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  // Flip a byte in the middle of the last layer's blob: the base layer commits first and
  // must be discarded when the second fails.
  auto blob = builder_->ReadBlob(image_.layers.back().digest);
  ASSERT_TRUE(blob.ok()) << blob.status();
  ASSERT_GT(blob->size(), 64u);
  size_t at = bytes->find(*blob);
  ASSERT_NE(at, std::string::npos);
  (*bytes)[at + blob->size() / 2] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomic(archive, *bytes).ok());
  SpawnResult imported = Berthctl({"import", archive, "--tag", "example.com/bad:1"});
  EXPECT_NE(imported.exit_code, 0);
  EXPECT_THAT(imported.err, HasSubstr("ImportImage"));
  EXPECT_TRUE(List().empty());
  EXPECT_EQ(CountEntries(daemon_->root() + "/layers"), 0);
  EXPECT_EQ(CountEntries(daemon_->root() + "/tmp"), 0);
}

TEST_F(ImportTest, NotAnArchive) {
  std::string path = dir_->path() + "/junk";
  ASSERT_TRUE(WriteFileAtomic(path, "this is not a tar").ok());
  SpawnResult imported = Berthctl({"import", path});
  EXPECT_NE(imported.exit_code, 0);
  EXPECT_TRUE(List().empty());
}

}  // namespace
}  // namespace berth::testing
