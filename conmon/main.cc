// berth-mon: the per-pod monitor (docs/ARCHITECTURE.md). Not started by berthd yet: pod
// sandboxes, which spawn it, are not implemented.
#include <cstdio>
#include <cstring>

#include "common/version.h"

int main(int argc, char** argv) {
  if (argc == 2 &&
      (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::printf("berth-mon version %s\n", berth::kVersion);
    return 0;
  }
  std::fprintf(stderr, "usage: berth-mon --version\n(berth-mon is started by berthd)\n");
  return 2;
}
