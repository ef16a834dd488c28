#include "ctl/container_format.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::ctl {
namespace {

namespace cri = runtime::v1;

bool Matches(const cri::Container& container, const PsFlags& flags) {
  if (!absl::StartsWith(container.id(), flags.id)) return false;
  if (!absl::StartsWith(container.pod_sandbox_id(), flags.pod)) return false;
  return flags.name.empty() || absl::StrContains(container.metadata().name(), flags.name);
}

std::string ImageColumn(const cri::Container& container) {
  const std::string& image =
      container.image().image().empty() ? container.image_ref() : container.image().image();
  if (absl::StartsWith(image, "sha256:")) return ShortId(image);
  return image;
}

}  // namespace

const char* ContainerStateName(cri::ContainerState state) {
  switch (state) {
    case cri::CONTAINER_CREATED:
      return "Created";
    case cri::CONTAINER_RUNNING:
      return "Running";
    case cri::CONTAINER_EXITED:
      return "Exited";
    default:
      return "Unknown";
  }
}

absl::StatusOr<cri::ContainerState> ParseContainerState(const std::string& name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "created") return cri::CONTAINER_CREATED;
  if (lower == "running") return cri::CONTAINER_RUNNING;
  if (lower == "exited") return cri::CONTAINER_EXITED;
  if (lower == "unknown") return cri::CONTAINER_UNKNOWN;
  return absl::InvalidArgumentError(
      absl::StrCat("--state \"", name, "\" is not one of created, running, exited, unknown"));
}

std::string FormatAge(int64_t created_ns, absl::Time now) {
  absl::Duration age = std::max(absl::ZeroDuration(), now - absl::FromUnixNanos(created_ns));
  if (age < absl::Minutes(1)) return absl::StrCat(absl::ToInt64Seconds(age), "s ago");
  if (age < absl::Hours(1)) return absl::StrCat(absl::ToInt64Minutes(age), "m ago");
  if (age < absl::Hours(48)) return absl::StrCat(absl::ToInt64Hours(age), "h ago");
  return absl::StrCat(absl::ToInt64Hours(age) / 24, "d ago");
}

std::string ShortId(const std::string& id) {
  std::string bare = absl::StartsWith(id, "sha256:") ? id.substr(7) : id;
  return bare.substr(0, 13);
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(kUnits)) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, "B");
  return absl::StrCat(absl::StrFormat("%.3g", value), kUnits[unit]);
}

absl::StatusOr<int64_t> ParseBytes(const std::string& text) {
  std::string lower = absl::AsciiStrToLower(text);
  int64_t multiplier = 1;
  if (absl::EndsWith(lower, "b")) lower.pop_back();
  if (absl::EndsWith(lower, "i")) lower.pop_back();
  if (!lower.empty()) {
    switch (lower.back()) {
      case 'k':
        multiplier = int64_t{1} << 10;
        break;
      case 'm':
        multiplier = int64_t{1} << 20;
        break;
      case 'g':
        multiplier = int64_t{1} << 30;
        break;
      case 't':
        multiplier = int64_t{1} << 40;
        break;
      default:
        break;
    }
    if (multiplier != 1) lower.pop_back();
  }
  int64_t value = 0;
  if (lower.empty() || !std::isdigit(static_cast<unsigned char>(lower[0])) ||
      !absl::SimpleAtoi(lower, &value) || value > INT64_MAX / multiplier) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a size in bytes"));
  }
  return value * multiplier;
}

absl::StatusOr<cri::ContainerFilter> PsFilter(const PsFlags& flags) {
  cri::ContainerFilter filter;
  if (!flags.state.empty()) {
    absl::StatusOr<cri::ContainerState> state = ParseContainerState(flags.state);
    if (!state.ok()) return state.status();
    filter.mutable_state()->set_state(*state);
  } else if (!flags.all) {
    filter.mutable_state()->set_state(cri::CONTAINER_RUNNING);
  }
  for (const std::string& label : flags.labels) {
    size_t eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--label ", label, " is not key=value"));
    }
    (*filter.mutable_label_selector())[label.substr(0, eq)] = label.substr(eq + 1);
  }
  return filter;
}

