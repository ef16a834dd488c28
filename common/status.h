#ifndef BERTH_COMMON_STATUS_H_
#define BERTH_COMMON_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

// A Status for a failed system call: the code follows errno (ENOENT -> NotFound, EEXIST ->
// AlreadyExists, EACCES/EPERM -> PermissionDenied, ...) and the message is
// "<context>: <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view context);

// The same Status with "<context>: " put in front of its message. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace berth

#define BERTH_STATUS_CONCAT_INNER_(a, b) a##b
#define BERTH_STATUS_CONCAT_(a, b) BERTH_STATUS_CONCAT_INNER_(a, b)

// Returns from the calling function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (::absl::Status _berth_st = (expr); !_berth_st.ok()) { \
      return _berth_st;                                       \
    }                                                         \
  } while (0)

// `lhs` = the value of `rexpr` (an absl::StatusOr<T>), or return its error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_STATUS_CONCAT_(_berth_sor_, __LINE__), lhs, rexpr)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()

#endif  // BERTH_COMMON_STATUS_H_
