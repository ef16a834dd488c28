#ifndef BERTH_CONMON_CONTAINER_IO_H_
#define BERTH_CONMON_CONTAINER_IO_H_

#include <array>
#include <string>

#include "absl/status/status.h"
#include "common/unique_fd.h"
#include "conmon/cri_log.h"
#include "conmon/event_loop.h"
#include "conmon/runtime_cmd.h"

namespace berth::mon {

// A container's stdio as berth-mon holds it: the read ends of its stdout and stderr pipes (or
// the pty master, read as stdout), stdin's write end, and the CRI log they are copied to.
class ContainerIo {
 public:
  explicit ContainerIo(EventLoop* loop) : loop_(loop) {}
  ~ContainerIo();
  ContainerIo(const ContainerIo&) = delete;
  ContainerIo& operator=(const ContainerIo&) = delete;

  absl::Status OpenLog(const std::string& path) { return log_.Open(path); }
  absl::Status ReopenLog() { return log_.Reopen(); }

  // Non-tty: makes the pipes and fills `stdio` with the container's ends (stdin: /dev/null
  // unless `with_stdin`). They stay open until ChildStarted.
  absl::Status MakePipes(bool with_stdin, ChildStdio* stdio);
  // The runtime has its copies: closes ours, so the container's exit brings EOF.
  void ChildStarted();
  // TTY: the pty master the runtime sent; it is stdout, and stdin when `with_stdin`.
  absl::Status SetTerminal(UniqueFd master, bool with_stdin);

  // What the stderr pipe holds now, without logging it (runc's error for a failed create).
  std::string TakeStderr();
  // Copies output to the log as it comes.
  absl::Status StartReading();
  // Reads what is left, writes the unfinished lines, stops reading and closes the streams.
  void Drain();

  int stdin_fd() const { return stdin_w_.get(); }
  void CloseStdin() { stdin_w_.Reset(); }

 private:
  enum class ReadState { kWouldBlock, kEnded, kMore };
  // Reads `stream` into the log, at most `max_reads` times.
  ReadState ReadStream(LogStream stream, int max_reads);
  void CloseStream(LogStream stream);

  EventLoop* loop_;
  CriLogWriter log_;
  std::array<UniqueFd, 2> readers_;  // by LogStream
  std::array<bool, 2> watched_ = {false, false};
  UniqueFd stdin_w_;
  // The container's ends until ChildStarted: stdin, stdout, stderr.
  std::array<UniqueFd, 3> child_ends_;
};

}  // namespace berth::mon

#endif  // BERTH_CONMON_CONTAINER_IO_H_
