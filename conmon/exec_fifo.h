#ifndef BERTH_CONMON_EXEC_FIFO_H_
#define BERTH_CONMON_EXEC_FIFO_H_

// runc's start handshake, done by berth-mon itself instead of running `runc start` (a Go
// process that costs 5-9 ms on StartContainer's critical path). After `runc create`, runc's
// init waits in an open for writing of `<root>/<id>/exec.fifo`; `runc start` opens it for
// reading, reads the byte init writes, and removes it, upon which init execs the container's
// process and runc reports the container running. Used only where the state dir has runc's
// layout (state.json beside a fifo); anything else runs `<runtime> start`.

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

// `<root>/<id>/exec.fifo` (root empty: runc's default, /run/runc).
std::string ExecFifoPath(const RuntimeRef& runtime, const std::string& id);

// Opens the container's exec fifo for reading without blocking. NotFound when the state dir
// is not runc's layout or the fifo is gone (started already): run `<runtime> start` then.
absl::StatusOr<UniqueFd> OpenExecFifo(const RuntimeRef& runtime, const std::string& id);

// What one non-blocking read of the opened fifo says. Before any writer opened it, a read
// also finds end of file: read once poll reports the fifo readable (data, or a hang-up after
// a writer came and went) or once init is known to be dead.
enum class ExecFifoState {
  kStarted,  // init wrote its byte: it is exec'ing the container's process
  kWaiting,  // nothing yet (init has not reached the fifo)
  kClosed,   // init closed it without writing: it died before the start
};
absl::StatusOr<ExecFifoState> ReadExecFifo(int fd);

}  // namespace berth::mon

#endif  // BERTH_CONMON_EXEC_FIFO_H_
