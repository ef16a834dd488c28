#include "cni/attachment.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cni/plugin_exec.h"
#include "common/files.h"
#include "common/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::nlohmann::json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kOkResult[] = R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]})";
constexpr char kSecondResult[] =
    R"({"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"},{"address":"fd00::3/64"}]})";

AttachRequest Request() {
  AttachRequest request;
  request.container_id = "c0ffee";
  request.netns = "/proc/self/ns/net";
  request.pod_name = "web";
  request.pod_namespace = "default";
  request.pod_uid = "uid-1";
  request.port_mappings = {
      {.host_port = 8080, .container_port = 80},
      {.host_port = 53, .container_port = 53, .protocol = "udp", .host_ip = "127.0.0.1"}};
  request.ingress_bps = 1000000;
  request.dns_servers = {"10.96.0.10"};
  request.dns_searches = {"svc.cluster.local"};
  request.ip_ranges = {"10.244.1.0/24"};
  return request;
}

NetworkConfig Network(const std::string& text) {
  absl::StatusOr<NetworkConfig> network =
      ParseNetworkConfigList(text, "/etc/cni/net.d/10.conflist");
  EXPECT_TRUE(network.ok()) << network.status();
  return network.ok() ? *network : NetworkConfig{};
}

NetworkConfig TwoPlugins(const std::string& first, const std::string& second,
                         const std::string& version = "1.0.0") {
  return Network(absl::StrCat(R"({"cniVersion":")", version, R"(","name":"testnet","plugins":[)",
                              R"({"type":")", first, R"(","answer":42},)", R"({"type":")", second,
                              R"(","capabilities":{"portMappings":true}}]})"));
}

TEST(PluginExecTest, CniArgs) {
  EXPECT_EQ(CniArgs(Request()),
            "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;"
            "K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=uid-1");
}

TEST(PluginExecTest, EnvironmentForAttachmentCalls) {
  AttachRequest request = Request();
  ExecOptions options{.plugin_dirs = {"/opt/cni/bin", "/usr/lib/cni"}};
  std::vector<std::string> env = PluginEnv("DEL", &request, "", options);
  EXPECT_THAT(env, Contains("CNI_COMMAND=DEL"));
  EXPECT_THAT(env, Contains("CNI_CONTAINERID=c0ffee"));
  EXPECT_THAT(env, Contains("CNI_NETNS="));
  EXPECT_THAT(env, Contains("CNI_IFNAME=eth0"));
  EXPECT_THAT(env, Contains("CNI_PATH=/opt/cni/bin:/usr/lib/cni"));
  EXPECT_THAT(env, Contains(absl::StrCat("CNI_ARGS=", CniArgs(request))));
  EXPECT_THAT(env, Contains(::testing::StartsWith("PATH=/")));
  EXPECT_EQ(env.size(), 7u);
}

TEST(PluginExecTest, EnvironmentForGcHasNoContainer) {
  std::vector<std::string> env = PluginEnv("GC", nullptr, "", ExecOptions{.plugin_dirs = {"/x"}});
  EXPECT_THAT(env, Contains("CNI_COMMAND=GC"));
  EXPECT_THAT(env, Contains("CNI_PATH=/x"));
  for (const std::string& entry : env) EXPECT_THAT(entry, Not(HasSubstr("CNI_CONTAINERID")));
  EXPECT_EQ(env.size(), 3u);
}

TEST(PluginExecTest, RuntimeConfigHoldsOnlyDeclaredCapabilities) {
  NetworkConfig network = Network(R"({"cniVersion":"1.0.0","name":"n","plugins":[
      {"type":"bridge"},
      {"type":"portmap","capabilities":{"portMappings":true,"bandwidth":false}},
      {"type":"bandwidth","capabilities":{"bandwidth":true}},
      {"type":"dnsy","capabilities":{"dns":true,"ipRanges":true,"mac":true}}]})");
  ASSERT_EQ(network.plugins.size(), 4u);
  AttachRequest request = Request();
  EXPECT_EQ(RuntimeConfig(network.plugins[0], request), json::object());
  EXPECT_EQ(RuntimeConfig(network.plugins[1], request), json::parse(R"({"portMappings":[
      {"hostPort":8080,"containerPort":80,"protocol":"tcp"},
      {"hostPort":53,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}]})"));
  EXPECT_EQ(RuntimeConfig(network.plugins[2], request),
            json::parse(R"({"bandwidth":{"ingressRate":1000000,"ingressBurst":2147483647}})"));
  EXPECT_EQ(RuntimeConfig(network.plugins[3], request), json::parse(R"({
      "dns":{"servers":["10.96.0.10"],"searches":["svc.cluster.local"]},
      "ipRanges":[[{"subnet":"10.244.1.0/24"}]]})"));
  // Nothing to pass: no runtimeConfig at all.
  EXPECT_EQ(RuntimeConfig(network.plugins[1], AttachRequest{}), json::object());
}

