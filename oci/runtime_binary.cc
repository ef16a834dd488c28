#include "oci/runtime_binary.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/spawn.h"
#include "common/status.h"

namespace berth::oci {

absl::StatusOr<std::string> ResolveRuntimeBinary(const std::string& handler_name,
                                                 const std::string& configured_path) {
  std::string path = configured_path;
  if (path.empty()) {
    absl::StatusOr<std::string> found = FindExecutable(handler_name);
    if (!found.ok()) {
      return absl::NotFoundError(absl::StrCat("runtime handler \"", handler_name,
                                              "\": no runtime_path set and ", handler_name,
                                              " is not in PATH"));
    }
    path = *found;
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("runtime handler \"", handler_name, "\": ", path));
  }
  if (!S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("runtime handler \"", handler_name,
                                                      "\": ", path, " is not an executable file"));
  }
  return path;
}

absl::StatusOr<std::string> RuntimeVersion(const std::string& binary) {
  SpawnOptions options;
  options.argv = {binary, "--version"};
  options.timeout = absl::Seconds(5);
  options.max_output = 4096;
  ASSIGN_OR_RETURN(SpawnResult result, RunCommand(options));
  if (!result.success()) {
    return absl::UnavailableError(absl::StrCat(binary, " --version failed: ", result.Describe()));
  }
  return result.out.substr(0, result.out.find('\n'));
}

}  // namespace berth::oci
