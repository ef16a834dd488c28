#include "conmon/cri_log.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::mon {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class CriLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/cri-log-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/0.log";
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }

  std::vector<std::string> Lines() {
    absl::StatusOr<std::string> text = ReadFile(path_);
    EXPECT_TRUE(text.ok()) << text.status();
    std::vector<std::string> lines = absl::StrSplit(text.value_or(""), '\n');
    EXPECT_EQ(lines.back(), "");
    lines.pop_back();
    return lines;
  }

  std::string dir_;
  std::string path_;
  absl::Time now_ = absl::FromUnixNanos(1475713029669794202);  // 2016-10-06T00:17:09.669794202Z
};

TEST(CriTimestampTest, UtcWithNineDigits) {
  EXPECT_EQ(FormatCriTimestamp(absl::FromUnixNanos(1475713029669794202)),
            "2016-10-06T00:17:09.669794202Z");
  EXPECT_EQ(FormatCriTimestamp(absl::FromUnixSeconds(1475713029)),
            "2016-10-06T00:17:09.000000000Z");
}

TEST_F(CriLogTest, WritesFullAndPartialLines) {
  CriLogWriter writer;
  ASSERT_TRUE(writer.Open(path_).ok());
  ASSERT_TRUE(writer.Append(LogStream::kStdout, "hello\nwor", now_).ok());
  ASSERT_TRUE(writer.Append(LogStream::kStderr, "err\n", now_).ok());
  ASSERT_TRUE(writer.Append(LogStream::kStdout, "ld\n\ntail", now_).ok());
  ASSERT_TRUE(writer.Flush(LogStream::kStdout, now_).ok());
  ASSERT_TRUE(writer.Flush(LogStream::kStderr, now_).ok());  // nothing pending: no line
  EXPECT_THAT(Lines(), ElementsAre("2016-10-06T00:17:09.669794202Z stdout F hello",
                                   "2016-10-06T00:17:09.669794202Z stderr F err",
                                   "2016-10-06T00:17:09.669794202Z stdout F world",
                                   "2016-10-06T00:17:09.669794202Z stdout F ",
                                   "2016-10-06T00:17:09.669794202Z stdout P tail"));
  struct stat info;
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640);
}

TEST_F(CriLogTest, LongLineIsSplitIntoPartialChunks) {
  CriLogWriter writer;
  ASSERT_TRUE(writer.Open(path_).ok());
  std::string line(100 << 10, 'x');
  line[0] = 'a';
  line.back() = 'z';
  // In two reads, as from a pipe.
  ASSERT_TRUE(writer.Append(LogStream::kStdout, line.substr(0, 40000), now_).ok());
  ASSERT_TRUE(writer.Append(LogStream::kStdout, line.substr(40000) + "\n", now_).ok());
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 7u);  // 6 x 16 KiB + 4 KiB
  std::string prefix = "2016-10-06T00:17:09.669794202Z stdout ";
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(lines[i].substr(0, prefix.size() + 2), prefix + "P ") << i;
    EXPECT_EQ(lines[i].size(), prefix.size() + 2 + kMaxCriLineBytes) << i;
  }
  EXPECT_EQ(lines[6].substr(0, prefix.size() + 2), prefix + "F ");
  EXPECT_EQ(lines[6].size(), prefix.size() + 2 + 4096);

  absl::StatusOr<std::string> text = ReadFile(path_);
  ASSERT_TRUE(text.ok());
  absl::StatusOr<std::vector<CriLogEntry>> entries = ParseCriLog(*text);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].content, line);
  EXPECT_FALSE((*entries)[0].partial);
}

TEST_F(CriLogTest, ReopenWritesToTheNewFile) {
  CriLogWriter writer;
  ASSERT_TRUE(writer.Open(path_).ok());
  ASSERT_TRUE(writer.Append(LogStream::kStdout, "one\n", now_).ok());
  ASSERT_EQ(::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  ASSERT_TRUE(writer.Reopen().ok());
  ASSERT_TRUE(writer.Append(LogStream::kStdout, "two\n", now_).ok());
  EXPECT_THAT(Lines(), ElementsAre("2016-10-06T00:17:09.669794202Z stdout F two"));
}

TEST_F(CriLogTest, RefusesASymlinkedLogFile) {
  ASSERT_EQ(::symlink("/etc/passwd", path_.c_str()), 0);
  CriLogWriter writer;
  EXPECT_FALSE(writer.Open(path_).ok());
}

TEST_F(CriLogTest, NoPathMeansNoLog) {
  CriLogWriter writer;
  ASSERT_TRUE(writer.Open("").ok());
  EXPECT_FALSE(writer.is_open());
  EXPECT_TRUE(writer.Append(LogStream::kStdout, "dropped\n", now_).ok());
}

TEST(CriLogParseTest, ParsesOneLine) {
  absl::StatusOr<CriLogEntry> entry =
      ParseCriLogLine("2016-10-06T00:17:09.669794202Z stderr P a b  c");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->time, absl::FromUnixNanos(1475713029669794202));
  EXPECT_EQ(entry->stream, LogStream::kStderr);
  EXPECT_TRUE(entry->partial);
  EXPECT_EQ(entry->content, "a b  c");
}

TEST(CriLogParseTest, AcceptsTrimmedFractionsAndOffsets) {
  // Go's RFC3339Nano (containerd) trims zeros; CRI-O's conmon writes a local offset.
  absl::StatusOr<CriLogEntry> trimmed = ParseCriLogLine("2016-10-06T00:17:09.5Z stdout F x");
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(trimmed->time, absl::FromUnixMillis(1475713029500));
  absl::StatusOr<CriLogEntry> offset =
      ParseCriLogLine("2016-10-06T02:17:09.000000001+02:00 stdout F");
  ASSERT_TRUE(offset.ok()) << offset.status();
  EXPECT_EQ(offset->time, absl::FromUnixNanos(1475713029000000001));
  EXPECT_EQ(offset->content, "");
}

TEST(CriLogParseTest, RejectsMalformedLines) {
  EXPECT_FALSE(ParseCriLogLine("").ok());
  EXPECT_FALSE(ParseCriLogLine("yesterday stdout F x").ok());
  EXPECT_FALSE(ParseCriLogLine("2016-10-06T00:17:09Z stdin F x").ok());
  EXPECT_FALSE(ParseCriLogLine("2016-10-06T00:17:09Z stdout X x").ok());
  absl::StatusOr<std::vector<CriLogEntry>> log =
      ParseCriLog("2016-10-06T00:17:09Z stdout F ok\nbroken\n");
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("line 2"));
}

TEST(CriLogParseTest, JoinsPartialsPerStream) {
  absl::StatusOr<std::vector<CriLogEntry>> log = ParseCriLog(
      "2016-10-06T00:17:09.1Z stdout P hel\n"
      "2016-10-06T00:17:09.2Z stderr F oops\n"
      "2016-10-06T00:17:09.3Z stdout F lo\n"
      "2016-10-06T00:17:09.4Z stderr P unfinished\n");
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].content, "oops");
  EXPECT_EQ((*log)[1].content, "hello");
  EXPECT_EQ((*log)[1].stream, LogStream::kStdout);
  EXPECT_EQ((*log)[1].time, absl::FromUnixMillis(1475713029100));  // the first chunk's
  EXPECT_FALSE((*log)[1].partial);
  EXPECT_EQ((*log)[2].content, "unfinished");
  EXPECT_TRUE((*log)[2].partial);
}

}  // namespace
}  // namespace berth::mon
