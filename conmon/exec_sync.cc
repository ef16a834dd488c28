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

absl::Status StartExecSync(ExecStreams& execs, ExecStreamParams params, absl::Duration timeout,
                           ExecSyncDone done) {
  absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  params.tty = false;
  params.start_timeout = timeout;
  return execs.Start(std::move(params), [&execs, deadline, done = std::move(done)](
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
