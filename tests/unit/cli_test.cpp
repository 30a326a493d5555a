// The command line (SPEC "Command line", "Flags") and the config it builds.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/cli.hpp"

namespace {

using nlohmann::json;
using trawler::config::build_crawl_config;
using trawler::config::cli_options;
using trawler::config::cli_result;
using trawler::config::command;
using trawler::config::config_error;
using trawler::config::crawl_config;
using trawler::config::load_result;
using trawler::config::parse_cli;
using trawler::config::usage_text;

namespace fs = std::filesystem;

template <class R>
std::string all_errors(const R& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.text() + "\n";
  return out;
}

template <class R>
config_error only_error(const R& r) {
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  return r.errors.empty() ? config_error{} : r.errors.front();
}

cli_result parse(std::vector<std::string> args) {
  return parse_cli(args);
}

cli_options parse_ok(std::vector<std::string> args) {
  const cli_result r = parse_cli(args);
  EXPECT_TRUE(r.ok()) << all_errors(r);
  return r.options;
}

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "trawler-cli-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string write(const std::string& name, std::string_view content) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------
// Top level

TEST(Cli, NoArgumentsIsAnError) {
  const cli_result r = parse({});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.options.cmd, command::help);
  EXPECT_NE(only_error(r).message.find("missing command"), std::string::npos);
}

TEST(Cli, HelpAndVersion) {
  for (std::string arg : {"--help", "-h", "help"}) {
    EXPECT_EQ(parse_ok({arg}).cmd, command::help) << arg;
  }
  EXPECT_EQ(parse_ok({"--version"}).cmd, command::version);
  EXPECT_EQ(only_error(parse({"--version", "crawl"})).key, "crawl");
  EXPECT_EQ(parse_ok({"crawl", "--help"}).cmd, command::help);
  EXPECT_EQ(parse_ok({"crawl", "-h"}).cmd, command::help);
  EXPECT_EQ(parse_ok({"crawl", "--version"}).cmd, command::version);
  EXPECT_EQ(parse_ok({"serve", "--help"}).cmd, command::help);
  EXPECT_EQ(parse_ok({"validate", "--help"}).cmd, command::help);
  EXPECT_EQ(parse_ok({"crawl", "--help", "--version"}).cmd, command::version);  // last wins
}

TEST(Cli, UnknownCommandOrTopLevelFlag) {
  const config_error cmd = only_error(parse({"fetch", "http://a.test/"}));
  EXPECT_EQ(cmd.key, "fetch");
  EXPECT_TRUE(cmd.message.starts_with("unknown command")) << cmd.message;
  const config_error flag = only_error(parse({"--frob"}));
  EXPECT_EQ(flag.key, "--frob");
  EXPECT_TRUE(flag.message.starts_with("unknown option")) << flag.message;
  EXPECT_EQ(only_error(parse({"-v", "crawl"})).key, "-v");
}

// ---------------------------------------------------------------------------------------
// crawl

TEST(CliCrawl, DefaultsWithoutFlags) {
  const cli_options o = parse_ok({"crawl"});
  EXPECT_EQ(o.cmd, command::crawl);
  EXPECT_FALSE(o.config_path);
  EXPECT_TRUE(o.seeds.empty());
  EXPECT_EQ(o.overrides, json::object());
  EXPECT_FALSE(o.stats_path);
  EXPECT_FALSE(o.listen);
  EXPECT_EQ(o.verbosity, 0);
  EXPECT_FALSE(o.progress);
}

const std::vector<std::string> every_crawl_flag = {"crawl",
                                                   "--config",
                                                   "site.yaml",
                                                   "--output",
                                                   "out.jsonl",
                                                   "--max-pages",
                                                   "100",
                                                   "--max-depth",
                                                   "3",
                                                   "--concurrency",
                                                   "8",
                                                   "--per-host",
                                                   "1",
                                                   "--delay-ms",
                                                   "250",
                                                   "--scope",
                                                   "domain",
                                                   "--include",
                                                   "^https://a\\.test/",
                                                   "--exclude",
                                                   "\\.pdf$",
                                                   "--max-redirects",
                                                   "4",
                                                   "--max-tries",
                                                   "5",
                                                   "--timeout-ms",
                                                   "7000",
                                                   "--user-agent",
                                                   "bot/1.0",
                                                   "--no-robots",
                                                   "--page-requisites",
                                                   "--state-dir",
                                                   "/tmp/st",
                                                   "--allow-private",
                                                   "--resolve",
                                                   "a.test:443:127.0.0.1",
                                                   "--stats",
                                                   "stats.json",
                                                   "-v",
                                                   "--no-progress",
                                                   "http://a.test/",
                                                   "b.test"};

const json every_crawl_flag_overrides = json::parse(R"({
  "output": {"path": "out.jsonl"},
  "scope": {"max_pages": 100, "max_depth": 3, "mode": "domain",
            "include": ["^https://a\\.test/"], "exclude": ["\\.pdf$"]},
  "limits": {"concurrency": 8, "per_host": 1, "delay_ms": 250, "max_redirects": 4,
             "max_tries": 5, "timeout_ms": 7000},
  "robots": {"user_agent": "bot/1.0", "obey": false},
  "fetch": {"requisites": true},
  "state": {"dir": "/tmp/st"},
  "network": {"allow_private": true, "resolve": {"a.test:443": "127.0.0.1"}}
})");

