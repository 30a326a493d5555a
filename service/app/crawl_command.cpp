#include "app/crawl_command.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iostream>

#include "common/log.hpp"
#include "crawl/crawl_output.hpp"
#include "crawl/crawler.hpp"

namespace trawler::app {

namespace asio = boost::asio;

namespace {

int config_errors(const std::vector<config::config_error>& errors) {
  for (const auto& e : errors) std::cerr << "trawler: " << e.text() << "\n";
  return 2;
}

}  // namespace

int run_crawl(const config::cli_options& opts) {
  log::set_verbosity(opts.verbosity);
  auto loaded = config::build_crawl_config(opts);
  if (!loaded.ok()) return config_errors(loaded.errors);
  if (auto problems = config::crawl_command_problems(loaded.config); !problems.empty())
    return config_errors(problems);
  config::crawl_config cfg = std::move(loaded.config);
  const bool clustered = !cfg.cluster.redis.empty();
  // A worker started without seeds joins a crawl that another worker seeded.
  if (cfg.seeds.empty() && !clustered) {
    std::cerr << "trawler: seeds: no seed URL given (pass SEED_URL arguments or set seeds in "
                 "the config)\n";
    return 2;
  }
  crawl::crawl_output::open_error open_error;
  auto output = crawl::crawl_output::open(cfg, /*append=*/false, open_error);
  if (!output) {
    std::cerr << "trawler: " << open_error.key << ": " << open_error.message << "\n";
    return 2;
  }

  asio::io_context io(1);
  crawl::crawler crawler(io.get_executor(), cfg, output->writer());
  output->attach(crawler);
  if (clustered) log::info("joining " + crawler.sharing());
  auto problems = crawler.admit_seeds(cfg.seeds);
  for (const auto& p : problems) std::cerr << "trawler: " << p << "\n";
  if (crawler.admitted_seeds() == 0 && !(clustered && cfg.seeds.empty())) {
    std::cerr << "trawler: seeds: no usable seed\n";
    return 2;
  }
  bool unparsable = false;
  for (const auto& p : problems) {
    if (p.find("not an http(s) URL") != std::string::npos) unparsable = true;
  }
  if (unparsable) return 2;

  bool progress = opts.progress.value_or(isatty(STDERR_FILENO) == 1) && opts.verbosity >= 0;
  int exit_status = 0;
  int signals_seen = 0;
  // Set when the crawl ends: a timer or signal handler already queued then must not re-arm.
  bool finished = false;
  bool output_failed = false;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> arm_signals = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec || finished) return;
      ++signals_seen;
      if (signals_seen == 1) {
        log::warn(std::string("caught ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                  ": stopping (send it again to stop at once)");
        crawler.stop();
      } else {
        crawler.stop_now();
        exit_status = 1;
      }
      arm_signals();
    });
  };
  arm_signals();

  // Checkpoints and flushes whole lines four times a second, and redraws the progress line.
  asio::steady_timer ticker(io);
  bool progress_drawn = false;
  std::function<void()> tick = [&] {
    ticker.expires_after(std::chrono::milliseconds(250));
    ticker.async_wait([&](const boost::system::error_code& ec) {
      if (ec || finished) return;
      if (!output->checkpoint() && !crawler.stopping()) {
        log::error("cannot write records: " + output->sink_error());
        output_failed = true;
        crawler.stop_now(crawl::end_reason::output_failed);
      }
      if (progress) {
        std::cerr << "\r\033[K" << crawler.stats().progress_line() << std::flush;
        progress_drawn = true;
      }
      tick();
    });
  };
  tick();

  bool failed = false;
  std::string failure;  // what the end sentence names
  asio::co_spawn(io, crawler.run(), [&](std::exception_ptr e) {
    if (e) {
      failed = true;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        failure = ex.what();
      } catch (...) {
        failure = "an unknown exception";
      }
      log::error("crawl failed: " + failure);
    }
    finished = true;
    signals.cancel();
    ticker.cancel();
  });
  io.run();

  // Why it ended, for the summary and --stats: the crawler's own reason (the frontier, a
  // budget, a signal, Redis), unless this process failed under it.
  crawl::end_reason why = crawler.ended_because().value_or(crawl::end_reason::stopped);
  if (clustered && !crawler.fleet_failure().empty()) {
    std::cerr << "trawler: cluster: " << crawler.fleet_failure() << "\n";
    failed = true;
    why = crawl::end_reason::redis_unreachable;
    failure = crawler.fleet_failure();
  }
  if (output_failed) why = crawl::end_reason::output_failed;
  if (!output->finish(crawler.completed())) {
    log::error("cannot write records: " + output->sink_error());
    output_failed = true;
    why = crawl::end_reason::output_failed;
  }
  if (output_failed) failure = output->sink_error();
  if (failed && why != crawl::end_reason::redis_unreachable)
    why = crawl::end_reason::internal_error;
  if (progress_drawn) std::cerr << "\r\033[K";
  auto stats = crawler.stats();
  crawl::end_facts facts;
  facts.pages = stats.pages;
  facts.queued = stats.queued;
  facts.max_pages = cfg.scope.max_pages;
  facts.max_pages_per_host = cfg.scope.max_pages_per_host;
  facts.resumable = !cfg.state.dir.empty();
  facts.detail = failure;
  const std::string ended = crawl::end_message(why, facts);
  if (opts.stats_path) {
    std::ofstream out(*opts.stats_path, std::ios::trunc);
    auto j = stats.to_json();
    j["end_reason"] = std::string(crawl::to_string(why));
    j["end_message"] = ended;
    out << j.dump(2) << "\n";
    if (!out) {
      std::cerr << "trawler: --stats: cannot write " << *opts.stats_path << "\n";
      failed = true;
    }
  }
  if (opts.verbosity >= 0) std::cerr << stats.report() << "  ended: " << ended << "\n";
  if (failed || output_failed) return 1;
  return exit_status;
}

}  // namespace trawler::app
