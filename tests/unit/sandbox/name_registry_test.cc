#include "sandbox/name_registry.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::sandbox {
namespace {

using ::testing::HasSubstr;

runtime::v1::PodSandboxMetadata Pod() {
  runtime::v1::PodSandboxMetadata pod;
  pod.set_name("nginx");
  pod.set_namespace_("default");
  pod.set_uid("1234-abcd");
  pod.set_attempt(2);
  return pod;
}

TEST(NamesTest, PodAndContainerNames) {
  EXPECT_EQ(PodSandboxName(Pod()), "k8s_nginx_default_1234-abcd_2");
  runtime::v1::ContainerMetadata container;
  container.set_name("web");
  container.set_attempt(0);
  EXPECT_EQ(ContainerName(container, Pod()), "k8s_web_nginx_default_1234-abcd_0");
}

TEST(NameRegistryTest, ReserveConflictsWithOtherId) {
  NameRegistry registry;
  ASSERT_TRUE(registry.Reserve("a", "id1").ok());
  EXPECT_TRUE(registry.Reserve("a", "id1").ok()) << "same id again is fine";
  absl::Status status = registry.Reserve("a", "id2");
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("name a is reserved for id1"));
  EXPECT_EQ(registry.Holder("a"), "id1");
  EXPECT_EQ(registry.Holder("b"), "");
}

TEST(NameRegistryTest, ReleaseOnlyByHolder) {
  NameRegistry registry;
  ASSERT_TRUE(registry.Reserve("a", "id1").ok());
  registry.Release("a", "id2");
  EXPECT_EQ(registry.Holder("a"), "id1");
  registry.Release("a", "id1");
  EXPECT_EQ(registry.Holder("a"), "");
  EXPECT_TRUE(registry.Reserve("a", "id2").ok());
  registry.Release("missing", "id1");
}

TEST(NameRegistryTest, ConcurrentReservationsHaveOneWinner) {
  NameRegistry registry;
  std::atomic<int> winners = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (registry.Reserve("contested", "id" + std::to_string(i)).ok()) ++winners;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_FALSE(registry.Holder("contested").empty());
}

}  // namespace
}  // namespace berth::sandbox