void expect_every_crawl_flag(const cli_options& o) {
  EXPECT_EQ(o.cmd, command::crawl);
  EXPECT_EQ(o.config_path, "site.yaml");
  EXPECT_EQ(o.overrides, every_crawl_flag_overrides) << o.overrides.dump(2);
  EXPECT_EQ(o.stats_path, "stats.json");
  EXPECT_EQ(o.verbosity, 1);
  EXPECT_EQ(o.progress, false);
  EXPECT_EQ(o.seeds, (std::vector<std::string>{"http://a.test/", "b.test"}));
  EXPECT_FALSE(o.listen);
}

TEST(CliCrawl, EveryFlag) {
  expect_every_crawl_flag(parse_ok(every_crawl_flag));
}

TEST(CliCrawl, EveryFlagInEqualsForm) {
  // "--flag value" -> "--flag=value" for every flag that takes a value.
  std::vector<std::string> args;
  for (std::size_t i = 0; i < every_crawl_flag.size(); ++i) {
    const std::string& a = every_crawl_flag[i];
    const bool takes_value = a.starts_with("--") && a != "--no-robots" && a != "--allow-private" &&
                             a != "--no-progress" && a != "--page-requisites";
    if (takes_value) {
      args.push_back(a + "=" + every_crawl_flag[++i]);
    } else {
      args.push_back(a);
    }
  }
  ASSERT_NE(args.size(), every_crawl_flag.size());
  expect_every_crawl_flag(parse_ok(args));
}

TEST(CliCrawl, ShortFlags) {
  const cli_options a = parse_ok({"crawl", "-c", "f.yaml", "-o", "-", "-q"});
  EXPECT_EQ(a.config_path, "f.yaml");
  EXPECT_EQ(a.overrides, json::parse(R"({"output": {"path": "-"}})"));
  EXPECT_EQ(a.verbosity, -1);
  EXPECT_TRUE(a.seeds.empty());  // "-" was the value of -o, not a seed

  const cli_options b = parse_ok({"crawl", "-cf.yaml", "-oout.jsonl"});
  EXPECT_EQ(b.config_path, "f.yaml");
  EXPECT_EQ(b.overrides["output"]["path"], "out.jsonl");

  const cli_options c = parse_ok({"crawl", "-vvo", "x.jsonl"});
  EXPECT_EQ(c.verbosity, 2);
  EXPECT_EQ(c.overrides["output"]["path"], "x.jsonl");

  const cli_options d = parse_ok({"crawl", "--config=", "--output=-"});
  EXPECT_EQ(d.config_path, "");
  EXPECT_EQ(d.overrides["output"]["path"], "-");
}

TEST(CliCrawl, ValuesMayContainEqualsAndStartWithADash) {
  const cli_options o =
      parse_ok({"crawl", "--include=a=b", "--include", "-x", "--max-depth", "-1", "-o", "-v"});
  EXPECT_EQ(o.overrides["scope"]["include"], json({"a=b", "-x"}));
  EXPECT_EQ(o.overrides["scope"]["max_depth"], -1);
  EXPECT_EQ(o.overrides["output"]["path"], "-v");
  EXPECT_EQ(o.verbosity, 0);
}

TEST(CliCrawl, RepeatableFlagsAddUp) {
  const cli_options o = parse_ok({"crawl", "--include", "a", "--exclude", "x", "--include=b",
                                  "--resolve", "a.test:80:1.1.1.1", "--include", "c",
                                  "--resolve=b.test:443:::1", "--exclude", "y"});
  EXPECT_EQ(o.overrides["scope"]["include"], json({"a", "b", "c"}));
  EXPECT_EQ(o.overrides["scope"]["exclude"], json({"x", "y"}));
  EXPECT_EQ(o.overrides["network"]["resolve"],
            json({{"a.test:80", "1.1.1.1"}, {"b.test:443", "::1"}}));
}

TEST(CliCrawl, RepeatedFlagsLastWins) {
  const cli_options o = parse_ok({"crawl",        "--max-pages", "1",
                                  "--scope",      "any",         "--max-pages=2",
                                  "--scope=host", "-o",          "a",
                                  "--output",     "b",           "-c",
                                  "x.yaml",       "--config",    "y.yaml",
                                  "--stats",      "s1",          "--stats=s2",
                                  "--user-agent", "a/1",         "--user-agent",
                                  "b/2"});
  EXPECT_EQ(o.overrides["scope"]["max_pages"], 2);
  EXPECT_EQ(o.overrides["scope"]["mode"], "host");
  EXPECT_EQ(o.overrides["output"]["path"], "b");
  EXPECT_EQ(o.overrides["robots"]["user_agent"], "b/2");
  EXPECT_EQ(o.config_path, "y.yaml");
  EXPECT_EQ(o.stats_path, "s2");
}

