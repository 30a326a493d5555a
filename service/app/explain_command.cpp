#include "app/explain_command.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common/log.hpp"
#include "explain/explain.hpp"
#include "sink/line_reader.hpp"
#include "state/crawl_state.hpp"

namespace trawler::app {

int run_explain(const config::cli_options& opts) {
  if (opts.verbosity < 0) log::set_level(log::level::error);
  auto ev = explain::evidence_for(opts.explain_url);
  if (opts.config_path) {
    auto loaded = config::load_file(*opts.config_path);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) std::cerr << "trawler: explain: " << e.text() << "\n";
      return 2;
    }
    ev.config = std::move(loaded.config);
  }
  std::vector<std::string> files;
  for (const auto& arg : opts.inputs) {
    std::string error;
    std::size_t open_parts = 0;
    auto more = sink::output_files(arg, error, open_parts);
    if (!error.empty()) {
      std::cerr << "trawler: explain: " << error << "\n";
      return 2;
    }
    files.insert(files.end(), more.begin(), more.end());
  }
  if (opts.state_dir) {
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(*opts.state_dir) / "state.sqlite3", ec)) {
      std::cerr << "trawler: explain: --state-dir: '" << *opts.state_dir
                << "' holds no crawl state (state.sqlite3)\n";
      return 2;
    }
    std::string error;
    auto st = state::crawl_state::open(*opts.state_dir, error);
    if (!st) {
      std::cerr << "trawler: explain: --state-dir: " << error << "\n";
      return 1;
    }
    for (auto& f : explain::read_state(*st, ev)) {
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(std::move(f));
    }
  }
  std::string error;
  if (!explain::read_outputs(files, ev, error)) {
    std::cerr << "trawler: explain: " << error << "\n";
    return 1;
  }
  const auto answer = explain::explain(ev);
  if (opts.json_output) {
    std::cout << answer.json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << answer.text << "\n";
  }
  return std::cout ? 0 : 1;
}

}  // namespace trawler::app