std::string FormatPs(const std::vector<cri::Container>& containers, const PsFlags& flags,
                     absl::Time now) {
  std::vector<const cri::Container*> shown;
  for (const cri::Container& container : containers) {
    if (Matches(container, flags)) shown.push_back(&container);
  }
  std::stable_sort(shown.begin(), shown.end(),
                   [](const cri::Container* a, const cri::Container* b) {
                     return a->created_at() > b->created_at();
                   });
  std::string out;
  if (flags.quiet) {
    for (const cri::Container* container : shown) absl::StrAppend(&out, container->id(), "\n");
    return out;
  }
  constexpr absl::string_view kRow = "%-13s   %-30s   %-14s   %-8s   %-25s   %-7s   %s\n";
  absl::StrAppend(&out, absl::StrFormat(kRow, "CONTAINER", "IMAGE", "CREATED", "STATE", "NAME",
                                        "ATTEMPT", "POD ID"));
  for (const cri::Container* c : shown) {
    absl::StrAppend(
        &out,
        absl::StrFormat(kRow, ShortId(c->id()), ImageColumn(*c), FormatAge(c->created_at(), now),
                        ContainerStateName(c->state()), c->metadata().name(),
                        absl::StrCat(c->metadata().attempt()), ShortId(c->pod_sandbox_id())));
  }
  return out;
}

absl::StatusOr<cri::UpdateContainerResourcesRequest> UpdateRequest(const std::string& id,
                                                                   const UpdateFlags& flags) {
  cri::UpdateContainerResourcesRequest request;
  request.set_container_id(id);
  cri::LinuxContainerResources& linux = *request.mutable_linux();
  bool any = false;
  if (flags.cpu_shares) linux.set_cpu_shares(*flags.cpu_shares), any = true;
  if (flags.cpu_quota) linux.set_cpu_quota(*flags.cpu_quota), any = true;
  if (flags.cpu_period) linux.set_cpu_period(*flags.cpu_period), any = true;
  if (!flags.memory.empty()) {
    absl::StatusOr<int64_t> memory = ParseBytes(flags.memory);
    if (!memory.ok()) return memory.status();
    linux.set_memory_limit_in_bytes(*memory);
    any = true;
  }
  if (!flags.cpuset_cpus.empty()) linux.set_cpuset_cpus(flags.cpuset_cpus), any = true;
  if (!flags.cpuset_mems.empty()) linux.set_cpuset_mems(flags.cpuset_mems), any = true;
  if (!any) return absl::InvalidArgumentError("update: give at least one resource flag");
  return request;
}

std::string FormatStats(const std::vector<cri::ContainerStats>& now,
                        const std::vector<cri::ContainerStats>& before) {
  constexpr absl::string_view kRow = "%-13s   %-25s   %-8s   %-10s   %-10s   %s\n";
  std::string out = absl::StrFormat(kRow, "CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES");
  for (const cri::ContainerStats& stats : now) {
    std::string cpu = "-";
    const cri::CpuUsage& usage = stats.cpu();
    auto earlier = std::find_if(before.begin(), before.end(), [&](const cri::ContainerStats& b) {
      return b.attributes().id() == stats.attributes().id();
    });
    if (earlier != before.end() && usage.timestamp() > earlier->cpu().timestamp() &&
        usage.has_usage_core_nano_seconds()) {
      double used = static_cast<double>(usage.usage_core_nano_seconds().value()) -
                    static_cast<double>(earlier->cpu().usage_core_nano_seconds().value());
      double elapsed = static_cast<double>(usage.timestamp() - earlier->cpu().timestamp());
      cpu = absl::StrFormat("%.2f", std::max(0.0, used) * 100 / elapsed);
    } else if (usage.has_usage_core_nano_seconds()) {
      cpu = absl::StrFormat("%.2fs", usage.usage_core_nano_seconds().value() / 1e9);
    }
    const cri::FilesystemUsage& disk = stats.writable_layer();
    absl::StrAppend(&out, absl::StrFormat(kRow, ShortId(stats.attributes().id()),
                                          stats.attributes().metadata().name(), cpu,
                                          HumanBytes(stats.memory().working_set_bytes().value()),
                                          HumanBytes(disk.used_bytes().value()),
                                          absl::StrCat(disk.inodes_used().value())));
  }
  return out;
}

}  // namespace berth::ctl
