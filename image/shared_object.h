#ifndef BERTH_IMAGE_SHARED_OBJECT_H_
#define BERTH_IMAGE_SHARED_OBJECT_H_

#include <dlfcn.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace berth::image {

// dlopen()s `soname` for good (never closed: the pull libraries keep global state). The error
// says which library and what needs it.
inline absl::StatusOr<void*> OpenSharedObject(const char* soname, const char* needed_by) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = ::dlerror();
    return absl::FailedPreconditionError(absl::StrCat("cannot load ", soname, " (", needed_by,
                                                      " needs it): ",
                                                      error != nullptr ? error : "unknown error"));
  }
  return handle;
}

// Sets `out` (a function pointer) to `name` in `handle`.
template <typename Fn>
absl::Status ResolveSymbol(void* handle, const char* soname, const char* name, Fn& out) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(soname, " has no ", name));
  }
  out = reinterpret_cast<Fn>(symbol);
  return absl::OkStatus();
}

}  // namespace berth::image

#endif  // BERTH_IMAGE_SHARED_OBJECT_H_
