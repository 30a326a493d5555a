#include "app/bench_command.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "benchsite/site.hpp"
#include "benchsite/site_server.hpp"
#include "common/log.hpp"
#include "crawl/crawl_output.hpp"
#include "crawl/crawler.hpp"

namespace trawler::app {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

// The site in a child process: its CPU and memory stay out of the crawler's figures, which
// are then getrusage(RUSAGE_SELF) of this process alone. The pipe carries the port (when
// listening) and, when the child stops, the server's counts as JSON.
struct child_site {
  pid_t pid = -1;
  int pipe_fd = -1;
  std::uint16_t port = 0;
};

[[noreturn]] void serve_in_child(const benchsite::site_options& site_opt,
                                 std::chrono::milliseconds delay, int out_fd) {
  // Ctrl-C reaches the whole process group: the parent stops the crawl, the site must keep
  // serving its last responses. The parent ends us with SIGTERM, or its death does.
  std::signal(SIGINT, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  int status = 0;
  try {
    asio::io_context io(1);
    benchsite::site_server server(io.get_executor(), benchsite::site_server::options{delay});
    benchsite::site_options opt = site_opt;
    opt.port = server.listen("127.0.0.1", 0);
    const benchsite::site pages(opt);
    server.serve(pages);
    asio::signal_set signals(io, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      server.stop();
      const std::string json = server.stats().to_json();
      std::size_t off = 0;
      while (off < json.size()) {
        const ssize_t n = write(out_fd, json.data() + off, json.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      io.stop();
    });
    const std::uint16_t port = opt.port;
    if (write(out_fd, &port, sizeof port) != static_cast<ssize_t>(sizeof port)) _exit(1);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trawler: bench: site: %s\n", e.what());
    status = 1;
  }
  close(out_fd);
  _exit(status);
}

std::optional<child_site> start_site(const benchsite::site_options& site_opt,
                                     std::chrono::milliseconds delay) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    close(fds[0]);
    serve_in_child(site_opt, delay, fds[1]);
  }
  close(fds[1]);
  child_site child{pid, fds[0], 0};
  ssize_t n = 0;
  do {
    n = read(fds[0], &child.port, sizeof child.port);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof child.port)) {
    close(fds[0]);
    waitpid(pid, nullptr, 0);
    return std::nullopt;
  }
  return child;
}

// Stops the child and returns its counts (null when it sent none).
nlohmann::json stop_site(child_site& child) {
  kill(child.pid, SIGTERM);
  std::string json;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(child.pipe_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    json.append(buf, static_cast<std::size_t>(n));
  }
  close(child.pipe_fd);
  waitpid(child.pid, nullptr, 0);
  return nlohmann::json::parse(json, nullptr, false);
}

// Samples the crawl's open requests every 10 ms: how much of the concurrency it uses.
class in_flight_sampler {
 public:
  in_flight_sampler(asio::io_context& io, const crawl::crawler& crawler)
      : timer_(io), crawler_(crawler) {}
  void start() { arm(); }
  void stop() {
    stopped_ = true;
    timer_.cancel();
  }
  double mean() const {
    return samples_ ? static_cast<double>(sum_) / static_cast<double>(samples_) : 0.0;
  }

 private:
  void arm() {
    timer_.expires_after(std::chrono::milliseconds(10));
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      sum_ += crawler_.stats().in_flight;
      ++samples_;
      arm();
    });
  }
  asio::steady_timer timer_;
  const crawl::crawler& crawler_;
  std::uint64_t sum_ = 0;
  std::uint64_t samples_ = 0;
  bool stopped_ = false;
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

}  // namespace

