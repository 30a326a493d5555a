#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/histogram.hpp"
#include "metrics/prometheus.hpp"

namespace {

using namespace trawler::metrics;
using trawler::error_kind;

// ---- a small parser of the text exposition format, strict enough to catch slips ----------

struct parsed_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

struct exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> helps;
  std::vector<parsed_sample> samples;
  std::vector<std::string> problems;

  // The single sample with this name and these labels (a subset match would hide extras).
  const parsed_sample* find(const std::string& name,
                            const std::map<std::string, std::string>& labels) const {
    const parsed_sample* hit = nullptr;
    for (const auto& s : samples) {
      if (s.name != name || s.labels != labels) continue;
      if (hit) throw std::runtime_error("duplicate series " + name);
      hit = &s;
    }
    return hit;
  }
  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    const parsed_sample* s = find(name, labels);
    if (!s) throw std::runtime_error("no series " + name);
    return std::stod(s->value);
  }
  std::string raw(const std::string& name, const std::map<std::string, std::string>& labels) const {
    const parsed_sample* s = find(name, labels);
    if (!s) throw std::runtime_error("no series " + name);
    return s->value;
  }
};

bool valid_metric_name(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':')) return false;
  }
  return true;
}

// The family a sample belongs to: histogram suffixes map back to their base name.
std::string family_of(const exposition& e, const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      auto it = e.types.find(base);
      if (it != e.types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

exposition parse(const std::string& text) {
  exposition e;
  if (text.empty() || text.back() != '\n') e.problems.push_back("does not end with a newline");
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) {
      e.problems.push_back("empty line");
      continue;
    }
    if (line.rfind("# ", 0) == 0) {
      std::string rest = line.substr(2);
      std::string kw = rest.substr(0, rest.find(' '));
      std::string after = rest.substr(kw.size() + 1);
      std::string name = after.substr(0, after.find(' '));
      std::string arg = after.substr(name.size() + 1);
      if (kw == "TYPE") {
        if (e.types.count(name)) e.problems.push_back("second TYPE for " + name);
        if (!e.samples.empty() && family_of(e, e.samples.back().name) == name) {
          e.problems.push_back("TYPE after samples of " + name);
        }
        e.types[name] = arg;
      } else if (kw == "HELP") {
        if (e.helps.count(name)) e.problems.push_back("second HELP for " + name);
        e.helps[name] = arg;
      }
      continue;
    }
    parsed_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name += line[i++];
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string key;
        while (i < line.size() && line[i] != '=') key += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') {
          e.problems.push_back("bad label in: " + line);
          break;
        }
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char n = line[i + 1];
            if (n == 'n') {
              value += '\n';
            } else if (n == '\\' || n == '"') {
              value += n;
            } else {
              e.problems.push_back("bad escape in: " + line);
            }
            i += 2;
          } else {
            value += line[i++];
          }
        }
        ++i;  // closing quote
        if (s.labels.count(key)) e.problems.push_back("repeated label " + key);
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // closing brace
    }
    if (i >= line.size() || line[i] != ' ') {
      e.problems.push_back("no value in: " + line);
      continue;
    }
    s.value = line.substr(i + 1);
    if (!valid_metric_name(s.name)) e.problems.push_back("bad name: " + s.name);
    std::string fam = family_of(e, s.name);
    if (!e.types.count(fam)) e.problems.push_back("sample before its TYPE: " + s.name);
    const std::string& v = s.value;
    if (v != "NaN" && v != "+Inf" && v != "-Inf") {
      std::size_t used = 0;
      try {
        (void)std::stod(v, &used);
      } catch (...) {
        used = 0;
      }
      if (used != v.size() || v.empty()) e.problems.push_back("bad value in: " + line);
    }
    e.samples.push_back(std::move(s));
  }
  return e;
}

crawl_snapshot snapshot(std::string id, std::string state) {
  crawl_snapshot c;
  c.id = std::move(id);
  c.state = std::move(state);
  return c;
}

// ---- histogram ------------------------------------------------------------------------------

TEST(Histogram, EmptyHasZeroEverywhere) {
  histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0.0);
  for (std::size_t i = 0; i <= histogram::upper_bounds.size(); ++i) EXPECT_EQ(h.cumulative(i), 0u);
}

