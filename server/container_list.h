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

}  // namespace berth

#endif  // BERTH_SERVER_CONTAINER_LIST_H_
