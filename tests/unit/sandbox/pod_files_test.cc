#include "sandbox/pod_files.h"

#include <sys/stat.h>

#include <optional>
#include <string>

#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::sandbox {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

runtime::v1::DNSConfig Dns(std::vector<std::string> servers, std::vector<std::string> searches,
                           std::vector<std::string> options) {
  runtime::v1::DNSConfig dns;
  for (auto& s : servers) dns.add_servers(s);
  for (auto& s : searches) dns.add_searches(s);
  for (auto& s : options) dns.add_options(s);
  return dns;
}

TEST(HostnameTest, AcceptsRfc1123) {
  for (const std::string& name : std::vector<std::string>{
           "a", "nginx", "web-0", "pod.example.com", "A1-b2", std::string(63, 'a'),
           std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
               std::string(61, 'd')}) {
    EXPECT_TRUE(ValidateHostname(name).ok()) << name;
  }
}

TEST(HostnameTest, RejectsInjectionAndBadLabels) {
  for (const std::string& name : std::vector<std::string>{
           std::string(), std::string("-a"), std::string("a-"), std::string("a..b"),
           std::string(".a"), std::string("a."), std::string("a b"), std::string("a\nb"),
           std::string("a\tb"), std::string("a\0b", 3), std::string("a_b"),
           std::string("1.2.3.4\tevil"), std::string(64, 'a'),
           std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
               std::string(62, 'd')}) {
    absl::Status status = ValidateHostname(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(ResolvConfTest, RendersSearchServersOptions) {
  auto dns = Dns({"10.96.0.10", "fd00::10"}, {"default.svc.cluster.local", "svc.cluster.local"},
                 {"ndots:5", "edns0"});
  absl::StatusOr<std::string> text = RenderResolvConf(dns, "nameserver 1.1.1.1\n");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text,
            "search default.svc.cluster.local svc.cluster.local\n"
            "nameserver 10.96.0.10\n"
            "nameserver fd00::10\n"
            "options ndots:5 edns0\n");
}

TEST(ResolvConfTest, OnlyServers) {
  absl::StatusOr<std::string> text = RenderResolvConf(Dns({"8.8.8.8"}, {}, {}), "host");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "nameserver 8.8.8.8\n");
}

TEST(ResolvConfTest, EmptyConfigKeepsHostFile) {
  absl::StatusOr<std::string> text = RenderResolvConf({}, "nameserver 1.1.1.1\nsearch lan\n");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "nameserver 1.1.1.1\nsearch lan\n");
}

TEST(ResolvConfTest, RejectsInjection) {
  struct Case {
    runtime::v1::DNSConfig dns;
    std::string named;
  };
  std::vector<Case> cases = {
      {Dns({"10.0.0.1\nnameserver 6.6.6.6"}, {}, {}), "nameserver 6.6.6.6"},
      {Dns({"10.0.0.1 6.6.6.6"}, {}, {}), "10.0.0.1 6.6.6.6"},
      {Dns({"dns.example.com"}, {}, {}), "dns.example.com"},
      {Dns({""}, {}, {}), "server"},
      {Dns({}, {"a b"}, {}), "a b"},
      {Dns({}, {"a\nnameserver 6.6.6.6"}, {}), "a\\nnameserver"},
      {Dns({}, {""}, {}), "search"},
      {Dns({}, {}, {"ndots:5\nnameserver 6.6.6.6"}), "ndots:5\\n"},
      {Dns({}, {}, {"ndots:5 rotate"}), "ndots:5 rotate"},
      {Dns({}, {}, {"x\tb"}), "x\\tb"},
      {Dns({}, {"a", "b", "c", "d", "e", "f", "g"}, {}), "too many DNS searches"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> text = RenderResolvConf(c.dns, "");
    EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument) << c.dns.DebugString();
    EXPECT_THAT(text.status().message(), HasSubstr(c.named));
  }
}

