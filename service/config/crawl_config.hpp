#pragma once

// The crawl configuration as one value type, and its validation (SPEC "Config").
// Key names, defaults and ranges are mirrored by proto-free-api/config.schema.json;
// a unit test keeps the two equal.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/version.hpp"

namespace trawler::config {

struct scope_config {
  std::string mode = "host";                  // host | domain | any
  std::vector<std::string> include, exclude;  // RE2 patterns, checked to compile
  int max_depth = 10;
  std::int64_t max_pages = 0;  // 0: no limit
  int max_url_length = 2048;
  std::int64_t max_pages_per_host = 0;  // 0: no limit; bounds spider traps on one host
  bool operator==(const scope_config&) const = default;
};

struct limits_config {
  int concurrency = 64;
  int per_host = 2;
  std::int64_t delay_ms = 0;
  std::int64_t connect_timeout_ms = 10000;
  std::int64_t timeout_ms = 30000;
  int max_redirects = 10;
  int max_tries = 3;
  std::int64_t max_retry_after_ms = 300000;
  std::int64_t max_body_bytes = 10485760;
  // AutoThrottle: a host's start spacing follows its response time, between delay_ms and
  // adaptive_max_delay_ms.
  bool adaptive = false;
  std::int64_t adaptive_max_delay_ms = 60000;
  // How the HTML parse threads share the CPU with the I/O thread: "idle" (SCHED_IDLE: they
  // run when nothing else of higher class in the same cgroup wants the core), "low" (nice
  // +5) or "normal".
  std::string parse_priority = "normal";
  bool operator==(const limits_config&) const = default;
};

struct robots_config {
  bool obey = true;
  std::string user_agent = std::string("trawler/") + trawler::version;
  std::int64_t max_crawl_delay_ms = 30000;
  std::int64_t cache_ttl_ms = 86400000;  // a host's robots.txt is fetched again after this
  bool operator==(const robots_config&) const = default;
};

struct fetch_config {
  // Sorted by name (they come from a JSON object); never User-Agent, Host, Content-Length,
  // Transfer-Encoding, Connection, Accept-Encoding, TE, Upgrade or Keep-Alive.
  std::vector<std::pair<std::string, std::string>> headers;
  bool tls_verify = true;
  std::vector<std::string> accept_encoding{"gzip", "deflate", "br"};
  bool follow_nofollow = false;
  // Fetch what a browser loads to show each HTML page (images, style sheets, scripts, icons,
  // media, CSS url()s): SPEC additions "Page requisites".
  bool requisites = false;
  bool operator==(const fetch_config&) const = default;
};

struct network_config {
  bool allow_private = false;
  // "host:port" -> "address". Normalized on load: host lowercased, port in plain decimal,
  // address without IPv6 brackets (so it feeds inet_pton / asio::ip::make_address as is).
  std::vector<std::pair<std::string, std::string>> resolve;
  bool operator==(const network_config&) const = default;
};

struct output_config {
  std::string path = "-";  // "-": stdout
  std::vector<std::string> fields{"links", "title"};
  // Rotated segments (records-NNNNNN.jsonl[.gz|.zst]) in this folder instead of `path`.
  std::string dir;
  std::int64_t rotate_bytes = 0;    // 0: no size limit; record bytes before compression
  std::int64_t rotate_seconds = 0;  // 0: no age limit; from a segment's first record
  std::string compress = "none";    // none | gzip | zstd (segments only)
  // WARC/1.1 archive of every response (request, response, metadata records) in this folder.
  std::string warc;
  std::int64_t warc_rotate_bytes = 1000000000;  // a WARC file is closed past this size
  bool operator==(const output_config&) const = default;
};

struct sitemaps_config {
  bool enabled = false;               // read sitemaps named in robots.txt (else /sitemap.xml)
  int max_files = 100;                // sitemap files (indexes included) fetched per crawl
  std::int64_t max_urls = 100000;     // URLs taken from sitemaps per crawl
  std::int64_t max_bytes = 52428800;  // decoded size of one sitemap file
  // Recrawl continuous: a known URL whose <lastmod> is newer than its last visit comes due
  // (no sooner than min_interval_ms after it). auto: only on hosts where such visits keep
  // finding changes; trust: always; ignore: never.
  std::string lastmod = "auto";
  bool operator==(const sitemaps_config&) const = default;
};

struct state_config {
  std::string dir;  // empty: in memory only
  bool operator==(const state_config&) const = default;
};

// Cluster mode (SPEC additions "Cluster"): every worker started with the same Redis and name
// is part of one crawl.
struct cluster_config {
  // redis://[user:password@]host:port[/db], or a Redis Cluster's nodes separated by commas
  // (redis::parse_urls); empty: a single-process crawl
  std::string redis;
  std::string name = "default";  // the crawl's name in that Redis
  int lease_ms = 15000;          // how long a dead worker's buckets stay owned
  int buckets = 1024;            // host buckets of the crawl (its first worker fixes them)
  bool operator==(const cluster_config&) const = default;
};

// Continuous crawling (SPEC additions "Recrawl"): visited URLs come due again.
struct recrawl_rule {
  std::string match;  // RE2 on the absolute URL; the first rule that matches applies
  // 0: the recrawl section's value.
  std::int64_t interval_ms = 0;
  std::int64_t min_interval_ms = 0;
  std::int64_t max_interval_ms = 0;
  bool operator==(const recrawl_rule&) const = default;
};

struct recrawl_config {
  std::string mode = "off";                   // off | continuous | pass
  std::int64_t interval_ms = 86400000;        // first revisit after a 2xx
  std::int64_t min_interval_ms = 3600000;     // shortest interval; hubs (seeds, sitemaps) use it
  std::int64_t max_interval_ms = 2592000000;  // longest; also the unconditional-GET period
  double grow = 0.5;                          // unchanged / 304: interval * (1 + grow)
  double shrink = 0.5;                        // changed: interval - shrink * (interval - min)
  double jitter = 0.1;                        // +- share of the interval on each due time
  std::int64_t error_interval_ms = 7200000;   // after a failed visit
  int gone_after = 2;                         // consecutive 404s, min_interval_ms apart
  std::int64_t unreachable_ms = 604800000;    // failing this long: gone (unreachable)
  double revisit_share = 0.5;  // most of a host's starts that revisits take while new URLs wait
  std::vector<recrawl_rule> rules;
  bool operator==(const recrawl_config&) const = default;
};

struct api_config {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT, [v6]:PORT; port 0 = any free port
  std::string token;
  std::string data_dir = "./trawler-data";
  bool operator==(const api_config&) const = default;
};

// Seeds may be empty here: the caller decides (they may come from the command line, or
// from the API later), e.g. `if (cfg.seeds.empty()) exit 2`.
struct crawl_config {
  std::vector<std::string> seeds;
  scope_config scope;
  limits_config limits;
  robots_config robots;
  fetch_config fetch;
  network_config network;
  output_config output;
  sitemaps_config sitemaps;
  state_config state;
  cluster_config cluster;
  recrawl_config recrawl;
  api_config api;
  bool operator==(const crawl_config&) const = default;
};

struct config_error {
  // Dotted path ("limits.concurrency", "scope.include[2]", "fetch.headers.User-Agent"),
  // a flag ("--max-pages"), "config" for file/syntax problems, or "" for a document
  // that is not a mapping (then the message itself starts with "config: ").
  std::string key;
  std::string message;
  // "limits.concurrency: must be an integer from 1 to 100000, got \"fast\"";
  // just the message when key is empty.
  std::string text() const;
  bool operator==(const config_error&) const = default;
};

struct load_result {
  crawl_config config;  // defaults wherever a key was missing or wrong
  std::vector<config_error> errors;
  bool ok() const { return errors.empty(); }
};

// Validates and converts; collects every error (unknown keys, types, ranges), never throws.
load_result from_json(const nlohmann::json& doc);
// YAML or JSON text (JSON when it starts with '{' or origin_name ends in ".json");
// empty text is an empty config. origin_name names the text in syntax errors.
load_result parse_text(std::string_view text, std::string_view origin_name);
// A missing, unreadable or unparsable file is an error with key "config" naming the path
// and the reason (line and column for syntax errors).
load_result load_file(const std::string& path);
// (config/document.hpp parses without validating, for callers that merge documents.)

// What `trawler crawl` needs beyond a valid config: recrawl.mode other than off needs a state
// dir (the visit history has to outlive the process). The service gives every crawl one.
std::vector<config_error> crawl_command_problems(const crawl_config& c);

// Every key, defaults included; from_json(to_json(c)).config == c. (Include
// <nlohmann/json.hpp> to use the result: this header only forward-declares json.)
nlohmann::json to_json(const crawl_config& c);
// RFC 7386 JSON Merge Patch: objects merge deeply, null deletes, anything else replaces
// (arrays too, so `--include` replaces the file's list).
nlohmann::json merge_patch(nlohmann::json base, const nlohmann::json& patch);

}  // namespace trawler::config
