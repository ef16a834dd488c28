#include "ctl/container_format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::ctl {
namespace {

namespace cri = runtime::v1;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

cri::Container MakeContainer(const std::string& id, const std::string& name, int64_t age_s,
                             cri::ContainerState state = cri::CONTAINER_RUNNING) {
  cri::Container c;
  c.set_id(id);
  c.set_pod_sandbox_id("pod" + id);
  c.mutable_metadata()->set_name(name);
  c.mutable_metadata()->set_attempt(2);
  c.mutable_image()->set_image("registry.local/busybox:1.0");
  c.set_state(state);
  c.set_created_at(absl::ToUnixNanos(kNow - absl::Seconds(age_s)));
  return c;
}

TEST(ContainerFormatTest, StatesAndAges) {
  EXPECT_STREQ(ContainerStateName(cri::CONTAINER_EXITED), "Exited");
  EXPECT_STREQ(ContainerStateName(cri::CONTAINER_CREATED), "Created");
  EXPECT_EQ(*ParseContainerState("Running"), cri::CONTAINER_RUNNING);
  EXPECT_FALSE(ParseContainerState("sleeping").ok());
  EXPECT_EQ(FormatAge(absl::ToUnixNanos(kNow - absl::Seconds(5)), kNow), "5s ago");
  EXPECT_EQ(FormatAge(absl::ToUnixNanos(kNow - absl::Minutes(3)), kNow), "3m ago");
  EXPECT_EQ(FormatAge(absl::ToUnixNanos(kNow - absl::Hours(5)), kNow), "5h ago");
  EXPECT_EQ(FormatAge(absl::ToUnixNanos(kNow - absl::Hours(72)), kNow), "3d ago");
  EXPECT_EQ(ShortId("sha256:0123456789abcdef0123"), "0123456789abc");
  EXPECT_EQ(ShortId("abc"), "abc");
}

TEST(ContainerFormatTest, Bytes) {
  EXPECT_EQ(HumanBytes(0), "0B");
  EXPECT_EQ(HumanBytes(999), "999B");
  EXPECT_EQ(HumanBytes(1500), "1.5kB");
  EXPECT_EQ(HumanBytes(12300000), "12.3MB");
  EXPECT_EQ(*ParseBytes("512"), 512);
  EXPECT_EQ(*ParseBytes("64k"), 64 << 10);
  EXPECT_EQ(*ParseBytes("32Mi"), 32 << 20);
  EXPECT_EQ(*ParseBytes("1G"), int64_t{1} << 30);
  EXPECT_EQ(*ParseBytes("2gib"), int64_t{2} << 30);
  EXPECT_FALSE(ParseBytes("").ok());
  EXPECT_FALSE(ParseBytes("-5").ok());
  EXPECT_FALSE(ParseBytes("12x").ok());
  EXPECT_FALSE(ParseBytes("99999999999999999999").ok());
}

TEST(ContainerFormatTest, PsFilterDefaultsToRunning) {
  PsFlags flags;
  auto filter = PsFilter(flags);
  ASSERT_TRUE(filter.ok());
  ASSERT_TRUE(filter->has_state());
  EXPECT_EQ(filter->state().state(), cri::CONTAINER_RUNNING);
  flags.all = true;
  flags.labels = {"app=web", "tier=a=b"};
  filter = PsFilter(flags);
  ASSERT_TRUE(filter.ok());
  EXPECT_FALSE(filter->has_state());
  EXPECT_EQ(filter->label_selector().at("app"), "web");
  EXPECT_EQ(filter->label_selector().at("tier"), "a=b");
  flags.state = "exited";
  EXPECT_EQ(PsFilter(flags)->state().state(), cri::CONTAINER_EXITED);
  flags.labels = {"novalue"};
  EXPECT_FALSE(PsFilter(flags).ok());
}

TEST(ContainerFormatTest, PsTable) {
  std::vector<cri::Container> containers = {
      MakeContainer("aaaaaaaaaaaaaaaaaaaa", "old", 120),
      MakeContainer("bbbbbbbbbbbbbbbbbbbb", "new", 3, cri::CONTAINER_EXITED)};
  PsFlags flags;
  std::string table = FormatPs(containers, flags, kNow);
  EXPECT_THAT(table, HasSubstr("CONTAINER"));
  EXPECT_THAT(table, HasSubstr("POD ID"));
  size_t newer = table.find("bbbbbbbbbbbbb ");
  size_t older = table.find("aaaaaaaaaaaaa ");
  ASSERT_NE(newer, std::string::npos);
  ASSERT_NE(older, std::string::npos);
  EXPECT_LT(newer, older) << "newest first";
  EXPECT_THAT(table, HasSubstr("3s ago"));
  EXPECT_THAT(table, HasSubstr("2m ago"));
  EXPECT_THAT(table, HasSubstr("Exited"));
  EXPECT_THAT(table, HasSubstr("registry.local/busybox:1.0"));
  EXPECT_THAT(table, HasSubstr("podbbbbbbbbbb"));

  flags.quiet = true;
  flags.name = "ol";
  EXPECT_EQ(FormatPs(containers, flags, kNow), "aaaaaaaaaaaaaaaaaaaa\n");
  flags.name.clear();
  flags.id = "bb";
  EXPECT_EQ(FormatPs(containers, flags, kNow), "bbbbbbbbbbbbbbbbbbbb\n");
  flags.id.clear();
  flags.pod = "podaa";
  EXPECT_EQ(FormatPs(containers, flags, kNow), "aaaaaaaaaaaaaaaaaaaa\n");
}

TEST(ContainerFormatTest, UpdateRequestSetsOnlyGivenFlags) {
  UpdateFlags flags;
  EXPECT_FALSE(UpdateRequest("c1", flags).ok());
  flags.cpu_shares = 512;
  flags.memory = "64m";
  auto request = UpdateRequest("c1", flags);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->container_id(), "c1");
  EXPECT_EQ(request->linux().cpu_shares(), 512);
  EXPECT_EQ(request->linux().memory_limit_in_bytes(), 64 << 20);
  EXPECT_EQ(request->linux().cpu_quota(), 0);
  EXPECT_EQ(request->linux().cpu_period(), 0);
  EXPECT_TRUE(request->linux().cpuset_cpus().empty());
  flags.memory = "lots";
  EXPECT_FALSE(UpdateRequest("c1", flags).ok());
}

