#include "image/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <openssl/sha.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "image/layer_stream.h"

namespace berth::image {
namespace {

using ::testing::HasSubstr;

constexpr time_t kMtime = 1'600'000'000;

struct TarEntry {
  std::string name;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;
  std::string symlink;
  std::string hardlink;
  int64_t uid = 0;
  int64_t gid = 0;
  unsigned rdev_major = 0;
  unsigned rdev_minor = 0;
  long mtime_nsec = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

TarEntry File(std::string name, std::string data) {
  TarEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  return e;
}
TarEntry Dir(std::string name, mode_t perm = 0755) {
  TarEntry e;
  e.name = std::move(name);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
TarEntry Symlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = std::move(target);
  return e;
}
TarEntry Hardlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.hardlink = std::move(target);
  return e;
}

la_ssize_t AppendCallback(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

// A pax tar stream holding `entries`, padded as tar writers do.
std::string BuildTar(const std::vector<TarEntry>& entries) {
  // pax names are UTF-8; libarchive converts through the thread's locale.
  locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  locale_t previous = ::uselocale(utf8);
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax(a);
  archive_write_open(a, &out, nullptr, AppendCallback, nullptr);
  for (const TarEntry& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, t.name.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, t.perm);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, kMtime, t.mtime_nsec);
    if (!t.symlink.empty()) archive_entry_set_symlink(e, t.symlink.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
    archive_entry_set_rdevmajor(e, t.rdev_major);
    archive_entry_set_rdevminor(e, t.rdev_minor);
    for (const auto& [name, value] : t.xattrs) {
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
    }
    bool has_data = t.type == AE_IFREG && t.hardlink.empty();
    archive_entry_set_size(e, has_data ? static_cast<la_int64_t>(t.data.size()) : 0);
    int rc = archive_write_header(a, e);
    const char* error = archive_error_string(a);
    EXPECT_EQ(rc, ARCHIVE_OK) << t.name << ": " << (error != nullptr ? error : "");
    if (has_data && !t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  ::uselocale(previous);
  ::freelocale(utf8);
  return out;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::string Sha256(const std::string& data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  std::string out = "sha256:";
  for (unsigned char c : md) absl::StrAppend(&out, absl::Hex(c, absl::kZeroPad2));
  return out;
}

UniqueFd MemFd(const std::string& data) {
  UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

class LayerUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // /var/tmp: a disk filesystem with trusted xattrs and device nodes (unlike some /tmp).
    absl::StatusOr<TempDir> dir = TempDir::Make("berth-unpack-", "/var/tmp");
    ASSERT_TRUE(dir.ok()) << dir.status();
    base_ = std::make_unique<TempDir>(std::move(*dir));
    root_ = base_->path() + "/root";
    outside_ = base_->path() + "/outside";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(outside_.c_str(), 0755), 0);
  }

  // A fresh empty root, as the layer store gives each unpack.
  void ResetRoot() {
    ASSERT_TRUE(RemoveAll(root_).ok());
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }

  absl::StatusOr<LayerDigests> Unpack(const std::string& blob, const UnpackOptions& options = {}) {
    ResetRoot();
    UniqueFd fd = MemFd(blob);
    return UnpackLayer(fd.get(), root_, options);
  }

  // Unpacks a hostile layer: it must fail with `code` and leave "outside" empty.
  void ExpectRefused(const std::vector<TarEntry>& entries, absl::StatusCode code,
                     const std::string& message_part, const UnpackOptions& options = {}) {
    absl::StatusOr<LayerDigests> result = Unpack(BuildTar(entries), options);
    EXPECT_EQ(result.status().code(), code) << result.status();
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(message_part));
    EXPECT_TRUE(DirEntries(outside_).empty());
    EXPECT_TRUE(DirEntries(base_->path()).size() == 2) << "something created beside the root";
  }

  static std::vector<std::string> DirEntries(const std::string& path) {
    std::vector<std::string> names;
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return names;
    while (struct dirent* e = ::readdir(dir)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        names.push_back(e->d_name);
      }
    }
    ::closedir(dir);
    return names;
  }

