#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app/bench_command.hpp"
#include "app/crawl_command.hpp"
#include "app/explain_command.hpp"
#include "app/report_command.hpp"
#include "app/serve_command.hpp"
#include "common/version.hpp"
#include "config/cli.hpp"
#include "config/crawl_config.hpp"

namespace {

int usage_error(const std::vector<trawler::config::config_error>& errors) {
  for (const auto& e : errors) std::cerr << "trawler: " << e.text() << "\n";
  std::cerr << "Try 'trawler --help'.\n";
  return 2;
}

int validate(const trawler::config::cli_options& opts) {
  if (!opts.config_path) {
    std::cerr << "trawler: validate: FILE is required\n";
    return 2;
  }
  auto loaded = trawler::config::load_file(*opts.config_path);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "trawler: " << e.text() << "\n";
    return 2;
  }
  std::cout << "ok\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout must surface as a write error on the sink, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = trawler::config::parse_cli(args);
  if (!parsed.ok()) return usage_error(parsed.errors);
  const auto& opts = parsed.options;
  switch (opts.cmd) {
    case trawler::config::command::help:
      std::cout << trawler::config::usage_text();
      return 0;
    case trawler::config::command::version:
      std::cout << "trawler " << trawler::version << "\n";
      return 0;
    case trawler::config::command::validate:
      return validate(opts);
    case trawler::config::command::crawl:
      return trawler::app::run_crawl(opts);
    case trawler::config::command::bench:
      return trawler::app::run_bench(opts);
    case trawler::config::command::report:
      return trawler::app::run_report(opts);
    case trawler::config::command::explain:
      return trawler::app::run_explain(opts);
    case trawler::config::command::serve:
      return trawler::app::run_serve(opts);
  }
  return 1;
}
