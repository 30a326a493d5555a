#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>

extern char** environ;

namespace trawler::testing {
namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::pair<unique_fd, unique_fd> make_pipe() {
  int fds[2];
  // O_CLOEXEC: children spawned concurrently by other tests must not inherit our ends.
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

struct spawn_actions {
  posix_spawn_file_actions_t a;
  spawn_actions() { posix_spawn_file_actions_init(&a); }
  ~spawn_actions() { posix_spawn_file_actions_destroy(&a); }
  spawn_actions(const spawn_actions&) = delete;
  spawn_actions& operator=(const spawn_actions&) = delete;
};

struct spawn_attr {
  posix_spawnattr_t a;
  spawn_attr() { posix_spawnattr_init(&a); }
  ~spawn_attr() { posix_spawnattr_destroy(&a); }
  spawn_attr(const spawn_attr&) = delete;
  spawn_attr& operator=(const spawn_attr&) = delete;
};

std::vector<std::string> merged_environment(const environment& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [key, value] : extra) overridden = overridden || key == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Returns a pollable descriptor that becomes readable when the child exits, or -1 on
// kernels without pidfd_open.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  return -1;
#endif
}

}  // namespace

struct running_process::state {
  pid_t pid = -1;
  std::optional<process_result> result;
  unique_fd out_fd;
  unique_fd err_fd;
  std::thread reader;
  std::atomic<bool> stop_reading{false};
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string out;
  std::string err;
  bool pipes_closed = false;

  void read_pipes() {
    std::array<char, 65536> buf;
    while (!stop_reading.load()) {
      std::array<pollfd, 2> fds{pollfd{out_fd.get(), POLLIN, 0}, pollfd{err_fd.get(), POLLIN, 0}};
      if (fds[0].fd < 0 && fds[1].fd < 0) break;
      // A timeout so stop_reading is seen when a grandchild keeps a pipe open.
      const int n = ::poll(fds.data(), fds.size(), 50);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t got = ::read(fds[i].fd, buf.data(), buf.size());
        if (got < 0 && errno == EINTR) continue;
        const std::lock_guard lock(mutex);
        if (got <= 0) {
          (i == 0 ? out_fd : err_fd).reset();
        } else {
          (i == 0 ? out : err).append(buf.data(), static_cast<std::size_t>(got));
        }
        changed.notify_all();
      }
    }
    const std::lock_guard lock(mutex);
    pipes_closed = true;
    changed.notify_all();
  }

  void finish_reader(std::chrono::milliseconds grace) {
    if (!reader.joinable()) return;
    {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, grace, [this] { return pipes_closed; });
    }
    stop_reading = true;
    reader.join();
  }

  void kill_group() {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
  }
};

running_process::running_process(const std::vector<std::string>& argv, const environment& extra_env)
    : state_(std::make_unique<state>()) {
  if (argv.empty()) throw std::invalid_argument("start_process: empty argv");
  auto [out_r, out_w] = make_pipe();
  auto [err_r, err_w] = make_pipe();

  spawn_actions actions;
  posix_spawn_file_actions_addopen(&actions.a, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.a, out_w.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions.a, err_w.get(), STDERR_FILENO);

  // Its own process group (so a timeout can kill what it started), no blocked signals,
  // default dispositions for the signals tests send even if this process changed them.
  spawn_attr attr;
  posix_spawnattr_setflags(&attr.a,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr.a, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr.a, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr.a, &defaults);

  std::vector<std::string> args(argv);
  std::vector<char*> c_args = c_strings(args);
  std::vector<std::string> env = merged_environment(extra_env);
  std::vector<char*> c_env = c_strings(env);

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, c_args[0], &actions.a, &attr.a, c_args.data(), c_env.data());
  if (rc != 0) throw_errno(rc, ("posix_spawnp " + argv[0]).c_str());
  state_->pid = pid;
  state_->out_fd = std::move(out_r);
  state_->err_fd = std::move(err_r);
  // out_w and err_w close here, so the reader sees EOF once the child is gone.
  state_->reader = std::thread([s = state_.get()] { s->read_pipes(); });
}

running_process::~running_process() {
  if (!state_) return;
  if (!state_->result) {
    state_->kill_group();
    int status = 0;
    while (::waitpid(state_->pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  state_->finish_reader(std::chrono::milliseconds(0));
}

running_process::running_process(running_process&&) noexcept = default;

running_process& running_process::operator=(running_process&& o) noexcept {
  if (this != &o) {
    running_process old(std::move(*this));
    state_ = std::move(o.state_);
  }
  return *this;
}

pid_t running_process::pid() const {
  return state_->pid;
}

void running_process::signal(int sig) {
  if (!state_->result) ::kill(state_->pid, sig);
}

process_result running_process::wait(std::chrono::milliseconds timeout) {
  if (state_->result) return *state_->result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const unique_fd pidfd(open_pidfd(state_->pid));
  process_result r;
  int status = 0;
  for (;;) {
    const pid_t got = ::waitpid(state_->pid, &status, WNOHANG);
    if (got == state_->pid) break;
    if (got < 0 && errno != EINTR) throw_errno(errno, "waitpid");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      state_->kill_group();
      while (::waitpid(state_->pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (pidfd.get() >= 0) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<long long>(left.count(), 5)));
    }
  }
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.term_signal = WTERMSIG(status);
    r.exit_code = 128 + r.term_signal;
  }
  // Grandchildren may hold the pipes open; do not wait on them for long.
  state_->finish_reader(std::chrono::seconds(2));
  {
    const std::lock_guard lock(state_->mutex);
    r.out = std::move(state_->out);
    r.err = std::move(state_->err);
  }
  state_->result = r;
  return r;
}

std::string running_process::out_so_far() const {
  const std::lock_guard lock(state_->mutex);
  return state_->result ? state_->result->out : state_->out;
}

std::string running_process::err_so_far() const {
  const std::lock_guard lock(state_->mutex);
  return state_->result ? state_->result->err : state_->err;
}

bool running_process::wait_for_output(
    const std::function<bool(const std::string& out, const std::string& err)>& pred,
    std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  if (state_->result) return pred(state_->result->out, state_->result->err);
  state_->changed.wait_for(lock, timeout,
                           [&] { return pred(state_->out, state_->err) || state_->pipes_closed; });
  return pred(state_->out, state_->err);
}

running_process start_process(const std::vector<std::string>& argv, const environment& extra_env) {
  return running_process(argv, extra_env);
}

process_result run_process(const std::vector<std::string>& argv, const environment& extra_env,
                           std::chrono::seconds timeout) {
  running_process p(argv, extra_env);
  return p.wait(timeout);
}

}  // namespace trawler::testing
