#ifndef BERTH_COMMON_IDS_H_
#define BERTH_COMMON_IDS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth {

// A new random id: 64 lowercase hex digits (256 bits from getrandom), as CRI-O and
// containerd make them.
std::string NewId();

// Whether `id` looks like one of ours (1 to 64 lowercase hex digits): ids and id prefixes from
// requests are checked with this before they name a file.
bool IsValidIdPrefix(absl::string_view id);

// The entries of `dir` named like a full id (64 hex digits): the records of pods or
// containers. Empty when `dir` cannot be read.
std::vector<std::string> ListIdEntries(const std::string& dir);

}  // namespace berth

#endif  // BERTH_COMMON_IDS_H_
