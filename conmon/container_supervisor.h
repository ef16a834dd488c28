#ifndef BERTH_CONMON_CONTAINER_SUPERVISOR_H_
#define BERTH_CONMON_CONTAINER_SUPERVISOR_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "conmon/event_loop.h"
#include "proto/monitor.pb.h"

namespace berth::mon {

// The container half of berth-mon: runs the OCI runtime for the pod's containers, owns their
// stdio, writes CRI logs, watches their exits (and OOM), runs ExecSync. Lives on the monitor's
// event loop; every method answers through `reply` (now or later), exactly once, with code and
// message set (0 = OK) and the body the request calls for.
class ContainerSupervisor {
 public:
  using Reply = std::function<void(monitor::v1::Response)>;
  using EventSink = std::function<void(const monitor::v1::Event&)>;

  struct Options {
    std::string pod_dir;       // exit records go to <pod_dir>/exits/<container-id>
    std::string runtime_path;  // default OCI runtime
    std::string runtime_root;  // its --root
  };

  ContainerSupervisor(EventLoop* loop, Options options, EventSink send_event);
  ~ContainerSupervisor();

  void Create(const monitor::v1::CreateContainer& request, Reply reply);
  void Start(const monitor::v1::StartContainer& request, Reply reply);
  void Stop(const monitor::v1::StopContainer& request, Reply reply);
  void Delete(const monitor::v1::DeleteContainer& request, Reply reply);
  // `fds`: the stdout and stderr write ends that came with the request.
  void ExecSync(const monitor::v1::ExecSync& request, std::vector<UniqueFd> fds, Reply reply);
  void ReopenLog(const monitor::v1::ReopenLog& request, Reply reply);
  void List(Reply reply);

  // No container is known (created and not deleted).
  bool Empty() const;

 private:
  struct Container;
  EventLoop* loop_;
  Options options_;
  EventSink send_event_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
};

}  // namespace berth::mon

#endif  // BERTH_CONMON_CONTAINER_SUPERVISOR_H_
