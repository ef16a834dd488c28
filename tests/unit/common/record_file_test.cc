#include "common/record_file.h"

#include <dirent.h>

#include <optional>
#include <set>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

bool AnyText(const std::string& data) { return !data.empty(); }

class RecordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("record-file-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
  std::set<std::string> Entries() const {
    std::set<std::string> names;
    DIR* stream = ::opendir(dir_->path().c_str());
    while (const dirent* entry = ::readdir(stream)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.insert(name);
    }
    ::closedir(stream);
    return names;
  }
  std::optional<TempDir> dir_;
};

TEST_F(RecordFileTest, EachWriteIsANewVersionAndOnlyTheNewestStays) {
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "one").ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pb.1"}));
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "two").ok());
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "three").ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pb.3"}));
  absl::StatusOr<std::string> data = ReadRecordFile(Path("state.pb"), AnyText);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "three");
}

TEST_F(RecordFileTest, OtherFilesOfTheDirectoryAreLeftAlone) {
  ASSERT_TRUE(WriteFileAtomic(Path("state.pbx"), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.json"), "x").ok());
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "one").ok());
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "two").ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pbx", "state.pb.json", "state.pb.2"}));
}

TEST_F(RecordFileTest, AnInvalidNewestVersionFallsBackToTheOlderOne) {
  // What a berthd killed between the rename and the unlink, or a power loss, leaves.
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.4"), "good").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.5"), "").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.6.tmp"), "half").ok());
  absl::StatusOr<std::string> data = ReadRecordFile(Path("state.pb"), AnyText);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(*data, "good");
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pb.4"}));
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "next").ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pb.5"}));
}

TEST_F(RecordFileTest, TheNewestOfTwoCompleteVersionsWins) {
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.9"), "older").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.10"), "newer").ok());
  absl::StatusOr<std::string> data = ReadRecordFile(Path("state.pb"), AnyText);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "newer");
}

TEST_F(RecordFileTest, APlainRecordFromAnEarlierBerthdIsVersionZero) {
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb"), "legacy").ok());
  absl::StatusOr<std::string> data = ReadRecordFile(Path("state.pb"), AnyText);
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "legacy");
  ASSERT_TRUE(WriteRecordFile(Path("state.pb"), "new").ok());
  EXPECT_EQ(Entries(), (std::set<std::string>{"state.pb.1"}));
}

TEST_F(RecordFileTest, NothingValidIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(ReadRecordFile(Path("state.pb"), AnyText).status()));
  ASSERT_TRUE(WriteFileAtomic(Path("state.pb.1"), "").ok());
  EXPECT_TRUE(absl::IsNotFound(ReadRecordFile(Path("state.pb"), AnyText).status()));
}

TEST_F(RecordFileTest, AMissingDirectoryIsAnErrorNotACrash) {
  EXPECT_FALSE(WriteRecordFile(Path("gone/state.pb"), "x").ok());
}

}  // namespace
}  // namespace berth
