#ifndef BERTH_COMMON_UNDO_H_
#define BERTH_COMMON_UNDO_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace berth {

// The undo list of a multi-step operation: each step that changed the world pushes how to
// change it back. Unless Dismiss()ed, the destructor runs the undos in reverse order, logging
// (not returning) their failures, so an early return anywhere leaves nothing behind.
class UndoStack {
 public:
  UndoStack() = default;
  UndoStack(const UndoStack&) = delete;
  UndoStack& operator=(const UndoStack&) = delete;
  ~UndoStack() { Run().IgnoreError(); }

  // `what` names the step in the log ("CNI ADD for pod X").
  void Push(std::string what, std::function<absl::Status()> undo) {
    steps_.emplace_back(std::move(what), std::move(undo));
  }
  // The operation succeeded: keep everything.
  void Dismiss() { steps_.clear(); }
  // Undoes now, newest first; returns the first failure (all steps still run).
  absl::Status Run();

 private:
  std::vector<std::pair<std::string, std::function<absl::Status()>>> steps_;
};

}  // namespace berth

#endif  // BERTH_COMMON_UNDO_H_
