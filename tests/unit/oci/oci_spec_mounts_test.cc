// Mounts (propagation, readonly, recursive_read_only, refused container paths, extra options),
// the image's Volumes, PID namespace modes, sysctls and the mountinfo parser.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/mountinfo.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using runtime::v1::MountPropagation;

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// ---- mountinfo ----

constexpr char kMountInfo[] =
    "22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw\n"
    "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 27 0:40 / /mnt/private rw,relatime - tmpfs tmpfs rw\n"
    "41 27 0:41 / /mnt/slave rw,relatime master:7 - tmpfs tmpfs rw\n"
    "42 27 0:42 / /mnt/both rw shared:9 master:7 propagate_from:3 - tmpfs tmpfs rw,size=4k\n"
    "43 27 0:43 /sub /mnt/with\\040space rw shared:10 - tmpfs my\\134src rw\n"
    "44 40 0:44 / /mnt/private/shared rw shared:11 - tmpfs tmpfs rw\n"
    "45 40 0:45 / /mnt/private/shared ro master:11 - tmpfs tmpfs ro\n"
    "46 27 0:46 / /mnt/privatex rw shared:12 - tmpfs tmpfs rw\n";

TEST(MountInfoTest, ParsesFieldsAndEscapes) {
  absl::StatusOr<std::vector<MountInfo>> mounts = ParseMountInfo(kMountInfo);
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 9u);
  const MountInfo& both = (*mounts)[4];
  EXPECT_EQ(both.id, 42);
  EXPECT_EQ(both.parent_id, 27);
  EXPECT_EQ(both.device, "0:42");
  EXPECT_EQ(both.mount_point, "/mnt/both");
  EXPECT_EQ(both.mount_options, "rw");
  EXPECT_THAT(both.optional_fields, ElementsAre("shared:9", "master:7", "propagate_from:3"));
  EXPECT_EQ(both.fs_type, "tmpfs");
  EXPECT_EQ(both.source, "tmpfs");
  EXPECT_EQ(both.super_options, "rw,size=4k");
  const MountInfo& spaced = (*mounts)[5];
  EXPECT_EQ(spaced.root, "/sub");
  EXPECT_EQ(spaced.mount_point, "/mnt/with space");
  EXPECT_EQ(spaced.source, "my\\src");
}

struct PropagationNameCase {
  int index;
  bool shared, slave;
  const char* name;
};

TEST(MountInfoTest, PropagationFlags) {
  absl::StatusOr<std::vector<MountInfo>> mounts = ParseMountInfo(kMountInfo);
  ASSERT_TRUE(mounts.ok());
  const PropagationNameCase cases[] = {
      {1, true, false, "shared"},
      {2, false, false, "private"},
      {3, false, true, "slave"},
      {4, true, true, "shared+slave"},
  };
  for (const PropagationNameCase& c : cases) {
    const MountInfo& info = (*mounts)[c.index];
    EXPECT_EQ(info.shared(), c.shared) << info.mount_point;
    EXPECT_EQ(info.slave(), c.slave) << info.mount_point;
    EXPECT_EQ(info.PropagationName(), c.name) << info.mount_point;
  }
}

TEST(MountInfoTest, RejectsMalformedLines) {
  for (const char* bad : {
           "22 27 0:21 / /proc rw\n",                  // no separator, no fs type
           "x 27 0:21 / /proc rw - proc proc rw\n",    // id not a number
           "22 27 0:21 / proc rw - proc proc rw\n",    // relative mount point
           "22 27 0:21 / /proc rw shared:1 - proc\n",  // fs type but no source
       }) {
    absl::StatusOr<std::vector<MountInfo>> mounts = ParseMountInfo(bad);
    EXPECT_EQ(mounts.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(mounts.status().message()), HasSubstr("line 1")) << bad;
  }
  EXPECT_TRUE(ParseMountInfo("").ok());
  EXPECT_TRUE(ParseMountInfo("22 27 0:21 / /proc rw - proc proc\n").ok());  // no super options
}

struct FindCase {
  const char* path;
  int want_id;  // 0: none
};

