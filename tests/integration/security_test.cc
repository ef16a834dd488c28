// Security contexts in real containers (berthd, berth-mon, runc): users and groups and
// ContainerStatus.user, capabilities (add/drop/ALL, ambient), no_new_privs against a setuid
// binary, readonly rootfs, masked and read-only paths, privileged containers and pods, CRI
// devices. What the process gets is read from inside: `id`, /proc/self/status, /proc/mounts and
// what a write or chown does.
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/cri_fixture.h"
#include "tests/fixtures/image_builder.h"

namespace berth::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The test images: busybox plus a root without a password (for busybox su), more users and
// groups, and a setuid-root copy of busybox. "secure-user" also has User "alice:video".
constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "berth:x:1000:1000:berth:/home/berth:/bin/sh\n"
    "alice:x:1001:1001::/home/alice:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
constexpr char kGroup[] =
    "root:x:0:\n"
    "video:x:44:berth\n"
    "staff:x:50:berth,alice\n"
    "berth:x:1000:\n"
    "alice:x:1001:\n"
    "nogroup:x:65534:\n";
// root has no password, so busybox su lets anyone become root (through the setuid binary).
constexpr char kShadow[] = "root::19000:0:99999:7:::\n";
constexpr char kSuid[] = "/usr/local/bin/busybox-suid";

std::string* secure_image = nullptr;
std::string* secure_user_image = nullptr;

// CapBnd of this test process, which runs as berthd does: "every capability" on this host.
std::string OwnBoundingSet() {
  for (absl::string_view line : absl::StrSplit(ReadText("/proc/self/status"), '\n')) {
    if (absl::ConsumePrefix(&line, "CapBnd:")) {
      return std::string(absl::StripAsciiWhitespace(line));
    }
  }
  return "?";
}

class SecurityTest : public CriFixture {
 protected:
  static void SetUpTestSuite() {
    CriFixture::SetUpTestSuite();
    absl::StatusOr<ImageSpec> spec = BusyboxImage();
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<std::string> busybox = ReadFile("/bin/busybox", 64 << 20);
    ASSERT_TRUE(busybox.ok()) << busybox.status();
    LayerSpec layer;
    layer.entries = {
        LayerEntry::File("etc/passwd", kPasswd),
        LayerEntry::File("etc/group", kGroup),
        LayerEntry::File("etc/shadow", kShadow, 0600),
        LayerEntry::Directory("usr"),
        LayerEntry::Directory("usr/local"),
        LayerEntry::Directory("usr/local/bin"),
        LayerEntry::File("usr/local/bin/busybox-suid", *busybox, 04755),
    };
    spec->layers.push_back(std::move(layer));
    CriImages& im = images();
    ASSERT_TRUE(im.builder->Build(*spec, "secure").ok());
    spec->user = "alice:video";
    ASSERT_TRUE(im.builder->Build(*spec, "secure-user").ok());
    ASSERT_TRUE(im.builder->Push("secure", *im.registry, "test/secure:1.0").ok());
    ASSERT_TRUE(im.builder->Push("secure-user", *im.registry, "test/secure-user:1.0").ok());
    secure_image = new std::string(absl::StrCat(im.registry->host(), "/test/secure:1.0"));
    secure_user_image = new std::string(absl::StrCat(im.registry->host(), "/test/secure-user:1.0"));
  }

  static void TearDownTestSuite() {
    delete secure_image;
    delete secure_user_image;
    secure_image = secure_user_image = nullptr;
    CriFixture::TearDownTestSuite();
  }

  void SetUp() override {
    CriFixture::SetUp();
    ASSERT_NE(secure_image, nullptr) << "the suite's setup failed";
    ASSERT_TRUE(Pull(*secure_image).ok());
    ASSERT_TRUE(Pull(*secure_user_image).ok());
  }

  static cri::ContainerConfig Secure(const std::string& name, std::vector<std::string> command,
                                     const std::string& image = "") {
    return Config(name, std::move(command), {}, image.empty() ? *secure_image : image);
  }

