// The spec BuildSpec makes, run by the real runc over an overlay rootfs (needs root, runc).
// Everything (mount, runc state, cgroup) is removed by the test.

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/spawn.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/rootfs.h"
#include "oci/spec.h"

namespace berth::oci {
namespace {

constexpr char kRunc[] = "/usr/sbin/runc";

TEST(RuncSpecTest, RuncRunsTheBuiltSpec) {
  if (::geteuid() != 0 || ::access(kRunc, X_OK) != 0) GTEST_SKIP() << "needs root and runc";
  auto tmp = TempDir::Make(absl::StrCat("oci-runc-", ::getpid(), "-"), "/var/tmp");
  ASSERT_TRUE(tmp.ok()) << tmp.status();
  const std::string d = tmp->path();
  for (const char* sub :
       {"/layer/bin", "/layer/etc", "/upper", "/work", "/bundle/rootfs", "/state", "/vol"}) {
    ASSERT_TRUE(MakeDirs(d + sub).ok());
  }
  {
    absl::StatusOr<std::string> busybox = ReadFile("/bin/busybox", 64 << 20);
    ASSERT_TRUE(busybox.ok()) << busybox.status();
    ASSERT_TRUE(WriteFileAtomic(d + "/layer/bin/busybox", *busybox, 0755).ok());
  }
  ASSERT_TRUE(WriteFileAtomic(d + "/layer/etc/passwd", "app:x:1234:2345::/:/bin/sh\n").ok());
  ASSERT_TRUE(WriteFileAtomic(d + "/layer/etc/group", "extra:x:3456:app\n").ok());
  ASSERT_TRUE(WriteFileAtomic(d + "/vol/data", "from-volume").ok());
  const std::string rootfs = d + "/bundle/rootfs";
  ASSERT_TRUE(MountOverlay({d + "/layer"}, d + "/upper", d + "/work", rootfs, false).ok());

  runtime::v1::ContainerConfig config;
  runtime::v1::PodSandboxConfig sandbox_config;
  config.mutable_metadata()->set_name("probe");
  config.add_command("/bin/busybox");
  config.add_args("sh");
  config.add_args("-c");
  config.add_args("/bin/busybox id; /bin/busybox cat /vol/data; echo \" $FOO\"");
  auto* env = config.add_envs();
  env->set_key("FOO");
  env->set_value("bar");
  auto* mount = config.add_mounts();
  mount->set_container_path("/vol");
  mount->set_host_path(d + "/vol");
  mount->set_readonly(true);
  SpecInput input;
  input.config = &config;
  input.sandbox_config = &sandbox_config;
  input.container_id = absl::StrCat("oci-spec-test-", ::getpid());
  input.rootfs = rootfs;
  input.image.user = "app";
  input.sandbox.pid_per_container = true;
  input.sandbox.cgroup_parent = "";
  absl::StatusOr<nlohmann::json> spec = BuildSpec(input);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_TRUE(WriteFileAtomic(d + "/bundle/config.json", spec->dump(2)).ok());

  SpawnOptions run;
  run.argv = {kRunc, "--root", d + "/state", "run", "--bundle", d + "/bundle", input.container_id};
  run.timeout = absl::Seconds(30);
  absl::StatusOr<SpawnResult> result = RunCommand(run);
  SpawnOptions cleanup;
  cleanup.argv = {kRunc, "--root", d + "/state", "delete", "--force", input.container_id};
  (void)RunCommand(cleanup);
  EXPECT_TRUE(UnmountRootfs(rootfs).ok());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->success()) << result->Describe() << "\n" << spec->dump(2);
  EXPECT_THAT(result->out, ::testing::HasSubstr("uid=1234(app) gid=2345"));
  EXPECT_THAT(result->out, ::testing::HasSubstr("3456(extra)"));
  EXPECT_THAT(result->out, ::testing::HasSubstr("from-volume bar"));
}

}  // namespace
}  // namespace berth::oci