TEST(MountInfoTest, FindMountByPathTakesLongestAncestorAndTopOfStack) {
  absl::StatusOr<std::vector<MountInfo>> mounts = ParseMountInfo(kMountInfo);
  ASSERT_TRUE(mounts.ok());
  const FindCase cases[] = {
      {"/", 27},
      {"/etc/passwd", 27},
      {"/proc", 22},
      {"/proc/self/status", 22},
      {"/mnt/private", 40},
      {"/mnt/private/a/b", 40},
      {"/mnt/privatex/a", 46},        // not under /mnt/private: a name prefix is no ancestor
      {"/mnt/private/shared/x", 45},  // stacked: the last line is on top
      {"/mnt/with space/f", 43},
      {"/mnt/slave", 41},
  };
  for (const FindCase& c : cases) {
    const MountInfo* found = FindMountByPath(*mounts, c.path);
    ASSERT_NE(found, nullptr) << c.path;
    EXPECT_EQ(found->id, c.want_id) << c.path;
  }
  absl::StatusOr<std::vector<MountInfo>> no_root =
      ParseMountInfo("40 27 0:40 / /mnt rw - tmpfs tmpfs rw\n");
  ASSERT_TRUE(no_root.ok());
  EXPECT_EQ(FindMountByPath(*no_root, "/etc"), nullptr);
}

TEST(MountInfoTest, MountContainingOnThisHost) {
  absl::StatusOr<MountInfo> root = MountContaining("/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->mount_point, "/");
  absl::StatusOr<MountInfo> proc = MountContaining("/proc/self");
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_EQ(proc->fs_type, "proc");
  EXPECT_EQ(MountContaining("/no/such/path/here").status().code(), absl::StatusCode::kNotFound);
}

TEST(MountInfoTest, TestOverrideAnswersByPath) {
  SetMountInfoForTesting(kMountInfo);
  absl::StatusOr<MountInfo> info = MountContaining("/mnt/slave/x");
  SetMountInfoForTesting(std::nullopt);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, 41);
}

// ---- the spec ----

class MountsSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("oci-mounts-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
    rootfs_ = dir_->path() + "/rootfs";
    host_ = dir_->path() + "/host";
    ASSERT_TRUE(MakeDirs(rootfs_ + "/etc").ok());
    ASSERT_TRUE(MakeDirs(host_ + "/vol").ok());
    config_.mutable_metadata()->set_name("app");
    sandbox_config_.mutable_metadata()->set_name("pod-a");
    sandbox_config_.mutable_metadata()->set_namespace_("ns-a");
    sandbox_config_.mutable_metadata()->set_uid("uid-a");
    input_.config = &config_;
    input_.sandbox_config = &sandbox_config_;
    input_.container_id = "c1";
    input_.container_name = "app";
    input_.rootfs = rootfs_;
    input_.image.cmd = {"/bin/sh"};
    input_.sandbox.pod_id = "p1";
    input_.host_security = HostSecurity{};
  }

  void TearDown() override { SetMountInfoForTesting(std::nullopt); }

  // A host table where the temp dir is on a mount with `propagation` ("shared:3", "master:3",
  // "shared:3 master:4" or "").
  void FakeHostMount(const std::string& propagation) {
    std::string escaped = absl::StrReplaceAll(dir_->path(), {{" ", "\\040"}});
    SetMountInfoForTesting(absl::StrCat("1 0 8:1 / / rw - ext4 /dev/sda rw\n", "2 1 0:50 / ",
                                        escaped, " rw ", propagation, " - tmpfs tmpfs rw\n"));
  }

  void Privileged() {
    config_.mutable_linux()->mutable_security_context()->set_privileged(true);
    sandbox_config_.mutable_linux()->mutable_security_context()->set_privileged(true);
  }

  runtime::v1::Mount* AddMount(const std::string& container_path, const std::string& host) {
    runtime::v1::Mount* m = config_.add_mounts();
    m->set_container_path(container_path);
    m->set_host_path(host);
    return m;
  }

  Json Build() {
    absl::StatusOr<Json> spec = BuildSpec(input_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *spec : Json::object();
  }

  static const Json* Find(const Json& spec, const std::string& destination) {
    if (!spec.contains("mounts")) return nullptr;
    for (const Json& m : spec["mounts"]) {
      if (m["destination"] == destination) return &m;
    }
    return nullptr;
  }

  static std::vector<std::string> Options(const Json* mount) {
    return mount == nullptr ? std::vector<std::string>{}
                            : (*mount)["options"].get<std::vector<std::string>>();
  }

  std::optional<TempDir> dir_;
  std::string rootfs_, host_;
  runtime::v1::ContainerConfig config_;
  runtime::v1::PodSandboxConfig sandbox_config_;
  SpecInput input_;
};