TEST(PluginExecTest, StdinAddsNameVersionRuntimeConfigAndPrevResult) {
  NetworkConfig network = TwoPlugins("bridge", "portmap");
  AttachRequest request = Request();
  json first = PluginStdin(network, network.plugins[0], request, nullptr);
  EXPECT_EQ(first,
            json::parse(R"({"type":"bridge","answer":42,"name":"testnet","cniVersion":"1.0.0"})"));
  json prev = json::parse(kOkResult);
  json second = PluginStdin(network, network.plugins[1], request, &prev);
  EXPECT_EQ(second["type"], "portmap");
  EXPECT_EQ(second["name"], "testnet");
  EXPECT_EQ(second["prevResult"], prev);
  EXPECT_EQ(second["runtimeConfig"]["portMappings"].size(), 2u);
  EXPECT_FALSE(second["runtimeConfig"].contains("bandwidth"));
}

// Fake plugins: shell scripts that log each call and answer as told.
class FakePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Make("cni-attach-test-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    tmp_ = std::make_unique<TempDir>(*std::move(dir));
    options_.plugin_dirs = {tmp_->path() + "/bin"};
    options_.timeout = absl::Seconds(10);
    ASSERT_TRUE(MakeDirs(tmp_->path() + "/bin").ok());
    ASSERT_TRUE(MakeDirs(tmp_->path() + "/log").ok());
  }

  // A plugin that logs "<name> <command> <netns>" to log/calls, its stdin to
  // log/stdin-<name>-<command> and its CNI_* environment to log/env-<name>-<command>, then runs
  // `on_add` for ADD.
  void Plugin(const std::string& name, const std::string& on_add) {
    std::string log = tmp_->path() + "/log";
    std::string script = absl::StrCat(
        "#!/bin/sh\nin=$(cat)\n", "echo \"", name, " $CNI_COMMAND $CNI_NETNS\" >> ", log,
        "/calls\n", "printf '%s\\n' \"$in\" > ", log, "/stdin-", name, "-$CNI_COMMAND\n",
        "env | grep '^CNI_' | sort > ", log, "/env-", name, "-$CNI_COMMAND\n",
        "if [ \"$CNI_COMMAND\" = ADD ]; then\n", on_add.empty() ? ":" : on_add, "\nfi\nexit 0\n");
    ASSERT_TRUE(WriteFileAtomic(tmp_->path() + "/bin/" + name, script, 0755).ok());
  }

  // A plugin named like a reference plugin (so Add may start it ahead of its turn) that logs
  // "start <name> <command>" to log/starts as soon as it runs, then behaves as Plugin's.
  void EarlyPlugin(const std::string& name, const std::string& on_add) {
    Plugin(name, on_add);
    std::string path = tmp_->path() + "/bin/" + name;
    absl::StatusOr<std::string> script = ReadFile(path);
    ASSERT_TRUE(script.ok());
    std::string start = absl::StrCat("#!/bin/sh\necho \"start ", name, " $CNI_COMMAND\" >> ",
                                     tmp_->path(), "/log/starts\n");
    ASSERT_TRUE(
        WriteFileAtomic(path, start + script->substr(script->find('\n') + 1), 0755).ok());
  }

  // Whether log/starts has `line`, waiting for it at most 10 s.
  bool StartedSoon(const std::string& line) {
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<std::string> starts = ReadFile(tmp_->path() + "/log/starts");
      if (starts.ok() && absl::StrContains(*starts, line)) return true;
      ::usleep(10 * 1000);
    }
    return false;
  }

  std::vector<std::string> Calls() {
    absl::StatusOr<std::string> text = ReadFile(tmp_->path() + "/log/calls");
    if (!text.ok()) return {};
    return absl::StrSplit(*text, '\n', absl::SkipEmpty());
  }

  json Stdin(const std::string& name, const std::string& command) {
    absl::StatusOr<std::string> text =
        ReadFile(absl::StrCat(tmp_->path(), "/log/stdin-", name, "-", command));
    EXPECT_TRUE(text.ok()) << text.status();
    return text.ok() ? json::parse(*text) : json();
  }

  std::unique_ptr<TempDir> tmp_;
  ExecOptions options_;
};