TEST(HostsTest, ManagedFileWithPodIps) {
  absl::StatusOr<std::string> text = RenderHosts("web-0", {"10.88.0.5", "fd00::5"});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, StartsWith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
                                "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"));
  EXPECT_THAT(*text, EndsWith("ip6-allrouters\n10.88.0.5\tweb-0\nfd00::5\tweb-0\n"));
}

TEST(HostsTest, RejectsBadHostnameAndIps) {
  EXPECT_EQ(RenderHosts("a\n1.2.3.4 evil", {"10.0.0.1"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> text = RenderHosts("web", {"10.0.0.1\tevil"});
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(text.status().message(), HasSubstr("10.0.0.1\\tevil"));
}

class WritePodFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = TempDir::Make("pod-files-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_.emplace(std::move(*dir));
    ASSERT_TRUE(MakeDirs(Path("pod")).ok());
    ASSERT_TRUE(WriteFileAtomic(Path("host-resolv"), "nameserver 192.168.1.1\n").ok());
    ASSERT_TRUE(WriteFileAtomic(Path("host-hosts"), "127.0.0.1 myhost\n").ok());
  }
  std::string Path(const std::string& name) const { return dir_->path() + "/" + name; }
  PodFilesOptions Options() const {
    return PodFilesOptions{.dir = Path("pod"),
                           .hostname = "web-0",
                           .ips = {"10.88.0.7"},
                           .host_resolv_conf_path = Path("host-resolv"),
                           .host_hosts_path = Path("host-hosts")};
  }
  std::string Read(const std::string& name) const {
    absl::StatusOr<std::string> data = ReadFile(Path("pod/" + name));
    return data.ok() ? *data : "<" + data.status().ToString() + ">";
  }
  std::optional<TempDir> dir_;
};

TEST_F(WritePodFilesTest, PodNetworkWithDns) {
  auto dns = Dns({"10.96.0.10"}, {"svc.cluster.local"}, {"ndots:5"});
  PodFilesOptions options = Options();
  options.dns = &dns;
  ASSERT_TRUE(WritePodFiles(options).ok());
  EXPECT_EQ(Read("hostname"), "web-0\n");
  EXPECT_THAT(Read("hosts"), EndsWith("\n10.88.0.7\tweb-0\n"));
  EXPECT_EQ(Read("resolv.conf"),
            "search svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
  struct stat st;
  ASSERT_EQ(::stat(Path("pod/hosts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(WritePodFilesTest, NoDnsCopiesHostResolvConf) {
  ASSERT_TRUE(WritePodFiles(Options()).ok());
  EXPECT_EQ(Read("resolv.conf"), "nameserver 192.168.1.1\n");
}

TEST_F(WritePodFilesTest, HostNetworkCopiesHostHosts) {
  PodFilesOptions options = Options();
  options.host_network = true;
  options.ips.clear();
  ASSERT_TRUE(WritePodFiles(options).ok());
  EXPECT_EQ(Read("hosts"), "127.0.0.1 myhost\n");
  EXPECT_EQ(Read("hostname"), "web-0\n");
}

TEST_F(WritePodFilesTest, BadInputWritesNothing) {
  PodFilesOptions options = Options();
  options.hostname = "evil\n10.0.0.1 kubernetes";
  EXPECT_EQ(WritePodFiles(options).code(), absl::StatusCode::kInvalidArgument);
  auto dns = Dns({"10.0.0.1\nnameserver 6.6.6.6"}, {}, {});
  options = Options();
  options.dns = &dns;
  EXPECT_EQ(WritePodFiles(options).code(), absl::StatusCode::kInvalidArgument);
  struct stat st;
  EXPECT_NE(::stat(Path("pod/hostname").c_str(), &st), 0);
  EXPECT_NE(::stat(Path("pod/resolv.conf").c_str(), &st), 0);
}

TEST_F(WritePodFilesTest, MissingDirIsAnError) {
  PodFilesOptions options = Options();
  options.dir = Path("missing");
  absl::Status status = WritePodFiles(options);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("missing/hostname"));
}

}  // namespace
}  // namespace berth::sandbox
