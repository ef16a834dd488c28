#include "ctl/container_logs.h"

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"

namespace berth::ctl {
namespace {

// Captures what PrintLogs writes.
class Capture {
 public:
  Capture() : out_(std::tmpfile()), err_(std::tmpfile()) {}
  ~Capture() {
    std::fclose(out_);
    std::fclose(err_);
  }
  LogSink sink() const { return {out_, err_}; }
  std::string out() const { return Read(out_); }
  std::string err() const { return Read(err_); }

 private:
  static std::string Read(std::FILE* file) {
    std::fflush(file);
    std::rewind(file);
    std::string text;
    char buffer[4096];
    while (size_t n = std::fread(buffer, 1, sizeof(buffer), file)) text.append(buffer, n);
    return text;
  }
  std::FILE* out_;
  std::FILE* err_;
};

std::string Line(int second, const char* stream, char tag, const std::string& text) {
  std::string out;
  mon::AppendCriLine(
      absl::FromUnixSeconds(1700000000 + second),
      std::string(stream) == "stderr" ? mon::LogStream::kStderr : mon::LogStream::kStdout,
      tag == 'P', text, &out);
  return out;
}

TEST(ContainerLogsTest, PrintsJoinedLinesPerStreamWithTail) {
  auto dir = TempDir::Make("ctl-logs-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/0.log";
  ASSERT_TRUE(WriteFileAtomic(path, Line(1, "stdout", 'F', "one") + Line(2, "stderr", 'F', "err") +
                                        Line(3, "stdout", 'P', "tw") + Line(4, "stdout", 'F', "o"))
                  .ok());
  Capture all;
  ASSERT_TRUE(PrintLogs(
                  path, {}, [] { return false; }, all.sink())
                  .ok());
  EXPECT_EQ(all.out(), "one\ntwo\n");
  EXPECT_EQ(all.err(), "err\n");

  Capture tail;
  ASSERT_TRUE(PrintLogs(
                  path, {.tail = 1, .timestamps = true}, [] { return false; }, tail.sink())
                  .ok());
  EXPECT_EQ(tail.out(), "2023-11-14T22:13:23.000000000Z two\n");
  EXPECT_EQ(tail.err(), "");
  EXPECT_FALSE(PrintLogs(dir->path() + "/absent.log", {}, [] { return false; }).ok());
}

TEST(ContainerLogsTest, FollowsAcrossRenameUntilExit) {
  auto dir = TempDir::Make("ctl-logs-");
  ASSERT_TRUE(dir.ok());
  std::string path = dir->path() + "/0.log";
  ASSERT_TRUE(WriteFileAtomic(path, Line(1, "stdout", 'F', "first")).ok());
  std::atomic<bool> running{true};
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Appended to the old file, then the kubelet's rotation: rename + a new file.
    FILE* old_file = std::fopen(path.c_str(), "a");
    std::fputs(Line(2, "stdout", 'F', "second").c_str(), old_file);
    std::fclose(old_file);
    std::rename(path.c_str(), (path + ".1").c_str());
    (void)WriteFileAtomic(path, Line(3, "stderr", 'F', "third"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    running = false;
  });
  Capture capture;
  absl::Time start = absl::Now();
  absl::Status status = PrintLogs(
      path, {.follow = true}, [&] { return running.load(); }, capture.sink());
  writer.join();
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(capture.out(), "first\nsecond\n");
  EXPECT_EQ(capture.err(), "third\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

}  // namespace
}  // namespace berth::ctl
