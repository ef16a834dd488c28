#include "tests/bench/proc_memory.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace berth::bench {
namespace {

// The number of kB on a "Key:   1234 kB" line, or -1.
int64_t KibAfter(absl::string_view line, absl::string_view key) {
  if (!absl::StartsWith(line, key)) return -1;
  absl::string_view rest = absl::StripAsciiWhitespace(line.substr(key.size()));
  std::vector<absl::string_view> parts = absl::StrSplit(rest, ' ', absl::SkipEmpty());
  int64_t value = 0;
  if (parts.empty() || !absl::SimpleAtoi(parts[0], &value)) return -1;
  return value;
}

std::string ReadSmall(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string BaseName(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

bool ProcessIsNamed(pid_t pid, const std::string& name) {
  std::string proc = absl::StrCat("/proc/", pid);
  if (name.find('/') != std::string::npos) {  // a path: the executable itself
    char exe[PATH_MAX];
    ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof(exe) - 1);
    return n > 0 && absl::string_view(exe, static_cast<size_t>(n)) == name;
  }
  std::string cmdline = ReadSmall(proc + "/cmdline");
  if (!cmdline.empty() && BaseName(cmdline.c_str()) == name) return true;
  char exe[PATH_MAX];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof(exe) - 1);
  if (n > 0 && BaseName(absl::string_view(exe, static_cast<size_t>(n))) == name) return true;
  std::string comm(absl::StripTrailingAsciiWhitespace(ReadSmall(proc + "/comm")));
  return !comm.empty() && (comm == name || (comm.size() == 15 && absl::StartsWith(name, comm)));
}

}  // namespace

absl::StatusOr<Memory> ReadSmapsRollup(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/smaps_rollup");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  Memory memory{.processes = 1};
  bool found = false;
  for (std::string line; std::getline(in, line);) {
    if (int64_t rss = KibAfter(line, "Rss:"); rss >= 0) {
      memory.rss_kib = rss;
      found = true;
    } else if (int64_t pss = KibAfter(line, "Pss:"); pss >= 0) {
      memory.pss_kib = pss;
    } else if (int64_t clean = KibAfter(line, "Private_Clean:"); clean >= 0) {
      memory.private_kib += clean;
    } else if (int64_t dirty = KibAfter(line, "Private_Dirty:"); dirty >= 0) {
      memory.private_kib += dirty;
    }
  }
  if (!found) return absl::NotFoundError(absl::StrCat("no Rss in ", path));
  return memory;
}

absl::StatusOr<int64_t> ReadVmRssKib(pid_t pid) {
  std::string path = absl::StrCat("/proc/", pid, "/status");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  for (std::string line; std::getline(in, line);) {
    if (int64_t rss = KibAfter(line, "VmRSS:"); rss >= 0) return rss;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS in ", path));
}

std::vector<pid_t> FindProcesses(const std::string& name) {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (struct dirent* entry = ::readdir(dir)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid) || pid <= 0) continue;
    if (ProcessIsNamed(pid, name)) pids.push_back(pid);
  }
  ::closedir(dir);
  return pids;
}

bool ProcessUsesDir(pid_t pid, const std::string& dir) {
  std::string prefix = dir;
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  auto under = [&](const std::string& link) {
    char target[PATH_MAX];
    ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
    if (n <= 0) return false;
    absl::string_view path(target, static_cast<size_t>(n));
    return path == dir || absl::StartsWith(path, prefix);
  };
  std::string proc = absl::StrCat("/proc/", pid);
  if (under(proc + "/cwd")) return true;
  std::string fd_dir = proc + "/fd";
  DIR* fds = ::opendir(fd_dir.c_str());
  if (fds == nullptr) return false;
  bool found = false;
  while (struct dirent* entry = ::readdir(fds)) {
    if (entry->d_name[0] == '.') continue;
    if (under(absl::StrCat(fd_dir, "/", entry->d_name))) {
      found = true;
      break;
    }
  }
  ::closedir(fds);
  return found;
}

Memory SumByName(const std::string& name) { return SumOf(FindProcesses(name)); }

Memory SumOf(const std::vector<pid_t>& pids) {
  Memory sum;
  for (pid_t pid : pids) {
    absl::StatusOr<Memory> one = ReadSmapsRollup(pid);
    if (!one.ok()) continue;
    sum.rss_kib += one->rss_kib;
    sum.pss_kib += one->pss_kib;
    sum.private_kib += one->private_kib;
    ++sum.processes;
  }
  return sum;
}

void PeakRssSampler::Start() {
  Stop();
  absl::StatusOr<int64_t> rss = ReadVmRssKib(pid_);
  baseline_kib_ = rss.ok() ? *rss : 0;
  peak_kib_ = baseline_kib_;
  running_ = true;
  thread_ = std::thread([this] {
    while (running_.load()) {
      absl::StatusOr<int64_t> now = ReadVmRssKib(pid_);
      if (now.ok() && *now > peak_kib_.load()) peak_kib_ = *now;
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms_));
    }
  });
}

int64_t PeakRssSampler::Stop() {
  if (thread_.joinable()) {
    running_ = false;
    thread_.join();
    absl::StatusOr<int64_t> last = ReadVmRssKib(pid_);
    if (last.ok() && *last > peak_kib_.load()) peak_kib_ = *last;
  }
  return peak_kib_.load();
}

}  // namespace berth::bench