TEST(Histogram, BoundsAreAscendingFrom5msTo30s) {
  const auto& b = histogram::upper_bounds;
  EXPECT_EQ(b.front(), 0.005);
  EXPECT_EQ(b.back(), 30.0);
  for (std::size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
}

TEST(Histogram, ValueOnABoundCountsInThatBucket) {
  histogram h;
  h.observe(0.005);  // le="0.005" includes 0.005
  EXPECT_EQ(h.cumulative(0), 1u);
  h.observe(0.0050001);
  EXPECT_EQ(h.cumulative(0), 1u);
  EXPECT_EQ(h.cumulative(1), 2u);
}

TEST(Histogram, CumulativeCountsSumAndInfBucket) {
  histogram h;
  h.observe(0.001);  // bucket 0
  h.observe(0.2);    // le 0.25 (index 5)
  h.observe(0.3);    // le 0.5 (index 6)
  h.observe(31.0);   // only +Inf
  h.observe(1e9);    // only +Inf
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.001 + 0.2 + 0.3 + 31.0 + 1e9);
  EXPECT_EQ(h.cumulative(0), 1u);
  EXPECT_EQ(h.cumulative(4), 1u);
  EXPECT_EQ(h.cumulative(5), 2u);
  EXPECT_EQ(h.cumulative(6), 3u);
  EXPECT_EQ(h.cumulative(histogram::upper_bounds.size() - 1), 3u);  // le 30
  EXPECT_EQ(h.cumulative(histogram::upper_bounds.size()), 5u);      // +Inf
  EXPECT_EQ(h.cumulative(1000), 5u);                                // past the end clamps to +Inf
}

TEST(Histogram, NanIsIgnoredNegativeAndInfinityAreCounted) {
  histogram h;
  h.observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0.0);
  h.observe(-1.0);  // a clock step backwards: still an observation, in the lowest bucket
  EXPECT_EQ(h.cumulative(0), 1u);
  h.observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.cumulative(histogram::upper_bounds.size() - 1), 1u);
  EXPECT_EQ(h.count(), 2u);
}

// ---- value and label formatting ---------------------------------------------------------------

TEST(PrometheusFormat, Values) {
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(30.0), "30");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(0.0), "0");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);  // round-trips exactly
  EXPECT_EQ(format_value(std::uint64_t{0}), "0");
  EXPECT_EQ(format_value(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(format_value(std::uint64_t{9007199254740993}), "9007199254740993");  // 2^53 + 1
}

TEST(PrometheusFormat, LabelEscaping) {
  EXPECT_EQ(escape_label_value("plain-id_1"), "plain-id_1");
  EXPECT_EQ(escape_label_value("a\"b"), "a\\\"b");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("a\nb"), "a\\nb");
  EXPECT_EQ(escape_label_value(""), "");
  EXPECT_EQ(escape_label_value("tab\there"), "tab\there");  // only \, " and LF are escaped
  EXPECT_EQ(escape_label_value("\xC3\xA9t\xC3\xA9"), "\xC3\xA9t\xC3\xA9");  // UTF-8 as is
}

// ---- rendering --------------------------------------------------------------------------------

const std::vector<std::string> all_families = {"trawler_crawls",
                                               "trawler_pages_total",
                                               "trawler_responses_total",
                                               "trawler_errors_total",
                                               "trawler_bytes_total",
                                               "trawler_filtered_urls_total",
                                               "trawler_robots_fetches_total",
                                               "trawler_frontier_queued",
                                               "trawler_seen_urls",
                                               "trawler_open_requests",
                                               "trawler_fetch_duration_seconds"};

TEST(Prometheus, NoCrawlsStillDeclaresEveryFamily) {
  auto text = render_prometheus({});
  auto e = parse(text);
  EXPECT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems) << text;
  for (const auto& f : all_families) {
    EXPECT_TRUE(e.types.count(f)) << f;
    EXPECT_TRUE(e.helps.count(f)) << f;
    EXPECT_FALSE(e.helps[f].empty()) << f;
  }
  EXPECT_EQ(e.types["trawler_pages_total"], "counter");
  EXPECT_EQ(e.types["trawler_frontier_queued"], "gauge");
  EXPECT_EQ(e.types["trawler_fetch_duration_seconds"], "histogram");
  // Only the per-state crawl counts, all zero.
  ASSERT_EQ(e.samples.size(), 5u);
  for (const char* s : {"running", "paused", "completed", "cancelled", "failed"}) {
    EXPECT_EQ(e.value("trawler_crawls", {{"state", s}}), 0.0) << s;
  }
}

