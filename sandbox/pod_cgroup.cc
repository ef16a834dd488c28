#include "sandbox/pod_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::sandbox {
namespace {

constexpr absl::string_view kSliceSuffix = ".slice";
constexpr int kRemoveAttempts = 20;
constexpr absl::Duration kRemoveRetryDelay = absl::Milliseconds(50);

absl::Status BadParent(const std::string& parent, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid cgroup parent \"", absl::CEscape(parent), "\": ", why));
}

bool HasControlBytes(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// "a-b-c.slice" -> "a.slice/a-b.slice/a-b-c.slice", as systemd nests slices; "-.slice" is
// the root slice.
absl::StatusOr<std::string> ExpandSlice(const std::string& parent) {
  absl::string_view stem(parent);
  stem.remove_suffix(kSliceSuffix.size());
  if (stem == "-") return std::string();
  if (stem.empty() || stem.front() == '-' || stem.back() == '-' || absl::StrContains(stem, "--") ||
      absl::StrContains(stem, "..") || stem.front() == '.') {
    return BadParent(parent, "not a valid systemd slice name");
  }
  std::vector<std::string> parts;
  for (size_t dash = stem.find('-'); dash != absl::string_view::npos;
       dash = stem.find('-', dash + 1)) {
    parts.push_back(absl::StrCat(stem.substr(0, dash), ".slice"));
  }
  parts.push_back(parent);
  return absl::StrJoin(parts, "/");
}

// The directory part of `path` ("/a/b" -> "/a").
std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo.
std::string UnescapeMountField(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        octal = octal && c >= '0' && c <= '7';
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

// One line of /proc/self/mountinfo: the mount point and device when it is a cgroup hierarchy
// runc makes a container's cgroup in on a v1 host: every v1 hierarchy, named ones such as
// name=systemd included, and the hybrid "unified" cgroup2. runc creates the pod's path as the
// container cgroup's parent in all of them, so the pod cgroup is made (and recorded, and
// removed) in all of them too.
struct V1Mount {
  std::string mount_point;
  std::string device;
};

std::optional<V1Mount> ParseV1Mount(absl::string_view line) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  auto dash = std::find(fields.begin(), fields.end(), "-");
  if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) return std::nullopt;
  if (*(dash + 1) != "cgroup" && *(dash + 1) != "cgroup2") return std::nullopt;
  return V1Mount{.mount_point = UnescapeMountField(fields[4]), .device = std::string(fields[2])};
}

// The cgroup v1 hierarchies mounted directly under `root`, by directory name, each once.
std::vector<std::string> DetectV1Controllers(const std::string& root) {
  absl::StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo");
  if (!mountinfo.ok()) {
    LOG_WARN("detecting cgroup v1 hierarchies: {}", mountinfo.status());
    return {};
  }
  std::set<std::string> names, devices;
  for (absl::string_view line : absl::StrSplit(*mountinfo, '\n', absl::SkipEmpty())) {
    std::optional<V1Mount> mount = ParseV1Mount(line);
    if (!mount || Dirname(mount->mount_point) != root) continue;
    std::string name = mount->mount_point.substr(root == "/" ? 1 : root.size() + 1);
    if (name.empty()) continue;
    // The same hierarchy mounted twice counts once.
    if (!devices.insert(mount->device).second) continue;
    names.insert(name);
  }
  return {names.begin(), names.end()};
}

// The hierarchy directories (v1) or the root (v2) that cgroup paths are made in.
std::vector<std::string> Bases(const CgroupOptions& options) {
  std::string root = StripTrailingSlashes(options.root);
  if (options.version == CgroupVersion::kV2) return {root};
  std::vector<std::string> names = options.v1_controllers;
  if (names.empty()) names = DetectV1Controllers(root);
  std::vector<std::string> bases;
  for (const std::string& name : names) bases.push_back(absl::StrCat(root, "/", name));
  return bases;
}

bool IsCpusetHierarchy(const std::string& base) {
  std::string name = base.substr(base.rfind('/') + 1);
  for (absl::string_view controller : absl::StrSplit(name, ',')) {
    if (controller == "cpuset") return true;
  }
  return false;
}

absl::Status WriteControlFile(const std::string& path, absl::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  return WriteAll(fd.get(), data, path);
}

// A new v1 cpuset admits no task until it has CPUs and memory nodes: copy the parent's.
absl::Status CopyCpuset(const std::string& parent, const std::string& dir) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    absl::StatusOr<std::string> value = ReadFile(absl::StrCat(parent, "/", file));
    if (absl::IsNotFound(value.status())) continue;
    if (!value.ok()) return value.status();
    absl::string_view trimmed = absl::StripAsciiWhitespace(*value);
    if (trimmed.empty()) continue;
    RETURN_IF_ERROR(WriteControlFile(absl::StrCat(dir, "/", file), trimmed));
  }
  return absl::OkStatus();
}

