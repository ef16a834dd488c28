#ifndef BERTH_CONMON_WIRE_H_
#define BERTH_CONMON_WIRE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::mon {

// One record of the monitor protocol (proto/monitor.proto): a 4-byte little-endian length,
// the serialized message, and up to kMaxFds file descriptors as SCM_RIGHTS.
inline constexpr size_t kMaxRecordBytes = 192 << 10;  // under the default socket buffer
inline constexpr int kMaxFds = 4;

struct Record {
  std::string payload;
  std::vector<UniqueFd> fds;
};

// Sends one record on a SOCK_SEQPACKET socket; the fds are duplicated by the kernel, the caller
// keeps its copies. Retries EINTR; a would-block socket is ResourceExhausted (the monitor never
// blocks; its peers' records are small).
absl::Status SendRecord(int socket, const std::string& payload, const std::vector<int>& fds = {});

// Receives one record. NotFound-free contract: OutOfRange means the peer hung up (EOF),
// Unavailable means nothing to read on a non-blocking socket, DataLoss means a malformed record
// (wrong length prefix, truncated, too many fds: received fds are closed).
absl::StatusOr<Record> ReceiveRecord(int socket);

// A connected SOCK_SEQPACKET pair (for tests and for the sync of a launch), close-on-exec.
absl::Status SeqpacketPair(UniqueFd* a, UniqueFd* b);

}  // namespace berth::mon

#endif  // BERTH_CONMON_WIRE_H_
