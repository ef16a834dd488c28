// berthctl: a crictl-like client for any CRI runtime, Berth first.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "ctl/client.h"
#include "ctl/info_commands.h"

namespace berth::ctl {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"berthctl: a CRI client for Berth (and any CRI runtime)", "berthctl"};
  app.fallthrough();
  std::string endpoint;
  double timeout_seconds = 10;
  app.add_option("-r,--runtime-endpoint,--endpoint", endpoint,
                 "CRI endpoint (default $CONTAINER_RUNTIME_ENDPOINT or " +
                     std::string(kDefaultEndpoint) + ")");
  app.add_option("-t,--timeout", timeout_seconds, "Per-call timeout in seconds")
      ->check(CLI::PositiveNumber);
  CLI::App* version = app.add_subcommand("version", "Show the runtime's name and versions");
  CLI::App* info = app.add_subcommand("info", "Show the runtime's status and configuration");
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  absl::StatusOr<std::string> resolved = ResolveEndpoint(endpoint);
  absl::StatusOr<CriClient> client =
      resolved.ok() ? CriClient::Connect(*resolved, absl::Seconds(timeout_seconds))
                    : absl::StatusOr<CriClient>(resolved.status());
  if (!client.ok()) {
    std::fprintf(stderr, "berthctl: %s\n", std::string(client.status().message()).c_str());
    return 1;
  }
  std::string out;
  absl::Status status;
  if (version->parsed()) status = Version(*client, out);
  if (info->parsed()) status = Info(*client, out);
  if (!status.ok()) {
    std::fprintf(stderr, "berthctl: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace
}  // namespace berth::ctl

int main(int argc, char** argv) { return berth::ctl::Main(argc, argv); }
