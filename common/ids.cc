#include "common/ids.h"

#include <dirent.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/escaping.h"

namespace berth {

std::string NewId() {
  uint8_t bytes[32];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abort();  // the kernel always has randomness after boot
    got += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::vector<std::string> ListIdEntries(const std::string& dir) {
  std::vector<std::string> ids;
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return ids;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.size() == 64 && IsValidIdPrefix(name)) ids.push_back(name);
  }
  ::closedir(handle);
  return ids;
}

bool IsValidIdPrefix(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace berth
