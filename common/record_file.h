#ifndef BERTH_COMMON_RECORD_FILE_H_
#define BERTH_COMMON_RECORD_FILE_H_

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// The records of pods and containers: rewritten at every state change, read back only by a
// berthd that restarts on the same boot (after a reboot every pod and container is gone).
//
// Each version is a new file `<path>.<n>`, n one more than the newest present: written to a
// temporary name, renamed to a name that does not exist yet, then the older versions are
// unlinked. A berthd killed at any point leaves the old version or the whole new one, since
// the page cache outlives the process. Nothing is fsynced: durability across a power loss
// buys nothing for objects that die with the machine, and on ext4 a rename over an existing
// file, or an fsync after blocks were freed, costs milliseconds (measured 1.5-2.5 ms per
// record against 0.05 ms this way). A version cut short by a power loss reads as invalid and
// the reader falls back to an older one, or to none.
//
// A plain `<path>` (how records were written before) counts as version 0.
absl::Status WriteRecordFile(const std::string& path, absl::string_view data);

// The newest version of the record at `path` for which `valid` holds (NotFound when there is
// none), at most `max_bytes` long. Older versions and temporaries are removed.
absl::StatusOr<std::string> ReadRecordFile(const std::string& path,
                                           const std::function<bool(const std::string&)>& valid,
                                           size_t max_bytes = 16 << 20);

}  // namespace berth

#endif  // BERTH_COMMON_RECORD_FILE_H_
