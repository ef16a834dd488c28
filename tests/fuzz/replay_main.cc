// Replay driver for the fuzz targets in the normal (non-libFuzzer) build: runs
// LLVMFuzzerTestOneInput once per regular file in the directories (or files) named on the command
// line, or over a few built-in inputs when none are given. A crash or trap fails the run, so each
// target doubles as a regression test over its checked-in seed corpus.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  // A copy in its own allocation, so reads past the end show up under AddressSanitizer.
  std::vector<uint8_t> bytes(input.begin(), input.end());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
    return false;
  }
  std::string input((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), input.size());
  Run(input);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    for (const char* input : {"", "busybox", "docker.io/library/busybox:latest", "{}", "[",
                              "{\"schemaVersion\":2}", "\x1f\x8b"}) {
      Run(input);
    }
    Run(std::string(1, '\0'));
    std::fprintf(stderr, "replay: built-in inputs passed\n");
    return 0;
  }
  size_t count = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      if (ec) {
        std::fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], ec.message().c_str());
        ok = false;
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        ok = RunFile(file) && ok;
        ++count;
      }
    } else {
      ok = RunFile(arg) && ok;
      ++count;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 1;
  }
  std::fprintf(stderr, "replay: %zu inputs %s\n", count, ok ? "passed" : "had errors");
  return ok ? 0 : 1;
}
