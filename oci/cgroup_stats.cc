#include "oci/cgroup_stats.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status.h"

namespace berth::oci {
namespace {

absl::StatusOr<uint64_t> ReadUint(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path, 4096));
  uint64_t value;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(data), &value)) {
    return absl::DataLossError(absl::StrCat(path, ": not a number: ", data));
  }
  return value;
}

// "key value" lines (memory.stat, cpu.stat).
absl::StatusOr<std::map<std::string, uint64_t>> ReadFlatKeyed(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path, 1 << 20));
  std::map<std::string, uint64_t> values;
  for (absl::string_view line : absl::StrSplit(data, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t value;
    if (fields.size() == 2 && absl::SimpleAtoi(fields[1], &value)) {
      values[std::string(fields[0])] = value;
    }
  }
  return values;
}

uint64_t Get(const std::map<std::string, uint64_t>& values, const char* key) {
  auto it = values.find(key);
  return it == values.end() ? 0 : it->second;
}

uint64_t WorkingSet(uint64_t usage, uint64_t inactive_file) {
  return inactive_file < usage ? usage - inactive_file : 0;
}

std::string JoinPath(const std::string& root, const std::string& path) {
  std::string out = root;
  while (absl::EndsWith(out, "/")) out.pop_back();
  if (!absl::StartsWith(path, "/")) out.push_back('/');
  return out + path;
}

}  // namespace

std::string CgroupsPathToDir(const std::string& cgroups_path) {
  std::vector<std::string> parts = absl::StrSplit(cgroups_path, ':');
  if (parts.size() != 3 || absl::StrContains(cgroups_path, '/')) {
    return absl::StartsWith(cgroups_path, "/") ? cgroups_path : "/" + cgroups_path;
  }
  // systemd: each dash-separated prefix of the slice is a parent slice.
  std::string dir;
  std::string slice = parts[0].empty() ? "-.slice" : parts[0];
  if (slice != "-.slice" && absl::EndsWith(slice, ".slice")) {
    absl::string_view stem = absl::string_view(slice).substr(0, slice.size() - 6);
    std::string prefix;
    for (absl::string_view piece : absl::StrSplit(stem, '-')) {
      prefix = prefix.empty() ? std::string(piece) : absl::StrCat(prefix, "-", piece);
      absl::StrAppend(&dir, "/", prefix, ".slice");
    }
  }
  absl::StrAppend(&dir, "/", parts[1].empty() ? "" : parts[1] + "-", parts[2], ".scope");
  return dir;
}

absl::StatusOr<ContainerCgroupDirs> FindContainerCgroupDirs(const std::string& root,
                                                            CgroupMode mode,
                                                            const std::string& cgroups_path) {
  ContainerCgroupDirs dirs;
  std::string relative = CgroupsPathToDir(cgroups_path);
  if (mode == CgroupMode::kUnified) {
    dirs.v2 = true;
    dirs.unified = JoinPath(root, relative);
    return dirs;
  }
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return ErrnoStatus(errno, "listing cgroup controllers in " + root);
  const std::pair<const char*, std::string*> controllers[] = {
      {"cpuacct", &dirs.cpuacct}, {"memory", &dirs.memory}, {"cpu", &dirs.cpu},
      {"cpuset", &dirs.cpuset},   {"pids", &dirs.pids},     {"hugetlb", &dirs.hugetlb},
  };
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name[0] == '.' || name == "unified") continue;
    struct stat st;
    std::string mount = JoinPath(root, name);
    // Skip the "cpu -> cpu,cpuacct" style links; the real directory names them all.
    if (::lstat(mount.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    for (absl::string_view controller : absl::StrSplit(name, ',')) {
      for (const auto& [wanted, out] : controllers) {
        if (controller == wanted) *out = JoinPath(mount, relative);
      }
    }
  }
  ::closedir(dir);
  if (dirs.cpuacct.empty() || dirs.memory.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no cpuacct or memory cgroup v1 controller under ", root));
  }
  return dirs;
}

absl::StatusOr<CgroupStats> ReadCgroupV1Stats(const std::string& cpuacct_dir,
                                              const std::string& memory_dir) {
  CgroupStats stats;
  stats.timestamp = absl::Now();
  ASSIGN_OR_RETURN(stats.cpu_usage_ns, ReadUint(cpuacct_dir + "/cpuacct.usage"));
  ASSIGN_OR_RETURN(stats.memory_usage_bytes, ReadUint(memory_dir + "/memory.usage_in_bytes"));
  ASSIGN_OR_RETURN(auto memory, ReadFlatKeyed(memory_dir + "/memory.stat"));
  stats.memory_working_set_bytes =
      WorkingSet(stats.memory_usage_bytes, Get(memory, "total_inactive_file"));
  stats.memory_rss = Get(memory, "total_rss");
  stats.memory_page_faults = Get(memory, "total_pgfault");
  stats.memory_major_page_faults = Get(memory, "total_pgmajfault");
  return stats;
}

absl::StatusOr<CgroupStats> ReadCgroupV2Stats(const std::string& dir) {
  CgroupStats stats;
  stats.timestamp = absl::Now();
  ASSIGN_OR_RETURN(auto cpu, ReadFlatKeyed(dir + "/cpu.stat"));
  stats.cpu_usage_ns = Get(cpu, "usage_usec") * 1000;
  ASSIGN_OR_RETURN(stats.memory_usage_bytes, ReadUint(dir + "/memory.current"));
  ASSIGN_OR_RETURN(auto memory, ReadFlatKeyed(dir + "/memory.stat"));
  stats.memory_working_set_bytes =
      WorkingSet(stats.memory_usage_bytes, Get(memory, "inactive_file"));
  stats.memory_rss = Get(memory, "anon");
  stats.memory_page_faults = Get(memory, "pgfault");
  stats.memory_major_page_faults = Get(memory, "pgmajfault");
  return stats;
}

absl::StatusOr<CgroupStats> ReadCgroupStats(const ContainerCgroupDirs& dirs) {
  if (dirs.v2) return ReadCgroupV2Stats(dirs.unified);
  return ReadCgroupV1Stats(dirs.cpuacct, dirs.memory);
}

}  // namespace berth::oci