  static cri::LinuxContainerSecurityContext* Sc(cri::ContainerConfig& config) {
    return config.mutable_linux()->mutable_security_context();
  }

  // Runs `config` to its end; its stdout and stderr as the CRI log holds them (content only).
  std::string RunToEnd(const std::string& pod, const cri::ContainerConfig& config) {
    std::string id = MustRun(pod, config);
    cri::ContainerStatus status = WaitFor(id, cri::CONTAINER_EXITED);
    std::string out;
    for (absl::string_view line : absl::StrSplit(ReadText(status.log_path()), '\n')) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() == 4) absl::StrAppend(&out, parts[3], "\n");
    }
    return out;
  }

  // ExecSync of `sh -c script`: the exit code, with stdout + stderr in `output`.
  int ShCode(const std::string& id, const std::string& script, std::string* output = nullptr) {
    cri::ExecSyncResponse response;
    grpc::Status status = Exec(id, {"/bin/sh", "-c", script}, 10, &response);
    EXPECT_TRUE(status.ok()) << script << ": " << status.error_message();
    if (output != nullptr) *output = response.stdout() + response.stderr();
    return response.exit_code();
  }

  // One line of /proc/self/status in the container, e.g. "CapEff" -> "00000000000005fb".
  std::string StatusField(const std::string& id, const std::string& field) {
    std::string line = Sh(id, absl::StrCat("grep '^", field, ":' /proc/self/status"));
    absl::string_view value = line;
    absl::ConsumePrefix(&value, field + ":");
    return std::string(absl::StripAsciiWhitespace(value));
  }

  grpc::Status CreateError(const std::string& pod, const cri::ContainerConfig& config) {
    std::string id;
    return Create(pod, config, &id);
  }
};

// ---- users and groups ----

TEST_F(SecurityTest, UsersAndGroupsGiveTheRightId) {
  std::string pod = RunPod("users");
  struct Case {
    std::string name;
    std::function<void(cri::LinuxContainerSecurityContext&)> set;
    std::string want;
    std::string image;
  };
  std::vector<Case> cases = {
      {"default", [](auto&) {}, "uid=0(root) gid=0(root) groups=0(root)"},
      {"run-as-user", [](auto& sc) { sc.mutable_run_as_user()->set_value(1000); },
       "uid=1000(berth) gid=1000(berth) groups=44(video),50(staff),1000(berth)"},
      {"run-as-user-group",
       [](auto& sc) {
         sc.mutable_run_as_user()->set_value(1000);
         sc.mutable_run_as_group()->set_value(50);
       },
       "uid=1000(berth) gid=50(staff) groups=44(video),50(staff)"},
      {"run-as-username", [](auto& sc) { sc.set_run_as_username("alice"); },
       "uid=1001(alice) gid=1001(alice) groups=50(staff),1001(alice)"},
      {"unknown-uid", [](auto& sc) { sc.mutable_run_as_user()->set_value(4242); },
       "uid=4242 gid=0(root) groups=0(root)"},
      {"supplemental-merge",
       [](auto& sc) {
         sc.mutable_run_as_user()->set_value(1001);
         sc.add_supplemental_groups(3000);
       },
       "uid=1001(alice) gid=1001(alice) groups=50(staff),1001(alice),3000"},
      {"supplemental-strict",
       [](auto& sc) {
         sc.mutable_run_as_user()->set_value(1000);
         sc.add_supplemental_groups(3000);
         sc.set_supplemental_groups_policy(cri::Strict);
       },
       "uid=1000(berth) gid=1000(berth) groups=1000(berth),3000"},
      {"image-user", [](auto&) {}, "uid=1001(alice) gid=44(video) groups=44(video),50(staff)",
       *secure_user_image},
  };
  for (const Case& c : cases) {
    cri::ContainerConfig config = Secure(c.name, {"id"}, c.image);
    c.set(*Sc(config));
    EXPECT_EQ(RunToEnd(pod, config), c.want + "\n") << c.name;
  }
}