TEST_F(FakePluginTest, AddChainsPrevResultAndReturnsTheLastResult) {
  Plugin("one", absl::StrCat("echo '", kOkResult, "'"));
  Plugin("two", absl::StrCat("echo '", kSecondResult, "'"));
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("one", "two"), Request(), options_);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  EXPECT_THAT(Calls(), ElementsAre("one ADD /proc/self/ns/net", "two ADD /proc/self/ns/net"));
  EXPECT_THAT(attachment->result.PodIps(), ElementsAre("10.1.2.3", "fd00::3"));
  EXPECT_EQ(attachment->result.raw, json::parse(kSecondResult));
  EXPECT_EQ(attachment->network.name, "testnet");
  EXPECT_FALSE(Stdin("one", "ADD").contains("prevResult"));
  EXPECT_FALSE(Stdin("one", "ADD").contains("runtimeConfig"));
  EXPECT_EQ(Stdin("two", "ADD")["prevResult"], json::parse(kOkResult));
  EXPECT_EQ(Stdin("two", "ADD")["runtimeConfig"]["portMappings"][0]["hostPort"], 8080);
  absl::StatusOr<std::string> env = ReadFile(tmp_->path() + "/log/env-one-ADD");
  ASSERT_TRUE(env.ok());
  EXPECT_THAT(*env, HasSubstr("CNI_CONTAINERID=c0ffee\n"));
  EXPECT_THAT(*env, HasSubstr(absl::StrCat("CNI_ARGS=", CniArgs(Request()), "\n")));
  EXPECT_THAT(*env, HasSubstr("CNI_IFNAME=eth0\n"));
  EXPECT_THAT(*env, HasSubstr(absl::StrCat("CNI_PATH=", tmp_->path(), "/bin\n")));
}

TEST_F(FakePluginTest, FailedAddRunsDelForTheListAndCarriesThePluginError) {
  Plugin("one", absl::StrCat("echo '", kOkResult, "'"));
  Plugin("bad", R"(echo '{"cniVersion":"1.0.0","code":7,"msg":"no more addresses","details":"pool )"
                R"(exhausted"}'; exit 1)");
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("one", "bad"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_THAT(attachment.status().message(), HasSubstr("network testnet"));
  EXPECT_THAT(attachment.status().message(), HasSubstr("plugin bad ADD"));
  EXPECT_THAT(attachment.status().message(), HasSubstr("no more addresses: pool exhausted"));
  EXPECT_THAT(attachment.status().message(), HasSubstr("code 7"));
  EXPECT_THAT(Calls(), ElementsAre("one ADD /proc/self/ns/net", "bad ADD /proc/self/ns/net",
                                   "bad DEL /proc/self/ns/net", "one DEL /proc/self/ns/net"));
  // The clean-up DEL has what the list returned so far.
  EXPECT_EQ(Stdin("one", "DEL")["prevResult"], json::parse(kOkResult));
}

TEST_F(FakePluginTest, ReferencePluginsStartAheadButActInTurn) {
  // bridge goes on only once portmap runs: portmap must have been started during bridge's turn.
  std::string starts = tmp_->path() + "/log/starts";
  EarlyPlugin("bridge", absl::StrCat("i=0; while ! grep -q 'start portmap ADD' ", starts,
                                     " && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; grep -c ",
                                     "'start portmap ADD' ", starts, " > ", tmp_->path(),
                                     "/log/portmap-seen; echo '", kOkResult, "'"));
  EarlyPlugin("portmap", absl::StrCat("echo '", kSecondResult, "'"));
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("bridge", "portmap"), Request(), options_);
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  EXPECT_EQ(*ReadFile(tmp_->path() + "/log/portmap-seen"), "1\n");
  EXPECT_THAT(Calls(), ElementsAre("bridge ADD /proc/self/ns/net", "portmap ADD /proc/self/ns/net"));
  EXPECT_EQ(Stdin("portmap", "ADD")["prevResult"], json::parse(kOkResult));
  EXPECT_EQ(attachment->result.raw, json::parse(kSecondResult));
}

