// ExecSync, ReopenContainerLog and UpdateContainerResources: work on a running container.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/spawn.h"
#include "common/status.h"
#include "oci/runtime_cli.h"
#include "server/container_manager.h"
#include "server/exec_output.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

// DESIGN §5: each stream of an ExecSync keeps at most this much.
constexpr size_t kMaxExecOutput = 16 << 20;
// After the exec'd process ended, output still buffered (or held open by a background child)
// is read for at most this long.
constexpr absl::Duration kDrainAfterExit = absl::Milliseconds(200);
// How long an exec keeps the cgroup attach path warm: runc exec attaches well before this.
constexpr absl::Duration kExecAttachWarm = absl::Milliseconds(250);

}  // namespace

absl::Status ContainerManager::CheckUnifiedResources(
    const runtime::v1::LinuxContainerResources& resources) const {
  if (resources.unified().empty() || options_.cgroup_mode == oci::CgroupMode::kUnified) {
    return absl::OkStatus();
  }
  // runc would refuse them anyway, after the work; the kubelet sends them on v2 hosts only.
  return absl::InvalidArgumentError(absl::StrCat(
      "unified cgroup resources (", resources.unified().begin()->first,
      "...) need cgroup v2, and this host's controllers are on cgroup v1"));
}

absl::StatusOr<runtime::v1::ExecSyncResponse> ContainerManager::ExecSync(
    const runtime::v1::ExecSyncRequest& request) {
  if (request.cmd().empty()) return absl::InvalidArgumentError("ExecSync: no command given");
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(request.container_id()));
  std::string id;
  std::string pod_id;
  {
    absl::ReaderMutexLock lock(&container->mu);
    if (container->removed || container->record.state() != ContainerRecord::RUNNING) {
      return absl::FailedPreconditionError(
          absl::StrCat("container ", container->record.id(), " is not running"));
    }
    id = container->record.id();
    pod_id = container->record.pod_id();
  }
  ASSIGN_OR_RETURN(std::shared_ptr<mon::MonitorClient> monitor, MonitorOr(pod_id, Monitor(pod_id)));
  // runc exec attaches the process to the container's cgroups early in its run.
  oci::CgroupAttachWarmer::Lease warm = WarmCgroupAttach(kExecAttachWarm);
  UniqueFd out_read, out_write, err_read, err_write;
  if (!MakePipe(out_read, out_write) || !MakePipe(err_read, err_write)) {
    return ErrnoStatus(errno, "making ExecSync pipes");
  }
  monitor::v1::Request exec;
  monitor::v1::ExecSync& body = *exec.mutable_exec_sync();
  body.set_container_id(id);
  for (const std::string& arg : request.cmd()) body.add_argv(arg);
  absl::Duration timeout = absl::Seconds(request.timeout());
  body.set_timeout_ns(request.timeout() > 0 ? absl::ToInt64Nanoseconds(timeout) : 0);

  std::string out, err;
  std::atomic<int64_t> deadline{0};
  std::thread reader(ReadExecOutputs, out_read.get(), err_read.get(), &out, &err, &deadline,
                     kMaxExecOutput);
  absl::Duration wait = request.timeout() > 0 ? timeout + absl::Seconds(30) : absl::Hours(24 * 365);
  absl::StatusOr<monitor::v1::Response> response =
      monitor->Call(exec, wait, {out_write.get(), err_write.get()});
  // The monitor has its own copies; ours go so the reader sees EOF when the process ends.
  out_write.Reset();
  err_write.Reset();
  deadline.store(absl::ToUnixNanos(absl::Now() + kDrainAfterExit));
  reader.join();
  if (!response.ok()) return Annotate(response.status(), absl::StrCat("ExecSync in ", id));
  runtime::v1::ExecSyncResponse result;
  result.set_stdout(std::move(out));
  result.set_stderr(std::move(err));
  result.set_exit_code(response->exec_sync().timed_out() ? -1 : response->exec_sync().exit_code());
  return result;
}

absl::Status ContainerManager::ReopenLog(const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(id));
  std::shared_ptr<mon::MonitorClient> given = Monitor(PodOf(*container));
  absl::MutexLock lock(&container->mu);
  const ContainerRecord& record = container->record;
  if (container->removed || record.state() != ContainerRecord::RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", record.id(), " is not running: its log cannot be reopened"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<mon::MonitorClient> monitor, MonitorOr(record.pod_id(), given));
  monitor::v1::Request reopen;
  reopen.mutable_reopen_log()->set_container_id(record.id());
  return Annotate(monitor->Call(reopen, absl::Seconds(30)).status(),
                  absl::StrCat("reopening the log of container ", record.id()));
}

absl::Status ContainerManager::UpdateResources(
    const runtime::v1::UpdateContainerResourcesRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(request.container_id()));
  RETURN_IF_ERROR(CheckUnifiedResources(request.linux()));
  absl::MutexLock lock(&container->mu);
  ContainerRecord& record = container->record;
  if (container->removed || (record.state() != ContainerRecord::RUNNING &&
                             record.state() != ContainerRecord::CREATED)) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", record.id(), " is not running"));
  }
  oci::RuntimeInvocation update = oci::UpdateResourcesInvocation(
      record.runtime_path(), record.runtime_root(), record.id(), request.linux());
  ASSIGN_OR_RETURN(SpawnResult result,
                   RunCommand(SpawnOptions{.argv = update.argv,
                                           .stdin_data = update.stdin_data,
                                           .timeout = absl::Seconds(30),
                                           .max_output = 64 << 10}));
  if (!result.success()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "updating the resources of container ", record.id(), ": ", result.Describe()));
  }
  // Fields the request leaves at zero keep their old values, as runc update does.
  runtime::v1::LinuxContainerResources merged = record.resources();
  merged.MergeFrom(request.linux());
  *record.mutable_resources() = merged;
  return Persist(*container);
}

}  // namespace berth
