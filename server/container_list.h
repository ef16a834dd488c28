// ListContainers from bytes kept per container. A ListContainersResponse is one repeated
// field (1, `containers`), and a repeated message field's wire form is its entries one after
// another (tag, length, message): so each container keeps its entry serialized, and a listing
// is the concatenation of the entries of the containers that pass the filter, with nothing
// built, copied field by field or serialized per call (500 containers: ~1 ms of a 2 ms budget
// went to building and serializing the response).
#ifndef BERTH_SERVER_CONTAINER_LIST_H_
#define BERTH_SERVER_CONTAINER_LIST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "proto/cri/api.pb.h"
#include "proto/state.pb.h"

namespace berth {

// The CRI state of a record; CREATING (never listed) and unknown states are CONTAINER_UNKNOWN.
runtime::v1::ContainerState CriContainerState(const state::v1::ContainerRecord& record);

// Whether ListContainers with `filter` shows `record`: never while CREATING; then the id and
// the pod id by prefix, the state, and the label selector (every key with the same value).
bool ListFilterMatches(const runtime::v1::ContainerFilter& filter,
                       const state::v1::ContainerRecord& record);

// The `Container` that ListContainers shows for `record`.
runtime::v1::Container ListedContainer(const state::v1::ContainerRecord& record);

// One container's ListContainersResponse entry in wire form: field 1's tag, the length, then
// ListedContainer(record) serialized. Every listed field but the state is fixed once the
// record leaves CREATING (id, pod, metadata, image name and id, creation time, labels and
// annotations come from CreateContainer), so the entry is rebuilt when the record's state or
// creation time differs from the one it was built for; whoever changes another listed field
// of a live record must call Invalidate(). Thread-safe and lock-free (an atomic shared_ptr: no
// mutex under the container's, whose acquisitions the deadlock detector would have to track).
class ContainerListEntry {
 public:
  // The entry for `record` (the container's current record, read under its lock).
  std::shared_ptr<const std::string> Get(const state::v1::ContainerRecord& record);
  // The next Get rebuilds the entry.
  void Invalidate();

 private:
  struct Built {
    int state = 0;
    int64_t created_unix_nanos = 0;
    std::string bytes;
  };
  std::atomic<std::shared_ptr<const Built>> built_;
};

// Whether `filter` lets every listable container through (the kubelet's relist).
bool ListFilterIsEmpty(const runtime::v1::ContainerFilter& filter);

// The unfiltered listing kept whole, so the kubelet's relist (every second, the same bytes
// while nothing happens) neither walks the containers, their locks and entries (cache misses,
// ~0.1 ms for 500) nor copies ~180 KB: the answer is the cached bytes, shared with gRPC by
// reference. Whoever changes what a listing shows calls Changed() after the change and before
// answering the RPC that made it: a container added to or marked removed from the manager, or
// a record whose state changed (ContainerManager::Persist, which every state change goes
// through). Thread-safe and lock-free.
class ContainerListCache {
 public:
  void Changed() { generation_.fetch_add(1, std::memory_order_acq_rel); }
  // The bytes cached since the last Changed(), else `build()`'s (then cached). `build` reads
  // the containers only after this call has read the generation, so a change it misses is
  // followed by a Changed() that makes the next call build again.
  std::shared_ptr<const std::string> Get(absl::FunctionRef<std::string()> build);

 private:
  struct Cached {
    uint64_t generation = 0;
    std::string bytes;
  };
  std::atomic<uint64_t> generation_{0};
  std::atomic<std::shared_ptr<const Cached>> cached_;
};

}  // namespace berth

#endif  // BERTH_SERVER_CONTAINER_LIST_H_