TEST(CliCrawl, ProgressAndVerbosityLastWins) {
  EXPECT_EQ(parse_ok({"crawl", "--progress"}).progress, true);
  EXPECT_EQ(parse_ok({"crawl", "--no-progress"}).progress, false);
  EXPECT_EQ(parse_ok({"crawl", "--progress", "--no-progress"}).progress, false);
  EXPECT_EQ(parse_ok({"crawl", "--no-progress", "--progress"}).progress, true);
  EXPECT_EQ(parse_ok({"crawl", "-v"}).verbosity, 1);
  EXPECT_EQ(parse_ok({"crawl", "-vv"}).verbosity, 2);
  EXPECT_EQ(parse_ok({"crawl", "-v", "-v", "--verbose"}).verbosity, 3);
  EXPECT_EQ(parse_ok({"crawl", "-q"}).verbosity, -1);
  EXPECT_EQ(parse_ok({"crawl", "--quiet"}).verbosity, -1);
  EXPECT_EQ(parse_ok({"crawl", "-vv", "-q"}).verbosity, -1);
  EXPECT_EQ(parse_ok({"crawl", "-q", "-v"}).verbosity, 1);
}

TEST(CliCrawl, ResolveForms) {
  const cli_options o =
      parse_ok({"crawl", "--resolve", "a.test:443:[::1]", "--resolve", "b.test:80:2001:db8::1",
                "--resolve", "C.Test:8080:10.0.0.1", "--resolve", "c.test:8080:10.0.0.2"});
  EXPECT_EQ(
      o.overrides["network"]["resolve"],
      json({{"a.test:443", "[::1]"}, {"b.test:80", "2001:db8::1"}, {"c.test:8080", "10.0.0.2"}}));
  for (std::string bad : {"a.test", "a.test:443", "a.test:443:", ":443:1.2.3.4", ""}) {
    const config_error e = only_error(parse({"crawl", "--resolve", bad}));
    EXPECT_EQ(e.key, "--resolve");
    EXPECT_TRUE(e.message.starts_with("must be HOST:PORT:ADDR")) << e.message;
  }
}

TEST(CliCrawl, SeedsAnywhereAndAfterDoubleDash) {
  const cli_options o =
      parse_ok({"crawl", "a.test", "--max-pages", "5", "b.test", "--", "--c.test", "-v"});
  EXPECT_EQ(o.seeds, (std::vector<std::string>{"a.test", "b.test", "--c.test", "-v"}));
  EXPECT_EQ(o.verbosity, 0);
}

TEST(CliCrawl, UnknownFlags) {
  const config_error near = only_error(parse({"crawl", "--max-page", "5"}));
  EXPECT_EQ(near.key, "--max-page");
  EXPECT_EQ(near.message, "unknown option; did you mean --max-pages?");
  EXPECT_EQ(only_error(parse({"crawl", "--frobnicate"})).text(), "--frobnicate: unknown option");
  EXPECT_EQ(only_error(parse({"crawl", "--frobnicate=3"})).key, "--frobnicate");
  EXPECT_EQ(only_error(parse({"crawl", "-x"})).text(), "-x: unknown option");
  EXPECT_EQ(only_error(parse({"crawl", "-vx"})).key, "-x");
  // Serve-only and crawl-only flags stay in their command.
  EXPECT_EQ(only_error(parse({"crawl", "--listen", "1.2.3.4:80"})).key, "--listen");
  EXPECT_EQ(only_error(parse({"serve", "--max-pages=1"})).key, "--max-pages");
}

TEST(CliCrawl, MissingValues) {
  for (std::string flag :
       {"--config", "-c", "--output", "-o", "--max-pages", "--max-depth", "--concurrency",
        "--per-host", "--delay-ms", "--scope", "--include", "--exclude", "--max-redirects",
        "--max-tries", "--timeout-ms", "--user-agent", "--state-dir", "--resolve", "--stats"}) {
    const config_error e = only_error(parse({"crawl", flag}));
    EXPECT_EQ(e.text(), flag + ": missing value");
  }
  // A following long flag is not taken as the value.
  const cli_result r = parse({"crawl", "--output", "--max-pages", "5"});
  EXPECT_EQ(only_error(r).text(), "--output: missing value");
  EXPECT_EQ(r.options.overrides["scope"]["max_pages"], 5);
}

TEST(CliCrawl, NonIntegerValues) {
  for (std::string flag : {"--max-pages", "--max-depth", "--concurrency", "--per-host",
                           "--delay-ms", "--max-redirects", "--max-tries", "--timeout-ms"}) {
    for (std::string bad :
         {"x", "1.5", "10ms", "", " 5", "5 ", "0x10", "1e3", "+5", "99999999999999999999"}) {
      const cli_result r = parse({"crawl", flag + "=" + bad});
      const config_error e = only_error(r);
      EXPECT_EQ(e.text(), flag + ": must be an integer, got " + json(bad).dump());
      EXPECT_EQ(r.options.overrides, json::object());
    }
  }
}

TEST(CliCrawl, FlagsWithoutValuesRefuseOne) {
  for (std::string flag : {"--no-robots", "--allow-private", "--page-requisites", "--progress",
                           "--no-progress", "--quiet", "--verbose", "--help", "--version"}) {
    EXPECT_EQ(only_error(parse({"crawl", flag + "=yes"})).text(), flag + ": takes no value");
  }
}

