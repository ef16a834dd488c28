// RunExec: an exec'd process in a running container, through the pod's berth-mon, with its
// stdio carried by a streaming session.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "conmon/stream_client.h"
#include "server/container_streams.h"
#include "server/stream_pumps.h"

namespace berth {
namespace {

// Output still buffered (or held open by a background child) after the process ended is
// forwarded for at most this long.
constexpr absl::Duration kDrainAfterExit = absl::Milliseconds(500);


void ApplyResizes(streaming::ExecStreams& streams, const std::function<void(uint16_t, uint16_t)>& apply) {
  while (std::optional<streaming::TermSize> size = streams.NextResize()) {
    apply(size->width, size->height);
  }
}

}  // namespace

void ContainerStreams::RunExec(const streaming::StreamRequest& request,
                               streaming::ExecStreams& streams) {
  absl::StatusOr<ContainerManager::StreamTarget> target = containers_->FindRunning(request.id);
  if (!target.ok()) {
    streams.Finish({target.status(), 0}).IgnoreError();
    return;
  }
  const streaming::ExecOptions& options = request.options;
  // runc exec attaches the process to the container's cgroups early in its run.
  oci::CgroupAttachWarmer::Lease warm = containers_->WarmCgroupAttach(absl::Milliseconds(250));
  std::shared_ptr<mon::MonitorClient> monitor = target->monitor;
  mon::ExecStreamOptions exec;
  exec.container_id = target->id;
  exec.argv = request.cmd;
  exec.tty = options.tty;
  // Ours: the ends berthd keeps. Theirs: the ends the process gets (closed here once sent).
  UniqueFd in_ours, in_theirs, out_ours, out_theirs, err_ours, err_theirs;
  if (!options.tty) {
    if ((options.stdin && !MakePipe(in_theirs, in_ours)) ||
        (options.stdout && !MakePipe(out_ours, out_theirs)) ||
        (options.stderr && !MakePipe(err_ours, err_theirs))) {
      streams.Finish({absl::InternalError("exec: cannot make pipes"), 0}).IgnoreError();
      return;
    }
    exec.stdin_fd = in_theirs.get();
    exec.stdout_fd = out_theirs.get();
    exec.stderr_fd = err_theirs.get();
  }
  absl::StatusOr<mon::ExecStreamHandle> handle = mon::StartExecStream(*monitor, exec);
  in_theirs.Reset();
  out_theirs.Reset();
  err_theirs.Reset();
  if (!handle.ok()) {
    streams.Finish({handle.status(), 0}).IgnoreError();
    return;
  }
  uint64_t exec_id = handle->exec_id;
  streams.OnClientGone([monitor, exec_id] {
    absl::Status killed = mon::KillExecStream(*monitor, exec_id);
    if (!killed.ok()) LOG_DEBUG("exec {}: kill: {}", exec_id, killed.ToString());
  });

  std::atomic<bool> stop{false};
  Deadline deadline{0};
  std::vector<std::thread> outputs;
  std::thread input, resizer;
  int master = handle->pty_master.get();
  if (options.tty) {
    if (options.stdout) {
      outputs.emplace_back([&] {
        PumpOutput(master, [&](absl::string_view d) { return streams.WriteStdout(d); },
                   deadline);
      });
    }
    if (options.stdin) input = std::thread([&] { PumpStdin(streams, master, stop); });
    resizer = std::thread([&] {
      ApplyResizes(streams, [master](uint16_t width, uint16_t height) {
        mon::ResizePty(master, width, height).IgnoreError();
      });
    });
  } else {
    if (out_ours.valid()) {
      outputs.emplace_back([&] {
        PumpOutput(out_ours.get(), [&](absl::string_view d) { return streams.WriteStdout(d); },
                   deadline);
      });
    }
    if (err_ours.valid()) {
      outputs.emplace_back([&] {
        PumpOutput(err_ours.get(), [&](absl::string_view d) { return streams.WriteStderr(d); },
                   deadline);
      });
    }
    if (in_ours.valid()) {
      input = std::thread([&] {
        PumpStdin(streams, in_ours.get(), stop);
        in_ours.Reset();  // the process reads end of file
      });
    }
  }

  absl::StatusOr<int> exit_code =
      mon::WaitExecStream(*monitor, exec_id, absl::InfiniteDuration());
  deadline = absl::ToUnixNanos(absl::Now() + kDrainAfterExit);
  for (std::thread& t : outputs) t.join();
  stop = true;
  streaming::ExecResult result;
  if (exit_code.ok()) {
    result.exit_code = *exit_code;
  } else {
    result.status = exit_code.status();
  }
  // Closes the session: a blocked ReadStdin and NextResize return.
  streams.Finish(result).IgnoreError();
  if (input.joinable()) input.join();
  if (resizer.joinable()) resizer.join();
}

}  // namespace berth
