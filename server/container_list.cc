#include "server/container_list.h"

#include "absl/strings/match.h"
#include "server/registry_util.h"

namespace berth {
using state::v1::ContainerRecord;

runtime::v1::ContainerState CriContainerState(const ContainerRecord& record) {
  switch (record.state()) {
    case ContainerRecord::CREATED: return runtime::v1::CONTAINER_CREATED;
    case ContainerRecord::RUNNING: return runtime::v1::CONTAINER_RUNNING;
    case ContainerRecord::EXITED: return runtime::v1::CONTAINER_EXITED;
    default: return runtime::v1::CONTAINER_UNKNOWN;
  }
}

bool ListFilterMatches(const runtime::v1::ContainerFilter& filter,
                       const ContainerRecord& record) {
  if (record.state() == ContainerRecord::CREATING) return false;
  if (!filter.id().empty() && !absl::StartsWith(record.id(), filter.id())) return false;
  if (!filter.pod_sandbox_id().empty() &&
      !absl::StartsWith(record.pod_id(), filter.pod_sandbox_id())) {
    return false;
  }
  if (filter.has_state() && filter.state().state() != CriContainerState(record)) return false;
  // The kubelet's relist has no selector: the record's labels (a map whose every read checks
  // its sync state, a cache miss per container) are not touched then.
  if (filter.label_selector().empty()) return true;
  return LabelsMatch(filter.label_selector(), record.config().labels());
}

runtime::v1::Container ListedContainer(const ContainerRecord& record) {
  runtime::v1::Container item;
  item.set_id(record.id());
  item.set_pod_sandbox_id(record.pod_id());
  *item.mutable_metadata() = record.config().metadata();
  item.mutable_image()->set_image(record.image_name());
  item.set_image_ref(record.image_id());
  item.set_image_id(record.image_id());
  item.set_state(CriContainerState(record));
  item.set_created_at(record.created_unix_nanos());
  *item.mutable_labels() = record.config().labels();
  *item.mutable_annotations() = record.config().annotations();
  return item;
}

std::shared_ptr<const std::string> ContainerListEntry::Get(const ContainerRecord& record) {
  std::shared_ptr<const Built> built = built_.load(std::memory_order_acquire);
  if (built == nullptr || built->state != record.state() ||
      built->created_unix_nanos != record.created_unix_nanos()) {
    // A response of this one container serializes to exactly its entry (tag, length, message).
    runtime::v1::ListContainersResponse alone;
    *alone.add_containers() = ListedContainer(record);
    auto rebuilt = std::make_shared<Built>();
    rebuilt->state = record.state();
    rebuilt->created_unix_nanos = record.created_unix_nanos();
    rebuilt->bytes = alone.SerializeAsString();
    // Concurrent lists of the same record build equal entries: whichever is stored last is right.
    built_.store(rebuilt, std::memory_order_release);
    built = std::move(rebuilt);
  }
  // The bytes share the Built's allocation and count: one object per container to reach.
  const std::string* bytes = &built->bytes;
  return std::shared_ptr<const std::string>(std::move(built), bytes);
}

bool ListFilterIsEmpty(const runtime::v1::ContainerFilter& filter) {
  return filter.id().empty() && filter.pod_sandbox_id().empty() && !filter.has_state() &&
         filter.label_selector().empty();
}

std::shared_ptr<const std::string> ContainerListCache::Get(
    absl::FunctionRef<std::string()> build) {
  uint64_t generation = generation_.load(std::memory_order_acquire);
  std::shared_ptr<const Cached> cached = cached_.load(std::memory_order_acquire);
  if (cached == nullptr || cached->generation != generation) {
    auto rebuilt = std::make_shared<Cached>();
    rebuilt->generation = generation;
    rebuilt->bytes = build();
    // A slower concurrent build may store an older generation over this one: the next call
    // then sees the mismatch and builds again. Never a stale answer, at worst one more build.
    cached_.store(rebuilt, std::memory_order_release);
    cached = std::move(rebuilt);
  }
  const std::string* bytes = &cached->bytes;
  return std::shared_ptr<const std::string>(std::move(cached), bytes);
}

void ContainerListEntry::Invalidate() { built_.store(nullptr, std::memory_order_release); }

}  // namespace berth
