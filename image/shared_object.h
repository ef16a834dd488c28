#ifndef BERTH_IMAGE_SHARED_OBJECT_H_
#define BERTH_IMAGE_SHARED_OBJECT_H_

#include <dlfcn.h>

#include <type_traits>

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

// One entry point to resolve: its name, and the function pointer to set.
template <typename Fn>
struct Symbol {
  const char* name;
  Fn& out;
};
template <typename Fn>
Symbol(const char*, Fn&) -> Symbol<Fn>;

// Sets each symbol's pointer to `name` in `handle`; the first missing one is the error.
template <typename... Fn>
absl::Status ResolveSymbols(void* handle, const char* soname, Symbol<Fn>... symbols) {
  absl::Status status;
  auto resolve = [&](const char* name, auto& out) {
    if (!status.ok()) return;
    void* symbol = ::dlsym(handle, name);
    if (symbol == nullptr) {
      status = absl::FailedPreconditionError(absl::StrCat(soname, " has no ", name));
      return;
    }
    out = reinterpret_cast<std::remove_reference_t<decltype(out)>>(symbol);
  };
  (resolve(symbols.name, symbols.out), ...);
  return status;
}

}  // namespace berth::image

#endif  // BERTH_IMAGE_SHARED_OBJECT_H_