TEST(Prometheus, OneCrawlValuesRoundTrip) {
  crawl_snapshot c = snapshot("a1b2c3", "running");
  c.counters.pages = 42;
  c.counters.status_classes = {30, 5, 6, 1};
  c.counters.other_status = 0;
  c.counters.errors[static_cast<std::size_t>(error_kind::dns)] = 3;
  c.counters.errors[static_cast<std::size_t>(error_kind::redirect_limit)] = 2;
  c.counters.bytes = 123456789012ull;
  c.counters.seen = 100;
  c.counters.queued = 50;
  c.counters.in_flight = 7;
  c.counters.filtered = 11;
  c.counters.robots_fetches = 2;
  c.fetch_duration.observe(0.003);
  c.fetch_duration.observe(0.2);
  c.fetch_duration.observe(45.0);
  std::vector<crawl_snapshot> v{c};
  auto text = render_prometheus(v);
  auto e = parse(text);
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems) << text;

  std::map<std::string, std::string> l{{"crawl", "a1b2c3"}};
  EXPECT_EQ(e.value("trawler_pages_total", l), 42);
  EXPECT_EQ(e.raw("trawler_bytes_total", l), "123456789012");
  EXPECT_EQ(e.value("trawler_seen_urls", l), 100);
  EXPECT_EQ(e.value("trawler_frontier_queued", l), 50);
  EXPECT_EQ(e.value("trawler_open_requests", l), 7);
  EXPECT_EQ(e.value("trawler_filtered_urls_total", l), 11);
  EXPECT_EQ(e.value("trawler_robots_fetches_total", l), 2);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "a1b2c3"}, {"class", "2xx"}}), 30);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "a1b2c3"}, {"class", "3xx"}}), 5);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "a1b2c3"}, {"class", "4xx"}}), 6);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "a1b2c3"}, {"class", "5xx"}}), 1);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "a1b2c3"}, {"class", "other"}}), 0);
  // Every kind is a series (zeros included) so rate() works from the first error on.
  for (auto k : trawler::all_error_kinds) {
    double want = k == error_kind::dns ? 3 : k == error_kind::redirect_limit ? 2 : 0;
    EXPECT_EQ(e.value("trawler_errors_total",
                      {{"crawl", "a1b2c3"}, {"kind", std::string(trawler::to_string(k))}}),
              want)
        << trawler::to_string(k);
  }
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "running"}}), 1);
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "completed"}}), 0);

  // Histogram: one bucket per bound plus +Inf, cumulative, +Inf equal to _count.
  double previous = 0;
  for (double b : histogram::upper_bounds) {
    auto le = format_value(b);
    double n = e.value("trawler_fetch_duration_seconds_bucket", {{"crawl", "a1b2c3"}, {"le", le}});
    EXPECT_GE(n, previous) << le;
    previous = n;
  }
  EXPECT_EQ(
      e.value("trawler_fetch_duration_seconds_bucket", {{"crawl", "a1b2c3"}, {"le", "0.005"}}), 1);
  EXPECT_EQ(e.value("trawler_fetch_duration_seconds_bucket", {{"crawl", "a1b2c3"}, {"le", "0.25"}}),
            2);
  EXPECT_EQ(e.value("trawler_fetch_duration_seconds_bucket", {{"crawl", "a1b2c3"}, {"le", "30"}}),
            2);
  EXPECT_EQ(e.value("trawler_fetch_duration_seconds_bucket", {{"crawl", "a1b2c3"}, {"le", "+Inf"}}),
            3);
  EXPECT_EQ(e.value("trawler_fetch_duration_seconds_count", l), 3);
  EXPECT_DOUBLE_EQ(e.value("trawler_fetch_duration_seconds_sum", l), 0.003 + 0.2 + 45.0);
  std::size_t buckets = 0;
  for (const auto& s : e.samples) buckets += s.name == "trawler_fetch_duration_seconds_bucket";
  EXPECT_EQ(buckets, histogram::upper_bounds.size() + 1);
}

