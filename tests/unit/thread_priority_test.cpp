#include "crawl/thread_priority.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using trawler::crawl::request_scheduler_slice;
using trawler::crawl::scheduler_slice;
using trawler::crawl::set_parse_thread_priority;

struct thread_sched {
  int policy = -1;
  int nice = 0;
  int nice_before = 0;
};

thread_sched sched_of_this_thread() {
  thread_sched s;
  s.policy = sched_getscheduler(0);  // 0: the calling thread on Linux
  errno = 0;
  s.nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  return s;
}

// limits.parse_priority as a pool thread applies it: on a thread of its own, so that the test
// process keeps its priority and each mode starts from the process's.
thread_sched after(const std::string& first, const std::string& second = "") {
  thread_sched before;
  thread_sched out;
  std::thread t([&] {
    before = sched_of_this_thread();
    set_parse_thread_priority(first);
    if (!second.empty()) set_parse_thread_priority(second);
    out = sched_of_this_thread();
  });
  t.join();
  EXPECT_EQ(before.policy, SCHED_OTHER);
  out.nice_before = before.nice;
  return out;
}

TEST(ParsePriority, NormalLeavesTheThreadAsTheProcessMadeIt) {
  const thread_sched s = after("normal");
  EXPECT_EQ(s.policy, SCHED_OTHER);
  EXPECT_EQ(s.nice, s.nice_before);
}

TEST(ParsePriority, IdleIsSchedIdle) {
  EXPECT_EQ(after("idle").policy, SCHED_IDLE);
}

TEST(ParsePriority, BatchIsSchedBatchAtTheSameNice) {
  const thread_sched s = after("batch");
  EXPECT_EQ(s.policy, SCHED_BATCH);
  EXPECT_EQ(s.nice, s.nice_before);
}

TEST(ParsePriority, LowIsFiveNiceLevelsDown) {
  const thread_sched s = after("low");
  EXPECT_EQ(s.policy, SCHED_OTHER);
  EXPECT_EQ(s.nice, std::min(19, s.nice_before + 5));  // 19 is the floor
}

TEST(ParsePriority, AppliedOncePerThread) {
  // A pool thread calls it before every page: the second call must not lower it again.
  const thread_sched s = after("low", "low");
  EXPECT_EQ(s.nice, std::min(19, s.nice_before + 5));
}

// On a thread of its own: the slice, the policy and the nice value after asking for 0.1 ms.
struct slice_outcome {
  bool reported = false;
  std::chrono::microseconds slice{0};
  thread_sched sched;
  thread_sched before;
};

slice_outcome ask_for_slice(const std::string& parse_mode) {
  slice_outcome o;
  std::thread t([&] {
    set_parse_thread_priority(parse_mode);
    o.before = sched_of_this_thread();
    o.reported = request_scheduler_slice(100us);
    o.slice = scheduler_slice();
    o.sched = sched_of_this_thread();
  });
  t.join();
  return o;
}

// Linux 6.12 and later report a fair thread's custom slice back; older kernels keep none.
bool kernel_has_custom_slices() {
  const slice_outcome o = ask_for_slice("normal");
  return o.reported;
}

TEST(SchedulerSlice, TheIoThreadsSliceIsTheOneRequestedAndItsShareIsUnchanged) {
  if (!kernel_has_custom_slices()) GTEST_SKIP() << "this kernel has no custom fair slices (6.12+)";
  const slice_outcome o = ask_for_slice("normal");
  EXPECT_TRUE(o.reported);
  EXPECT_EQ(o.slice, 100us);
  EXPECT_EQ(o.sched.policy, SCHED_OTHER);
  EXPECT_EQ(o.sched.nice, o.before.nice);
}

TEST(SchedulerSlice, KeepsANiceValueAndSchedBatch) {
  if (!kernel_has_custom_slices()) GTEST_SKIP() << "this kernel has no custom fair slices (6.12+)";
  // A user's `nice -n N trawler` or a batch policy must survive the request.
  const slice_outcome low = ask_for_slice("low");
  EXPECT_EQ(low.slice, 100us);
  EXPECT_EQ(low.sched.nice, low.before.nice);
  EXPECT_EQ(low.sched.policy, SCHED_OTHER);
  const slice_outcome batch = ask_for_slice("batch");
  EXPECT_EQ(batch.slice, 100us);
  EXPECT_EQ(batch.sched.policy, SCHED_BATCH);
  EXPECT_EQ(batch.sched.nice, batch.before.nice);
}

TEST(SchedulerSlice, LeavesAnIdleThreadAlone) {
  // SCHED_IDLE has no slice to shorten; asking must not move it back to SCHED_OTHER.
  const slice_outcome o = ask_for_slice("idle");
  EXPECT_FALSE(o.reported);
  EXPECT_EQ(o.sched.policy, SCHED_IDLE);
}

}  // namespace
