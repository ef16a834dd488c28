// libFuzzer target for the layer unpacker, which reads whatever a registry or an imported
// archive hands it. Each input is unpacked (as gzip, zstd or plain tar, by its magic) into a
// fresh root beside an empty "outside" directory; the run traps when the unpacker crashes or
// creates anything outside its root, then removes both. Run as root so device nodes, owners
// and trusted xattrs are exercised.

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/temp_dir.h"
#include "common/unique_fd.h"
#include "image/layer_unpack.h"

namespace {

bool IsEmptyDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 2 &&
         ::rmdir(path.c_str()) == 0 && ::mkdir(path.c_str(), 0755) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<berth::TempDir> base = berth::TempDir::Make("berth-unpack-fuzz-", "/var/tmp");
  if (!base.ok()) __builtin_trap();
  std::string root = base->path() + "/root";
  std::string outside = base->path() + "/outside";
  if (::mkdir(root.c_str(), 0755) != 0 || ::mkdir(outside.c_str(), 0755) != 0) __builtin_trap();

  berth::UniqueFd source(::memfd_create("layer", MFD_CLOEXEC));
  if (!source.valid()) __builtin_trap();
  if (size > 0 && ::write(source.get(), data, size) != static_cast<ssize_t>(size)) {
    __builtin_trap();
  }
  ::lseek(source.get(), 0, SEEK_SET);

  berth::image::UnpackOptions options;
  options.max_uncompressed_bytes = int64_t{256} << 20;
  options.max_entries = 100'000;
  absl::StatusOr<berth::image::LayerDigests> result =
      berth::image::UnpackLayer(source.get(), root, options);
  if (result.ok() && (result->digest.empty() || result->diff_id.empty())) __builtin_trap();
  if (!IsEmptyDir(outside)) __builtin_trap();  // something escaped the root
  return 0;                                    // `base` removes root and outside
}