  struct stat Lstat(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((root_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }
  bool Exists(const std::string& rel) {
    struct stat st;
    return ::lstat((root_ + "/" + rel).c_str(), &st) == 0;
  }
  std::string Xattr(const std::string& rel, const char* name) {
    char buf[256];
    ssize_t n = ::lgetxattr((root_ + "/" + rel).c_str(), name, buf, sizeof(buf));
    return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
  }

  std::unique_ptr<TempDir> base_;
  std::string root_;
  std::string outside_;
};

std::vector<TarEntry> AllTypes() {
  TarEntry etc = Dir("./etc/", 0750);
  etc.uid = 10;
  etc.gid = 20;
  etc.mtime_nsec = 5000;
  TarEntry passwd = File("./etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  passwd.uid = 1000;
  passwd.gid = 1001;
  passwd.mtime_nsec = 123456789;
  passwd.xattrs = {{"user.comment", "hello"}, {"trusted.berth", "t"}};
  TarEntry su = File("bin/su", "ELF");
  su.perm = 06755;
  TarEntry sticky = Dir("tmp", 01777);
  TarEntry null;
  null.name = "dev/null";
  null.type = AE_IFCHR;
  null.perm = 0666;
  null.rdev_major = 1;
  null.rdev_minor = 3;
  TarEntry loop = null;
  loop.name = "dev/loop0";
  loop.type = AE_IFBLK;
  loop.rdev_major = 7;
  loop.rdev_minor = 0;
  TarEntry fifo;
  fifo.name = "run/fifo";
  fifo.type = AE_IFIFO;
  fifo.perm = 0620;
  TarEntry sh = Symlink("bin/sh", "/bin/busybox");
  sh.uid = 5;
  return {Dir("./"),
          etc,
          passwd,
          su,
          sticky,
          null,
          loop,
          fifo,
          sh,
          Hardlink("bin/su2", "bin/su"),
          File("usr/lib/deep/file", std::string(300000, 'z')),
          File("caf\xc3\xa9/na\xc3\xafve", "utf8")};
}

TEST_F(LayerUnpackTest, UnpacksEveryTypeWithMetadata) {
  std::string tar = BuildTar(AllTypes());
  absl::StatusOr<LayerDigests> digests = Unpack(tar);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(tar));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_EQ(digests->compressed_size, static_cast<int64_t>(tar.size()));
  EXPECT_EQ(digests->uncompressed_size, static_cast<int64_t>(tar.size()));

  struct stat st = Lstat("etc");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_uid, 10u);
  EXPECT_EQ(st.st_gid, 20u);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime);  // set after its contents were written
  EXPECT_EQ(st.st_mtim.tv_nsec, 5000);
  st = Lstat("etc/passwd");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(*ReadFile(root_ + "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(Xattr("etc/passwd", "user.comment"), "hello");
  EXPECT_EQ(Xattr("etc/passwd", "trusted.berth"), "t");
  EXPECT_EQ(Lstat("bin/su").st_mode & 07777, 06755u);
  EXPECT_EQ(Lstat("tmp").st_mode & 07777, 01777u);
  st = Lstat("dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  st = Lstat("dev/loop0");
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 0));
  st = Lstat("run/fifo");
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  st = Lstat("bin/sh");
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_uid, 5u);
  EXPECT_EQ(st.st_mtim.tv_sec, kMtime);
  char target[64] = {};
  ASSERT_GT(::readlink((root_ + "/bin/sh").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_STREQ(target, "/bin/busybox");
  EXPECT_EQ(Lstat("bin/su2").st_ino, Lstat("bin/su").st_ino);
  EXPECT_EQ(Lstat("bin/su").st_nlink, 2u);
  EXPECT_EQ(Lstat("usr/lib/deep/file").st_size, 300000);
  EXPECT_EQ(Lstat("usr/lib").st_mode & 07777, 0755u);
  EXPECT_EQ(*ReadFile(root_ + "/caf\xc3\xa9/na\xc3\xafve"), "utf8");
}

TEST_F(LayerUnpackTest, GzipAndDigests) {
  std::string tar = BuildTar(AllTypes());
  std::string blob = Gzip(tar);
  UnpackOptions options;
  options.expected_digest = Sha256(blob);
  options.expected_diff_id = Sha256(tar);
  absl::StatusOr<LayerDigests> digests = Unpack(blob, options);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(blob));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_EQ(digests->compressed_size, static_cast<int64_t>(blob.size()));
  EXPECT_EQ(digests->uncompressed_size, static_cast<int64_t>(tar.size()));
  EXPECT_EQ(Lstat("usr/lib/deep/file").st_size, 300000);
}

TEST_F(LayerUnpackTest, ConcatenatedGzipMembers) {
  std::string tar = BuildTar(AllTypes());
  std::string blob = Gzip(tar.substr(0, 1000)) + Gzip(tar.substr(1000));
  absl::StatusOr<LayerDigests> digests = Unpack(blob);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(blob));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_EQ(*ReadFile(root_ + "/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(LayerUnpackTest, ZstdAndDigests) {
  std::string tar = BuildTar(AllTypes());
  std::string blob = Zstd(tar);
  absl::StatusOr<LayerDigests> digests = Unpack(blob);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(blob));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_TRUE(S_ISCHR(Lstat("dev/null").st_mode));
}

TEST_F(LayerUnpackTest, ReadsFromAPipe) {
  std::string tar = BuildTar({File("big", std::string(5 << 20, 'b'))});
  std::string blob = Gzip(tar);
  ::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  std::thread writer([&blob, fd = fds[1]] {
    size_t done = 0;
    while (done < blob.size()) {
      ssize_t n = ::write(fd, blob.data() + done, std::min<size_t>(4096, blob.size() - done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  });
  absl::StatusOr<LayerDigests> digests = UnpackLayer(read_end.get(), root_, {});
  read_end.Reset();  // a writer still blocked gets EPIPE
  writer.join();
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(blob));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_EQ(Lstat("big").st_size, 5 << 20);
}

TEST_F(LayerUnpackTest, DigestMismatchIsDataLoss) {
  std::string blob = Gzip(BuildTar({File("a", "x")}));
  UnpackOptions options;
  options.expected_digest = "sha256:" + std::string(64, '0');
  absl::StatusOr<LayerDigests> result = Unpack(blob, options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(options.expected_digest));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(Sha256(blob)));

  UnpackOptions diff_options;
  diff_options.expected_diff_id = "sha256:" + std::string(64, '1');
  EXPECT_EQ(Unpack(blob, diff_options).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(LayerUnpackTest, SourceThatVerifiesTheDigestSkipsOnlyTheBlobHash) {
  std::string tar = BuildTar({File("a", "x")});
  std::string blob = Gzip(tar);
  UnpackOptions options;
  options.source_verifies_digest = true;
  // Left to the source: the unpacker does not hash the blob again and reports the digest given.
  options.expected_digest = "sha256:" + std::string(64, '2');
  options.expected_diff_id = Sha256(tar);
  absl::StatusOr<LayerDigests> digests = Unpack(blob, options);
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, options.expected_digest);
  EXPECT_EQ(digests->diff_id, Sha256(tar));
  EXPECT_EQ(digests->compressed_size, static_cast<int64_t>(blob.size()));
  // The diff id is still checked.
  options.expected_diff_id = "sha256:" + std::string(64, '3');
  EXPECT_EQ(Unpack(blob, options).status().code(), absl::StatusCode::kDataLoss);
  // An uncompressed layer too: its diff id is hashed although the blob hash was left out.
  options.expected_diff_id = Sha256(tar);
  absl::StatusOr<LayerDigests> plain = Unpack(tar, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->digest, options.expected_digest);
  EXPECT_EQ(plain->diff_id, Sha256(tar));
  options.expected_diff_id = "sha256:" + std::string(64, '3');
  EXPECT_EQ(Unpack(tar, options).status().code(), absl::StatusCode::kDataLoss);
  // Without a digest to vouch for there is nothing to skip.
  options.expected_digest.clear();
  EXPECT_EQ(Unpack(blob, options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(LayerUnpackTest, TruncatedOrCorruptCompressionFails) {
  std::string tar = BuildTar({File("a", std::string(100000, 'q')), File("b", "x")});
  std::string gz = Gzip(tar);
  EXPECT_EQ(Unpack(gz.substr(0, gz.size() - 10)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Unpack(gz.substr(0, gz.size() / 2)).status().code(), absl::StatusCode::kDataLoss);
  std::string zst = Zstd(tar);
  EXPECT_EQ(Unpack(zst.substr(0, zst.size() - 3)).status().code(), absl::StatusCode::kDataLoss);
  std::string corrupt = gz;
  corrupt[corrupt.size() / 2] ^= 0x55;
  EXPECT_FALSE(Unpack(corrupt).ok());
  absl::StatusOr<LayerDigests> trailing = Unpack(gz + "garbage");
  EXPECT_EQ(trailing.status().code(), absl::StatusCode::kInvalidArgument) << trailing.status();
  // A truncated plain tar.
  EXPECT_FALSE(Unpack(tar.substr(0, 700)).ok());
}

TEST_F(LayerUnpackTest, EmptyLayers) {
  absl::StatusOr<LayerDigests> empty = Unpack("");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->diff_id, Sha256(""));
  std::string zeros(1024, '\0');
  absl::StatusOr<LayerDigests> blocks = Unpack(Gzip(zeros));
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  EXPECT_EQ(blocks->diff_id, Sha256(zeros));
  EXPECT_TRUE(DirEntries(root_).empty());
}

TEST_F(LayerUnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
  std::vector<TarEntry> entries = {File("a/gone", "x"),     File("a/.wh.gone", ""),
                                   File("a/.wh.lower", ""), File("opq/.wh..wh..opq", ""),
                                   File("opq/kept", "k"),   File(".wh..wh..opq", "")};
  absl::StatusOr<LayerDigests> result = Unpack(BuildTar(entries));
  ASSERT_TRUE(result.ok()) << result.status();
  for (const char* path : {"a/gone", "a/lower"}) {
    struct stat st = Lstat(path);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << path;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << path;
  }
  EXPECT_FALSE(Exists("a/.wh.gone"));
  EXPECT_FALSE(Exists("opq/.wh..wh..opq"));
  EXPECT_EQ(Xattr("opq", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(Xattr("", "trusted.overlay.opaque"), "y");
  EXPECT_TRUE(Exists("opq/kept"));
}

TEST_F(LayerUnpackTest, LaterEntriesReplaceEarlierOnes) {
  std::vector<TarEntry> entries = {
      Symlink("a", "target"), Dir("a"), File("a/f", "1"), File("b", "old"),
      File("b", "new"),       Dir("c"), File("c/x", "x"), File("c", "file now")};
  absl::StatusOr<LayerDigests> result = Unpack(BuildTar(entries));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(S_ISDIR(Lstat("a").st_mode));
  EXPECT_FALSE(Exists("target"));
  EXPECT_EQ(*ReadFile(root_ + "/b"), "new");
  EXPECT_EQ(*ReadFile(root_ + "/c"), "file now");
}

TEST_F(LayerUnpackTest, OverlayXattrsFromTheLayerAreDropped) {
  TarEntry d = Dir("d");
  d.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"trusted.overlay.opaque", "y"}};
  ASSERT_TRUE(Unpack(BuildTar({d})).ok());
  EXPECT_EQ(Xattr("d", "trusted.overlay.opaque"), "<none>");
  EXPECT_EQ(Xattr("d", "trusted.overlay.redirect"), "<none>");
}

TEST_F(LayerUnpackTest, DigestStreamMatchesUnpack) {
  std::string tar = BuildTar(AllTypes());
  std::string blob = Zstd(tar);
  UniqueFd fd = MemFd(blob);
  absl::StatusOr<LayerDigests> digests = DigestStream(fd.get());
  ASSERT_TRUE(digests.ok()) << digests.status();
  EXPECT_EQ(digests->digest, Sha256(blob));
  EXPECT_EQ(digests->diff_id, Sha256(tar));
}

// Hostile layers: each is refused and nothing appears outside the root.

TEST_F(LayerUnpackTest, RefusesDotDot) {
  ExpectRefused({File("../etc/passwd", "x")}, absl::StatusCode::kInvalidArgument,
                "layer entry \"../etc/passwd\": path escapes the layer root");
  ExpectRefused({File("a/../../outside/x", "x")}, absl::StatusCode::kInvalidArgument, "escapes");
}

TEST_F(LayerUnpackTest, RefusesAbsoluteNames) {
  ExpectRefused({File(outside_ + "/x", "x")}, absl::StatusCode::kInvalidArgument, "absolute path");
}

TEST_F(LayerUnpackTest, RefusesWritesThroughSymlinks) {
  ExpectRefused({Symlink("a", outside_), File("a/file", "x")}, absl::StatusCode::kInvalidArgument,
                "symbolic link");
  ExpectRefused({Symlink("b", "../../outside"), File("b/file", "x")},
                absl::StatusCode::kInvalidArgument, "symbolic link");
  ExpectRefused({Symlink("c", "../../outside"), Dir("c/sub")}, absl::StatusCode::kInvalidArgument,
                "symbolic link");
  ExpectRefused(
      {Symlink("x", "y"), Symlink("y", "z"), Symlink("z", "../../outside"), File("x/file", "x")},
      absl::StatusCode::kInvalidArgument, "symbolic link");
}

TEST_F(LayerUnpackTest, RefusesADirectoryReplacedBySymlink) {
  ExpectRefused({Dir("d"), Symlink("d", "../../outside"), File("d/file", "x")},
                absl::StatusCode::kInvalidArgument, "may not replace a directory");
}

TEST_F(LayerUnpackTest, RefusesEscapingHardLinks) {
  struct stat before;
  ASSERT_EQ(::stat("/etc/passwd", &before), 0);
  ExpectRefused({Hardlink("p", "/etc/passwd")}, absl::StatusCode::kInvalidArgument,
                "absolute path");
  ExpectRefused({Hardlink("p", "../outside/x")}, absl::StatusCode::kInvalidArgument, "escapes");
  ExpectRefused({Hardlink("p", "missing")}, absl::StatusCode::kInvalidArgument, "does not exist");
  ExpectRefused({Dir("d"), Hardlink("p", "d")}, absl::StatusCode::kInvalidArgument,
                "is a directory");
  ExpectRefused({Symlink("l", "/etc"), Hardlink("p", "l/passwd")},
                absl::StatusCode::kInvalidArgument, "symbolic link");
  struct stat after;
  ASSERT_EQ(::stat("/etc/passwd", &after), 0);
  EXPECT_EQ(before.st_nlink, after.st_nlink);
}

TEST_F(LayerUnpackTest, RefusesBogusWhiteouts) {
  ExpectRefused({File("a/.wh..wh.bogus", "")}, absl::StatusCode::kInvalidArgument,
                "unknown whiteout");
  ExpectRefused({File("a/.wh...", "")}, absl::StatusCode::kInvalidArgument, "invalid whiteout");
}

TEST_F(LayerUnpackTest, RefusesOversizedHeaders) {
  UnpackOptions options;
  options.max_header_bytes = 4096;
  ExpectRefused({File(std::string(300, 'n') + "/" + std::string(5000, 'n'), "x")},
                absl::StatusCode::kInvalidArgument, "exceeds the limit", options);
  TarEntry big = File("big-xattr", "x");
  big.xattrs = {{"user.big", std::string(3 << 19, 'v')}};  // a 1.5 MiB pax header
  ExpectRefused({big}, absl::StatusCode::kInvalidArgument, "malformed tar stream");
}

TEST_F(LayerUnpackTest, RefusesTooManyEntriesAndTooManyBytes) {
  UnpackOptions options;
  options.max_entries = 3;
  ExpectRefused({File("1", ""), File("2", ""), File("3", ""), File("4", "")},
                absl::StatusCode::kResourceExhausted, "entries", options);
  UnpackOptions bytes;
  bytes.max_uncompressed_bytes = 64 * 1024;
  absl::StatusOr<LayerDigests> result =
      Unpack(Gzip(BuildTar({File("bomb", std::string(1 << 20, '\0'))})), bytes);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted) << result.status();
}

TEST_F(LayerUnpackTest, RefusesInvalidOwners) {
  TarEntry e = File("f", "x");
  e.uid = 0xffffffffLL;
  ExpectRefused({e}, absl::StatusCode::kInvalidArgument, "invalid owner");
}

}  // namespace
}  // namespace berth::image
