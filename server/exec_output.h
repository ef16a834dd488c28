#ifndef BERTH_SERVER_EXEC_OUTPUT_H_
#define BERTH_SERVER_EXEC_OUTPUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace berth {

// Reads an ExecSync's stdout and stderr pipes until both reach EOF, keeping at most
// `max_bytes` of each and dropping the rest. `deadline_ns` (Unix ns; 0 = none yet) is set by
// another thread once the process has ended: after it passes, what the pipes already hold is
// still read, and then reading stops, though a background child may hold the pipes open.
void ReadExecOutputs(int out_fd, int err_fd, std::string* out, std::string* err,
                     const std::atomic<int64_t>* deadline_ns, size_t max_bytes);

}  // namespace berth

#endif  // BERTH_SERVER_EXEC_OUTPUT_H_