// Enables in `dir`'s children every controller `dir` has; a controller the kernel refuses is
// skipped with a warning.
void EnableV2Controllers(const std::string& dir) {
  absl::StatusOr<std::string> available = ReadFile(absl::StrCat(dir, "/cgroup.controllers"));
  if (!available.ok()) return;
  std::vector<std::string> enable;
  for (absl::string_view name :
       absl::StrSplit(*available, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    enable.push_back(absl::StrCat("+", name));
  }
  if (enable.empty()) return;
  std::string control = absl::StrCat(dir, "/cgroup.subtree_control");
  if (WriteControlFile(control, absl::StrJoin(enable, " ")).ok()) return;
  for (const std::string& one : enable) {
    if (absl::Status status = WriteControlFile(control, one); !status.ok()) {
      LOG_WARN("enabling cgroup controller {} in {}: {}", one.substr(1), dir, status);
    }
  }
}

// Directories made so far; removed again unless Release()d.
class CreatedDirs {
 public:
  CreatedDirs() = default;
  CreatedDirs(const CreatedDirs&) = delete;
  CreatedDirs& operator=(const CreatedDirs&) = delete;
  ~CreatedDirs() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) ::rmdir(it->c_str());
  }
  void Add(std::string dir) { dirs_.push_back(std::move(dir)); }
  std::vector<std::string> Release() { return std::exchange(dirs_, {}); }

 private:
  std::vector<std::string> dirs_;
};

// Makes `relative` under one hierarchy `base`, recording what it created.
absl::Status CreateUnder(const std::string& base, const std::vector<std::string>& parts, bool v2,
                         CreatedDirs& created) {
  bool cpuset = !v2 && IsCpusetHierarchy(base);
  std::string dir = base;
  for (const std::string& part : parts) {
    std::string parent = dir;
    absl::StrAppend(&dir, "/", part);
    if (v2) EnableV2Controllers(parent);
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      return ErrnoStatus(errno, absl::StrCat("creating cgroup ", dir));
    }
    created.Add(dir);
    if (cpuset) {
      RETURN_IF_ERROR(Annotate(CopyCpuset(parent, dir), absl::StrCat("setting up cpuset ", dir)));
    }
  }
  return absl::OkStatus();
}

// A path as CgroupRelativePath returns them: components joined by single '/', none of them
// "." or "..", no control bytes.
absl::Status ValidateRelative(const std::string& relative) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid relative cgroup path \"", absl::CEscape(relative), "\""));
  };
  if (HasControlBytes(relative)) return bad();
  if (relative.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part.empty() || part == "." || part == "..") return bad();
  }
  return absl::OkStatus();
}

bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && absl::StartsWith(path, dir) && path[dir.size()] == '/';
}

absl::Status RemoveOne(const std::string& dir) {
  for (int attempt = 1;; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || attempt == kRemoveAttempts) {
      return ErrnoStatus(errno, absl::StrCat("removing cgroup ", dir));
    }
    absl::SleepFor(kRemoveRetryDelay);
  }
}

}  // namespace

absl::StatusOr<std::string> CgroupRelativePath(const std::string& cgroup_parent) {
  if (HasControlBytes(cgroup_parent)) return BadParent(cgroup_parent, "control characters");
  if (!absl::StrContains(cgroup_parent, '/') && absl::EndsWith(cgroup_parent, kSliceSuffix)) {
    return ExpandSlice(cgroup_parent);
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(cgroup_parent, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") return BadParent(cgroup_parent, "'.' or '..' component");
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

std::vector<std::string> CgroupDirs(const CgroupOptions& options, const std::string& relative) {
  std::vector<std::string> dirs = Bases(options);
  if (relative.empty()) return dirs;
  for (std::string& dir : dirs) absl::StrAppend(&dir, "/", relative);
  return dirs;
}

absl::StatusOr<std::vector<std::string>> CreateCgroup(const CgroupOptions& options,
                                                      const std::string& relative) {
  RETURN_IF_ERROR(ValidateRelative(relative));
  std::vector<std::string> bases = Bases(options);
  if (bases.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no cgroup v1 hierarchies mounted under ", options.root));
  }
  std::vector<std::string> parts = absl::StrSplit(relative, '/', absl::SkipEmpty());
  CreatedDirs created;
  for (const std::string& base : bases) {
    RETURN_IF_ERROR(
        Annotate(CreateUnder(base, parts, options.version == CgroupVersion::kV2, created),
                 absl::StrCat("creating cgroup ", relative)));
  }
  return created.Release();
}

absl::Status RemoveCgroups(const std::vector<std::string>& created) {
  absl::Status first;
  std::vector<std::string> failed;
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    // A parent of a cgroup that is still there cannot go either.
    bool blocked = std::any_of(failed.begin(), failed.end(),
                               [&](const std::string& dir) { return IsUnder(dir, *it); });
    if (blocked) continue;
    // A parent this pod created may since hold another pod's cgroup: then it stays (busy or
    // not empty) and is not an error; only the pod's own cgroups must go.
    bool ancestor = std::any_of(created.begin(), created.end(), [&](const std::string& dir) {
      return IsUnder(dir, *it);
    });
    if (ancestor) {
      if (::rmdir(it->c_str()) != 0 && errno != ENOENT) failed.push_back(*it);
      continue;
    }
    if (absl::Status status = RemoveOne(*it); !status.ok()) {
      failed.push_back(*it);
      if (first.ok()) first = status;
    }
  }
  return first;
}

std::vector<std::string> CgroupsLeft(const std::vector<std::string>& created) {
  std::vector<std::string> left;
  for (const std::string& dir : created) {
    if (::access(dir.c_str(), F_OK) == 0) left.push_back(dir);
  }
  return left;
}

}  // namespace berth::sandbox
