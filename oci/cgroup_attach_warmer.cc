#include "oci/cgroup_attach_warmer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace berth::oci {
namespace {

// A cgroup path as /proc/self/cgroup gives it: absolute, no "." or ".." component.
bool CleanCgroupPath(absl::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part == "." || part == "..") return false;
  }
  return true;
}

std::string ProcsFile(const std::string& dir, absl::string_view path) {
  return absl::StrCat(dir, path == "/" ? "" : path, "/cgroup.procs");
}

}  // namespace

absl::StatusOr<std::string> OwnCgroupProcsPath(absl::string_view proc_self_cgroup,
                                               CgroupMode mode, const std::string& root) {
  // Lines are "<id>:<controllers>:<path>"; the path may itself hold ':'.
  struct Line {
    absl::string_view controllers;
    absl::string_view path;
  };
  std::vector<Line> v1;
  absl::string_view v2_path;
  bool has_v2 = false;
  for (absl::string_view line : absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3 || !CleanCgroupPath(fields[2])) continue;
    if (fields[0] == "0" && fields[1].empty()) {
      has_v2 = true;
      v2_path = fields[2];
    } else if (!fields[1].empty()) {
      v1.push_back({fields[1], fields[2]});
    }
  }
  if (mode != CgroupMode::kLegacy && has_v2) {
    return ProcsFile(mode == CgroupMode::kHybrid ? root + "/unified" : root, v2_path);
  }
  if (mode != CgroupMode::kUnified && !v1.empty()) {
    const Line* chosen = &v1.front();
    for (absl::string_view wanted : {"memory", "pids"}) {
      for (const Line& line : v1) {
        for (absl::string_view controller : absl::StrSplit(line.controllers, ',')) {
          if (controller == wanted) chosen = &line;
        }
      }
    }
    absl::string_view dir = chosen->controllers;
    absl::ConsumePrefix(&dir, "name=");  // "name=systemd" is mounted as "systemd"
    return ProcsFile(absl::StrCat(root, "/", dir), chosen->path);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("no ", CgroupModeName(mode), " cgroup of this process in /proc/self/cgroup"));
}

CgroupAttachWarmer::Lease& CgroupAttachWarmer::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    warmer_ = std::exchange(other.warmer_, nullptr);
  }
  return *this;
}

void CgroupAttachWarmer::Lease::Release() {
  if (warmer_ == nullptr) return;
  absl::MutexLock lock(&warmer_->mu_);
  --warmer_->holders_;
  warmer_ = nullptr;
}

CgroupAttachWarmer::CgroupAttachWarmer(const std::string& procs_path, absl::Duration interval)
    : interval_(interval), pid_(absl::StrCat(::getpid())) {
  fd_.Reset(::open(procs_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd_.valid()) {
    LOG_INFO("cgroup attach warmer off: cannot open {}: {}", procs_path, std::strerror(errno));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    enabled_ = true;
  }
  thread_ = std::thread([this] { Run(); });
}

CgroupAttachWarmer::~CgroupAttachWarmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

CgroupAttachWarmer::Lease CgroupAttachWarmer::Hold(CgroupAttachWarmer* warmer,
                                                   absl::Duration limit) {
  if (warmer == nullptr) return Lease();
  absl::MutexLock lock(&warmer->mu_);
  if (!warmer->enabled_) return Lease();
  ++warmer->holders_;
  warmer->until_ = std::max(warmer->until_, absl::Now() + limit);
  return Lease(warmer);
}

bool CgroupAttachWarmer::enabled() const {
  absl::MutexLock lock(&mu_);
  return enabled_;
}

int64_t CgroupAttachWarmer::writes() const {
  absl::MutexLock lock(&mu_);
  return writes_;
}

bool CgroupAttachWarmer::Active() const {
  return holders_ > 0 && absl::Now() < until_;
}

void CgroupAttachWarmer::Run() {
  absl::MutexLock lock(&mu_);
  while (true) {
    // Sleeps until a holder comes (the deadline of one that is already here wakes it too).
    // A holder past its limit does not wake it: the next Hold or Release re-checks.
    auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || Active(); };
    mu_.Await(absl::Condition(&wake));
    if (stopping_) return;
    mu_.Unlock();
    // The first write after a quiet spell blocks here for a grace period; nobody waits on it.
    ssize_t written = ::pwrite(fd_.get(), pid_.data(), pid_.size(), 0);
    int error = errno;
    mu_.Lock();
    if (written < 0) {
      LOG_INFO("cgroup attach warmer off: writing its own pid to its cgroup: {}",
               std::strerror(error));
      enabled_ = false;  // leases still out release normally
      return;
    }
    ++writes_;
    // Until the next write: woken early only to stop.
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stop), interval_);
  }
}

}  // namespace berth::oci
