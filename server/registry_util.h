#ifndef BERTH_SERVER_REGISTRY_UTIL_H_
#define BERTH_SERVER_REGISTRY_UTIL_H_

// What the pod and container registries share: lookup by id or unique id prefix, listing,
// label selectors, and records as JSON for verbose info.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "google/protobuf/map.h"
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace berth {

// The entry whose id is `id_or_prefix` or the only one starting with it. NotFound ("<kind> X
// not found") or InvalidArgument for an ambiguous prefix.
template <typename T>
absl::StatusOr<std::shared_ptr<T>> FindByIdPrefix(
    const std::map<std::string, std::shared_ptr<T>>& entries, const std::string& id_or_prefix,
    const char* kind) {
  if (!IsValidIdPrefix(id_or_prefix)) {
    return absl::NotFoundError(
        absl::StrCat(kind, " \"", absl::CEscape(id_or_prefix), "\" not found"));
  }
  auto it = entries.lower_bound(id_or_prefix);
  if (it == entries.end() || !absl::StartsWith(it->first, id_or_prefix)) {
    return absl::NotFoundError(absl::StrCat(kind, " ", id_or_prefix, " not found"));
  }
  auto next = std::next(it);
  if (it->first != id_or_prefix && next != entries.end() &&
      absl::StartsWith(next->first, id_or_prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " id prefix ", id_or_prefix, " is ambiguous"));
  }
  return it->second;
}

template <typename T>
std::vector<std::shared_ptr<T>> Values(const std::map<std::string, std::shared_ptr<T>>& entries) {
  std::vector<std::shared_ptr<T>> all;
  all.reserve(entries.size());
  for (const auto& [id, entry] : entries) all.push_back(entry);
  return all;
}

// Every key of `selector` is in `labels` with the same value.
bool LabelsMatch(const google::protobuf::Map<std::string, std::string>& selector,
                 const google::protobuf::Map<std::string, std::string>& labels);

// A CRI message as JSON with the proto field names (for verbose info); null when it cannot be
// rendered.
nlohmann::json ProtoJson(const google::protobuf::Message& message);

}  // namespace berth

#endif  // BERTH_SERVER_REGISTRY_UTIL_H_
