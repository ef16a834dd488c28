#include "conmon/exec_sync.h"

#include <algorithm>
#include <utility>

namespace berth::mon {
namespace {

// Waits for exec `id` until `deadline`; a timeout kills it and answers timed_out.
void AwaitExit(ExecStreams& execs, uint64_t id, absl::Time deadline, ExecSyncDone done) {
  absl::Duration left = deadline == absl::InfiniteFuture()
                            ? absl::InfiniteDuration()
                            : std::max(deadline - absl::Now(), absl::ZeroDuration());
  execs.Wait(id, left, [&execs, id, done = std::move(done)](absl::StatusOr<ExecExit> exit) {
    if (exit.ok()) {
      done(ExecSyncExit{.exit_code = exit->exit_code});
      return;
    }
    if (!absl::IsDeadlineExceeded(exit.status())) {
      done(exit.status());
      return;
    }
    execs.Kill(id);
    // Nobody wants the exit any more: collect it so the result is not kept.
    execs.Wait(id, absl::InfiniteDuration(), [](const absl::StatusOr<ExecExit>&) {});
    done(ExecSyncExit{.exit_code = -1, .timed_out = true});
  });
}

}  // namespace

absl::Status StartExecSync(ExecStreams& execs, ExecSyncParams params, ExecSyncDone done) {
  absl::Time deadline = params.timeout == absl::InfiniteDuration()
                            ? absl::InfiniteFuture()
                            : absl::Now() + params.timeout;
  ExecStreamParams stream{
      .runtime = std::move(params.runtime),
      .container_id = std::move(params.container_id),
      .argv = std::move(params.argv),
      .work_dir = std::move(params.work_dir),
      .tty = false,
      .out = std::move(params.out),
      .err = std::move(params.err),
      .start_timeout = params.timeout,
  };
  return execs.Start(std::move(stream), [&execs, deadline, done = std::move(done)](
                                            absl::StatusOr<ExecStarted> started) mutable {
    if (started.ok()) {
      AwaitExit(execs, started->exec_id, deadline, std::move(done));
    } else if (absl::Now() >= deadline) {
      done(ExecSyncExit{.exit_code = -1, .timed_out = true});  // runc itself hung
    } else {
      done(started.status());
    }
  });
}

}  // namespace berth::mon