TEST_F(SecurityTest, ContainerStatusReportsTheUser) {
  std::string pod = RunPod("status-user");
  cri::ContainerConfig config = Secure("sleeper", {"sleep", "3600"});
  Sc(config)->mutable_run_as_user()->set_value(1000);
  Sc(config)->add_supplemental_groups(3000);
  std::string id = MustRun(pod, config);
  cri::ContainerStatus status = MustStatus(id);  // kept: `user` refers into it
  const cri::LinuxContainerUser& user = status.user().linux();
  EXPECT_EQ(user.uid(), 1000);
  EXPECT_EQ(user.gid(), 1000);
  EXPECT_THAT(user.supplemental_groups(), ::testing::ElementsAre(1000, 44, 50, 3000));
  // The same as the process has.
  EXPECT_EQ(StatusField(id, "Groups"), "44 50 1000 3000");
  EXPECT_EQ(StatusField(id, "Uid"), "1000\t1000\t1000\t1000");
}

TEST_F(SecurityTest, BadUsersAreRefused) {
  std::string pod = RunPod("bad-users");
  struct Case {
    std::string name;
    std::function<void(cri::LinuxContainerSecurityContext&)> set;
    std::string message;
  };
  std::vector<Case> cases = {
      {"numeric-name", [](auto& sc) { sc.set_run_as_username("1000"); }, "is a number"},
      {"unknown-name", [](auto& sc) { sc.set_run_as_username("mallory"); }, "mallory"},
      {"group-alone", [](auto& sc) { sc.mutable_run_as_group()->set_value(50); },
       "run_as_group needs"},
  };
  for (const Case& c : cases) {
    cri::ContainerConfig config = Secure(c.name, {"id"});
    c.set(*Sc(config));
    grpc::Status status = CreateError(pod, config);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.name;
  }
}

// ---- capabilities ----

TEST_F(SecurityTest, CapabilitiesChangeWhatTheProcessCanDo) {
  std::string pod = RunPod("caps");
  struct Case {
    std::string name;
    std::vector<std::string> add, drop;
    std::string cap_eff;  // also CapBnd
    bool can_chown;
  };
  // CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6, SETUID 7, SETPCAP 8,
  // NET_BIND_SERVICE 10; ALL is what berthd's bounding set holds (the test runs like it).
  std::vector<Case> cases = {
      {"default", {}, {}, "00000000000005fb", true},
      {"drop-chown", {}, {"CHOWN"}, "00000000000005fa", false},
      {"drop-all", {}, {"ALL"}, "0000000000000000", false},
      {"drop-all-add-chown", {"cap_chown"}, {"ALL"}, "0000000000000001", true},
      {"add-all", {"ALL"}, {}, OwnBoundingSet(), true},
      {"add-sys-admin", {"SYS_ADMIN"}, {}, "00000000002005fb", true},
  };
  for (const Case& c : cases) {
    cri::ContainerConfig config = Secure(c.name, {"sleep", "3600"});
    for (const auto& cap : c.add) Sc(config)->mutable_capabilities()->add_add_capabilities(cap);
    for (const auto& cap : c.drop) Sc(config)->mutable_capabilities()->add_drop_capabilities(cap);
    std::string id = MustRun(pod, config);
    EXPECT_EQ(StatusField(id, "CapEff"), c.cap_eff) << c.name;
    EXPECT_EQ(StatusField(id, "CapBnd"), c.cap_eff) << c.name;
    EXPECT_EQ(StatusField(id, "CapInh"), "0000000000000000") << c.name;
    std::string output;
    int code = ShCode(id, "touch /tmp/f && chown 1000:1000 /tmp/f && stat -c %u /tmp/f", &output);
    if (c.can_chown) {
      EXPECT_EQ(code, 0) << c.name << ": " << output;
      EXPECT_EQ(output, "1000\n") << c.name;
    } else {
      EXPECT_NE(code, 0) << c.name << ": " << output;
      EXPECT_THAT(output, HasSubstr("Operation not permitted")) << c.name;
    }
    EXPECT_TRUE(StopContainer(id, 0).ok());
  }
}

