#include "common/undo.h"

#include "common/log.h"

namespace berth {

absl::Status UndoStack::Run() {
  absl::Status first;
  while (!steps_.empty()) {
    auto step = std::move(steps_.back());
    steps_.pop_back();
    absl::Status status = step.second();
    if (!status.ok()) {
      LOG_WARN("undoing {}: {}", step.first, status.ToString());
      if (first.ok()) first = status;
    }
  }
  return first;
}

}  // namespace berth