// ---- propagation ----

struct PropagationCase {
  const char* name;
  MountPropagation propagation;
  const char* host_mount;  // optional fields of the host mount holding the host path
  bool privileged;
  bool readonly;
  absl::StatusCode want_code;
  std::vector<std::string> want_options;
  const char* want_rootfs_propagation;  // nullptr: unset
};

class PropagationTest : public MountsSpecTest,
                        public ::testing::WithParamInterface<PropagationCase> {};

TEST_P(PropagationTest, OptionsAndHostChecks) {
  const PropagationCase& c = GetParam();
  FakeHostMount(c.host_mount);
  if (c.privileged) Privileged();
  runtime::v1::Mount* m = AddMount("/data", host_ + "/vol");
  m->set_propagation(c.propagation);
  m->set_readonly(c.readonly);
  absl::StatusOr<Json> spec = BuildSpec(input_);
  ASSERT_EQ(spec.status().code(), c.want_code) << spec.status();
  if (!spec.ok()) {
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr("/data"));
    return;
  }
  const Json* mount = Find(*spec, "/data");
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ((*mount)["source"], host_ + "/vol");
  EXPECT_EQ((*mount)["type"], "bind");
  EXPECT_EQ(Options(mount), c.want_options);
  if (c.want_rootfs_propagation == nullptr) {
    EXPECT_FALSE((*spec)["linux"].contains("rootfsPropagation"));
  } else {
    EXPECT_EQ((*spec)["linux"]["rootfsPropagation"], c.want_rootfs_propagation);
  }
}

using runtime::v1::PROPAGATION_BIDIRECTIONAL;
using runtime::v1::PROPAGATION_HOST_TO_CONTAINER;
using runtime::v1::PROPAGATION_PRIVATE;
constexpr absl::StatusCode kOk = absl::StatusCode::kOk;
constexpr absl::StatusCode kPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

