#include "cni/result.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::cni {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ParseResultTest, Version031WithVersionFields) {
  absl::StatusOr<Result> result = ParseResult(R"({
    "cniVersion": "0.3.1",
    "interfaces": [{"name": "cni0", "mac": "aa:bb:cc:dd:ee:01"},
                   {"name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/var/run/netns/x"}],
    "ips": [{"version": "4", "address": "10.85.0.5/16", "gateway": "10.85.0.1", "interface": 1}],
    "routes": [{"dst": "0.0.0.0/0"}],
    "dns": {}
  })");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->cni_version, "0.3.1");
  ASSERT_EQ(result->ips.size(), 1u);
  EXPECT_EQ(result->ips[0].address, "10.85.0.5/16");
  EXPECT_EQ(result->ips[0].ip(), "10.85.0.5");
  EXPECT_EQ(result->ips[0].gateway, "10.85.0.1");
  EXPECT_EQ(result->ips[0].interface, 1);
  EXPECT_FALSE(result->ips[0].ipv6);
  EXPECT_EQ(result->raw["routes"][0]["dst"], "0.0.0.0/0");
  EXPECT_THAT(result->PodIps(), ElementsAre("10.85.0.5"));
}

TEST(ParseResultTest, Version040IPv6) {
  absl::StatusOr<Result> result = ParseResult(R"({
    "cniVersion": "0.4.0",
    "ips": [{"version": "6", "address": "fd00:10::7/64", "gateway": "fd00:10::1"}]
  })");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->ips.size(), 1u);
  EXPECT_TRUE(result->ips[0].ipv6);
  EXPECT_EQ(result->ips[0].interface, -1);
  EXPECT_EQ(result->ips[0].ip(), "fd00:10::7");
}

TEST(ParseResultTest, Version030AndVersionMismatchIsRefused) {
  EXPECT_TRUE(
      ParseResult(R"({"cniVersion":"0.3.0","ips":[{"version":"4","address":"1.2.3.4/8"}]})").ok());
  absl::StatusOr<Result> result =
      ParseResult(R"({"cniVersion":"0.4.0","ips":[{"version":"6","address":"10.0.0.1/8"}]})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("10.0.0.1/8"));
}

TEST(ParseResultTest, Version100DualStackReportsIPv4First) {
  absl::StatusOr<Result> result = ParseResult(R"({
    "cniVersion": "1.0.0",
    "interfaces": [{"name": "eth0"}],
    "ips": [{"address": "fd00::5/64", "interface": 0},
            {"address": "10.1.0.5/24", "gateway": "10.1.0.1", "interface": 0}]
  })");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->ips.size(), 2u);
  EXPECT_TRUE(result->ips[0].ipv6);
  EXPECT_FALSE(result->ips[1].ipv6);
  EXPECT_THAT(result->PodIps(), ElementsAre("10.1.0.5", "fd00::5"));
}

TEST(ParseResultTest, Version110DeduplicatesPodIps) {
  absl::StatusOr<Result> result = ParseResult(R"({
    "cniVersion": "1.1.0",
    "ips": [{"address": "10.1.0.5/24"}, {"address": "10.1.0.5/24"},
            {"address": "fd00::5/64"}, {"address": "10.2.0.5/16"}]
  })");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->PodIps(), ElementsAre("10.1.0.5", "10.2.0.5", "fd00::5"));
}

TEST(ParseResultTest, NoIpsIsAnEmptyResult) {
  absl::StatusOr<Result> result = ParseResult(R"({"cniVersion":"1.0.0"})");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->ips, IsEmpty());
  EXPECT_THAT(result->PodIps(), IsEmpty());
}

struct BadCase {
  const char* name;
  const char* text;
  const char* message;
};

class ParseResultBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseResultBadTest, IsInvalidArgument) {
  absl::StatusOr<Result> result = ParseResult(GetParam().text);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  EXPECT_THAT(result.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseResultBadTest,
    ::testing::Values(
        BadCase{"Empty", "", "invalid JSON"}, BadCase{"Truncated", R"({"cniVersion":)", "JSON"},
        BadCase{"Array", "[]", "not an object"},
        BadCase{"NoVersion", R"({"ips":[]})", "no cniVersion"},
        BadCase{"OldVersion", R"({"cniVersion":"0.2.0","ip4":{"ip":"10.0.0.1/8"}})",
                "unsupported cniVersion"},
        BadCase{"IpsNotArray", R"({"cniVersion":"1.0.0","ips":{}})", "not an array"},
        BadCase{"NoAddress", R"({"cniVersion":"1.0.0","ips":[{"gateway":"10.0.0.1"}]})",
                "no \"address\""},
        BadCase{"NotAnIp", R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.300/8"}]})",
                "not an IP address"},
        BadCase{"NoPrefix", R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3"}]})",
                "no prefix length"},
        BadCase{"BadPrefix", R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/33"}]})",
                "invalid prefix length"},
        BadCase{"BadGateway",
                R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.3/8","gateway":"fd00::1"}]})",
                "gateway"},
        BadCase{"AddressNotString", R"({"cniVersion":"1.0.0","ips":[{"address":5}]})",
                "not a string"},
        BadCase{"InterfaceOutOfRange",
                R"({"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],
                    "ips":[{"address":"10.0.0.3/8","interface":1}]})",
                "interfaces"}),
    [](const ::testing::TestParamInfo<BadCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace berth::cni
