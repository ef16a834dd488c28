#ifndef BERTH_CONMON_CONSOLE_SOCKET_H_
#define BERTH_CONMON_CONSOLE_SOCKET_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth::mon {

// The unix socket given to `runc create --console-socket`: runc connects and sends the pty
// master (SCM_RIGHTS). Lives in a private temp directory (socket paths are short), which is
// removed with it.
class ConsoleSocket {
 public:
  static absl::StatusOr<std::unique_ptr<ConsoleSocket>> Create();
  ~ConsoleSocket();
  ConsoleSocket(const ConsoleSocket&) = delete;
  ConsoleSocket& operator=(const ConsoleSocket&) = delete;

  const std::string& path() const { return path_; }
  // After `runc create` succeeded: takes its connection and the master it sent. Never blocks.
  absl::StatusOr<UniqueFd> ReceiveMaster();

 private:
  ConsoleSocket() = default;

  std::string dir_;
  std::string path_;
  UniqueFd listener_;
};

}  // namespace berth::mon

#endif  // BERTH_CONMON_CONSOLE_SOCKET_H_