INSTANTIATE_TEST_SUITE_P(Table, PropagationTest,
                         ::testing::Values(PropagationCase{"private_rw",
                                                           PROPAGATION_PRIVATE,
                                                           "",
                                                           false,
                                                           false,
                                                           kOk,
                                                           {"rbind", "rprivate", "rw"},
                                                           nullptr},
                                           PropagationCase{"private_ro",
                                                           PROPAGATION_PRIVATE,
                                                           "shared:3",
                                                           false,
                                                           true,
                                                           kOk,
                                                           {"rbind", "rprivate", "ro"},
                                                           nullptr},
                                           PropagationCase{"h2c_on_shared",
                                                           PROPAGATION_HOST_TO_CONTAINER,
                                                           "shared:3",
                                                           false,
                                                           true,
                                                           kOk,
                                                           {"rbind", "rslave", "ro"},
                                                           "rslave"},
                                           PropagationCase{"h2c_on_slave",
                                                           PROPAGATION_HOST_TO_CONTAINER,
                                                           "master:3",
                                                           false,
                                                           false,
                                                           kOk,
                                                           {"rbind", "rslave", "rw"},
                                                           "rslave"},
                                           PropagationCase{"h2c_on_private",
                                                           PROPAGATION_HOST_TO_CONTAINER,
                                                           "",
                                                           false,
                                                           false,
                                                           kPrecondition,
                                                           {},
                                                           nullptr},
                                           PropagationCase{"bidi_on_shared",
                                                           PROPAGATION_BIDIRECTIONAL,
                                                           "shared:3",
                                                           true,
                                                           false,
                                                           kOk,
                                                           {"rbind", "rshared", "rw"},
                                                           "rshared"},
                                           PropagationCase{"bidi_on_shared_slave",
                                                           PROPAGATION_BIDIRECTIONAL,
                                                           "shared:3 master:4",
                                                           true,
                                                           false,
                                                           kOk,
                                                           {"rbind", "rshared", "rw"},
                                                           "rshared"},
                                           PropagationCase{"bidi_on_slave",
                                                           PROPAGATION_BIDIRECTIONAL,
                                                           "master:3",
                                                           true,
                                                           false,
                                                           kPrecondition,
                                                           {},
                                                           nullptr},
                                           PropagationCase{"bidi_on_private",
                                                           PROPAGATION_BIDIRECTIONAL,
                                                           "",
                                                           true,
                                                           false,
                                                           kPrecondition,
                                                           {},
                                                           nullptr},
                                           PropagationCase{"bidi_unprivileged",
                                                           PROPAGATION_BIDIRECTIONAL,
                                                           "shared:3",
                                                           false,
                                                           false,
                                                           kInvalid,
                                                           {},
                                                           nullptr}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(MountsSpecTest, WrongHostPropagationNamesTheHostMount) {
  FakeHostMount("");
  AddMount("/data", host_ + "/vol")->set_propagation(PROPAGATION_HOST_TO_CONTAINER);
  absl::Status status = BuildSpec(input_).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr(dir_->path() + " is private"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("--make-rshared"));
}

TEST_F(MountsSpecTest, BidirectionalWinsRootfsPropagationOverHostToContainer) {
  FakeHostMount("shared:3");
  Privileged();
  ASSERT_TRUE(MakeDirs(host_ + "/other").ok());
  AddMount("/a", host_ + "/vol")->set_propagation(PROPAGATION_HOST_TO_CONTAINER);
  AddMount("/b", host_ + "/other")->set_propagation(PROPAGATION_BIDIRECTIONAL);
  EXPECT_EQ(Build()["linux"]["rootfsPropagation"], "rshared");
}

TEST_F(MountsSpecTest, SymlinkedHostPathIsResolvedBeforeTheCheck) {
  // The link lives on "/" (private in the fake table); its target is on the shared mount.
  ASSERT_EQ(::symlink((host_ + "/vol").c_str(), (dir_->path() + "/link").c_str()), 0);
  FakeHostMount("shared:3");
  AddMount("/data", dir_->path() + "/link")->set_propagation(PROPAGATION_HOST_TO_CONTAINER);
  Json spec = Build();
  const Json* mount = Find(spec, "/data");
  ASSERT_NE(mount, nullptr);
  EXPECT_EQ((*mount)["source"], host_ + "/vol");
}

// ---- recursive_read_only, extra options, id mappings ----

struct FlagCase {
  const char* name;
  bool readonly, rro;
  MountPropagation propagation;
  std::vector<std::string> extra;
  absl::StatusCode want;
  const char* want_message;
};

class FlagTest : public MountsSpecTest, public ::testing::WithParamInterface<FlagCase> {};

TEST_P(FlagTest, Checks) {
  const FlagCase& c = GetParam();
  FakeHostMount("shared:3");
  runtime::v1::Mount* m = AddMount("/data", host_ + "/vol");
  m->set_readonly(c.readonly);
  m->set_recursive_read_only(c.rro);
  m->set_propagation(c.propagation);
  for (const std::string& option : c.extra) m->add_mount_options(option);
  absl::StatusOr<Json> spec = BuildSpec(input_);
  EXPECT_EQ(spec.status().code(), c.want) << spec.status();
  if (!spec.ok()) {
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.want_message));
    return;
  }
  std::vector<std::string> want = {"rbind", "rprivate", c.readonly ? "ro" : "rw"};
  want.insert(want.end(), c.extra.begin(), c.extra.end());
  EXPECT_EQ(Options(Find(*spec, "/data")), want);
}

