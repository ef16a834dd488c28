// ContainerStatus, ListContainers, ContainerStats, ListContainerStats and id lookup.
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "oci/cgroup_stats.h"
#include "oci/rootfs.h"
#include "server/container_list.h"
#include "server/container_manager.h"
#include "server/registry_util.h"

namespace berth {
namespace {

using state::v1::ContainerRecord;

std::string VerboseInfo(const ContainerRecord& record, const ContainerPaths& paths) {
  nlohmann::json info;
  info["pid"] = record.pid();
  info["sandboxID"] = record.pod_id();
  info["name"] = record.name();
  info["bundle"] = paths.bundle;
  info["rootfs"] = paths.Rootfs();
  info["upperDir"] = paths.Upper();
  info["cgroupsPath"] = record.cgroups_path();
  info["runtime"] = record.runtime_path();
  info["runtimeRoot"] = record.runtime_root();
  info["config"] = ProtoJson(record.config());
  return info.dump();
}

}  // namespace

std::vector<std::shared_ptr<Container>> ContainerManager::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return Values(containers_);
}

absl::StatusOr<std::shared_ptr<Container>> ContainerManager::Find(
    const std::string& id_or_prefix) const {
  absl::MutexLock lock(&mu_);
  return FindByIdPrefix(containers_, id_or_prefix, "container");
}

absl::StatusOr<runtime::v1::ContainerStatusResponse> ContainerManager::Status(
    const std::string& id, bool verbose) {
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(id));
  absl::ReaderMutexLock lock(&container->mu);
  const ContainerRecord& record = container->record;
  runtime::v1::ContainerStatusResponse response;
  runtime::v1::ContainerStatus& status = *response.mutable_status();
  status.set_id(record.id());
  *status.mutable_metadata() = record.config().metadata();
  status.set_state(CriContainerState(record));
  status.set_created_at(record.created_unix_nanos());
  status.set_started_at(record.started_unix_nanos());
  status.set_finished_at(record.finished_unix_nanos());
  status.set_exit_code(record.exit_code());
  *status.mutable_image() = record.config().image();
  status.mutable_image()->set_image(record.image_name());
  status.set_image_ref(record.image_id());
  status.set_image_id(record.image_id());
  status.set_reason(record.reason());
  status.set_message(record.message());
  *status.mutable_labels() = record.config().labels();
  *status.mutable_annotations() = record.config().annotations();
  *status.mutable_mounts() = record.config().mounts();
  status.set_log_path(record.log_path());
  *status.mutable_resources()->mutable_linux() = record.resources();
  *status.mutable_user()->mutable_linux() = record.user();
  status.set_stop_signal(static_cast<runtime::v1::Signal>(record.stop_signal()));
  if (verbose) (*response.mutable_info())["info"] = VerboseInfo(record, Paths(record.id()));
  return response;
}

void ContainerManager::List(const runtime::v1::ContainerFilter& filter,
                            google::protobuf::RepeatedPtrField<runtime::v1::Container>* out) {
  std::vector<std::shared_ptr<Container>> all = Snapshot();
  out->Reserve(out->size() + static_cast<int>(all.size()));
  for (const std::shared_ptr<Container>& container : all) {
    absl::ReaderMutexLock lock(&container->mu);
    if (container->removed || !ListFilterMatches(filter, container->record)) continue;
    *out->Add() = ListedContainer(container->record);
  }
}

std::shared_ptr<const std::string> ContainerManager::ListSerialized(
    const runtime::v1::ContainerFilter& filter) {
  auto build = [this, &filter] {
    std::vector<std::shared_ptr<Container>> all = Snapshot();
    std::vector<std::shared_ptr<const std::string>> entries;
    entries.reserve(all.size());
    size_t size = 0;
    for (const std::shared_ptr<Container>& container : all) {
      absl::ReaderMutexLock lock(&container->mu);
      if (container->removed || !ListFilterMatches(filter, container->record)) continue;
      entries.push_back(container->list_entry.Get(container->record));
      size += entries.back()->size();
    }
    // One allocation of the final size: growing a few hundred KiB by doubling costs copies and
    // fresh pages on every call.
    std::string out;
    out.reserve(size);
    for (const std::shared_ptr<const std::string>& entry : entries) out.append(*entry);
    return out;
  };
  if (ListFilterIsEmpty(filter)) return list_cache_.Get(build);
  return std::make_shared<const std::string>(build());
}

absl::StatusOr<runtime::v1::ContainerStats> ContainerManager::Stats(const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(id));
  ContainerRecord record;
  {
    absl::ReaderMutexLock lock(&container->mu);
    record = container->record;
  }
  runtime::v1::ContainerStats stats;
  runtime::v1::ContainerAttributes& attributes = *stats.mutable_attributes();
  attributes.set_id(record.id());
  *attributes.mutable_metadata() = record.config().metadata();
  *attributes.mutable_labels() = record.config().labels();
  *attributes.mutable_annotations() = record.config().annotations();
  int64_t now = absl::ToUnixNanos(absl::Now());
  if (record.state() == ContainerRecord::RUNNING) {
    absl::StatusOr<oci::ContainerCgroupDirs> dirs = oci::FindContainerCgroupDirs(
        options_.cgroup_root, options_.cgroup_mode, record.cgroups_path());
    absl::StatusOr<oci::CgroupStats> cgroup =
        dirs.ok() ? oci::ReadCgroupStats(*dirs) : absl::StatusOr<oci::CgroupStats>(dirs.status());
    if (cgroup.ok()) {
      int64_t at = absl::ToUnixNanos(cgroup->timestamp);
      stats.mutable_cpu()->set_timestamp(at);
      stats.mutable_cpu()->mutable_usage_core_nano_seconds()->set_value(cgroup->cpu_usage_ns);
      runtime::v1::MemoryUsage& memory = *stats.mutable_memory();
      memory.set_timestamp(at);
      memory.mutable_working_set_bytes()->set_value(cgroup->memory_working_set_bytes);
      memory.mutable_usage_bytes()->set_value(cgroup->memory_usage_bytes);
      memory.mutable_rss_bytes()->set_value(cgroup->memory_rss);
      memory.mutable_page_faults()->set_value(cgroup->memory_page_faults);
      memory.mutable_major_page_faults()->set_value(cgroup->memory_major_page_faults);
    }
  }
  ContainerPaths paths = Paths(record.id());
  absl::StatusOr<oci::DiskUsage> usage = oci::MeasureDir(paths.Upper());
  runtime::v1::FilesystemUsage& layer = *stats.mutable_writable_layer();
  layer.set_timestamp(now);
  layer.mutable_fs_id()->set_mountpoint(options_.config->root + "/containers");
  if (usage.ok()) {
    layer.mutable_used_bytes()->set_value(usage->bytes);
    layer.mutable_inodes_used()->set_value(usage->inodes);
  }
  return stats;
}

std::vector<runtime::v1::ContainerStats> ContainerManager::ListStats(
    const runtime::v1::ContainerStatsFilter& filter) {
  runtime::v1::ContainerFilter list_filter;
  list_filter.set_id(filter.id());
  list_filter.set_pod_sandbox_id(filter.pod_sandbox_id());
  *list_filter.mutable_label_selector() = filter.label_selector();
  google::protobuf::RepeatedPtrField<runtime::v1::Container> containers;
  List(list_filter, &containers);
  std::vector<runtime::v1::ContainerStats> all;
  for (const runtime::v1::Container& container : containers) {
    absl::StatusOr<runtime::v1::ContainerStats> stats = Stats(container.id());
    if (stats.ok()) all.push_back(std::move(*stats));
  }
  return all;
}

}  // namespace berth
