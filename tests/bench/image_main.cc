// berth-bench-image: builds the benchmark image (busybox plus layers of incompressible data),
// starts a loopback registry (Debian's docker-registry, plain http) holding it, writes what
// berth-bench needs to know as JSON, and serves until SIGTERM or SIGINT, then removes it all.
#include <signal.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "tests/fixtures/image_builder.h"
#include "tests/fixtures/registry.h"

namespace berth::bench {
namespace {

struct ImageFlags {
  int layers = 4;
  int layer_mib = 50;
  int files_per_layer = 5;
  std::string repository = "bench/big:latest";
  std::vector<std::string> cmd;  // empty: busybox's ["/bin/sh"]
  std::string info_path;
};

// `bytes` of pseudo-random data: incompressible, and the same for the same seed.
std::string RandomBytes(size_t bytes, uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::string data(bytes, '\0');
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t word = engine();
    for (int b = 0; b < 8; ++b) data[i + b] = static_cast<char>(word >> (8 * b));
  }
  return data;
}

absl::StatusOr<testing::ImageSpec> BenchImage(const ImageFlags& flags) {
  ASSIGN_OR_RETURN(testing::ImageSpec spec, testing::BusyboxImage());
  if (!flags.cmd.empty()) spec.cmd = flags.cmd;
  size_t file_bytes = static_cast<size_t>(flags.layer_mib) * 1024 * 1024 /
                      static_cast<size_t>(flags.files_per_layer);
  for (int layer = 0; layer < flags.layers; ++layer) {
    testing::LayerSpec layer_spec;
    std::string dir = absl::StrCat("data/layer", layer);
    layer_spec.entries.push_back(testing::LayerEntry::Directory("data"));
    layer_spec.entries.push_back(testing::LayerEntry::Directory(dir));
    for (int file = 0; file < flags.files_per_layer; ++file) {
      layer_spec.entries.push_back(testing::LayerEntry::File(
          absl::StrCat(dir, "/blob", file), RandomBytes(file_bytes, layer * 1000 + file + 1)));
    }
    spec.layers.push_back(std::move(layer_spec));
  }
  return spec;
}

absl::Status Serve(const ImageFlags& flags) {
  ASSIGN_OR_RETURN(std::unique_ptr<testing::TestRegistry> registry,
                   testing::TestRegistry::Start(testing::RegistryOptions{}));
  ASSIGN_OR_RETURN(testing::ImageBuilder builder, testing::ImageBuilder::Create());
  ASSIGN_OR_RETURN(testing::ImageSpec spec, BenchImage(flags));
  absl::StatusOr<testing::BuiltImage> built = builder.Build(spec, "bench");
  spec = {};  // the layer data lives in the layout now
  if (!built.ok()) return built.status();
  RETURN_IF_ERROR(builder.Push("bench", *registry, flags.repository));
  nlohmann::json info = {{"registry", registry->host()},
                         {"image", absl::StrCat(registry->host(), "/", flags.repository)},
                         {"compressed_bytes", built->total_size},
                         {"uncompressed_bytes", built->uncompressed_size},
                         {"layers", built->layers.size()},
                         {"image_id", built->image_id()}};
  RETURN_IF_ERROR(WriteFileAtomic(flags.info_path, info.dump(2) + "\n"));
  std::cerr << "berth-bench-image: serving " << info["image"].get<std::string>() << "\n";
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return absl::OkStatus();
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  berth::bench::ImageFlags flags;
  CLI::App app{"berth-bench-image: a loopback registry serving the benchmark image"};
  app.add_option("--info", flags.info_path, "write the image reference and sizes here (JSON)")
      ->required();
  app.add_option("--layers", flags.layers, "data layers (besides busybox)");
  app.add_option("--layer-mib", flags.layer_mib, "MiB of random data per layer");
  app.add_option("--files-per-layer", flags.files_per_layer, "files per data layer");
  app.add_option("--repository", flags.repository, "name:tag in the registry");
  app.add_option("--cmd", flags.cmd,
                 "the image's Cmd, one argument per flag (e.g. --cmd /bin/sleep --cmd "
                 "2147483647 for a sandbox image)");
  CLI11_PARSE(app, argc, argv);
  absl::Status status = berth::bench::Serve(flags);
  if (!status.ok()) {
    std::cerr << "berth-bench-image: " << status << "\n";
    return 1;
  }
  return 0;
}
