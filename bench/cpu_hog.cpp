// trawler-bench-hog: N busy threads at nice 0, the "other work" of a shared machine for
// bench/run.sh --hog N. Runs until SIGINT or SIGTERM, then writes what it got (--stats FILE,
// JSON): CPU seconds (getrusage), wall seconds, cores used on average, and the spin count, a
// measure of the work done that no accounting can blur.
//
//   trawler-bench-hog --threads 1 --stats hog.json &  ...  kill -TERM $!
#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> stop{false};

void spin(std::uint64_t& count) {
  // A dependent chain the compiler cannot remove; the flag is read every 4096 rounds.
  std::uint64_t x = 0x9e3779b97f4a7c15ull;
  std::uint64_t n = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 4096; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
    n += 4096;
  }
  count = n + (x == 42 ? 1 : 0);
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = 1;
  int nice_value = 0;
  std::string stats_path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: trawler-bench-hog [--threads N] [--nice N] [--stats FILE]\n"
                   "N busy threads (default 1) at nice N (default 0) until SIGINT/SIGTERM;\n"
                   "then writes the CPU they got to FILE (JSON).\n";
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << "trawler-bench-hog: " << flag << " needs a value\n";
      return 2;
    }
    const std::string_view value = argv[++i];
    bool ok = true;
    if (flag == "--threads") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), threads);
      ok = ec == std::errc() && end == value.data() + value.size() && threads >= 1 &&
           threads <= 1024;
    } else if (flag == "--nice") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), nice_value);
      ok = ec == std::errc() && end == value.data() + value.size() && nice_value >= -20 &&
           nice_value <= 19;
    } else if (flag == "--stats") {
      stats_path = value;
    } else {
      std::cerr << "trawler-bench-hog: unknown option " << flag << "\n";
      return 2;
    }
    if (!ok) {
      std::cerr << "trawler-bench-hog: bad value for " << flag << ": " << value << "\n";
      return 2;
    }
  }
  // An absolute nice, whatever the parent's (bench/run.sh --nice runs the measured tools
  // under another one); lowering it below the parent's needs root.
  if (setpriority(PRIO_PROCESS, 0, nice_value) != 0) {
    std::cerr << "trawler-bench-hog: setpriority(" << nice_value << "): " << std::strerror(errno)
              << "\n";
  }
  const int actual_nice = getpriority(PRIO_PROCESS, 0);

  // The signals are taken by sigwait here, never delivered to a spinning thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  const auto started = std::chrono::steady_clock::now();
  std::vector<std::uint64_t> counts(threads, 0);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(spin, std::ref(counts[t]));
  int sig = 0;
  sigwait(&set, &sig);
  stop = true;
  for (std::thread& t : pool) t.join();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  const double user = seconds(self.ru_utime);
  const double sys = seconds(self.ru_stime);
  std::uint64_t spins = 0;
  for (const std::uint64_t n : counts) spins += n;
  if (!stats_path.empty()) {
    std::ofstream out(stats_path, std::ios::trunc);
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "{\"threads\": %u, \"nice\": %d, \"wall_s\": %.3f, \"cpu_user_s\": %.3f, "
                  "\"cpu_sys_s\": %.3f, \"cores\": %.3f, \"spins\": %llu}\n",
                  threads, actual_nice, wall, user, sys, wall > 0 ? (user + sys) / wall : 0.0,
                  static_cast<unsigned long long>(spins));
    out << buf;
  }
  return 0;
}
