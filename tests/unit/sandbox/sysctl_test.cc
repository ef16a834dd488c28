#include "sandbox/sysctl.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::sandbox {
namespace {

using ::testing::HasSubstr;

struct SysctlCase {
  std::string label;
  std::string name;
  std::string value;
  HostNamespaces host;
  bool ok;
};

class SysctlValidationTest : public ::testing::TestWithParam<SysctlCase> {};

TEST_P(SysctlValidationTest, Validates) {
  const SysctlCase& c = GetParam();
  absl::Status status = ValidateSysctls({{c.name, c.value}}, c.host);
  if (c.ok) {
    EXPECT_TRUE(status.ok()) << status;
  } else {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  }
}

const HostNamespaces kPodNamespaces{};
const HostNamespaces kHostNetwork{.network = true};
const HostNamespaces kHostIpc{.ipc = true};

INSTANTIATE_TEST_SUITE_P(
    Table, SysctlValidationTest,
    ::testing::Values(
        // Namespaced and well formed.
        SysctlCase{"ShmRmidForced", "kernel.shm_rmid_forced", "1", kPodNamespaces, true},
        SysctlCase{"IpForward", "net.ipv4.ip_forward", "1", kPodNamespaces, true},
        SysctlCase{"PortRange", "net.ipv4.ip_local_port_range", "1024 65000", kPodNamespaces, true},
        SysctlCase{"Sem", "kernel.sem", "250 32000 32 128", kPodNamespaces, true},
        SysctlCase{"Msgmax", "kernel.msgmax", "8192", kPodNamespaces, true},
        SysctlCase{"Mqueue", "fs.mqueue.msg_max", "20", kPodNamespaces, true},
        SysctlCase{"SlashForm", "net/ipv4/conf/eth0.100/forwarding", "1", kPodNamespaces, true},
        SysctlCase{"DotFormWithSlash", "net.ipv4.conf.eth0/100.forwarding", "1", kPodNamespaces,
                   true},
        SysctlCase{"IpcWithHostNetwork", "kernel.shm_rmid_forced", "1", kHostNetwork, true},
        SysctlCase{"NetWithHostIpc", "net.ipv4.ip_forward", "1", kHostIpc, true},
        // Not namespaced.
        SysctlCase{"CorePattern", "kernel.core_pattern", "|/evil", kPodNamespaces, false},
        SysctlCase{"VmSwappiness", "vm.swappiness", "10", kPodNamespaces, false},
        SysctlCase{"SemIsExact", "kernel.semaphore", "1", kPodNamespaces, false},
        SysctlCase{"FsOther", "fs.file-max", "1", kPodNamespaces, false},
        // Host namespaces.
        SysctlCase{"NetWithHostNetwork", "net.ipv4.ip_forward", "1", kHostNetwork, false},
        SysctlCase{"ShmWithHostIpc", "kernel.shm_rmid_forced", "1", kHostIpc, false},
        SysctlCase{"SemWithHostIpc", "kernel.sem", "1 2 3 4", kHostIpc, false},
        SysctlCase{"MqueueWithHostIpc", "fs.mqueue.msg_max", "20", kHostIpc, false},
        // Injection (CVE-2022-0811) in values.
        SysctlCase{"PlusInValue", "kernel.shm_rmid_forced", "1+kernel.core_pattern=|/evil",
                   kPodNamespaces, false},
        SysctlCase{"EqualsInValue", "kernel.shm_rmid_forced", "1=2", kPodNamespaces, false},
        SysctlCase{"NewlineInValue", "kernel.shm_rmid_forced", "1\nkernel.core_pattern=|/evil",
                   kPodNamespaces, false},
        SysctlCase{"NulInValue", "kernel.shm_rmid_forced", std::string("1\0x", 3), kPodNamespaces,
                   false},
        SysctlCase{"EmptyValue", "kernel.shm_rmid_forced", "", kPodNamespaces, false},
        SysctlCase{"NonAsciiValue", "kernel.shm_rmid_forced", "1\xc3\xa9", kPodNamespaces, false},
        // Injection and traversal in names.
        SysctlCase{"EqualsInName", "kernel.shm_rmid_forced=1", "1", kPodNamespaces, false},
        SysctlCase{"PlusInName", "net.ipv4.ip_forward+kernel.core_pattern", "1", kPodNamespaces,
                   false},
        SysctlCase{"NewlineInName", "net.ipv4.ip_forward\nkernel.core_pattern", "1", kPodNamespaces,
                   false},
        SysctlCase{"NulInName", std::string("net.ipv4\0.x", 11), "1", kPodNamespaces, false},
        SysctlCase{"DotDot", "net..ipv4", "1", kPodNamespaces, false},
        SysctlCase{"Traversal", "net/../kernel/core_pattern", "1", kPodNamespaces, false},
        SysctlCase{"LeadingDot", ".net.ipv4.ip_forward", "1", kPodNamespaces, false},
        SysctlCase{"TrailingDot", "net.ipv4.ip_forward.", "1", kPodNamespaces, false},
        SysctlCase{"LeadingSlash", "/net/ipv4/ip_forward", "1", kPodNamespaces, false},
        SysctlCase{"SpaceInName", "net.ipv4.ip forward", "1", kPodNamespaces, false},
        SysctlCase{"Uppercase", "NET.ipv4.ip_forward", "1", kPodNamespaces, false},
        SysctlCase{"SegmentEndsWithDash", "net.ipv4-.x", "1", kPodNamespaces, false},
        SysctlCase{"EmptyName", "", "1", kPodNamespaces, false},
        SysctlCase{"TooLong", "net." + std::string(260, 'a'), "1", kPodNamespaces, false}),
    [](const ::testing::TestParamInfo<SysctlCase>& param_info) { return param_info.param.label; });

TEST(SysctlTest, ErrorNamesTheSysctl) {
  absl::Status status =
      ValidateSysctls({{"kernel.shm_rmid_forced", "1+kernel.core_pattern=|/evil"}}, {});
  EXPECT_THAT(status.message(), HasSubstr("kernel.shm_rmid_forced"));
  status = ValidateSysctls({{"net.ipv4.ip_forward", "1"}}, {.network = true});
  EXPECT_THAT(status.message(), HasSubstr("net.ipv4.ip_forward"));
  EXPECT_THAT(status.message(), HasSubstr("host network"));
  status = ValidateSysctls({{"vm.swappiness", "1"}}, {});
  EXPECT_THAT(status.message(), HasSubstr("vm.swappiness"));
}

TEST(SysctlTest, NewlineInNameIsEscapedInMessage) {
  absl::Status status = ValidateSysctls({{"net.a\nkernel.b", "1"}}, {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("net.a\\nkernel.b"));
}

TEST(SysctlTest, OneBadEntryFailsTheSet) {
  EXPECT_TRUE(ValidateSysctls({}, {}).ok());
  EXPECT_TRUE(ValidateSysctls({{"net.ipv4.ip_forward", "1"}, {"kernel.msgmax", "1"}}, {}).ok());
  EXPECT_FALSE(
      ValidateSysctls({{"net.ipv4.ip_forward", "1"}, {"kernel.core_pattern", "x"}}, {}).ok());
}

TEST(SysctlTest, RelativePath) {
  EXPECT_EQ(SysctlRelativePath("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
  EXPECT_EQ(SysctlRelativePath("net/ipv4/conf/eth0.100/forwarding"),
            "net/ipv4/conf/eth0.100/forwarding");
  EXPECT_EQ(SysctlRelativePath("net.ipv4.conf.eth0/100.forwarding"),
            "net/ipv4/conf/eth0.100/forwarding");
  EXPECT_EQ(SysctlRelativePath("kernel.shm_rmid_forced"), "kernel/shm_rmid_forced");
}

}  // namespace
}  // namespace berth::sandbox