// 4xx/5xx responses are in trawler_responses_total by class, never in trawler_errors_total, and
// each family's help says where the other kind is.
TEST(Prometheus, HttpErrorsAndFetchErrorsAreToldApart) {
  crawl_snapshot c = snapshot("c", "running");
  c.counters.pages = 9;
  c.counters.status_classes = {5, 0, 3, 1};
  std::vector<crawl_snapshot> v{c};
  auto e = parse(render_prometheus(v));
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "c"}, {"class", "4xx"}}), 3);
  EXPECT_EQ(e.value("trawler_responses_total", {{"crawl", "c"}, {"class", "5xx"}}), 1);
  for (auto k : trawler::all_error_kinds) {
    EXPECT_EQ(e.value("trawler_errors_total",
                      {{"crawl", "c"}, {"kind", std::string(trawler::to_string(k))}}),
              0);
  }
  EXPECT_NE(e.helps["trawler_errors_total"].find("trawler_responses_total"), std::string::npos)
      << e.helps["trawler_errors_total"];
  EXPECT_NE(e.helps["trawler_responses_total"].find("4xx and 5xx (broken links)"),
            std::string::npos)
      << e.helps["trawler_responses_total"];
}

TEST(Prometheus, SeveralCrawlsEachGetTheirSeriesAndStatesAreCounted) {
  std::vector<crawl_snapshot> v{snapshot("one", "running"), snapshot("two", "completed"),
                                snapshot("three", "completed"), snapshot("four", "interrupted")};
  v[0].counters.pages = 1;
  v[1].counters.pages = 2;
  v[2].counters.pages = 3;
  v[3].counters.pages = 4;
  auto e = parse(render_prometheus(v));
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems);
  EXPECT_EQ(e.value("trawler_pages_total", {{"crawl", "one"}}), 1);
  EXPECT_EQ(e.value("trawler_pages_total", {{"crawl", "two"}}), 2);
  EXPECT_EQ(e.value("trawler_pages_total", {{"crawl", "three"}}), 3);
  EXPECT_EQ(e.value("trawler_pages_total", {{"crawl", "four"}}), 4);
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "running"}}), 1);
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "completed"}}), 2);
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "paused"}}), 0);
  // A state outside the SPEC's five still shows up rather than vanishing from the total.
  EXPECT_EQ(e.value("trawler_crawls", {{"state", "interrupted"}}), 1);
  // Series of one family are contiguous: a scraper rejects a family split by another.
  std::vector<std::string> order;
  for (const auto& s : e.samples) {
    std::string f = family_of(e, s.name);
    if (order.empty() || order.back() != f) order.push_back(f);
  }
  std::set<std::string> distinct(order.begin(), order.end());
  EXPECT_EQ(order.size(), distinct.size()) << ::testing::PrintToString(order);
}

// The crawl-wide gauges are there for cluster crawls only, each with its own value, and
// absent (no family) when no crawl is shared.
TEST(Prometheus, ClusterGaugesOnlyForClusterCrawls) {
  std::vector<crawl_snapshot> v{snapshot("solo", "running"), snapshot("fleet", "running")};
  EXPECT_EQ(render_prometheus(v).find("trawler_cluster_"), std::string::npos);
  v[1].fleet = fleet_counts{.seen = 1000,
                            .queued = 200,
                            .claimed = 30,
                            .workers = 4,
                            .hosts_owned = 12,
                            .pages = 500,
                            .owned_here = 3,
                            .revisits = 7};
  auto text = render_prometheus(v);
  auto e = parse(text);
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems) << text;
  const std::map<std::string, double> want = {
      {"trawler_cluster_seen_urls", 1000},  {"trawler_cluster_queued_urls", 200},
      {"trawler_cluster_claimed_urls", 30}, {"trawler_cluster_workers", 4},
      {"trawler_cluster_hosts_owned", 12},  {"trawler_cluster_hosts_owned_here", 3},
      {"trawler_cluster_pages", 500},       {"trawler_cluster_revisits", 7}};
  for (const auto& [name, value] : want) {
    EXPECT_EQ(e.types[name], "gauge") << name;
    EXPECT_EQ(e.value(name, {{"crawl", "fleet"}}), value) << name;
  }
  EXPECT_EQ(text.find("trawler_cluster_workers{crawl=\"solo\"}"), std::string::npos);
}

