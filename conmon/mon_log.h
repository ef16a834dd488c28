#ifndef BERTH_CONMON_MON_LOG_H_
#define BERTH_CONMON_MON_LOG_H_

namespace berth::mon {

// berth-mon's log: plain timestamped lines appended to <pod_dir>/mon.log (stderr until
// OpenMonLog). Kept apart from spdlog so the per-pod process stays small.
void OpenMonLog(const char* path, bool debug);
bool MonDebugEnabled();

void MonLog(const char* level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace berth::mon

#define MON_DEBUG(...)                                                   \
  do {                                                                   \
    if (::berth::mon::MonDebugEnabled()) ::berth::mon::MonLog("D", __VA_ARGS__); \
  } while (0)
#define MON_INFO(...) ::berth::mon::MonLog("I", __VA_ARGS__)
#define MON_WARN(...) ::berth::mon::MonLog("W", __VA_ARGS__)
#define MON_ERROR(...) ::berth::mon::MonLog("E", __VA_ARGS__)

#endif  // BERTH_CONMON_MON_LOG_H_