TEST(CliCrawl, SeveralErrorsAtOnce) {
  const cli_result r =
      parse({"crawl", "--bogus", "--max-pages", "x", "--resolve", "nope", "-z", "--timeout-ms"});
  std::set<std::string> keys;
  for (const auto& e : r.errors) keys.insert(e.key);
  EXPECT_EQ(keys,
            (std::set<std::string>{"--bogus", "--max-pages", "--resolve", "-z", "--timeout-ms"}))
      << all_errors(r);
}

// ---------------------------------------------------------------------------------------
// serve and validate

TEST(CliServe, ConfigAndListen) {
  const cli_options o = parse_ok({"serve", "--config", "svc.yaml", "--listen", "0.0.0.0:9000"});
  EXPECT_EQ(o.cmd, command::serve);
  EXPECT_EQ(o.config_path, "svc.yaml");
  EXPECT_EQ(o.listen, "0.0.0.0:9000");
  EXPECT_EQ(o.overrides, json::parse(R"({"api": {"listen": "0.0.0.0:9000"}})"));

  const cli_options eq = parse_ok({"serve", "-c", "svc.yaml", "--listen=[::1]:0", "-v"});
  EXPECT_EQ(eq.listen, "[::1]:0");
  EXPECT_EQ(eq.verbosity, 1);

  const cli_options bare = parse_ok({"serve"});
  EXPECT_EQ(bare.cmd, command::serve);
  EXPECT_FALSE(bare.config_path);
  EXPECT_FALSE(bare.listen);
  EXPECT_EQ(bare.overrides, json::object());
}

TEST(CliServe, RefusesUrlsAndMissingValues) {
  EXPECT_EQ(only_error(parse({"serve", "http://a.test/"})).key, "http://a.test/");
  EXPECT_EQ(only_error(parse({"serve", "--listen"})).text(), "--listen: missing value");
}

TEST(CliValidate, TakesOneFile) {
  const cli_options o = parse_ok({"validate", "config/site.yaml"});
  EXPECT_EQ(o.cmd, command::validate);
  EXPECT_EQ(o.config_path, "config/site.yaml");
  EXPECT_EQ(only_error(parse({"validate"})).key, "validate");
  EXPECT_EQ(only_error(parse({"validate", "a.yaml", "b.yaml"})).key, "b.yaml");
  EXPECT_EQ(only_error(parse({"validate", "--max-pages=3", "a.yaml"})).key, "--max-pages");
  EXPECT_EQ(parse_ok({"validate", "--", "-odd-name.yaml"}).config_path, "-odd-name.yaml");
}

