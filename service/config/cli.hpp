#pragma once

// The command line of SPEC "Command line": subcommands and flags into options, and the
// crawl config they describe (file, then flag overrides, then extra seeds).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"

namespace trawler::config {

enum class command { crawl, serve, validate, bench, report, explain, version, help };

// `trawler bench` (the generated site it crawls, and how).
struct bench_options {
  int pages = 5000;
  int hosts = 1;
  int page_bytes = 28000;
  int links = 34;
  int concurrency = 16;
  int delay_ms = 0;  // the site's delay before each response (not a politeness delay)
  bool operator==(const bench_options&) const = default;
};

struct cli_options {
  command cmd = command::help;
  std::optional<std::string> config_path;  // -c/--config (crawl, serve) or the FILE of `validate`
  std::vector<std::string> seeds;          // positional arguments of crawl, added to the config's
  // Config keys set by flags, nested ({"scope":{"max_pages":5}}), for merge_patch onto the
  // file's document. Lists (--include, --exclude) replace the file's; --resolve entries add
  // to the file's mapping.
  nlohmann::json overrides = nlohmann::json::object();
  std::optional<std::string> stats_path;  // --stats FILE
  std::optional<std::string> listen;      // serve --listen HOST:PORT (also in overrides)
  int verbosity = 0;                      // -q: -1; each -v: +1 (-vv: 2); the last of -q/-v wins
  std::optional<bool> progress;           // --progress / --no-progress, last wins
  bench_options bench;                    // bench flags
  std::vector<std::string> inputs;        // report, explain: the outputs (files, folders) to read
  std::optional<std::string> report_output;        // report -o FILE
  bool report_force = false;                       // report --force: replace ./report.html
  std::optional<std::string> report_broken_links;  // report --broken-links CSV
  std::string explain_url;                         // explain: the URL asked about
  std::optional<std::string> state_dir;            // explain --state-dir DIR
  bool json_output = false;                        // explain --json
};

struct cli_result {
  cli_options options;
  std::vector<config_error> errors;  // keys are flags ("--max-pages") or arguments
  bool ok() const { return errors.empty(); }
};

// args without argv[0]. Flags take "--flag value" or "--flag=value"; short ones "-c FILE",
// "-cFILE", and -q/-v bundle ("-vv"). A value that looks like a long flag ("--x") is taken
// as a missing value; use "--include=--x" for such a value. "--" ends the flags.
// "--help"/"-h" anywhere make cmd help; "--version" makes cmd version.
cli_result parse_cli(const std::vector<std::string>& args);

std::string usage_text();

// The config for crawl (and serve): the -c file if any, overrides merged onto it, then the
// positional seeds appended. A missing or unreadable file is an error with key "--config";
// a bad value given by a flag is reported under that flag ("--max-pages: must be an integer
// from 0 to ..."). Zero seeds is NOT an error here: the caller checks
// `result.config.seeds.empty()` (serve needs none).
load_result build_crawl_config(const cli_options& opts);

}  // namespace trawler::config