// Ambient capabilities reach a non-root process: with every other capability dropped, uid 1000
// holds exactly NET_BIND_SERVICE (inheritable carries only it, which the kernel requires).
TEST_F(SecurityTest, AmbientCapabilitiesReachTheProcess) {
  std::string pod = RunPod("ambient");
  cri::ContainerConfig config = Secure("amb", {"sleep", "3600"});
  Sc(config)->mutable_run_as_user()->set_value(1000);
  Sc(config)->mutable_capabilities()->add_drop_capabilities("ALL");
  Sc(config)->mutable_capabilities()->add_add_ambient_capabilities("NET_BIND_SERVICE");
  std::string id = MustRun(pod, config);
  nlohmann::json spec = nlohmann::json::parse(
      ReadText(absl::StrCat(daemon_->runroot(), "/containers/", id, "/config.json")));
  EXPECT_EQ(spec["process"]["capabilities"]["ambient"], nlohmann::json({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(spec["process"]["capabilities"]["inheritable"],
            nlohmann::json({"CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(StatusField(id, "CapBnd"), "0000000000000400");
  EXPECT_EQ(StatusField(id, "CapInh"), "0000000000000400");
  EXPECT_EQ(StatusField(id, "CapAmb"), "0000000000000400");
  EXPECT_EQ(StatusField(id, "CapEff"), "0000000000000400");
}

// ---- no_new_privs ----

TEST_F(SecurityTest, NoNewPrivsStopsASetuidBinary) {
  std::string pod = RunPod("nnp");
  // busybox drops a setuid euid for most applets; `su` needs it and keeps it.
  const std::string su = absl::StrCat(kSuid, " su -c 'id -u' root");
  for (bool nnp : {false, true}) {
    cri::ContainerConfig config = Secure(nnp ? "nnp" : "plain", {"sleep", "3600"});
    Sc(config)->mutable_run_as_user()->set_value(1000);
    Sc(config)->set_no_new_privs(nnp);
    std::string id = MustRun(pod, config);
    EXPECT_EQ(StatusField(id, "NoNewPrivs"), nnp ? "1" : "0");
    EXPECT_EQ(Sh(id, absl::StrCat("stat -c %a:%u ", kSuid)), "4755:0\n");
    std::string output;
    int code = ShCode(id, su, &output);
    if (nnp) {
      EXPECT_NE(code, 0) << output;
      EXPECT_THAT(output, HasSubstr("must be suid"));
    } else {
      EXPECT_EQ(code, 0) << output;
      EXPECT_EQ(output, "0\n") << "the setuid binary made uid 1000 root (the control case)";
    }
    EXPECT_EQ(Sh(id, "id -u"), "1000\n");
  }
}

// ---- readonly rootfs ----

TEST_F(SecurityTest, ReadonlyRootfsRefusesWrites) {
  std::string pod = RunPod("rorootfs");
  std::string volume = daemon_->dir() + "/volume";
  ASSERT_TRUE(MakeDirs(volume).ok());
  cri::ContainerConfig config = Secure("ro", {"sleep", "3600"});
  Sc(config)->set_readonly_rootfs(true);
  cri::Mount* mount = config.add_mounts();
  mount->set_container_path("/data");
  mount->set_host_path(volume);
  std::string id = MustRun(pod, config);
  std::string output;
  for (const char* path : {"/x", "/tmp/x", "/etc/x", "/home/berth/x"}) {
    EXPECT_NE(ShCode(id, absl::StrCat("touch ", path), &output), 0) << path;
    EXPECT_THAT(output, HasSubstr("Read-only file system")) << path;
  }
  EXPECT_EQ(ShCode(id, "echo hi > /data/x && cat /data/x", &output), 0) << output;
  EXPECT_EQ(ReadText(volume + "/x"), "hi\n");
  EXPECT_EQ(ShCode(id, "touch /dev/shm/x", &output), 0) << output;
  // The same image without readonly_rootfs writes fine.
  std::string rw = MustRun(pod, Secure("rw", {"sleep", "3600"}));
  EXPECT_EQ(ShCode(rw, "touch /x /tmp/x", &output), 0) << output;
}

// ---- masked and read-only paths ----

TEST_F(SecurityTest, MaskedAndReadonlyPaths) {
  std::string pod = RunPod("paths");
  // What this host's kernel has of the default lists (runc skips what does not exist).
  std::vector<std::string> files, dirs;
  for (const char* path : {"/proc/keys", "/proc/timer_list", "/proc/interrupts", "/proc/kcore",
                           "/proc/sched_debug", "/proc/timer_stats", "/proc/latency_stats"}) {
    if (Exists(path)) files.push_back(path);
  }
  for (const char* path : {"/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware"}) {
    if (Exists(path)) dirs.push_back(path);
  }
  ASSERT_GE(files.size() + dirs.size(), 2u) << "nothing on this host to mask";
  ASSERT_TRUE(Exists("/proc/timer_list"));

  // No security context: the defaults.
  std::string id = MustRun(pod, Secure("plain", {"sleep", "3600"}));
  for (const std::string& file : files) {
    EXPECT_EQ(Sh(id, absl::StrCat("wc -c < ", file)), "0\n") << file;
  }
  for (const std::string& dir : dirs) {
    EXPECT_EQ(Sh(id, absl::StrCat("ls -A ", dir, " | wc -l")), "0\n") << dir;
  }
  std::string output;
  EXPECT_NE(ShCode(id, "echo x > /proc/sys/kernel/domainname", &output), 0);
  EXPECT_THAT(output, HasSubstr("Read-only file system"));
  for (const char* path : {" /proc/sys ", " /proc/fs ", " /proc/irq ", " /proc/bus "}) {
    EXPECT_THAT(Sh(id, absl::StrCat("grep '", path, "' /proc/mounts")), HasSubstr(" ro,")) << path;
  }

  // The kubelet's lists (procMount Default) as given, here shorter ones.
  cri::ContainerConfig listed = Secure("listed", {"sleep", "3600"});
  Sc(listed)->add_masked_paths("/proc/keys");
  Sc(listed)->add_readonly_paths("/proc/fs");
  id = MustRun(pod, listed);
  EXPECT_EQ(Sh(id, "wc -c < /proc/keys"), "0\n");
  EXPECT_NE(Sh(id, "wc -c < /proc/timer_list"), "0\n") << "not masked this time";
  EXPECT_THAT(Sh(id, "grep ' /proc/fs ' /proc/mounts"), HasSubstr(" ro,"));
  EXPECT_EQ(Sh(id, "grep -c ' /proc/sys ' /proc/mounts || true"), "0\n");
  EXPECT_EQ(ShCode(id, "echo berth.test > /proc/sys/kernel/domainname", &output), 0) << output;

  // procMount Unmasked: a security context with empty lists.
  cri::ContainerConfig unmasked = Secure("unmasked", {"sleep", "3600"});
  Sc(unmasked)->set_no_new_privs(false);
  id = MustRun(pod, unmasked);
  EXPECT_NE(Sh(id, "wc -c < /proc/timer_list"), "0\n");
  EXPECT_EQ(Sh(id, "grep -c ' /proc/sys ' /proc/mounts || true"), "0\n");
}

// ---- privileged ----

TEST_F(SecurityTest, PrivilegedNeedsAPrivilegedPod) {
  std::string pod = RunPod("unpriv");
  cri::ContainerConfig config = Secure("priv", {"sleep", "3600"});
  Sc(config)->set_privileged(true);
  grpc::Status status = CreateError(pod, config);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("sandbox_config.linux.security_context.privileged"));
}

TEST_F(SecurityTest, PrivilegedSeesHostDevicesAndWritesSys) {
  cri::PodSandboxConfig pod_config = PodConfig("priv");
  pod_config.mutable_linux()->mutable_security_context()->set_privileged(true);
  std::string pod = RunPodWith(pod_config);
  cri::ContainerConfig config = Secure("priv", {"sleep", "3600"});
  Sc(config)->set_privileged(true);
  std::string priv = MustRun(pod, config);
  std::string plain = MustRun(pod, Secure("plain", {"sleep", "3600"}));

  EXPECT_EQ(StatusField(priv, "CapEff"), OwnBoundingSet());
  EXPECT_EQ(StatusField(priv, "CapBnd"), OwnBoundingSet());
  EXPECT_EQ(StatusField(priv, "Seccomp"), "0");
  for (const char* device : {"/dev/loop-control", "/dev/kmsg"}) {
    struct stat st;
    if (::stat(device, &st) != 0) continue;
    std::string output;
    EXPECT_EQ(ShCode(priv, absl::StrCat("test -c ", device), &output), 0) << device;
    EXPECT_NE(ShCode(plain, absl::StrCat("test -e ", device), &output), 0) << device;
  }
  EXPECT_THAT(Sh(priv, "grep ' /sys ' /proc/mounts"), HasSubstr(" rw,"));
  EXPECT_THAT(Sh(plain, "grep ' /sys ' /proc/mounts"), HasSubstr(" ro,"));
  // Writing /sys: a network device's attribute in the pod's own network namespace.
  EXPECT_EQ(Sh(priv,
               "echo 1001 > /sys/class/net/lo/tx_queue_len && "
               "cat /sys/class/net/lo/tx_queue_len"),
            "1001\n");
  std::string output;
  EXPECT_NE(ShCode(plain, "echo 1000 > /sys/class/net/lo/tx_queue_len", &output), 0);
  EXPECT_THAT(Sh(priv, "grep ' /sys/fs/cgroup ' /proc/mounts"), HasSubstr(" rw,"));
  // No masked paths.
  EXPECT_NE(Sh(priv, "wc -c < /proc/timer_list"), "0\n");
  EXPECT_EQ(Sh(priv, "grep -c ' /proc/sys ' /proc/mounts || true"), "0\n");
}

// ---- CRI devices ----

TEST_F(SecurityTest, CriDevices) {
  std::string pod = RunPod("devices");
  cri::ContainerConfig config = Secure("dev", {"sleep", "3600"});
  auto add = [&](const std::string& host, const std::string& container, const std::string& p) {
    cri::Device* d = config.add_devices();
    d->set_host_path(host);
    d->set_container_path(container);
    d->set_permissions(p);
  };
  add("/dev/null", "/dev/mynull", "rwm");
  add("/dev/zero", "/dev/myzero", "r");
  struct stat latency;
  bool has_latency = ::stat("/dev/cpu_dma_latency", &latency) == 0 && S_ISCHR(latency.st_mode);
  if (has_latency) add("/dev/cpu_dma_latency", "/dev/latency", "r");
  std::string id = MustRun(pod, config);
  EXPECT_THAT(Sh(id, "ls -l /dev/mynull"), ::testing::StartsWith("crw-rw-rw-"));
  EXPECT_THAT(Sh(id, "ls -l /dev/mynull"), HasSubstr("1,   3"));
  EXPECT_EQ(Sh(id, "echo hi > /dev/mynull && echo ok"), "ok\n");
  EXPECT_EQ(Sh(id, "head -c 4 /dev/myzero | od -An -tx1"), " 00 00 00 00\n");
  if (has_latency) {
    // Not in the default rules: only the "r" of this device's rule lets it through.
    std::string output;
    EXPECT_EQ(ShCode(id, "head -c 4 /dev/latency | wc -c", &output), 0) << output;
    EXPECT_EQ(output, "4\n");
    EXPECT_NE(ShCode(id, "printf '\\0\\0\\0\\0' > /dev/latency", &output), 0);
    EXPECT_THAT(output, HasSubstr("Operation not permitted"));
  }

  cri::ContainerConfig bad = Secure("bad", {"sleep", "3600"});
  cri::Device* d = bad.add_devices();
  d->set_host_path("/etc/hostname");
  d->set_container_path("/dev/x");
  d->set_permissions("rw");
  grpc::Status status = CreateError(pod, bad);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not a character or block device"));
}

}  // namespace
}  // namespace berth::testing