int run_bench(const config::cli_options& opts) {
  const config::bench_options& b = opts.bench;
  if (b.hosts > b.pages) {
    std::cerr << "trawler: --hosts: must not exceed --pages (" << b.pages << ")\n";
    return 2;
  }
  if (opts.verbosity < 0) {
    log::set_level(log::level::error);
  } else if (opts.verbosity == 0) {
    log::set_level(log::level::warn);
  } else {
    log::set_level(log::level::info);
  }

  benchsite::site_options site_opt;
  site_opt.pages = b.pages;
  site_opt.hosts = b.hosts;
  site_opt.page_bytes = static_cast<std::size_t>(b.page_bytes);
  site_opt.links = b.links;
  const auto delay = std::chrono::milliseconds(b.delay_ms);
  auto child = start_site(site_opt, delay);
  if (!child) {
    std::cerr << "trawler: bench: the benchmark site did not start\n";
    return 1;
  }
  const std::string port = std::to_string(child->port);

  config::crawl_config cfg;
  cfg.seeds.push_back("http://" + benchsite::site::host_name(0) + ":" + port + "/");
  cfg.limits.concurrency = b.concurrency;
  // Every host may use its share of the open requests, so the concurrency is reachable.
  cfg.limits.per_host = (b.concurrency + b.hosts - 1) / b.hosts;
  // The hostN.bench names are separate registrable domains; every link stays on the site.
  cfg.scope.mode = "any";
  // Every page is reachable, but not necessarily within the default depth of 10.
  cfg.scope.max_depth = 1000;
  cfg.network.allow_private = true;
  for (int h = 0; h < b.hosts; ++h) {
    cfg.network.resolve.emplace_back(benchsite::site::host_name(h) + ":" + port, "127.0.0.1");
  }

  if (auto l = opts.overrides.find("limits"); l != opts.overrides.end()) {
    const config::load_result loaded = config::from_json(nlohmann::json{{"limits", *l}});
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::cerr << "trawler: bench: " << e.text() << "\n";
      stop_site(*child);
      return 2;
    }
    cfg.limits.parse_priority = loaded.config.limits.parse_priority;
  }

  // Records (and an archive) written as a crawl writes them, when asked: what output costs.
  std::unique_ptr<crawl::crawl_output> output;
  if (auto o = opts.overrides.find("output"); o != opts.overrides.end()) {
    const config::load_result loaded = config::from_json(nlohmann::json{{"output", *o}});
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::cerr << "trawler: bench: " << e.text() << "\n";
      stop_site(*child);
      return 2;
    }
    cfg.output = loaded.config.output;
    // Only a WARC asked for: the records are still written, to nowhere, not into this report.
    if (cfg.output.dir.empty()) cfg.output.path = "/dev/null";
    crawl::crawl_output::open_error open_error;
    output = crawl::crawl_output::open(cfg, /*append=*/false, open_error);
    if (!output) {
      std::cerr << "trawler: bench: " << open_error.key << ": " << open_error.message << "\n";
      stop_site(*child);
      return 2;
    }
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "trawler bench: %d pages of ~%d bytes, %d links each, %d host%s; concurrency %d (%d per "
      "host); server delay %d ms; parse priority %s\n",
      b.pages, b.page_bytes, b.links, b.hosts, b.hosts == 1 ? "" : "s", b.concurrency,
      cfg.limits.per_host, b.delay_ms, cfg.limits.parse_priority.c_str());
  std::printf("  site: a child process on 127.0.0.1:%s, not counted below; records: %s\n",
              port.c_str(), output ? "written" : "made, then discarded");
  std::fflush(stdout);

  std::uint64_t record_lines = 0;
  asio::io_context io(1);
  crawl::crawler::line_writer count_only = [&record_lines](std::string&&) { ++record_lines; };
  crawl::crawler::line_writer write_too;
  if (output) {
    write_too = [&record_lines, to = output->writer()](std::string&& line) mutable {
      ++record_lines;
      to(std::move(line));
    };
  }
  crawl::crawler crawler(io.get_executor(), cfg, output ? write_too : count_only);
  if (output) output->attach(crawler);
  crawler.admit_seeds(cfg.seeds);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  int signals_seen = 0;
  std::function<void()> arm_signals = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (++signals_seen == 1) {
        crawler.stop();
      } else {
        crawler.stop_now();
      }
      arm_signals();
    });
  };
  arm_signals();

  in_flight_sampler in_flight(io, crawler);
  in_flight.start();
  bool failed = false;
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto started = steady::now();
  asio::co_spawn(io, crawler.run(), [&](std::exception_ptr e) {
    if (e) failed = true;
    in_flight.stop();
    signals.cancel();
  });
  io.run();
  if (output && !output->finish(true)) failed = true;
  const double wall = std::chrono::duration<double>(steady::now() - started).count();
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  const nlohmann::json served = stop_site(*child);
  rusage server{};
  getrusage(RUSAGE_CHILDREN, &server);

  const crawl::crawl_stats s = crawler.stats();
  const double pages = static_cast<double>(std::max<std::uint64_t>(s.pages, 1));
  const double user = seconds(after.ru_utime) - seconds(before.ru_utime);
  const double sys = seconds(after.ru_stime) - seconds(before.ru_stime);

  std::printf(
      "pages      %llu with a response (%llu 2xx), %llu errors, %.1f MB, %llu records, "
      "in %.2f s\n",
      static_cast<unsigned long long>(s.pages),
      static_cast<unsigned long long>(s.status_classes[0]),
      static_cast<unsigned long long>(s.error_total()), static_cast<double>(s.bytes) / 1e6,
      static_cast<unsigned long long>(record_lines), wall);
  std::printf("pages/s    %.1f\n", static_cast<double>(s.pages) / wall);
  std::printf("CPU/page   %.3f ms (user %.3f + sys %.3f); %.2f of %u cores busy\n",
              (user + sys) / pages * 1e3, user / pages * 1e3, sys / pages * 1e3,
              (user + sys) / wall, cores);
  std::printf("peak RSS   %.1f MB\n", static_cast<double>(after.ru_maxrss) / 1024.0);
  std::printf("loop lag   p50 %.1f ms, p99 %.1f ms, max %.3f ms (%llu samples of a 10 ms timer)\n",
              s.lag.quantile_ms(0.50), s.lag.quantile_ms(0.99), s.lag.max_ms(),
              static_cast<unsigned long long>(s.lag.samples()));
  std::printf("in flight  %.1f open requests on average (concurrency %d)\n", in_flight.mean(),
              b.concurrency);
  if (served.is_object()) {
    const auto distinct = served.value("distinct_pages", 0ull);
    std::printf(
        "site       %llu of %d pages served, %llu duplicate fetches, %llu not found; its CPU "
        "%.3f ms/page\n",
        distinct, b.pages, served.value("duplicate_fetches", 0ull), served.value("not_found", 0ull),
        (seconds(server.ru_utime) + seconds(server.ru_stime)) / pages * 1e3);
  }
  if (output) {
    std::uint64_t records_bytes = 0;
    std::uint64_t warc_bytes = 0;
    std::error_code ec;
    const auto sum = [&ec](const std::string& dir) {
      std::uint64_t n = 0;
      for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) n += it->file_size(ec);
      return n;
    };
    if (!cfg.output.dir.empty()) records_bytes = sum(cfg.output.dir);
    if (!cfg.output.warc.empty()) warc_bytes = sum(cfg.output.warc);
    std::printf("written    %.0f bytes/page of records (compress %s), %.0f bytes/page of WARC\n",
                static_cast<double>(records_bytes) / pages, cfg.output.compress.c_str(),
                static_cast<double>(warc_bytes) / pages);
  }
  if (failed) {
    std::cerr << "trawler: bench: the crawl failed\n";
    return 1;
  }
  return 0;
}

}  // namespace trawler::app
