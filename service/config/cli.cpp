#include "config/cli.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <span>
#include <string_view>

#include "config/document.hpp"

namespace trawler::config {
namespace {

using json = nlohmann::json;

enum class value_kind { none, text, integer };

enum class action {
  set_key,        // overrides[pointer] = value
  report_output,  // report -o FILE
  report_force,   // report --force
  report_broken,  // report --broken-links FILE
  state_dir,      // explain --state-dir DIR
  json_output,    // explain --json
  append_key,     // overrides[pointer] += [value]
  set_true,
  set_false,
  resolve,
  config,
  stats,
  listen,
  progress_on,
  progress_off,
  bench_value,  // an integer of cli_options::bench; `pointer` names the field
  quiet,
  verbose,
  help,
  version,
};

struct flag_spec {
  std::string_view name;  // without "--"
  char short_name;        // 0: none
  value_kind value;
  action act;
  std::string_view pointer;  // the config key it sets, as a JSON pointer
};

constexpr flag_spec crawl_flags[] = {
    {"config", 'c', value_kind::text, action::config, ""},
    {"output", 'o', value_kind::text, action::set_key, "/output/path"},
    {"output-dir", 0, value_kind::text, action::set_key, "/output/dir"},
    {"rotate-bytes", 0, value_kind::integer, action::set_key, "/output/rotate_bytes"},
    {"rotate-seconds", 0, value_kind::integer, action::set_key, "/output/rotate_seconds"},
    {"compress", 0, value_kind::text, action::set_key, "/output/compress"},
    {"warc", 0, value_kind::text, action::set_key, "/output/warc"},
    {"max-pages", 0, value_kind::integer, action::set_key, "/scope/max_pages"},
    {"max-depth", 0, value_kind::integer, action::set_key, "/scope/max_depth"},
    {"concurrency", 0, value_kind::integer, action::set_key, "/limits/concurrency"},
    {"per-host", 0, value_kind::integer, action::set_key, "/limits/per_host"},
    {"delay-ms", 0, value_kind::integer, action::set_key, "/limits/delay_ms"},
    {"scope", 0, value_kind::text, action::set_key, "/scope/mode"},
    {"include", 0, value_kind::text, action::append_key, "/scope/include"},
    {"exclude", 0, value_kind::text, action::append_key, "/scope/exclude"},
    {"max-redirects", 0, value_kind::integer, action::set_key, "/limits/max_redirects"},
    {"max-tries", 0, value_kind::integer, action::set_key, "/limits/max_tries"},
    {"timeout-ms", 0, value_kind::integer, action::set_key, "/limits/timeout_ms"},
    {"parse-priority", 0, value_kind::text, action::set_key, "/limits/parse_priority"},
    {"user-agent", 0, value_kind::text, action::set_key, "/robots/user_agent"},
    {"no-robots", 0, value_kind::none, action::set_false, "/robots/obey"},
    {"page-requisites", 0, value_kind::none, action::set_true, "/fetch/requisites"},
    {"state-dir", 0, value_kind::text, action::set_key, "/state/dir"},
    {"redis", 0, value_kind::text, action::set_key, "/cluster/redis"},
    {"crawl-name", 0, value_kind::text, action::set_key, "/cluster/name"},
    {"recrawl", 0, value_kind::text, action::set_key, "/recrawl/mode"},
    {"allow-private", 0, value_kind::none, action::set_true, "/network/allow_private"},
    {"resolve", 0, value_kind::text, action::resolve, "/network/resolve"},
    {"stats", 0, value_kind::text, action::stats, ""},
    {"quiet", 'q', value_kind::none, action::quiet, ""},
    {"verbose", 'v', value_kind::none, action::verbose, ""},
    {"progress", 0, value_kind::none, action::progress_on, ""},
    {"no-progress", 0, value_kind::none, action::progress_off, ""},
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

constexpr flag_spec serve_flags[] = {
    {"config", 'c', value_kind::text, action::config, ""},
    {"listen", 0, value_kind::text, action::listen, "/api/listen"},
    {"quiet", 'q', value_kind::none, action::quiet, ""},
    {"verbose", 'v', value_kind::none, action::verbose, ""},
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

// `pointer` names the bench_options field (see bench_field_of), not a config key.
constexpr flag_spec bench_flags[] = {
    {"pages", 0, value_kind::integer, action::bench_value, "/pages"},
    {"hosts", 0, value_kind::integer, action::bench_value, "/hosts"},
    {"page-bytes", 0, value_kind::integer, action::bench_value, "/page_bytes"},
    {"links", 0, value_kind::integer, action::bench_value, "/links"},
    {"concurrency", 0, value_kind::integer, action::bench_value, "/concurrency"},
    {"delay-ms", 0, value_kind::integer, action::bench_value, "/delay_ms"},
    // Where the records go (default: made, then discarded): output.* keys, as for crawl.
    {"output-dir", 0, value_kind::text, action::set_key, "/output/dir"},
    {"rotate-bytes", 0, value_kind::integer, action::set_key, "/output/rotate_bytes"},
    {"compress", 0, value_kind::text, action::set_key, "/output/compress"},
    {"warc", 0, value_kind::text, action::set_key, "/output/warc"},
    {"parse-priority", 0, value_kind::text, action::set_key, "/limits/parse_priority"},
    {"quiet", 'q', value_kind::none, action::quiet, ""},
    {"verbose", 'v', value_kind::none, action::verbose, ""},
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

constexpr flag_spec report_flags[] = {
    {"output", 'o', value_kind::text, action::report_output, ""},
    {"force", 0, value_kind::none, action::report_force, ""},
    {"broken-links", 0, value_kind::text, action::report_broken, ""},
    {"quiet", 'q', value_kind::none, action::quiet, ""},
    {"verbose", 'v', value_kind::none, action::verbose, ""},
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

constexpr flag_spec explain_flags[] = {
    {"state-dir", 0, value_kind::text, action::state_dir, ""},
    {"config", 'c', value_kind::text, action::config, ""},
    {"json", 0, value_kind::none, action::json_output, ""},
    {"quiet", 'q', value_kind::none, action::quiet, ""},
    {"verbose", 'v', value_kind::none, action::verbose, ""},
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

constexpr flag_spec validate_flags[] = {
    {"help", 'h', value_kind::none, action::help, ""},
    {"version", 0, value_kind::none, action::version, ""},
};

constexpr std::string_view command_hint =
    "use crawl, serve, validate, bench, report, explain, --version or --help";

std::string json_quoted(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t n = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return n;
}

struct bench_field {
  int bench_options::*member;
  std::int64_t min;
  std::int64_t max;
};

bench_field bench_field_of(std::string_view name) {
  if (name == "/pages") return {&bench_options::pages, 1, 10'000'000};
  if (name == "/hosts") return {&bench_options::hosts, 1, 10'000};
  if (name == "/page_bytes") return {&bench_options::page_bytes, 0, 10'000'000};
  if (name == "/links") return {&bench_options::links, 0, 100'000};
  if (name == "/concurrency") return {&bench_options::concurrency, 1, 100'000};
  return {&bench_options::delay_ms, 0, 600'000};
}

bool looks_like_long_flag(std::string_view s) {
  return s.starts_with("--");
}

class cli_parser {
 public:
  explicit cli_parser(const std::vector<std::string>& args) : args_(args) {}

  cli_result run() {
    if (args_.empty()) {
      fail("", "missing command; " + std::string(command_hint));
      return std::move(result_);
    }
    const std::string& first = args_[0];
    std::vector<std::string> positionals;
    if (first == "--help" || first == "-h" || first == "help") {
      result_.options.cmd = command::help;
      no_more_arguments(1);
    } else if (first == "--version") {
      result_.options.cmd = command::version;
      no_more_arguments(1);
    } else if (first == "crawl") {
      result_.options.cmd = command::crawl;
      parse_flags(crawl_flags, positionals);
      result_.options.seeds = std::move(positionals);
    } else if (first == "serve") {
      result_.options.cmd = command::serve;
      parse_flags(serve_flags, positionals);
      for (const auto& p : positionals) fail(p, "unexpected argument; serve takes no URLs");
    } else if (first == "validate") {
      result_.options.cmd = command::validate;
      parse_flags(validate_flags, positionals);
      if (positionals.empty() && !requested_) {
        fail("validate", "missing FILE (trawler validate FILE)");
      } else if (!positionals.empty()) {
        result_.options.config_path = positionals.front();
        for (std::size_t i = 1; i < positionals.size(); ++i) {
          fail(positionals[i], "unexpected argument; validate takes one FILE");
        }
      }
    } else if (first == "report") {
      result_.options.cmd = command::report;
      parse_flags(report_flags, positionals);
      if (positionals.empty() && !requested_) {
        fail("report",
             "missing FILE or DIR (trawler report FILE|DIR... [-o FILE] [--force] "
             "[--broken-links CSV])");
      }
      result_.options.inputs = std::move(positionals);
    } else if (first == "explain") {
      result_.options.cmd = command::explain;
      parse_flags(explain_flags, positionals);
      if (positionals.empty() && !requested_) {
        fail("explain", "missing URL (trawler explain URL [FILE|DIR...] [--state-dir DIR])");
      } else if (!positionals.empty()) {
        result_.options.explain_url = positionals.front();
        result_.options.inputs.assign(positionals.begin() + 1, positionals.end());
        if (result_.options.inputs.empty() && !result_.options.state_dir && !requested_) {
          fail("explain",
               "nothing to look in: give the crawl's outputs (FILE|DIR...) and/or "
               "--state-dir DIR");
        }
      }
    } else if (first == "bench") {
      result_.options.cmd = command::bench;
      parse_flags(bench_flags, positionals);
      for (const auto& p : positionals) fail(p, "unexpected argument; bench takes no URLs");
    } else if (first.size() > 1 && first[0] == '-') {
      fail(first, "unknown option; " + std::string(command_hint));
    } else {
      fail(first, "unknown command; " + std::string(command_hint));
    }
    if (requested_) result_.options.cmd = *requested_;
    return std::move(result_);
  }

 private:
  void fail(std::string key, std::string message) {
    result_.errors.push_back({std::move(key), std::move(message)});
  }

  void no_more_arguments(std::size_t from) {
    for (std::size_t i = from; i < args_.size(); ++i) fail(args_[i], "unexpected argument");
  }

  void parse_flags(std::span<const flag_spec> flags, std::vector<std::string>& positionals) {
    bool flags_done = false;
    for (next_ = 1; next_ < args_.size();) {
      const std::string& arg = args_[next_++];
      if (flags_done || arg == "-" || arg.empty() || arg[0] != '-') {
        positionals.push_back(arg);
      } else if (arg == "--") {
        flags_done = true;
      } else if (looks_like_long_flag(arg)) {
        long_flag(flags, arg);
      } else {
        short_flags(flags, arg);
      }
    }
  }

  void long_flag(std::span<const flag_spec> flags, const std::string& arg) {
    const auto eq = arg.find('=');
    const std::string shown = arg.substr(0, eq);
    const std::string_view name = std::string_view(shown).substr(2);
    const auto spec = std::find_if(flags.begin(), flags.end(),
                                   [&](const flag_spec& f) { return f.name == name; });
    if (spec == flags.end()) {
      fail(shown, unknown_flag_message(flags, name));
      return;
    }
    std::optional<std::string> value;
    if (eq != std::string::npos) value = arg.substr(eq + 1);
    if (spec->value == value_kind::none) {
      if (value) {
        fail(shown, "takes no value");
        return;
      }
      apply(*spec, shown, "");
      return;
    }
    if (!value) value = take_value(shown);
    if (value) apply(*spec, shown, *value);
  }

  // getopt style: "-vv" bundles flags without values, "-ofile" and "-o file" both work.
  void short_flags(std::span<const flag_spec> flags, const std::string& arg) {
    for (std::size_t i = 1; i < arg.size(); ++i) {
      const std::string shown = std::string("-") + arg[i];
      const auto spec = std::find_if(flags.begin(), flags.end(),
                                     [&](const flag_spec& f) { return f.short_name == arg[i]; });
      if (spec == flags.end()) {
        fail(shown, "unknown option");
        return;
      }
      if (spec->value == value_kind::none) {
        apply(*spec, shown, "");
        continue;
      }
      std::optional<std::string> value;
      if (i + 1 < arg.size()) {
        value = arg.substr(i + 1);
      } else {
        value = take_value(shown);
      }
      if (value) apply(*spec, shown, *value);
      return;
    }
  }

  std::optional<std::string> take_value(const std::string& shown) {
    // A following "--flag" is far more likely a forgotten value than a value.
    if (next_ >= args_.size() || looks_like_long_flag(args_[next_])) {
      fail(shown, "missing value");
      return std::nullopt;
    }
    return args_[next_++];
  }

  static std::string unknown_flag_message(std::span<const flag_spec> flags, std::string_view name) {
    const flag_spec* best = nullptr;
    std::size_t best_distance = SIZE_MAX;
    for (const flag_spec& f : flags) {
      const std::size_t d = edit_distance(name, f.name);
      if (d < best_distance) best = &f, best_distance = d;
    }
    if (best && best_distance <= 2 && best_distance * 2 < best->name.size()) {
      return "unknown option; did you mean --" + std::string(best->name) + "?";
    }
    return "unknown option";
  }

  void apply(const flag_spec& spec, const std::string& shown, const std::string& value) {
    cli_options& o = result_.options;
    const json::json_pointer pointer{std::string(spec.pointer)};
    switch (spec.act) {
      case action::set_key:
        if (spec.value == value_kind::integer) {
          const auto n = parse_integer(value);
          if (!n) {
            fail(shown, "must be an integer, got " + json_quoted(value));
            return;
          }
          o.overrides[pointer] = *n;
        } else {
          o.overrides[pointer] = value;
        }
        break;
      case action::append_key: {
        json& list = o.overrides[pointer];
        if (!list.is_array()) list = json::array();
        list.push_back(value);
        break;
      }
      case action::set_true:
        o.overrides[pointer] = true;
        break;
      case action::set_false:
        o.overrides[pointer] = false;
        break;
      case action::resolve: {
        // HOST:PORT:ADDR as curl's; ADDR may be an IPv6 literal, so split on the first two
        // colons only.
        const auto first = value.find(':');
        const auto second = first == std::string::npos ? first : value.find(':', first + 1);
        if (second == std::string::npos || first == 0 || second == value.size() - 1) {
          fail(shown, "must be HOST:PORT:ADDR, got " + json_quoted(value));
          return;
        }
        std::string host_port = value.substr(0, second);
        // Host names are case-insensitive: keep "last wins" for differently cased repeats.
        std::transform(host_port.begin(), host_port.begin() + static_cast<std::ptrdiff_t>(first),
                       host_port.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        o.overrides[pointer][host_port] = value.substr(second + 1);
        break;
      }
      case action::config:
        o.config_path = value;
        break;
      case action::stats:
        o.stats_path = value;
        break;
      case action::report_output:
        o.report_output = value;
        break;
      case action::report_force:
        o.report_force = true;
        break;
      case action::report_broken:
        o.report_broken_links = value;
        break;
      case action::state_dir:
        o.state_dir = value;
        break;
      case action::json_output:
        o.json_output = true;
        break;
      case action::listen:
        o.listen = value;
        o.overrides[pointer] = value;
        break;
      case action::progress_on:
        o.progress = true;
        break;
      case action::progress_off:
        o.progress = false;
        break;
      case action::bench_value: {
        const auto n = parse_integer(value);
        const bench_field field = bench_field_of(spec.pointer);
        if (!n || *n < field.min || *n > field.max) {
          fail(shown, "must be an integer from " + std::to_string(field.min) + " to " +
                          std::to_string(field.max) + ", got " + json_quoted(value));
          return;
        }
        o.bench.*field.member = static_cast<int>(*n);
        break;
      }
      case action::quiet:
        o.verbosity = -1;
        break;
      case action::verbose:
        o.verbosity = std::max(o.verbosity, 0) + 1;
        break;
      case action::help:
        requested_ = command::help;
        break;
      case action::version:
        requested_ = command::version;
        break;
    }
  }

  const std::vector<std::string>& args_;
  std::size_t next_ = 1;
  std::optional<command> requested_;  // --help / --version inside a subcommand
  cli_result result_;
};

// A value error under a config key that a flag set is reported under the flag: the user
// typed the flag, not the key.
void name_flag(config_error& e, const json& overrides) {
  for (const std::span<const flag_spec> table :
       {std::span<const flag_spec>(crawl_flags), std::span<const flag_spec>(serve_flags)}) {
    for (const flag_spec& f : table) {
      if (f.pointer.empty()) continue;
      std::string dotted(f.pointer.substr(1));
      std::replace(dotted.begin(), dotted.end(), '/', '.');
      if (!e.key.starts_with(dotted)) continue;
      const std::string_view rest = std::string_view(e.key).substr(dotted.size());
      const json::json_pointer pointer{std::string(f.pointer)};
      if (!overrides.contains(pointer)) continue;
      const json& set = overrides.at(pointer);
      const bool named =
          rest.empty() || rest.starts_with('[') ||
          (rest.starts_with('.') && set.is_object() && set.contains(std::string(rest.substr(1))));
      if (named) {
        e.key = "--" + std::string(f.name);
        return;
      }
    }
  }
}

}  // namespace

cli_result parse_cli(const std::vector<std::string>& args) {
  return cli_parser(args).run();
}

std::string usage_text() {
  return R"(usage:
  trawler crawl [options] [SEED_URL...]     run one crawl to the end, then exit
  trawler serve [--config FILE] [--listen HOST:PORT]   run the control API service
  trawler validate FILE                     check a config file and exit
  trawler bench [options]                   crawl a generated local site, print the speed
  trawler report FILE|DIR... [-o FILE] [--force] [--broken-links CSV]
                                            one HTML report of crawl outputs
  trawler explain URL [FILE|DIR...] [--state-dir DIR] [-c FILE] [--json]
                                            why a URL was (not) fetched, in one paragraph
  trawler --version | --help

crawl options (each overrides the same config key; seeds add to the config's seeds):
  -c, --config FILE       config file, YAML or JSON
  -o, --output FILE       JSONL records; - is stdout (default)
      --output-dir DIR    output.dir: rotated segments records-NNNNNN.jsonl in DIR
      --rotate-bytes N    output.rotate_bytes: close a segment past N bytes of records
      --rotate-seconds N  output.rotate_seconds: close a segment N s after its first record
      --compress C        output.compress: none, gzip or zstd (each segment)
      --warc DIR          output.warc: WARC/1.1 files of every response in DIR
      --max-pages N       scope.max_pages (0: no limit)
      --max-depth N       scope.max_depth (0: the seeds only)
      --concurrency N     limits.concurrency, open requests in all
      --per-host N        limits.per_host, open requests per host
      --delay-ms N        limits.delay_ms between request starts on one host
      --scope MODE        scope.mode: host, domain or any
      --include REGEX     scope.include (repeatable; replaces the file's list)
      --exclude REGEX     scope.exclude (repeatable; replaces the file's list)
      --max-redirects N   limits.max_redirects
      --max-tries N       limits.max_tries
      --timeout-ms N      limits.timeout_ms, whole request
      --parse-priority P  limits.parse_priority: idle, low, batch or normal (the parse threads)
      --user-agent S      robots.user_agent, also the User-Agent header
      --no-robots         robots.obey: false
      --page-requisites   fetch.requisites: true (images, style sheets, scripts... of pages)
      --state-dir DIR     state.dir: persist and resume from DIR
      --redis URLS        cluster.redis: join the crawl shared through this Redis
                          (redis://[user:password@]host:port[/db]) or Redis Cluster: any
                          of its nodes, several separated by commas
      --crawl-name NAME   cluster.name: which crawl in that Redis (default "default")
      --recrawl MODE      recrawl.mode: off, continuous (revisit for ever) or pass (revisit
                          every known URL once); needs --state-dir
      --allow-private     network.allow_private: true
      --resolve HOST:PORT:ADDR   pin a name to an address (repeatable)
      --stats FILE        write the final stats object as JSON
  -q, --quiet             errors only
  -v, --verbose           more logs (-vv: debug)
      --progress, --no-progress   live progress line on stderr (default: when a terminal)
  -h, --help              this text

bench options (the site runs in a child process on 127.0.0.1):
      --pages N           pages of the generated site (default 5000)
      --hosts H           virtual hosts the pages are spread over (default 1)
      --page-bytes B      size of each page (default 28000)
      --links L           links to pages of the site on each page (default 34)
      --concurrency C     limits.concurrency of the crawl (default 16)
      --delay-ms D        the site waits D ms before each response (default 0)
      --output-dir DIR, --rotate-bytes N, --compress C, --warc DIR
                          write the records (and a WARC archive) as crawl would, to measure
                          what output costs (default: records are made, then discarded)
      --parse-priority P  limits.parse_priority of the crawl: idle, low, batch or normal

report (reads plain, rotated and compressed outputs, several at once; streams them):
  -o, --output FILE       the HTML file to write, replacing it (- is stdout); without -o,
                          report.html, which is never replaced unless --force is given
      --force             replace an existing report.html
      --broken-links CSV  write the broken links (URLs that answered 4xx/5xx, the pages linking
                          them) as CSV to CSV (- is stdout) for a spreadsheet; alone, it writes
                          no HTML report (add -o FILE for both)

explain (reads the outputs given and those the state dir names; the state must not be in use):
      --state-dir DIR     the crawl's state.dir: admitted, queued, done and dropped URLs
  -c, --config FILE       the crawl's config (default: the one the state dir keeps)
      --json              the answer as one JSON object

A flag's value may follow it or an "=" (-o out.jsonl, --max-pages=5); when a flag is
repeated, the last one wins, except --include, --exclude and --resolve, which add up.
Exit status: 0 done or stopped gracefully, 2 usage or config error, 1 other fatal error.
)";
}

load_result build_crawl_config(const cli_options& opts) {
  load_result out;
  json doc = json::object();
  std::vector<config_error> document_errors;
  if (opts.config_path) {
    document_result file = read_document(*opts.config_path, "--config");
    if (!file.parsed) {
      out.errors = std::move(file.errors);
      return out;
    }
    // Merging flags onto a non-mapping would silently replace it; report it instead.
    if (!file.doc.is_object()) {
      out = from_json(file.doc);
      out.errors.insert(out.errors.begin(), file.errors.begin(), file.errors.end());
      return out;
    }
    doc = std::move(file.doc);
    document_errors = std::move(file.errors);
  }
  out = from_json(merge_patch(std::move(doc), opts.overrides));
  for (config_error& e : out.errors) name_flag(e, opts.overrides);
  out.errors.insert(out.errors.begin(), document_errors.begin(), document_errors.end());
  for (const std::string& seed : opts.seeds) {
    if (seed.empty()) {
      out.errors.push_back({"SEED_URL", "must not be empty"});
    } else {
      out.config.seeds.push_back(seed);
    }
  }
  return out;
}

}  // namespace trawler::config