// --redis takes a Redis Cluster's nodes separated by commas, checked as cluster.redis is.
TEST(CliCrawl, RedisTakesSeveralNodes) {
  const cli_options o =
      parse_ok({"crawl", "--redis", "redis://a:7000,redis://b:7001", "http://a.test/"});
  EXPECT_EQ(o.overrides, json::parse(R"({"cluster": {"redis": "redis://a:7000,redis://b:7001"}})"));
  const auto good = trawler::config::from_json(o.overrides);
  ASSERT_TRUE(good.ok()) << all_errors(good);
  EXPECT_EQ(good.config.cluster.redis, "redis://a:7000,redis://b:7001");
  const cli_options bad = parse_ok({"crawl", "--redis=redis://a:7000,redis://b:0"});
  const config_error e = only_error(trawler::config::from_json(bad.overrides));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("\"redis://b:0\""), std::string::npos) << e.message;
  EXPECT_NE(usage_text().find("several separated by commas"), std::string::npos);
}

TEST(CliUsage, MentionsEverySubcommandAndEveryFlagItDescribesParses) {
  const std::string usage = usage_text();
  for (std::string word : {"crawl", "serve", "validate", "bench", "report", "explain", "--version",
                           "--help", "SEED_URL"}) {
    EXPECT_NE(usage.find(word), std::string::npos) << word;
  }
  // Every long flag the help text shows is accepted by crawl (or serve, for --listen; or
  // bench, for the site's shape; or explain, for --json; or report, for --force).
  const std::regex flag_re("--[a-z][a-z-]*");
  std::set<std::string> flags;
  for (auto it = std::sregex_iterator(usage.begin(), usage.end(), flag_re);
       it != std::sregex_iterator(); ++it) {
    flags.insert(it->str());
  }
  EXPECT_GE(flags.size(), 25u);
  for (const std::string& flag : flags) {
    const bool serve_only = flag == "--listen";
    const bool bench_only =
        flag == "--pages" || flag == "--hosts" || flag == "--page-bytes" || flag == "--links";
    const bool explain_only = flag == "--json";
    const bool report_only = flag == "--force" || flag == "--broken-links";
    const cli_result r = explain_only  ? parse({"explain", "http://a/", "--state-dir", "d", flag})
                         : report_only ? parse({"report", "out.jsonl", flag})
                                       : parse({serve_only   ? "serve"
                                                : bench_only ? "bench"
                                                             : "crawl",
                                                flag + "=1"});
    for (const auto& e : r.errors) {
      EXPECT_NE(e.message.rfind("unknown option", 0), 0u) << flag;
    }
  }
  for (std::string flag :
       {"--config",        "--output",        "--max-pages",  "--max-depth",  "--concurrency",
        "--per-host",      "--delay-ms",      "--scope",      "--include",    "--exclude",
        "--max-redirects", "--max-tries",     "--timeout-ms", "--user-agent", "--no-robots",
        "--state-dir",     "--allow-private", "--resolve",    "--stats",      "--progress",
        "--no-progress",   "--listen"}) {
    EXPECT_EQ(flags.count(flag), 1u) << flag;
  }
}

// ---------------------------------------------------------------------------------------
// bench

TEST(CliBench, DefaultsWithoutFlags) {
  const cli_options o = parse_ok({"bench"});
  EXPECT_EQ(o.cmd, command::bench);
  const trawler::config::bench_options b = o.bench;
  EXPECT_EQ(b.pages, 5000);
  EXPECT_EQ(b.hosts, 1);
  EXPECT_EQ(b.page_bytes, 28000);
  EXPECT_EQ(b.links, 34);
  EXPECT_EQ(b.concurrency, 16);
  EXPECT_EQ(b.delay_ms, 0);
  // The bench flags are not config keys: nothing leaks into a crawl config.
  EXPECT_EQ(o.overrides, json::object());
  EXPECT_TRUE(o.seeds.empty());
  EXPECT_EQ(parse_ok({"crawl"}).bench, trawler::config::bench_options{});
}

TEST(CliBench, EveryFlagBothForms) {
  const cli_options spaced =
      parse_ok({"bench", "--pages", "20000", "--hosts", "8", "--page-bytes", "1000", "--links",
                "12", "--concurrency", "64", "--delay-ms", "50"});
  const cli_options equals = parse_ok({"bench", "--pages=20000", "--hosts=8", "--page-bytes=1000",
                                       "--links=12", "--concurrency=64", "--delay-ms=50"});
  for (const cli_options& o : {spaced, equals}) {
    EXPECT_EQ(o.cmd, command::bench);
    EXPECT_EQ(o.bench.pages, 20000);
    EXPECT_EQ(o.bench.hosts, 8);
    EXPECT_EQ(o.bench.page_bytes, 1000);
    EXPECT_EQ(o.bench.links, 12);
    EXPECT_EQ(o.bench.concurrency, 64);
    EXPECT_EQ(o.bench.delay_ms, 50);
    EXPECT_EQ(o.overrides, json::object());
  }
  EXPECT_EQ(parse_ok({"bench", "--pages", "5", "--pages=7"}).bench.pages, 7);  // last wins
  EXPECT_EQ(parse_ok({"bench", "-q"}).verbosity, -1);
  EXPECT_EQ(parse_ok({"bench", "-vv"}).verbosity, 2);
  EXPECT_EQ(parse_ok({"bench", "--pages", "3", "--help"}).cmd, command::help);
  EXPECT_EQ(parse_ok({"bench", "--version"}).cmd, command::version);
}

TEST(CliBench, RangeEdgesAreAccepted) {
  const cli_options low = parse_ok({"bench", "--pages=1", "--hosts=1", "--page-bytes=0",
                                    "--links=0", "--concurrency=1", "--delay-ms=0"});
  EXPECT_EQ(low.bench.pages, 1);
  EXPECT_EQ(low.bench.page_bytes, 0);
  EXPECT_EQ(low.bench.links, 0);
  EXPECT_EQ(low.bench.concurrency, 1);
  const cli_options high =
      parse_ok({"bench", "--pages=10000000", "--hosts=10000", "--page-bytes=10000000",
                "--links=100000", "--concurrency=100000", "--delay-ms=600000"});
  EXPECT_EQ(high.bench.pages, 10000000);
  EXPECT_EQ(high.bench.hosts, 10000);
  EXPECT_EQ(high.bench.page_bytes, 10000000);
  EXPECT_EQ(high.bench.links, 100000);
  EXPECT_EQ(high.bench.concurrency, 100000);
  EXPECT_EQ(high.bench.delay_ms, 600000);
}

TEST(CliBench, BadValuesNameTheFlagAndTheRange) {
  EXPECT_EQ(only_error(parse({"bench", "--pages", "0"})).text(),
            "--pages: must be an integer from 1 to 10000000, got \"0\"");
  EXPECT_EQ(only_error(parse({"bench", "--pages=10000001"})).key, "--pages");
  EXPECT_EQ(only_error(parse({"bench", "--hosts=0"})).key, "--hosts");
  EXPECT_EQ(only_error(parse({"bench", "--hosts=10001"})).key, "--hosts");
  EXPECT_EQ(only_error(parse({"bench", "--page-bytes=-1"})).key, "--page-bytes");
  EXPECT_EQ(only_error(parse({"bench", "--page-bytes=10000001"})).key, "--page-bytes");
  EXPECT_EQ(only_error(parse({"bench", "--links=-1"})).key, "--links");
  EXPECT_EQ(only_error(parse({"bench", "--concurrency=0"})).key, "--concurrency");
  EXPECT_EQ(only_error(parse({"bench", "--delay-ms=-5"})).key, "--delay-ms");
  EXPECT_EQ(only_error(parse({"bench", "--delay-ms=600001"})).key, "--delay-ms");
  EXPECT_EQ(only_error(parse({"bench", "--concurrency", "fast"})).text(),
            "--concurrency: must be an integer from 1 to 100000, got \"fast\"");
  // Larger than an int, and than an int64: still a range error, never a wrapped value.
  EXPECT_EQ(only_error(parse({"bench", "--pages=4294967297"})).key, "--pages");
  EXPECT_EQ(only_error(parse({"bench", "--pages=99999999999999999999"})).key, "--pages");
  EXPECT_EQ(only_error(parse({"bench", "--links="})).key, "--links");
  EXPECT_EQ(only_error(parse({"bench", "--pages"})).text(), "--pages: missing value");
  // A bad value leaves the default in place.
  EXPECT_EQ(parse({"bench", "--pages=0"}).options.bench.pages, 5000);
}

TEST(CliBench, RefusesUrlsAndCrawlOnlyFlags) {
  EXPECT_EQ(only_error(parse({"bench", "http://a.test/"})).key, "http://a.test/");
  const config_error crawl_flag = only_error(parse({"bench", "--max-pages=3"}));
  EXPECT_EQ(crawl_flag.key, "--max-pages");
  EXPECT_TRUE(crawl_flag.message.starts_with("unknown option")) << crawl_flag.message;
  EXPECT_EQ(only_error(parse({"bench", "-o"})).key, "-o");
  // ...and the site's shape is no crawl flag.
  EXPECT_EQ(only_error(parse({"crawl", "--hosts=3"})).key, "--hosts");
  EXPECT_EQ(only_error(parse({"serve", "--pages=3"})).key, "--pages");
}

// ---------------------------------------------------------------------------------------
// build_crawl_config: file + flags + seeds

load_result build(std::vector<std::string> args) {
  const cli_result r = parse_cli(args);
  EXPECT_TRUE(r.ok()) << all_errors(r);
  return build_crawl_config(r.options);
}

TEST(CliBuild, NoFileNoFlagsIsTheDefaultsAndNoSeedsIsNotAnError) {
  const load_result r = build({"crawl"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config, crawl_config{});
}

TEST(CliBuild, FlagsAlone) {
  const load_result r =
      build({"crawl", "--max-pages", "7", "--no-robots", "--resolve", "a.test:80:[::1]", "a.test"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  crawl_config expected;
  expected.scope.max_pages = 7;
  expected.robots.obey = false;
  expected.network.resolve = {{"a.test:80", "::1"}};
  expected.seeds = {"a.test"};
  EXPECT_EQ(r.config, expected);
}

TEST(CliBuild, EveryFlagReachesItsKey) {
  temp_dir dir;
  std::vector<std::string> args = every_crawl_flag;
  args[2] = dir.write("site.yaml", "");
  const load_result r = build(args);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const crawl_config& c = r.config;
  EXPECT_EQ(c.output.path, "out.jsonl");
  EXPECT_EQ(c.scope.max_pages, 100);
  EXPECT_EQ(c.scope.max_depth, 3);
  EXPECT_EQ(c.limits.concurrency, 8);
  EXPECT_EQ(c.limits.per_host, 1);
  EXPECT_EQ(c.limits.delay_ms, 250);
  EXPECT_EQ(c.scope.mode, "domain");
  EXPECT_EQ(c.scope.include, std::vector<std::string>{"^https://a\\.test/"});
  EXPECT_EQ(c.scope.exclude, std::vector<std::string>{"\\.pdf$"});
  EXPECT_EQ(c.limits.max_redirects, 4);
  EXPECT_EQ(c.limits.max_tries, 5);
  EXPECT_EQ(c.limits.timeout_ms, 7000);
  EXPECT_EQ(c.robots.user_agent, "bot/1.0");
  EXPECT_FALSE(c.robots.obey);
  EXPECT_EQ(c.state.dir, "/tmp/st");
  EXPECT_TRUE(c.network.allow_private);
  EXPECT_EQ(c.network.resolve,
            (std::vector<std::pair<std::string, std::string>>{{"a.test:443", "127.0.0.1"}}));
  EXPECT_EQ(c.seeds, (std::vector<std::string>{"http://a.test/", "b.test"}));
}

TEST(CliBuild, ParsePriorityReachesItsKeyForCrawlAndBench) {
  const json low = {{"limits", {{"parse_priority", "low"}}}};
  EXPECT_EQ(parse_ok({"crawl", "--parse-priority", "low"}).overrides, low);
  EXPECT_EQ(parse_ok({"bench", "--parse-priority=low"}).overrides, low);
  EXPECT_EQ(build({"crawl", "--parse-priority", "batch"}).config.limits.parse_priority, "batch");
  // A bad value is an error that names the flag it came from.
  const load_result bad = build({"crawl", "--parse-priority", "high"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors.front().text(),
            "--parse-priority: must be one of idle, low, batch, normal, got \"high\"");
}

constexpr std::string_view site_yaml = R"(seeds: [https://file.test/]
scope:
  max_pages: 10
  include: ['^https://file\.test/']
  exclude: ['\.zip$']
limits:
  per_host: 3
  delay_ms: 100
network:
  resolve:
    "file.test:443": 10.0.0.1
    "other.test:80": 10.0.0.2
)";

TEST(CliBuild, SeedsAddToTheFileSeeds) {
  temp_dir dir;
  const std::string file = dir.write("site.yaml", site_yaml);
  const load_result r = build({"crawl", "-c", file, "https://cli.test/", "cli2.test"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.seeds,
            (std::vector<std::string>{"https://file.test/", "https://cli.test/", "cli2.test"}));

  const std::string single = dir.write("single.yaml", "seeds: https://one.test/\n");
  const load_result s = build({"crawl", "--config", single, "two.test"});
  ASSERT_TRUE(s.ok()) << all_errors(s);
  EXPECT_EQ(s.config.seeds, (std::vector<std::string>{"https://one.test/", "two.test"}));
}

TEST(CliBuild, FlagsOverrideFileKeysAndKeepTheOthers) {
  temp_dir dir;
  const std::string file = dir.write("site.yaml", site_yaml);
  const load_result r = build({"crawl", "-c", file, "--max-pages", "5", "--delay-ms=0"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.scope.max_pages, 5);
  EXPECT_EQ(r.config.limits.delay_ms, 0);
  EXPECT_EQ(r.config.limits.per_host, 3);  // from the file
  EXPECT_EQ(r.config.scope.include, std::vector<std::string>{"^https://file\\.test/"});
  EXPECT_EQ(r.config.scope.exclude, std::vector<std::string>{"\\.zip$"});
}

TEST(CliBuild, IncludeFlagsReplaceTheFileListAndResolveAddsToIt) {
  temp_dir dir;
  const std::string file = dir.write("site.yaml", site_yaml);
  const load_result r = build({"crawl", "-c", file, "--include", "a", "--include", "b", "--resolve",
                               "file.test:443:10.9.9.9", "--resolve", "new.test:80:10.0.0.3"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.scope.include, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.config.scope.exclude, std::vector<std::string>{"\\.zip$"});  // not given: kept
  EXPECT_EQ(r.config.network.resolve,
            (std::vector<std::pair<std::string, std::string>>{{"file.test:443", "10.9.9.9"},
                                                              {"new.test:80", "10.0.0.3"},
                                                              {"other.test:80", "10.0.0.2"}}));
}

TEST(CliBuild, JsonConfigFile) {
  temp_dir dir;
  const std::string file =
      dir.write("c.json", R"({"seeds": ["https://j.test/"], "limits": {"concurrency": 3}})");
  const load_result r = build({"crawl", "-c", file, "--per-host", "2"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.seeds, std::vector<std::string>{"https://j.test/"});
  EXPECT_EQ(r.config.limits.concurrency, 3);
  EXPECT_EQ(r.config.limits.per_host, 2);
}

TEST(CliBuild, MissingOrUnreadableConfigFile) {
  temp_dir dir;
  const std::string missing = (dir.path() / "missing.yaml").string();
  const config_error e = only_error(build({"crawl", "-c", missing, "a.test"}));
  EXPECT_EQ(e.key, "--config");
  EXPECT_EQ(e.message, "cannot read \"" + missing + "\": No such file or directory");

  const config_error d = only_error(build({"crawl", "--config", dir.path().string()}));
  EXPECT_EQ(d.key, "--config");
  EXPECT_NE(d.message.find(dir.path().string()), std::string::npos) << d.message;

  EXPECT_EQ(only_error(build({"serve", "--config", missing})).key, "--config");
}

TEST(CliBuild, BadFileContent) {
  temp_dir dir;
  const config_error syntax = only_error(build({"crawl", "-c", dir.write("bad.yaml", "a: [\n")}));
  EXPECT_EQ(syntax.key, "config");
  EXPECT_NE(syntax.message.find("bad.yaml"), std::string::npos);

  // Flags must not paper over a file that is not a mapping.
  const config_error list =
      only_error(build({"crawl", "-c", dir.write("list.yaml", "- a\n"), "--max-pages", "3"}));
  EXPECT_EQ(list.text(), "config: must be a mapping, got [\"a\"]");

  const load_result r =
      build({"crawl", "-c", dir.write("bad.yaml", "limits:\n  per_host: 0\n"), "--max-pages", "3"});
  EXPECT_EQ(only_error(r).key, "limits.per_host");  // from the file: named by its key
}

TEST(CliBuild, BadFlagValuesAreNamedByTheFlag) {
  const config_error pages = only_error(build({"crawl", "--max-pages", "-1"}));
  EXPECT_EQ(pages.text(), "--max-pages: must be an integer from 0 to 9007199254740992, got -1");
  EXPECT_EQ(only_error(build({"crawl", "--concurrency", "0"})).key, "--concurrency");
  EXPECT_EQ(only_error(build({"crawl", "--scope", "galaxy"})).text(),
            "--scope: must be one of host, domain, any, got \"galaxy\"");
  EXPECT_EQ(only_error(build({"crawl", "--include", "ok", "--include", "(bad"})).key, "--include");
  EXPECT_EQ(only_error(build({"crawl", "--resolve", "a.test:80:not-an-ip"})).key, "--resolve");
  EXPECT_EQ(only_error(build({"crawl", "--resolve", "a.test:99999:1.2.3.4"})).key, "--resolve");
  EXPECT_EQ(only_error(build({"crawl", "--user-agent", ""})).text(),
            "--user-agent: must not be empty");
  EXPECT_EQ(only_error(build({"crawl", "-o", ""})).key, "--output");
  EXPECT_EQ(only_error(build({"serve", "--listen", "nowhere"})).key, "--listen");
}

TEST(CliBuild, FileErrorUnderAKeyAFlagDidNotSetKeepsTheKey) {
  temp_dir dir;
  const std::string file = dir.write(
      "c.yaml", "network:\n  resolve:\n    \"bad.test:0\": 1.2.3.4\nscope:\n  include: ['(']\n");
  const load_result r = build({"crawl", "-c", file, "--resolve", "ok.test:80:1.2.3.4"});
  std::set<std::string> keys;
  for (const auto& e : r.errors) keys.insert(e.key);
  EXPECT_EQ(keys, (std::set<std::string>{"network.resolve.bad.test:0", "scope.include[0]"}))
      << all_errors(r);
}

TEST(CliBuild, EmptySeedArgumentIsAnError) {
  EXPECT_EQ(only_error(build({"crawl", ""})).key, "SEED_URL");
}

TEST(CliBuild, ServeListenOverridesTheFile) {
  temp_dir dir;
  const std::string file =
      dir.write("svc.yaml", "api:\n  listen: 127.0.0.1:1\n  token: abc\n  data_dir: /d\n");
  const load_result r = build({"serve", "-c", file, "--listen", "[::]:8443"});
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.api.listen, "[::]:8443");
  EXPECT_EQ(r.config.api.token, "abc");
  EXPECT_EQ(r.config.api.data_dir, "/d");
  EXPECT_TRUE(r.config.seeds.empty());
}

}  // namespace

TEST(CliExplain, UrlThenOutputsStateDirConfigAndJson) {
  auto r = parse({"explain", "http://a/x", "out.jsonl", "segments/", "--state-dir", "st", "-c",
                  "c.yaml", "--json"});
  ASSERT_TRUE(r.ok()) << r.errors.front().text();
  EXPECT_EQ(r.options.cmd, command::explain);
  EXPECT_EQ(r.options.explain_url, "http://a/x");
  EXPECT_EQ(r.options.inputs, (std::vector<std::string>{"out.jsonl", "segments/"}));
  EXPECT_EQ(r.options.state_dir, "st");
  EXPECT_EQ(r.options.config_path, "c.yaml");
  EXPECT_TRUE(r.options.json_output);
  // The state dir alone is enough; nothing at all is not.
  EXPECT_TRUE(parse({"explain", "http://a/", "--state-dir=st"}).ok());
  EXPECT_EQ(only_error(parse({"explain", "http://a/"})).key, "explain");
  EXPECT_EQ(only_error(parse({"explain"})).key, "explain");
  EXPECT_EQ(only_error(parse({"explain", "http://a/", "x", "--max-pages", "3"})).key,
            "--max-pages");
}

TEST(CliReport, OutputAndForce) {
  auto r = parse({"report", "out.jsonl", "segments/"});
  ASSERT_TRUE(r.ok()) << r.errors.front().text();
  EXPECT_EQ(r.options.cmd, command::report);
  EXPECT_EQ(r.options.inputs, (std::vector<std::string>{"out.jsonl", "segments/"}));
  EXPECT_FALSE(r.options.report_output);
  EXPECT_FALSE(r.options.report_force);
  r = parse({"report", "out.jsonl", "--force", "-o", "r.html"});
  ASSERT_TRUE(r.ok()) << r.errors.front().text();
  EXPECT_TRUE(r.options.report_force);
  EXPECT_EQ(r.options.report_output, "r.html");
  // A flag without a value.
  EXPECT_EQ(only_error(parse({"report", "out.jsonl", "--force=yes"})).key, "--force");
}

TEST(CliReport, BrokenLinksNamesTheCsv) {
  auto r = parse({"report", "out/", "--broken-links", "broken.csv"});
  ASSERT_TRUE(r.ok()) << r.errors.front().text();
  EXPECT_EQ(r.options.report_broken_links, "broken.csv");
  EXPECT_FALSE(r.options.report_output);
  r = parse({"report", "out/", "--broken-links=-", "-o", "r.html"});
  ASSERT_TRUE(r.ok()) << r.errors.front().text();
  EXPECT_EQ(r.options.report_broken_links, "-");
  EXPECT_EQ(r.options.report_output, "r.html");
  EXPECT_EQ(only_error(parse({"report", "out/", "--broken-links"})).key, "--broken-links");
  EXPECT_NE(usage_text().find("--broken-links CSV"), std::string::npos);
}