TEST_F(FakePluginTest, OtherPluginsStartOnlyInTurn) {
  std::string starts = tmp_->path() + "/log/starts";
  Plugin("one", absl::StrCat("if [ -e ", starts, " ]; then echo early > ", tmp_->path(),
                             "/log/early; fi; echo '", kOkResult, "'"));
  Plugin("two", absl::StrCat("echo '", kOkResult, "'"));
  absl::StatusOr<std::string> two = ReadFile(tmp_->path() + "/bin/two");
  ASSERT_TRUE(two.ok());
  ASSERT_TRUE(WriteFileAtomic(tmp_->path() + "/bin/two",
                              absl::StrCat("#!/bin/sh\necho start >> ", starts, "\n",
                                           two->substr(two->find('\n') + 1)),
                              0755)
                  .ok());
  ASSERT_TRUE(Add(TwoPlugins("one", "two"), Request(), options_).ok());
  EXPECT_FALSE(ReadFile(tmp_->path() + "/log/early").ok());
  EXPECT_THAT(Calls(), ElementsAre("one ADD /proc/self/ns/net", "two ADD /proc/self/ns/net"));
}

TEST_F(FakePluginTest, NetnsReadyGatesTheFirstPlugin) {
  EarlyPlugin("bridge", absl::StrCat("echo '", kOkResult, "'"));
  EarlyPlugin("portmap", absl::StrCat("echo '", kOkResult, "'"));
  bool started = false;
  std::vector<std::string> calls_then = {"not called"};
  absl::StatusOr<Attachment> attachment =
      Add(TwoPlugins("bridge", "portmap"), Request(), options_, [&] {
        started = StartedSoon("start bridge ADD");
        calls_then = Calls();
        return absl::OkStatus();
      });
  ASSERT_TRUE(attachment.ok()) << attachment.status();
  EXPECT_TRUE(started);              // running while the namespace was being made...
  EXPECT_THAT(calls_then, IsEmpty());  // ...but acting only after
  EXPECT_THAT(Calls(), ElementsAre("bridge ADD /proc/self/ns/net", "portmap ADD /proc/self/ns/net"));
}

