#pragma once

#include <chrono>
#include <string>

// How the crawl's threads ask the scheduler for CPU: the parse threads for throughput, the I/O
// thread for a prompt wake-up.
namespace trawler::crawl {

// limits.parse_priority for the calling pool thread ("idle", "batch", "low", else unchanged);
// once per thread.
void set_parse_thread_priority(const std::string& mode);

// Asks for a scheduler slice of `slice` for the calling thread, keeping its policy and nice
// value (so its share of the CPU). True when the kernel reports the slice back: Linux 6.12 and
// later (EEVDF custom slices); older kernels accept and ignore it.
bool request_scheduler_slice(std::chrono::microseconds slice);

// The slice the kernel reports for the calling thread (0 where it has none to report).
std::chrono::microseconds scheduler_slice();

// The I/O thread's slice: see request_scheduler_slice and SPEC "Parse priority".
inline constexpr std::chrono::microseconds io_thread_slice{100};

}  // namespace trawler::crawl