cri::ContainerStats MakeStats(const std::string& id, int64_t at_s, uint64_t cpu_ns) {
  cri::ContainerStats s;
  s.mutable_attributes()->set_id(id);
  s.mutable_attributes()->mutable_metadata()->set_name("web");
  s.mutable_cpu()->set_timestamp(at_s * 1000000000);
  s.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(cpu_ns);
  s.mutable_memory()->mutable_working_set_bytes()->set_value(2500000);
  s.mutable_writable_layer()->mutable_used_bytes()->set_value(4096);
  s.mutable_writable_layer()->mutable_inodes_used()->set_value(7);
  return s;
}

TEST(ContainerFormatTest, StatsPercentBetweenSamples) {
  std::vector<cri::ContainerStats> before = {MakeStats("c1", 100, 1000000000)};
  std::vector<cri::ContainerStats> now = {MakeStats("c1", 102, 2000000000),
                                          MakeStats("c2", 102, 3500000000)};
  std::string table = FormatStats(now, before);
  EXPECT_THAT(table, HasSubstr("CPU %"));
  EXPECT_THAT(table, HasSubstr("50.00")) << table;  // 1 s of CPU in 2 s
  EXPECT_THAT(table, HasSubstr("3.50s")) << "no earlier sample: cumulative seconds";
  EXPECT_THAT(table, HasSubstr("2.5MB"));
  EXPECT_THAT(table, HasSubstr("4.1kB"));
  EXPECT_THAT(table, Not(HasSubstr("-nan")));
}

}  // namespace
}  // namespace berth::ctl
