#include "crawl/thread_priority.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace trawler::crawl {

// "idle" and "low" let the I/O thread preempt the parse threads: when every core parses, a
// response that arrives otherwise waits up to a scheduler slice (trawler bench on 2 cores: p99
// event-loop lag 3.9 ms at equal priority, 3.5 ms at nice +5, 0.3-0.7 ms with SCHED_IDLE). They
// also yield to every other task of the cgroup, which starves parsing on a shared machine (one
// CPU hog thread on 2 cores: -47% pages/s, -13% at "normal"), so "normal", which changes
// nothing, is the default; the I/O thread's short slice (below) gets it most of idle's
// promptness. "batch" (SCHED_BATCH at the
// same nice) keeps the share but never preempts on wake-up. Set once per pool thread.
void set_parse_thread_priority(const std::string& mode) {
  static thread_local const bool done = [&mode] {
    if (mode == "idle") {
      sched_param sp{};
      pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    } else if (mode == "batch") {
      sched_param sp{};
      pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    } else if (mode == "low") {
      // The nice value is per thread on Linux.
      errno = 0;
      const int now = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
      if (errno == 0) setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), std::min(19, now + 5));
    }
    return true;
  }();
  (void)done;
}

namespace {

// struct sched_attr of sched_setattr(2), its first version (glibc 2.36 has no wrapper).
struct linux_sched_attr {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime;  // for SCHED_OTHER and SCHED_BATCH: the slice (Linux 6.12+)
  std::uint64_t sched_deadline;
  std::uint64_t sched_period;
};
static_assert(sizeof(linux_sched_attr) == 48);

bool read_attr(linux_sched_attr& a) {
  a = {};
  return syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) == 0;
}

constexpr std::uint64_t reset_on_fork = 0x01;  // SCHED_FLAG_RESET_ON_FORK: kept as it was

}  // namespace

// EEVDF gives a thread with a shorter slice an earlier virtual deadline, so when it wakes it
// runs before a thread in the middle of a long slice, yet its weight (nice) and so its share of
// the CPU stay as they were. The I/O thread runs for tens of microseconds per wake-up: with a
// 0.1 ms slice a response no longer waits for a parse thread's slice to end (latency run on 2
// cores: +4% pages/s, event-loop lag p99 4.1 -> 2.0 ms; bench/RESULTS.md).
bool request_scheduler_slice(std::chrono::microseconds slice) {
  linux_sched_attr a{};
  if (!read_attr(a)) return false;
  // Real-time, deadline and idle threads have no fair slice to shorten: leave them.
  if (a.sched_policy != SCHED_OTHER && a.sched_policy != SCHED_BATCH) return false;
  a.size = sizeof a;
  a.sched_flags &= reset_on_fork;
  a.sched_runtime = static_cast<std::uint64_t>(slice.count()) * 1000;
  if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) return false;
  return scheduler_slice() == slice;
}

std::chrono::microseconds scheduler_slice() {
  linux_sched_attr a{};
  if (!read_attr(a)) return std::chrono::microseconds{0};
  return std::chrono::microseconds{static_cast<std::int64_t>(a.sched_runtime / 1000)};
}

}  // namespace trawler::crawl
