#include "image/importer.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/tar_archive.h"

namespace berth::image {
namespace {

using ::testing::ElementsAre;

const char kHex[] = "5f5e1f5a5bb3b8e2fe0bd4bdb4e4dbf4b62fbbd25c0df9e93c8ae0b32cbfc3c8";

TEST(DetectArchiveFormatTest, OciLayoutWinsOverDockerSave) {
  std::map<std::string, int64_t> both = {
      {"oci-layout", 30}, {"index.json", 300}, {"manifest.json", 200}};
  EXPECT_EQ(*DetectArchiveFormat(both), ArchiveFormat::kOciLayout);
}

TEST(DetectArchiveFormatTest, DockerSave) {
  std::map<std::string, int64_t> members = {{"manifest.json", 200}, {"abc/layer.tar", 10}};
  EXPECT_EQ(*DetectArchiveFormat(members), ArchiveFormat::kDockerSave);
}

TEST(DetectArchiveFormatTest, IndexWithoutLayoutIsNeither) {
  std::map<std::string, int64_t> members = {{"index.json", 300}};
  EXPECT_EQ(DetectArchiveFormat(members).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseDockerSaveManifestTest, ParsesEntries) {
  std::string bytes =
      std::string(R"([{"Config":")") + kHex +
      R"(.json","RepoTags":["busybox:latest"],"Layers":["./abc/layer.tar","blobs/sha256/)" + kHex +
      R"("]}])";
  auto images = ParseDockerSaveManifest(bytes);
  ASSERT_TRUE(images.ok()) << images.status();
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ((*images)[0].config, std::string(kHex) + ".json");
  EXPECT_THAT((*images)[0].repo_tags, ElementsAre("busybox:latest"));
  EXPECT_THAT((*images)[0].layers,
              ElementsAre("abc/layer.tar", std::string("blobs/sha256/") + kHex));
}

TEST(ParseDockerSaveManifestTest, NullRepoTagsMeansUntagged) {
  auto images = ParseDockerSaveManifest(R"([{"Config":"c.json","RepoTags":null,"Layers":[]}])");
  ASSERT_TRUE(images.ok()) << images.status();
  EXPECT_TRUE((*images)[0].repo_tags.empty());
}

TEST(ParseDockerSaveManifestTest, RejectsHostileNames) {
  for (const char* doc : {R"([{"Config":"../etc/passwd","Layers":[]}])",
                          R"([{"Config":"c.json","Layers":["/etc/shadow"]}])",
                          R"([{"Config":"c.json","Layers":["a/../../b"]}])",
                          R"([{"Config":"c.json","Layers":[""]}])"}) {
    EXPECT_EQ(ParseDockerSaveManifest(doc).status().code(), absl::StatusCode::kInvalidArgument)
        << doc;
  }
}

TEST(ParseDockerSaveManifestTest, RejectsMalformed) {
  for (const char* doc : {"", "{}", "[]", "[1]", R"([{"Layers":[]}])", R"([{"Config":"c.json"}])",
                          R"([{"Config":"c.json","Layers":[1]}])",
                          R"([{"Config":"c.json","RepoTags":"x","Layers":[]}])"}) {
    EXPECT_EQ(ParseDockerSaveManifest(doc).status().code(), absl::StatusCode::kInvalidArgument)
        << doc;
  }
}

TEST(ConfigDigestFromMemberNameTest, BothSpellings) {
  EXPECT_EQ(*ConfigDigestFromMemberName(std::string(kHex) + ".json"),
            std::string("sha256:") + kHex);
  EXPECT_EQ(*ConfigDigestFromMemberName(std::string("blobs/sha256/") + kHex),
            std::string("sha256:") + kHex);
  EXPECT_FALSE(ConfigDigestFromMemberName("config.json").ok());
  EXPECT_FALSE(ConfigDigestFromMemberName(kHex).ok());
}

TEST(BlobMemberNameTest, FromDigest) {
  EXPECT_EQ(*BlobMemberName(std::string("sha256:") + kHex), std::string("blobs/sha256/") + kHex);
  EXPECT_FALSE(BlobMemberName("sha256:../../x").ok());
}

TEST(CleanMemberNameTest, StripsDotSlashAndRejectsEscapes) {
  EXPECT_EQ(*CleanMemberName("./index.json"), "index.json");
  EXPECT_EQ(*CleanMemberName("blobs/sha256/ab"), "blobs/sha256/ab");
  EXPECT_FALSE(CleanMemberName("/abs").ok());
  EXPECT_FALSE(CleanMemberName("a/../b").ok());
  EXPECT_FALSE(CleanMemberName("a//b").ok());
  EXPECT_FALSE(CleanMemberName("./").ok());
}

}  // namespace
}  // namespace berth::image
