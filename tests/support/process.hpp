#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace trawler::testing {

struct process_result {
  int exit_code = -1;      // exit status, or 128 + signal when killed by a signal
  int term_signal = 0;     // the signal that ended the process, 0 if it exited
  bool timed_out = false;  // killed (SIGKILL) because the timeout passed
  std::string out;
  std::string err;
};

using environment = std::vector<std::pair<std::string, std::string>>;

// A child process started with posix_spawnp (PATH is searched for argv[0]) in its own
// process group, stdin from /dev/null, stdout and stderr captured by a reader thread so
// the child never blocks on a full pipe. The destructor kills (SIGKILL) and reaps a
// child that was not waited for.
class running_process {
 public:
  running_process(const std::vector<std::string>& argv, const environment& extra_env);
  ~running_process();
  running_process(running_process&&) noexcept;
  running_process& operator=(running_process&&) noexcept;

  pid_t pid() const;
  // Sends sig to the child (not its group).
  void signal(int sig);
  // Waits for the child to exit; after `timeout` kills its whole group with SIGKILL and
  // reports timed_out. Later calls return the same result.
  process_result wait(std::chrono::milliseconds timeout = std::chrono::seconds(120));

  // Output captured so far (the child may still be running).
  std::string out_so_far() const;
  std::string err_so_far() const;
  // Waits until pred(out, err) holds on the output so far, or the timeout passes, or
  // both pipes are closed. Returns pred's last value.
  bool wait_for_output(
      const std::function<bool(const std::string& out, const std::string& err)>& pred,
      std::chrono::milliseconds timeout);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

running_process start_process(const std::vector<std::string>& argv,
                              const environment& extra_env = {});

// Runs argv to the end (or the timeout) and returns its exit status and output.
process_result run_process(const std::vector<std::string>& argv, const environment& extra_env = {},
                           std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace trawler::testing
