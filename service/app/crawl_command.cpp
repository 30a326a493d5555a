#include "app/crawl_command.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <fstream>
#include <iostream>

#include "common/log.hpp"
#include "crawl/crawler.hpp"
#include "sink/jsonl_sink.hpp"
#include "state/crawl_state.hpp"
#include "state/output_scan.hpp"

namespace trawler::app {

namespace asio = boost::asio;

namespace {

int config_errors(const std::vector<config::config_error>& errors) {
  for (const auto& e : errors) std::cerr << "trawler: " << e.text() << "\n";
  return 2;
}

void set_log_level(int verbosity) {
  if (verbosity < 0) {
    log::set_level(log::level::error);
  } else if (verbosity == 0) {
    log::set_level(log::level::warn);
  } else if (verbosity == 1) {
    log::set_level(log::level::info);
  } else {
    log::set_level(log::level::debug);
  }
}

}  // namespace

int run_crawl(const config::cli_options& opts) {
  set_log_level(opts.verbosity);
  auto loaded = config::build_crawl_config(opts);
  if (!loaded.ok()) return config_errors(loaded.errors);
  config::crawl_config cfg = std::move(loaded.config);
  if (cfg.seeds.empty()) {
    std::cerr << "trawler: seeds: no seed URL given (pass SEED_URL arguments or set seeds in "
                 "the config)\n";
    return 2;
  }
  // With a state dir, records reach the output only after the state that produced them is
  // committed: a kill between the two then loses nothing (the output is the truth on resume).
  std::unique_ptr<state::crawl_state> store;
  bool resuming = false;
  if (!cfg.state.dir.empty()) {
    std::string error;
    store = state::crawl_state::open(cfg.state.dir, error);
    if (!store) {
      std::cerr << "trawler: state.dir: " << error << "\n";
      return 2;
    }
    resuming = store->resumed();
    if (resuming && cfg.output.path != "-") {
      auto scan = state::scan_output(cfg.output.path, error);
      if (!error.empty()) {
        std::cerr << "trawler: output.path: " << error << "\n";
        return 2;
      }
      store->reconcile(scan.recorded);
      if (scan.truncated_bytes > 0) {
        log::warn("output ended in a torn line; cut " + std::to_string(scan.truncated_bytes) +
                  " bytes before appending");
      }
    }
  }

  std::string open_error;
  auto sink = sink::jsonl_sink::open(
      cfg.output.path, resuming ? sink::open_mode::append : sink::open_mode::truncate, open_error);
  if (!sink) {
    std::cerr << "trawler: output.path: " << open_error << "\n";
    return 2;
  }

  asio::io_context io(1);
  std::vector<std::string> held_lines;
  crawl::crawler crawler(io.get_executor(), cfg, [&](std::string&& line) {
    if (store) {
      held_lines.push_back(std::move(line));
    } else {
      sink->write_line(line);
    }
  });
  // Commits the state, then writes the records it covers.
  auto checkpoint = [&] {
    if (store) {
      std::string error;
      if (!store->checkpoint(error)) log::error("state checkpoint failed: " + error);
      for (const auto& l : held_lines) sink->write_line(l);
      held_lines.clear();
    }
    sink->flush();
  };
  if (store) crawler.attach_state(*store);
  auto problems = crawler.admit_seeds(cfg.seeds);
  for (const auto& p : problems) std::cerr << "trawler: " << p << "\n";
  if (crawler.admitted_seeds() == 0) {
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
      checkpoint();
      if (progress) {
        std::cerr << "\r\033[K" << crawler.stats().progress_line() << std::flush;
        progress_drawn = true;
      }
      tick();
    });
  };
  tick();

  bool failed = false;
  asio::co_spawn(io, crawler.run(), [&](std::exception_ptr e) {
    if (e) {
      failed = true;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error(std::string("crawl failed: ") + ex.what());
      } catch (...) {
        log::error("crawl failed");
      }
    }
    finished = true;
    signals.cancel();
    ticker.cancel();
  });
  io.run();

  if (store && crawler.completed()) store->set_finished(true);
  checkpoint();
  if (progress_drawn) std::cerr << "\r\033[K";
  auto stats = crawler.stats();
  if (opts.stats_path) {
    std::ofstream out(*opts.stats_path, std::ios::trunc);
    out << stats.to_json().dump(2) << "\n";
    if (!out) {
      std::cerr << "trawler: --stats: cannot write " << *opts.stats_path << "\n";
      failed = true;
    }
  }
  if (opts.verbosity >= 0) std::cerr << stats.report();
  if (failed) return 1;
  return exit_status;
}

}  // namespace trawler::app
