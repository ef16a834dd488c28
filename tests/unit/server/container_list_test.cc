#include "server/container_list.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

ContainerRecord Record(const std::string& id, const std::string& pod_id,
                       ContainerRecord::State state) {
  ContainerRecord record;
  record.set_id(id);
  record.set_pod_id(pod_id);
  record.set_state(state);
  record.set_created_unix_nanos(1234567890);
  record.set_image_name("registry.example/busybox:1");
  record.set_image_id("sha256:" + std::string(64, 'c'));
  record.mutable_config()->mutable_metadata()->set_name("name-" + id);
  record.mutable_config()->mutable_metadata()->set_attempt(2);
  (*record.mutable_config()->mutable_labels())["tier"] = "backend";
  (*record.mutable_config()->mutable_labels())["app"] = id;
  (*record.mutable_config()->mutable_annotations())["note"] = std::string(300, 'x');
  return record;
}

runtime::v1::ListContainersResponse Parse(const std::string& bytes) {
  runtime::v1::ListContainersResponse response;
  EXPECT_TRUE(response.ParseFromString(bytes));
  return response;
}

TEST(ContainerListTest, ListedContainerCarriesTheRecordsFields) {
  ContainerRecord record = Record("abc", "pod1", ContainerRecord::RUNNING);
  runtime::v1::Container item = ListedContainer(record);
  EXPECT_EQ(item.id(), "abc");
  EXPECT_EQ(item.pod_sandbox_id(), "pod1");
  EXPECT_EQ(item.metadata().name(), "name-abc");
  EXPECT_EQ(item.metadata().attempt(), 2u);
  EXPECT_EQ(item.image().image(), "registry.example/busybox:1");
  EXPECT_EQ(item.image_ref(), record.image_id());
  EXPECT_EQ(item.image_id(), record.image_id());
  EXPECT_EQ(item.state(), runtime::v1::CONTAINER_RUNNING);
  EXPECT_EQ(item.created_at(), 1234567890);
  EXPECT_EQ(item.labels().at("tier"), "backend");
  EXPECT_EQ(item.annotations().at("note"), std::string(300, 'x'));
}

TEST(ContainerListTest, EntriesConcatenateIntoAResponse) {
  std::vector<ContainerRecord> records = {Record("a", "p", ContainerRecord::CREATED),
                                          Record("b", "p", ContainerRecord::RUNNING),
                                          Record("c", "q", ContainerRecord::EXITED)};
  std::vector<ContainerListEntry> entries(records.size());
  std::string bytes;
  for (size_t i = 0; i < records.size(); ++i) bytes += *entries[i].Get(records[i]);
  runtime::v1::ListContainersResponse response = Parse(bytes);
  ASSERT_EQ(response.containers_size(), 3);
  for (size_t i = 0; i < records.size(); ++i) {
    runtime::v1::Container want = ListedContainer(records[i]);
    EXPECT_EQ(response.containers(static_cast<int>(i)).DebugString(), want.DebugString());
  }
  EXPECT_TRUE(Parse("").containers().empty()) << "no containers: an empty response";
}

// An entry over 127 bytes needs a two-byte length; one over 16383 bytes, three.
TEST(ContainerListTest, LongEntriesKeepTheirLength) {
  ContainerRecord record = Record("long", "p", ContainerRecord::RUNNING);
  (*record.mutable_config()->mutable_annotations())["big"] = std::string(70000, 'y');
  ContainerListEntry entry;
  std::string bytes = *entry.Get(record);
  bytes += *entry.Get(Record("short", "p", ContainerRecord::RUNNING));
  runtime::v1::ListContainersResponse response = Parse(bytes);
  ASSERT_EQ(response.containers_size(), 2);
  EXPECT_EQ(response.containers(0).annotations().at("big").size(), 70000u);
  EXPECT_EQ(response.containers(1).id(), "long") << "same state and creation time: kept";
  EXPECT_EQ(entry.Get(record), entry.Get(record)) << "one entry, shared";
}

TEST(ContainerListTest, AStateChangeShowsInTheNextList) {
  ContainerRecord record = Record("a", "p", ContainerRecord::CREATED);
  ContainerListEntry entry;
  EXPECT_EQ(Parse(*entry.Get(record)).containers(0).state(), runtime::v1::CONTAINER_CREATED);
  record.set_state(ContainerRecord::RUNNING);
  EXPECT_EQ(Parse(*entry.Get(record)).containers(0).state(), runtime::v1::CONTAINER_RUNNING);
  record.set_state(ContainerRecord::EXITED);
  EXPECT_EQ(Parse(*entry.Get(record)).containers(0).state(), runtime::v1::CONTAINER_EXITED);
}

// Lists run concurrently under the container's reader lock: every caller gets a whole entry.
TEST(ContainerListTest, ConcurrentGetsShareOneWholeEntry) {
  ContainerRecord record = Record("a", "p", ContainerRecord::RUNNING);
  ContainerListEntry entry;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (i % 50 == 0) entry.Invalidate();
        runtime::v1::ListContainersResponse response;
        if (response.ParseFromString(*entry.Get(record)) && response.containers_size() == 1 &&
            response.containers(0).id() == "a") {
          ++good;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 800);
}

