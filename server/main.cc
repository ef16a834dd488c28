// berthd: the Berth CRI daemon.
#include <malloc.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "common/version.h"
#include "image/pull_worker.h"
#include "server/config.h"
#include "server/daemon.h"

namespace berth {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(10);
// How often the idle main thread returns freed heap memory to the kernel.
constexpr absl::Duration kTrimInterval = absl::Seconds(5);

struct Options {
  std::string config_file = "/etc/berth/berth.conf";
  std::string config_dir = "/etc/berth/berth.conf.d";
  ConfigFlags flags;
};

void AddOptions(CLI::App& app, Options& options) {
  app.add_option("--config", options.config_file,
                 "Main configuration file; \"\" for none (default /etc/berth/berth.conf)");
  app.add_option("--config-dir", options.config_dir,
                 "Drop-in directory of *.conf files; \"\" for none (default "
                 "/etc/berth/berth.conf.d)");
  auto optional = [&](const char* name, std::optional<std::string>& target, const char* help) {
    app.add_option_function<std::string>(
        name, [&target](const std::string& value) { target = value; }, help);
  };
  optional("--root", options.flags.root, "Persistent state directory");
  optional("--runroot", options.flags.runroot, "Volatile state directory");
  optional("--listen", options.flags.listen, "CRI socket path");
  optional("--log-level", options.flags.log_level, "trace|debug|info|warn|error|fatal|off");
}

absl::StatusOr<Config> Load(const Options& options, bool file_given) {
  ConfigSources sources;
  sources.file = options.config_file;
  sources.file_required = file_given && !options.config_file.empty();
  sources.drop_in_dir = options.config_dir;
  sources.flags = options.flags;
  return LoadConfig(sources);
}

int Serve(const Config& config) {
  if (absl::Status status = InitLogging(config.log_level); !status.ok()) {
    std::cerr << "berthd: " << status.message() << "\n";
    return 1;
  }
  // Block the stop signals in every thread; the main thread takes them with sigwait.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Start(config);
  if (!daemon.ok()) {
    LOG_ERROR("berthd cannot start: {}", daemon.status().message());
    return 1;
  }
  int sig = -1;
  while (sig <= 0) {
    timespec idle{.tv_sec = absl::ToInt64Seconds(kTrimInterval), .tv_nsec = 0};
    sig = sigtimedwait(&stop, nullptr, &idle);
    // Hand what the last pulls and RPCs freed back to the kernel (cheap when nothing was).
    if (sig < 0 && errno == EAGAIN) malloc_trim(0);
  }
  LOG_INFO("received signal {}, shutting down", sig);
  (*daemon)->Shutdown(kShutdownGrace);
  return 0;
}

int Main(int argc, char** argv) {
  // Before any thread: glibc would give each busy thread an arena of its own (up to 8 per
  // core), each keeping what was freed. berthd's threads mostly wait on runc, CNI and
  // monitors, so two arenas cost no measurable contention and keep idle memory low.
  mallopt(M_ARENA_MAX, 2);
#ifdef NDEBUG
  // Debian's abseil checks every Mutex acquisition for lock-order cycles, a debugging aid that
  // cost ~11% of berthd's CPU in ListContainers (a lock per container). Release builds skip it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  CLI::App app{"berthd: a Kubernetes container runtime (CRI v1)", "berthd"};
  app.fallthrough();
  Options options;
  AddOptions(app, options);
  CLI::App* config_cmd = app.add_subcommand("config", "Print the effective configuration (TOML)");
  CLI::App* version_cmd = app.add_subcommand("version", "Print the version");
  // Hidden (no description): berthd starts it for each pull (image/pull_worker.h).
  CLI::App* worker_cmd = app.add_subcommand("pull-worker", "")->group("");
  image::PullWorkerFlags worker;
  std::string worker_log_level = "info";
  worker_cmd->add_option("--control-fd", worker.control_fd)->required();
  worker_cmd->add_option("--certs-dir", worker.certs_dir);
  worker_cmd->add_option("--log-level", worker_log_level);
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (version_cmd->parsed()) {
    std::printf("berthd version %s (CRI v1)\n", kVersion);
    return 0;
  }
  if (worker_cmd->parsed()) {
    if (absl::Status status = InitLogging(worker_log_level); !status.ok()) {
      std::fprintf(stderr, "berthd pull-worker: %s\n", std::string(status.message()).c_str());
      return 2;
    }
    return image::RunPullWorker(worker);
  }
  bool file_given = app.count("--config") > 0;
  absl::StatusOr<Config> config = Load(options, file_given);
  if (!config.ok()) {
    std::fprintf(stderr, "berthd: invalid configuration: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (config_cmd->parsed()) {
    std::fputs(RenderConfigToml(*config).c_str(), stdout);
    return 0;
  }
  return Serve(*config);
}

}  // namespace
}  // namespace berth

int main(int argc, char** argv) { return berth::Main(argc, argv); }