TEST_F(FakePluginTest, NetnsReadyFailureRunsNoPlugin) {
  EarlyPlugin("bridge", absl::StrCat("echo '", kOkResult, "'"));
  EarlyPlugin("portmap", absl::StrCat("echo '", kOkResult, "'"));
  absl::StatusOr<Attachment> attachment =
      Add(TwoPlugins("bridge", "portmap"), Request(), options_,
          [] { return absl::InvalidArgumentError("setting sysctl net.x: no such sysctl"); });
  EXPECT_EQ(attachment.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(attachment.status().message(), "setting sysctl net.x: no such sysctl");
  EXPECT_THAT(Calls(), IsEmpty());  // no ADD, so nothing to DEL
}

TEST_F(FakePluginTest, AFailedPluginCancelsTheOneStartedAhead) {
  EarlyPlugin("bridge", R"(echo '{"cniVersion":"1.0.0","code":7,"msg":"no"}'; exit 1)");
  EarlyPlugin("portmap", absl::StrCat("echo '", kOkResult, "'"));
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("bridge", "portmap"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_THAT(Calls(), ElementsAre("bridge ADD /proc/self/ns/net", "portmap DEL /proc/self/ns/net",
                                   "bridge DEL /proc/self/ns/net"));
}

TEST_F(FakePluginTest, FailureWithoutJsonCarriesStderr) {
  Plugin("one", "echo 'bridge exploded' >&2; exit 3");
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("one", "one"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_THAT(attachment.status().message(), HasSubstr("plugin one ADD failed"));
  EXPECT_THAT(attachment.status().message(), HasSubstr("bridge exploded"));
  EXPECT_THAT(Calls(), ElementsAre("one ADD /proc/self/ns/net", "one DEL /proc/self/ns/net",
                                   "one DEL /proc/self/ns/net"));
}

TEST_F(FakePluginTest, MalformedResultFailsTheAdd) {
  Plugin("one", "echo '{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"nope\"}]}'");
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("one", "one"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_EQ(attachment.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(attachment.status().message(), HasSubstr("plugin one ADD"));
  EXPECT_THAT(Calls(), Contains(HasSubstr("one DEL")));
}

TEST_F(FakePluginTest, TimeoutIsDeadlineExceededNamingThePlugin) {
  Plugin("slow", "exec sleep 30");
  options_.timeout = absl::Milliseconds(300);
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("slow", "slow"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_EQ(attachment.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(attachment.status().message(), HasSubstr("plugin slow ADD timed out"));
}

TEST_F(FakePluginTest, OversizedOutputIsRefused) {
  Plugin("chatty", "head -c 1100000 /dev/zero | tr '\\0' a");
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("chatty", "chatty"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_EQ(attachment.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(attachment.status().message(), HasSubstr("plugin chatty ADD"));
}

TEST_F(FakePluginTest, MissingPluginIsNamed) {
  absl::StatusOr<Attachment> attachment = Add(TwoPlugins("ghost", "ghost"), Request(), options_);
  ASSERT_FALSE(attachment.ok());
  EXPECT_THAT(attachment.status().message(), HasSubstr("ghost"));
}

TEST_F(FakePluginTest, DelRunsInReverseWithCachedResultAndEmptyNetnsWhenGone) {
  Plugin("one", "");
  Plugin("two", "");
  Attachment attachment{.request = Request(), .network = TwoPlugins("one", "two")};
  attachment.request.netns = tmp_->path() + "/no-such-netns";
  attachment.result = *ParseResult(kOkResult);
  ASSERT_TRUE(Del(attachment, options_).ok());
  ASSERT_TRUE(Del(attachment, options_).ok());
  EXPECT_THAT(Calls(), ElementsAre("two DEL ", "one DEL ", "two DEL ", "one DEL "));
  EXPECT_EQ(Stdin("one", "DEL")["prevResult"], json::parse(kOkResult));
  EXPECT_EQ(Stdin("two", "DEL")["runtimeConfig"]["portMappings"].size(), 2u);

  // A pin file whose namespace mount is gone is no namespace either.
  attachment.request.netns = tmp_->path() + "/stale-pin";
  ASSERT_TRUE(WriteFileAtomic(attachment.request.netns, "").ok());
  ASSERT_TRUE(Del(attachment, options_).ok());
  EXPECT_EQ(Calls().back(), "one DEL ");
}

TEST_F(FakePluginTest, DelOfOldVersionHasNoPrevResultAndKeepsGoingAfterAFailure) {
  Plugin("one", "");
  ASSERT_TRUE(
      WriteFileAtomic(tmp_->path() + "/bin/bad", "#!/bin/sh\necho oops >&2\nexit 1\n", 0755).ok());
  Attachment attachment{.request = Request(), .network = TwoPlugins("one", "bad", "0.3.1")};
  attachment.result = *ParseResult(R"({"cniVersion":"0.3.1"})");
  absl::Status status = Del(attachment, options_);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("oops"));
  EXPECT_THAT(Calls(), ElementsAre("one DEL /proc/self/ns/net"));  // ran despite bad's failure
  EXPECT_FALSE(Stdin("one", "DEL").contains("prevResult"));
}

TEST_F(FakePluginTest, CheckRunsInOrderForNewVersionsOnly) {
  Plugin("one", "");
  Plugin("two", "");
  Attachment attachment{.request = Request(), .network = TwoPlugins("one", "two", "0.4.0")};
  attachment.result = *ParseResult(R"({"cniVersion":"0.4.0"})");
  ASSERT_TRUE(Check(attachment, options_).ok());
  EXPECT_THAT(Calls(), ElementsAre("one CHECK /proc/self/ns/net", "two CHECK /proc/self/ns/net"));
  EXPECT_EQ(Stdin("two", "CHECK")["prevResult"], attachment.result.raw);

  attachment.network = TwoPlugins("one", "two", "0.3.1");
  ASSERT_TRUE(Check(attachment, options_).ok());
  attachment.network = TwoPlugins("one", "two", "1.0.0");
  attachment.network.disable_check = true;
  ASSERT_TRUE(Check(attachment, options_).ok());
  EXPECT_EQ(Calls().size(), 2u);
}

TEST_F(FakePluginTest, GcPassesValidAttachmentsOfThisNetwork) {
  Plugin("one", "");
  Plugin("two", "");
  NetworkConfig network = TwoPlugins("one", "two", "1.1.0");
  Attachment mine{.request = Request(), .network = network};
  Attachment other{.request = Request(), .network = TwoPlugins("one", "two", "1.1.0")};
  other.network.name = "othernet";
  other.request.container_id = "other";
  ASSERT_TRUE(Gc(network, {mine, other}, options_).ok());
  EXPECT_THAT(Calls(), ElementsAre("one GC ", "two GC "));
  EXPECT_EQ(Stdin("two", "GC")["cni.dev/valid-attachments"],
            json::parse(R"([{"containerID":"c0ffee","ifname":"eth0"}])"));
  EXPECT_EQ(Stdin("two", "GC")["cniVersion"], "1.1.0");

  EXPECT_EQ(Gc(TwoPlugins("one", "two", "1.0.0"), {}, options_).code(),
            absl::StatusCode::kUnimplemented);
  network.disable_gc = true;
  EXPECT_EQ(Gc(network, {}, options_).code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(Calls().size(), 2u);
}

TEST_F(FakePluginTest, CacheRoundTrip) {
  Attachment attachment{.request = Request(), .network = TwoPlugins("one", "two")};
  attachment.request.egress_bps = 5;
  attachment.request.dns_options = {"ndots:5"};
  attachment.result = *ParseResult(kSecondResult);
  std::string path = tmp_->path() + "/attachment.json";
  ASSERT_TRUE(SaveAttachment(path, attachment).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  absl::StatusOr<Attachment> loaded = LoadAttachment(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const AttachRequest& r = loaded->request;
  EXPECT_EQ(r.container_id, "c0ffee");
  EXPECT_EQ(r.netns, "/proc/self/ns/net");
  EXPECT_EQ(r.ifname, "eth0");
  EXPECT_EQ(r.pod_name, "web");
  EXPECT_EQ(r.pod_namespace, "default");
  EXPECT_EQ(r.pod_uid, "uid-1");
  ASSERT_EQ(r.port_mappings.size(), 2u);
  EXPECT_EQ(r.port_mappings[1].host_port, 53);
  EXPECT_EQ(r.port_mappings[1].protocol, "udp");
  EXPECT_EQ(r.port_mappings[1].host_ip, "127.0.0.1");
  EXPECT_EQ(r.ingress_bps, 1000000);
  EXPECT_EQ(r.egress_bps, 5);
  EXPECT_THAT(r.dns_servers, ElementsAre("10.96.0.10"));
  EXPECT_THAT(r.dns_searches, ElementsAre("svc.cluster.local"));
  EXPECT_THAT(r.dns_options, ElementsAre("ndots:5"));
  EXPECT_THAT(r.ip_ranges, ElementsAre("10.244.1.0/24"));
  EXPECT_EQ(loaded->network.name, "testnet");
  EXPECT_EQ(loaded->network.file, "/etc/cni/net.d/10.conflist");
  EXPECT_EQ(loaded->network.raw, attachment.network.raw);
  ASSERT_EQ(loaded->network.plugins.size(), 2u);
  EXPECT_TRUE(loaded->network.plugins[1].HasCapability("portMappings"));
  EXPECT_EQ(loaded->result.raw, attachment.result.raw);
  EXPECT_THAT(loaded->result.PodIps(), ElementsAre("10.1.2.3", "fd00::3"));
}

TEST_F(FakePluginTest, LoadRefusesGarbage) {
  std::string path = tmp_->path() + "/bad.json";
  ASSERT_TRUE(WriteFileAtomic(path, "{\"version\":1,\"request\":{}}").ok());
  EXPECT_EQ(LoadAttachment(path).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(WriteFileAtomic(path, "not json").ok());
  EXPECT_EQ(LoadAttachment(path).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadAttachment(tmp_->path() + "/missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace berth::cni