TEST(ContainerListTest, InvalidateRebuilds) {
  ContainerRecord record = Record("a", "p", ContainerRecord::RUNNING);
  ContainerListEntry entry;
  std::string first = *entry.Get(record);
  (*record.mutable_config()->mutable_labels())["tier"] = "frontend";
  EXPECT_EQ(*entry.Get(record), first) << "only the state and creation time are checked";
  entry.Invalidate();
  EXPECT_EQ(Parse(*entry.Get(record)).containers(0).labels().at("tier"), "frontend");
}

TEST(ContainerListTest, FilterHidesCreatingAndMatchesPrefixesStateAndLabels) {
  ContainerRecord record = Record("abcdef", "pod123", ContainerRecord::RUNNING);
  runtime::v1::ContainerFilter all;
  EXPECT_TRUE(ListFilterMatches(all, record));
  EXPECT_FALSE(ListFilterMatches(all, Record("abcdef", "pod123", ContainerRecord::CREATING)));

  runtime::v1::ContainerFilter id;
  id.set_id("abc");
  EXPECT_TRUE(ListFilterMatches(id, record));
  id.set_id("bcd");
  EXPECT_FALSE(ListFilterMatches(id, record));

  runtime::v1::ContainerFilter pod;
  pod.set_pod_sandbox_id("pod1");
  EXPECT_TRUE(ListFilterMatches(pod, record));
  pod.set_pod_sandbox_id("pod2");
  EXPECT_FALSE(ListFilterMatches(pod, record));

  runtime::v1::ContainerFilter state;
  state.mutable_state()->set_state(runtime::v1::CONTAINER_RUNNING);
  EXPECT_TRUE(ListFilterMatches(state, record));
  state.mutable_state()->set_state(runtime::v1::CONTAINER_CREATED);
  EXPECT_FALSE(ListFilterMatches(state, record)) << "CREATED is a state to filter on too";
  EXPECT_TRUE(ListFilterMatches(state, Record("x", "p", ContainerRecord::CREATED)));

  runtime::v1::ContainerFilter labels;
  (*labels.mutable_label_selector())["tier"] = "backend";
  EXPECT_TRUE(ListFilterMatches(labels, record));
  (*labels.mutable_label_selector())["app"] = "other";
  EXPECT_FALSE(ListFilterMatches(labels, record)) << "every key must match";
  (*labels.mutable_label_selector())["app"] = "abcdef";
  EXPECT_TRUE(ListFilterMatches(labels, record));
  (*labels.mutable_label_selector())["missing"] = "";
  EXPECT_FALSE(ListFilterMatches(labels, record)) << "an absent key does not match \"\"";
}

TEST(ContainerListTest, OnlyAnEmptyFilterIsTheWholeList) {
  runtime::v1::ContainerFilter filter;
  EXPECT_TRUE(ListFilterIsEmpty(filter));
  filter.mutable_state();
  EXPECT_FALSE(ListFilterIsEmpty(filter)) << "a state filter, even CREATED (0), filters";
  filter.Clear();
  filter.set_id("a");
  EXPECT_FALSE(ListFilterIsEmpty(filter));
  filter.Clear();
  filter.set_pod_sandbox_id("p");
  EXPECT_FALSE(ListFilterIsEmpty(filter));
  filter.Clear();
  (*filter.mutable_label_selector())["tier"] = "";
  EXPECT_FALSE(ListFilterIsEmpty(filter));
}

TEST(ContainerListTest, TheCachedListIsBuiltAgainOnlyAfterAChange) {
  ContainerListCache cache;
  int builds = 0;
  std::string current = "one";
  auto build = [&] {
    ++builds;
    return current;
  };
  std::shared_ptr<const std::string> first = cache.Get(build);
  EXPECT_EQ(*first, "one");
  EXPECT_EQ(cache.Get(build), first) << "nothing changed: the same bytes, shared";
  EXPECT_EQ(builds, 1);
  current = "two";
  EXPECT_EQ(*cache.Get(build), "one") << "no Changed(): the cache cannot know";
  cache.Changed();
  EXPECT_EQ(*cache.Get(build), "two");
  EXPECT_EQ(*first, "one") << "a reference handed out stays whole";
  EXPECT_EQ(builds, 2);
}

// A change made while a list is being built (after it read the generation) is followed by a
// Changed() the built list did not see: the next call builds again rather than keep it.
TEST(ContainerListTest, AChangeDuringABuildIsNotCachedOver) {
  ContainerListCache cache;
  std::string current = "before";
  std::shared_ptr<const std::string> during = cache.Get([&] {
    std::string seen = current;
    current = "after";  // another thread's change, and its Changed(), while this one builds
    cache.Changed();
    return seen;
  });
  EXPECT_EQ(*during, "before");
  EXPECT_EQ(*cache.Get([&] { return current; }), "after");
}

TEST(ContainerListTest, ConcurrentCachedListsAreWhole) {
  ContainerListCache cache;
  std::atomic<int> version{0};
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (t == 0 && i % 10 == 0) {
          version.fetch_add(1);
          cache.Changed();
        }
        std::shared_ptr<const std::string> bytes =
            cache.Get([&] { return std::string(1000, static_cast<char>('a' + version % 26)); });
        if (bytes->size() == 1000 && bytes->find_first_not_of((*bytes)[0]) == std::string::npos) {
          ++good;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 2000);
  EXPECT_EQ((*cache.Get([] { return std::string("z"); }))[0], 'a' + version % 26)
      << "the last change shows";
}

}  // namespace
}  // namespace berth