INSTANTIATE_TEST_SUITE_P(Table, FlagTest,
                         ::testing::Values(FlagCase{"rro_without_readonly",
                                                    false,
                                                    true,
                                                    PROPAGATION_PRIVATE,
                                                    {},
                                                    kInvalid,
                                                    "needs readonly"},
                                           FlagCase{"rro_with_rslave",
                                                    true,
                                                    true,
                                                    PROPAGATION_HOST_TO_CONTAINER,
                                                    {},
                                                    kInvalid,
                                                    "needs PROPAGATION_PRIVATE"},
                                           FlagCase{"rro_unsupported_by_runc",
                                                    true,
                                                    true,
                                                    PROPAGATION_PRIVATE,
                                                    {},
                                                    absl::StatusCode::kUnimplemented,
                                                    "\"rro\""},
                                           FlagCase{"restricting_options",
                                                    true,
                                                    false,
                                                    PROPAGATION_PRIVATE,
                                                    {"nosuid", "nodev", "noexec", "noatime"},
                                                    kOk,
                                                    ""},
                                           FlagCase{"rw_over_readonly",
                                                    true,
                                                    false,
                                                    PROPAGATION_PRIVATE,
                                                    {"rw"},
                                                    kInvalid,
                                                    "\"rw\" is not allowed"},
                                           FlagCase{"propagation_option",
                                                    false,
                                                    false,
                                                    PROPAGATION_PRIVATE,
                                                    {"rshared"},
                                                    kInvalid,
                                                    "\"rshared\" is not allowed"},
                                           FlagCase{"suid_option",
                                                    false,
                                                    false,
                                                    PROPAGATION_PRIVATE,
                                                    {"suid"},
                                                    kInvalid,
                                                    "\"suid\" is not allowed"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(MountsSpecTest, IdMappedMountIsUnimplemented) {
  runtime::v1::Mount* m = AddMount("/data", host_ + "/vol");
  m->add_uidmappings()->set_length(1);
  EXPECT_EQ(BuildSpec(input_).status().code(), absl::StatusCode::kUnimplemented);
}

// ---- container paths ----

struct PathCase {
  const char* path;
  bool privileged;
  const char* want;  // the cleaned destination; nullptr: InvalidArgument
};

class ContainerPathTest : public MountsSpecTest, public ::testing::WithParamInterface<PathCase> {};

TEST_P(ContainerPathTest, CleanedOrRefused) {
  const PathCase& c = GetParam();
  if (c.privileged) Privileged();
  AddMount(c.path, host_ + "/vol");
  absl::StatusOr<Json> spec = BuildSpec(input_);
  if (c.want == nullptr) {
    EXPECT_EQ(spec.status().code(), kInvalid) << c.path << ": " << spec.status();
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.path));
    return;
  }
  ASSERT_TRUE(spec.ok()) << c.path << ": " << spec.status();
  const Json* mount = Find(*spec, c.want);
  ASSERT_NE(mount, nullptr) << c.path;
  EXPECT_EQ((*mount)["source"], host_ + "/vol");
}

INSTANTIATE_TEST_SUITE_P(
    Table, ContainerPathTest,
    ::testing::Values(
        PathCase{"/data", false, "/data"}, PathCase{"/data/./x/", false, "/data/x"},
        PathCase{"//data//x", false, "/data/x"}, PathCase{"/data/../etc", false, nullptr},
        PathCase{"/..", false, nullptr}, PathCase{"/a/b/..", false, nullptr},
        PathCase{"data", false, nullptr}, PathCase{"", false, nullptr},
        PathCase{"/proc", false, nullptr}, PathCase{"/proc/", true, nullptr},
        PathCase{"/proc/self/attr", true, nullptr}, PathCase{"/proc/sys/kernel", false, nullptr},
        PathCase{"/proc/1/root", false, nullptr}, PathCase{"/proc/cpuinfo", false, "/proc/cpuinfo"},
        PathCase{"/proc/meminfo", false, "/proc/meminfo"},
        PathCase{"/proc/net/dev", false, "/proc/net/dev"},
        PathCase{"/procfiles", false, "/procfiles"}, PathCase{"/sys", false, nullptr},
        PathCase{"/sys/kernel/security", false, nullptr},
        PathCase{"/sys/fs/bpf", true, "/sys/fs/bpf"}, PathCase{"/system", false, "/system"}));

// ---- image volumes ----

TEST(ImageConfigVolumesTest, ParsesKeys) {
  absl::StatusOr<ImageConfig> image =
      ParseImageConfig(R"({"config":{"Volumes":{"/data":{},"/var/log":{}}}})");
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_THAT(image->volumes, ElementsAre("/data", "/var/log"));
  image = ParseImageConfig(R"({"config":{"Volumes":null}})");
  ASSERT_TRUE(image.ok());
  EXPECT_TRUE(image->volumes.empty());
  EXPECT_EQ(ParseImageConfig(R"({"config":{"Volumes":["/data"]}})").status().code(), kInvalid);
}

class ImageVolumesTest : public MountsSpecTest {
 protected:
  void SetUp() override {
    MountsSpecTest::SetUp();
    volumes_ = dir_->path() + "/volumes";  // made by BuildSpec when there is a volume
    input_.volumes_dir = volumes_;
  }
  std::string volumes_;
};

TEST_F(ImageVolumesTest, EachVolumeGetsItsOwnWritableDirectory) {
  input_.image.volumes = {"/data", "/var/lib/db", "/data/"};
  Json spec = Build();
  const Json* data = Find(spec, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ((*data)["source"], volumes_ + "/data");
  EXPECT_EQ((*data)["type"], "bind");
  EXPECT_EQ(Options(data), (std::vector<std::string>{"rbind", "rprivate", "rw"}));
  const Json* db = Find(spec, "/var/lib/db");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ((*db)["source"], volumes_ + "/var%2Flib%2Fdb");
  struct stat st;
  ASSERT_EQ(::lstat((volumes_ + "/var%2Flib%2Fdb").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  int count = 0;
  for (const Json& m : spec["mounts"]) count += m["destination"] == "/data";
  EXPECT_EQ(count, 1);  // "/data/" is the same volume
}

TEST_F(ImageVolumesTest, OwnerAndModeComeFromTheImageDirectory) {
  ASSERT_TRUE(MakeDirs(rootfs_ + "/data").ok());
  ASSERT_EQ(::chown((rootfs_ + "/data").c_str(), 1000, 1001), 0);
  ASSERT_EQ(::chmod((rootfs_ + "/data").c_str(), 01770), 0);
  input_.image.volumes = {"/data"};
  Build();
  struct stat st;
  ASSERT_EQ(::lstat((volumes_ + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1001u);
  EXPECT_EQ(st.st_mode & 07777, 01770u);
}

TEST_F(ImageVolumesTest, ImageSymlinkCannotBorrowAHostDirectory) {
  // rootfs/data -> /root: resolved inside the rootfs (no /root there), so nothing of the host's
  // /root (0700) is copied.
  ASSERT_EQ(::symlink("/root", (rootfs_ + "/data").c_str()), 0);
  input_.image.volumes = {"/data"};
  Build();
  struct stat st;
  ASSERT_EQ(::lstat((volumes_ + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ImageVolumesTest, CriMountsAndDefaultsCoverVolumes) {
  ASSERT_TRUE(MakeDirs(host_ + "/var").ok());
  AddMount("/var", host_ + "/var");
  AddMount("/data", host_ + "/vol");
  input_.image.volumes = {"/var/cache", "/data", "/dev/shm", "/logs"};
  Json spec = Build();
  EXPECT_EQ(Find(spec, "/var/cache"), nullptr);
  EXPECT_EQ((*Find(spec, "/data"))["source"], host_ + "/vol");
  EXPECT_EQ((*Find(spec, "/dev/shm"))["type"], "tmpfs");
  ASSERT_NE(Find(spec, "/logs"), nullptr);
  EXPECT_FALSE(Exists(volumes_ + "/var%2Fcache"));
  EXPECT_FALSE(Exists(host_ + "/var/cache"));  // nothing made in the host path
}

TEST_F(ImageVolumesTest, HostileVolumesAreRefused) {
  for (const char* bad : {"/../etc", "/data/../../etc", "relative", "/", "/proc/sys",
                          "/proc/cpuinfo", "/sys/kernel", "/sys"}) {
    input_.image.volumes = {bad};
    absl::StatusOr<Json> spec = BuildSpec(input_);
    EXPECT_EQ(spec.status().code(), kInvalid) << bad << ": " << spec.status();
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr("image volume")) << bad;
  }
}

TEST_F(ImageVolumesTest, TheVolumesDirIsMadeOnlyForAVolume) {
  Json spec = Build();
  EXPECT_NE(::access(volumes_.c_str(), F_OK), 0);
  input_.image.volumes = {"/data"};
  spec = Build();
  EXPECT_EQ(::access((volumes_ + "/data").c_str(), F_OK), 0);
}

TEST_F(ImageVolumesTest, NoVolumesDirMeansNoVolumeMounts) {
  input_.volumes_dir.clear();
  input_.image.volumes = {"/data"};
  Json spec = Build();
  EXPECT_EQ(Find(spec, "/data"), nullptr);
}

TEST_F(ImageVolumesTest, VolumesMountAfterTheirParents) {
  ASSERT_TRUE(MakeDirs(host_ + "/srv").ok());
  AddMount("/srv", host_ + "/srv");
  input_.image.volumes = {"/a/b/c", "/a"};
  Json spec = Build();
  std::vector<std::string> order;
  for (const Json& m : spec["mounts"]) order.push_back(m["destination"]);
  auto pos = [&](const char* d) {
    return std::find(order.begin(), order.end(), d) - order.begin();
  };
  EXPECT_LT(pos("/a"), pos("/a/b/c"));
  EXPECT_LT(pos("/a/b/c"), static_cast<long>(order.size()));
}

// ---- PID namespaces ----

struct PidCase {
  const char* name;
  runtime::v1::NamespaceMode mode;
  std::map<std::string, std::string> pod_paths;
  bool pid_per_container;
  std::string target;
  std::optional<Json> want;  // the pid entry; nullopt: none; InvalidArgument when `invalid`
  bool invalid = false;
};

class PidModeTest : public MountsSpecTest, public ::testing::WithParamInterface<PidCase> {};

TEST_P(PidModeTest, PidNamespace) {
  const PidCase& c = GetParam();
  auto* ns = config_.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_pid(c.mode);
  ns->set_target_id("t1");
  input_.sandbox.namespace_paths = c.pod_paths;
  input_.sandbox.namespace_paths["net"] = "/ns/net";
  input_.sandbox.pid_per_container = c.pid_per_container;
  input_.target_pid_namespace = c.target;
  absl::StatusOr<Json> spec = BuildSpec(input_);
  if (c.invalid) {
    EXPECT_EQ(spec.status().code(), kInvalid);
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr("t1"));
    return;
  }
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::optional<Json> pid;
  for (const Json& entry : (*spec)["linux"]["namespaces"]) {
    if (entry["type"] == "pid") pid = entry;
    if (entry["type"] == "network") {
      EXPECT_EQ(entry["path"], "/ns/net");  // follows the pod
    }
  }
  EXPECT_EQ(pid, c.want) << (*spec)["linux"]["namespaces"].dump();
}

const std::map<std::string, std::string> kPodPid = {{"pid", "/ns/pid/p1"}};

INSTANTIATE_TEST_SUITE_P(
    Table, PidModeTest,
    ::testing::Values(
        PidCase{"pod_shared", runtime::v1::POD, kPodPid, false, "",
                Json{{"type", "pid"}, {"path", "/ns/pid/p1"}}},
        PidCase{"pod_of_per_container_pod", runtime::v1::POD, {}, true, "", Json{{"type", "pid"}}},
        PidCase{"pod_of_host_pid_pod", runtime::v1::POD, {}, false, "", std::nullopt},
        PidCase{"container", runtime::v1::CONTAINER, kPodPid, false, "", Json{{"type", "pid"}}},
        PidCase{"node", runtime::v1::NODE, kPodPid, false, "", std::nullopt},
        PidCase{"target", runtime::v1::TARGET, kPodPid, false, "/proc/42/ns/pid",
                Json{{"type", "pid"}, {"path", "/proc/42/ns/pid"}}},
        PidCase{"target_unknown", runtime::v1::TARGET, kPodPid, false, "", std::nullopt, true}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// ---- sysctls ----

TEST_F(MountsSpecTest, PodSysctlsGoIntoTheSpec) {
  EXPECT_FALSE(Build()["linux"].contains("sysctl"));
  auto& sysctls = *sandbox_config_.mutable_linux()->mutable_sysctls();
  sysctls["net.ipv4.ip_unprivileged_port_start"] = "0";
  sysctls["kernel.shm_rmid_forced"] = "1";
  Json spec = Build();
  EXPECT_EQ(spec["linux"]["sysctl"],
            (Json{{"net.ipv4.ip_unprivileged_port_start", "0"}, {"kernel.shm_rmid_forced", "1"}}));
}

}  // namespace
}  // namespace berth::oci