TEST(Prometheus, RecrawlFamiliesOnlyForRecrawlCrawls) {
  std::vector<crawl_snapshot> v{snapshot("once", "running"), snapshot("fresh", "running")};
  EXPECT_EQ(render_prometheus(v).find("trawler_recrawl_"), std::string::npos);
  recrawl_gauges r;
  r.changes = {10, 4, 30, 25, 2, 1};
  r.conditional = 40;
  r.validators_ignored = 3;
  r.bytes_saved = 123456;
  r.parses_skipped = 55;
  r.waiting = 70;
  r.due = 6;
  r.lag_counts = {5, 3, 0, 1, 0, 0, 0, 0, 2};  // two later than a day
  r.lag_sum_s = 200000.5;
  v[1].recrawl = r;
  auto text = render_prometheus(v);
  auto e = parse(text);
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems) << text;
  EXPECT_EQ(e.types["trawler_recrawl_visits_total"], "counter");
  EXPECT_EQ(e.value("trawler_recrawl_visits_total", {{"crawl", "fresh"}, {"change", "new"}}), 10);
  EXPECT_EQ(
      e.value("trawler_recrawl_visits_total", {{"crawl", "fresh"}, {"change", "not_modified"}}),
      25);
  EXPECT_EQ(e.value("trawler_recrawl_visits_total", {{"crawl", "fresh"}, {"change", "gone"}}), 2);
  const std::map<std::string, std::pair<std::string, double>> want = {
      {"trawler_recrawl_conditional_requests_total", {"counter", 40}},
      {"trawler_recrawl_validators_ignored_total", {"counter", 3}},
      {"trawler_recrawl_bytes_saved_total", {"counter", 123456}},
      {"trawler_recrawl_parses_skipped_total", {"counter", 55}},
      {"trawler_recrawl_waiting_urls", {"gauge", 70}},
      {"trawler_recrawl_due_urls", {"gauge", 6}}};
  for (const auto& [name, tv] : want) {
    EXPECT_EQ(e.types[name], tv.first) << name;
    EXPECT_EQ(e.value(name, {{"crawl", "fresh"}}), tv.second) << name;
  }
  EXPECT_EQ(text.find("trawler_recrawl_due_urls{crawl=\"once\"}"), std::string::npos);
  EXPECT_EQ(e.types["trawler_recrawl_lag_seconds"], "histogram");
  EXPECT_EQ(e.value("trawler_recrawl_lag_seconds_bucket", {{"crawl", "fresh"}, {"le", "0.1"}}), 5);
  EXPECT_EQ(e.value("trawler_recrawl_lag_seconds_bucket", {{"crawl", "fresh"}, {"le", "60"}}), 9);
  EXPECT_EQ(e.value("trawler_recrawl_lag_seconds_bucket", {{"crawl", "fresh"}, {"le", "+Inf"}}),
            11);
  EXPECT_EQ(e.value("trawler_recrawl_lag_seconds_count", {{"crawl", "fresh"}}), 11);
  EXPECT_EQ(e.value("trawler_recrawl_lag_seconds_sum", {{"crawl", "fresh"}}), 200000.5);
}

TEST(Prometheus, HostileCrawlIdIsEscaped) {
  std::string id = "we\"ird\\id\nline";
  std::vector<crawl_snapshot> v{snapshot(id, "running")};
  v[0].counters.pages = 9;
  auto text = render_prometheus(v);
  auto e = parse(text);
  ASSERT_TRUE(e.problems.empty()) << ::testing::PrintToString(e.problems) << text;
  EXPECT_EQ(e.value("trawler_pages_total", {{"crawl", id}}), 9);
  EXPECT_NE(text.find("crawl=\"we\\\"ird\\\\id\\nline\""), std::string::npos);
}

TEST(Prometheus, HugeCountersAreExact) {
  std::vector<crawl_snapshot> v{snapshot("x", "running")};
  v[0].counters.bytes = std::numeric_limits<std::uint64_t>::max();
  auto e = parse(render_prometheus(v));
  ASSERT_TRUE(e.problems.empty());
  EXPECT_EQ(e.raw("trawler_bytes_total", {{"crawl", "x"}}), "18446744073709551615");
}

}  // namespace
