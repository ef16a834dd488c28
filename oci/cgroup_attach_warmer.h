#ifndef BERTH_OCI_CGROUP_ATTACH_WARMER_H_
#define BERTH_OCI_CGROUP_ATTACH_WARMER_H_

#include <cstdint>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "oci/cgroup_mode.h"

namespace berth::oci {

// The cgroup.procs file of the cgroup this process is in, from the text of /proc/self/cgroup:
// the cgroup2 one on a unified or hybrid host ("0::/path", under `root` or `root`/unified),
// else a v1 hierarchy's (pids, then memory, then the first listed). InvalidArgument when no
// line fits or the path is not a clean absolute one.
absl::StatusOr<std::string> OwnCgroupProcsPath(absl::string_view proc_self_cgroup,
                                               CgroupMode mode, const std::string& root);

// Keeps the kernel's cgroup attach path warm while runc starts a process.
//
// Moving a process into a cgroup (runc create and runc exec write the new pid to
// cgroup.procs) takes the kernel's one global cgroup threadgroup rwsem for writing. When no
// attach happened within about one RCU grace period, taking it waits for a grace period first
// (~8 ms on an idle 2-core host: a quarter of `runc create`, a third of `runc exec`); an
// attach that follows another within that window does not wait. So while a create or an exec
// is under way, a thread of this class writes this process's own pid to the cgroup.procs of
// the cgroup it is already in (OwnCgroupProcsPath): a move to where it is, which changes no
// cgroup and no task, every `interval`. Its first write absorbs the grace period while runc
// is still starting, and runc's own attach then finds it passed.
//
// Thread-safe. A write the kernel refuses (a read-only cgroupfs in a container, a cgroup that
// is gone) turns the warmer off for good: it is only ever a speed-up.
class CgroupAttachWarmer {
 public:
  // `procs_path` is opened for writing here; when it cannot be, the warmer is off.
  explicit CgroupAttachWarmer(const std::string& procs_path,
                              absl::Duration interval = absl::Milliseconds(4));
  ~CgroupAttachWarmer();
  CgroupAttachWarmer(const CgroupAttachWarmer&) = delete;
  CgroupAttachWarmer& operator=(const CgroupAttachWarmer&) = delete;

  // While a Lease lives, and for at most `limit` after Hold, the path is kept warm.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept : warmer_(std::exchange(other.warmer_, nullptr)) {}
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { Release(); }

   private:
    friend class CgroupAttachWarmer;
    explicit Lease(CgroupAttachWarmer* warmer) : warmer_(warmer) {}
    void Release();
    CgroupAttachWarmer* warmer_ = nullptr;
  };
  // A no-op lease when `warmer` is null or off.
  static Lease Hold(CgroupAttachWarmer* warmer, absl::Duration limit);

  bool enabled() const;
  // Writes made so far (for tests).
  int64_t writes() const;

 private:
  void Run();
  bool Active() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const absl::Duration interval_;
  const std::string pid_;
  UniqueFd fd_;
  mutable absl::Mutex mu_;
  int holders_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool enabled_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int64_t writes_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace berth::oci

#endif  // BERTH_OCI_CGROUP_ATTACH_WARMER_H_
