#ifndef BERTH_COMMON_CLONE_CHILD_H_
#define BERTH_COMMON_CLONE_CHILD_H_

// Marks a function that runs in a clone(CLONE_VM) child, on a stack of its own, until it execs.
// AddressSanitizer knows nothing of that stack: the no-return handling it adds before _exit and
// execve (__asan_handle_no_return) takes it for a wild range and reports a stack overflow
// (google/sanitizers#189). Such a function is left uninstrumented; it only makes system calls.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BERTH_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define BERTH_ASAN 1
#endif

#ifdef BERTH_ASAN
#define BERTH_CLONE_CHILD __attribute__((no_sanitize("address")))
#else
#define BERTH_CLONE_CHILD
#endif

#endif  // BERTH_COMMON_CLONE_CHILD_H_
