#include "metrics/prometheus.hpp"

#include <algorithm>

#include <charconv>
#include <cmath>
#include <vector>

namespace trawler::metrics {

namespace {

constexpr std::string_view status_class_names[] = {"2xx", "3xx", "4xx", "5xx"};
// The SPEC's crawl states, always exposed (as 0 when no crawl is in one) so a query on a
// state never sees a missing series.
constexpr std::string_view spec_states[] = {"running", "paused", "completed", "cancelled",
                                            "failed"};

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold a 64-bit integer
  out.append(buf, end);
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;  // 32 bytes always hold the shortest form of a double
    out.append(buf, end);
  }
}

void append_escaped_label(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;  // our own texts: no backslash or newline to escape
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

// `name{crawl="id"`: the caller adds any further labels and the closing brace.
void series_start(std::string& out, std::string_view name, const crawl_snapshot& c) {
  out += name;
  out += "{crawl=\"";
  append_escaped_label(out, c.id);
  out += '"';
}

void sample(std::string& out, std::string_view name, const crawl_snapshot& c, std::uint64_t v) {
  series_start(out, name, c);
  out += "} ";
  append_uint(out, v);
  out += '\n';
}

void labelled_sample(std::string& out, std::string_view name, const crawl_snapshot& c,
                     std::string_view label, std::string_view value, std::uint64_t v) {
  series_start(out, name, c);
  out += ',';
  out += label;
  out += "=\"";
  append_escaped_label(out, value);
  out += "\"} ";
  append_uint(out, v);
  out += '\n';
}

template <typename Get>
void counter_family(std::string& out, std::span<const crawl_snapshot> crawls, std::string_view name,
                    std::string_view type, std::string_view help, Get get) {
  family(out, name, type, help);
  for (const auto& c : crawls) sample(out, name, c, get(c.counters));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  append_escaped_label(out, value);
  return out;
}

std::string format_value(double value) {
  std::string out;
  append_double(out, value);
  return out;
}

std::string format_value(std::uint64_t value) {
  std::string out;
  append_uint(out, value);
  return out;
}

std::string render_prometheus(std::span<const crawl_snapshot> crawls) {
  std::string out;
  out.reserve(2048 + crawls.size() * 2048);

  family(out, "trawler_crawls", "gauge", "Crawls known to the service, by state.");
  std::vector<std::string_view> states(std::begin(spec_states), std::end(spec_states));
  for (const auto& c : crawls) {
    bool known = false;
    for (auto s : states) known = known || s == c.state;
    if (!known) states.push_back(c.state);
  }
  for (auto s : states) {
    std::uint64_t n = 0;
    for (const auto& c : crawls) n += c.state == s ? 1 : 0;
    out += "trawler_crawls{state=\"";
    append_escaped_label(out, s);
    out += "\"} ";
    append_uint(out, n);
    out += '\n';
  }

  counter_family(out, crawls, "trawler_pages_total", "counter",
                 "Fetches that got an HTTP response (robots.txt excluded).",
                 [](const crawl_counters& k) { return k.pages; });

  family(out, "trawler_responses_total", "counter",
         "Responses by status class; 4xx and 5xx (broken links) are not in trawler_errors_total.");
  for (const auto& c : crawls) {
    for (std::size_t i = 0; i < std::size(status_class_names); ++i) {
      labelled_sample(out, "trawler_responses_total", c, "class", status_class_names[i],
                      c.counters.status_classes[i]);
    }
    labelled_sample(out, "trawler_responses_total", c, "class", "other", c.counters.other_status);
  }

  family(out, "trawler_errors_total", "counter",
         "Records without a usable response (network, TLS, robots...), by error kind; 4xx and 5xx "
         "responses are in trawler_responses_total{class}.");
  for (const auto& c : crawls) {
    for (std::size_t i = 0; i < std::size(all_error_kinds); ++i) {
      labelled_sample(out, "trawler_errors_total", c, "kind", to_string(all_error_kinds[i]),
                      c.counters.errors[i]);
    }
  }

  counter_family(out, crawls, "trawler_bytes_total", "counter",
                 "Response body bytes after content decoding.",
                 [](const crawl_counters& k) { return k.bytes; });
  counter_family(out, crawls, "trawler_filtered_urls_total", "counter",
                 "URLs dropped by scope or length rules.",
                 [](const crawl_counters& k) { return k.filtered; });
  counter_family(out, crawls, "trawler_robots_fetches_total", "counter", "robots.txt requests.",
                 [](const crawl_counters& k) { return k.robots_fetches; });
  counter_family(out, crawls, "trawler_frontier_queued", "gauge", "URLs waiting in the frontier.",
                 [](const crawl_counters& k) { return k.queued; });
  counter_family(out, crawls, "trawler_seen_urls", "gauge",
                 "Distinct URLs admitted to the frontier.",
                 [](const crawl_counters& k) { return k.seen; });
  counter_family(out, crawls, "trawler_open_requests", "gauge",
                 "Requests in flight, robots.txt included.",
                 [](const crawl_counters& k) { return k.in_flight; });

  // Cluster crawls only: the whole fleet's counts beside this worker's own above.
  const bool any_fleet = std::any_of(crawls.begin(), crawls.end(),
                                     [](const crawl_snapshot& c) { return c.fleet.has_value(); });
  if (any_fleet) {
    auto fleet_family = [&](std::string_view name, std::string_view help, auto get) {
      family(out, name, "gauge", help);
      for (const auto& c : crawls) {
        if (!c.fleet) continue;
        const std::int64_t v = get(*c.fleet);
        sample(out, name, c, static_cast<std::uint64_t>(v < 0 ? 0 : v));
      }
    };
    fleet_family("trawler_cluster_seen_urls", "Distinct URLs admitted crawl-wide (Redis).",
                 [](const fleet_counts& f) { return f.seen; });
    fleet_family("trawler_cluster_queued_urls", "URLs waiting in the fleet's host queues.",
                 [](const fleet_counts& f) { return f.queued; });
    fleet_family("trawler_cluster_claimed_urls", "URLs claimed by workers and not recorded yet.",
                 [](const fleet_counts& f) { return f.claimed; });
    fleet_family("trawler_cluster_workers", "Workers with a recent heartbeat.",
                 [](const fleet_counts& f) { return f.workers; });
    fleet_family("trawler_cluster_hosts_owned", "Hosts leased by some worker.",
                 [](const fleet_counts& f) { return f.hosts_owned; });
    fleet_family("trawler_cluster_hosts_owned_here", "Hosts leased by this worker.",
                 [](const fleet_counts& f) { return f.owned_here; });
    fleet_family("trawler_cluster_revisits", "Visited URLs waiting in Redis for a revisit.",
                 [](const fleet_counts& f) { return f.revisits; });
    fleet_family("trawler_cluster_pages", "Pages of the crawl-wide budget taken.",
                 [](const fleet_counts& f) { return f.pages; });
  }

  // Recrawl crawls only.
  const bool any_recrawl = std::any_of(
      crawls.begin(), crawls.end(), [](const crawl_snapshot& c) { return c.recrawl.has_value(); });
  if (any_recrawl) {
    static constexpr std::string_view change_names[] = {"new",          "changed", "unchanged",
                                                        "not_modified", "gone",    "failed"};
    family(out, "trawler_recrawl_visits_total", "counter",
           "Recorded visits by what they told the indexer (the record's change).");
    for (const auto& c : crawls) {
      if (!c.recrawl) continue;
      for (std::size_t i = 0; i < std::size(change_names); ++i) {
        labelled_sample(out, "trawler_recrawl_visits_total", c, "change", change_names[i],
                        c.recrawl->changes[i]);
      }
    }
    auto recrawl_family = [&](std::string_view name, std::string_view type, std::string_view help,
                              auto get) {
      family(out, name, type, help);
      for (const auto& c : crawls) {
        if (c.recrawl) sample(out, name, c, get(*c.recrawl));
      }
    };
    recrawl_family("trawler_recrawl_conditional_requests_total", "counter",
                   "Requests sent with validators (If-None-Match, If-Modified-Since).",
                   [](const recrawl_gauges& r) { return r.conditional; });
    recrawl_family("trawler_recrawl_validators_ignored_total", "counter",
                   "Conditional requests answered 200 with the stored body.",
                   [](const recrawl_gauges& r) { return r.validators_ignored; });
    recrawl_family("trawler_recrawl_bytes_saved_total", "counter",
                   "Body bytes that 304 answers did not send.",
                   [](const recrawl_gauges& r) { return r.bytes_saved; });
    recrawl_family("trawler_recrawl_parses_skipped_total", "counter",
                   "Visits not parsed: 304s and bodies with the stored digest.",
                   [](const recrawl_gauges& r) { return r.parses_skipped; });
    recrawl_family("trawler_recrawl_waiting_urls", "gauge", "Revisits in the schedule, due or not.",
                   [](const recrawl_gauges& r) { return r.waiting; });
    recrawl_family("trawler_recrawl_due_urls", "gauge", "Revisits due now (overdue included).",
                   [](const recrawl_gauges& r) { return r.due; });
    family(out, "trawler_recrawl_lag_seconds", "histogram",
           "How late each revisit started after it came due.");
    for (const auto& c : crawls) {
      if (!c.recrawl) continue;
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < c.recrawl->lag_counts.size(); ++i) {
        cumulative += c.recrawl->lag_counts[i];
        series_start(out, "trawler_recrawl_lag_seconds_bucket", c);
        out += ",le=\"";
        if (i < recrawl_gauges::lag_bounds.size()) {
          append_double(out, recrawl_gauges::lag_bounds[i]);
        } else {
          out += "+Inf";
        }
        out += "\"} ";
        append_uint(out, cumulative);
        out += '\n';
      }
      series_start(out, "trawler_recrawl_lag_seconds_sum", c);
      out += "} ";
      append_double(out, c.recrawl->lag_sum_s);
      out += '\n';
      sample(out, "trawler_recrawl_lag_seconds_count", c, cumulative);
    }
  }

  constexpr std::string_view h = "trawler_fetch_duration_seconds";
  family(out, h, "histogram", "Time of each fetch attempt, connect to last byte.");
  for (const auto& c : crawls) {
    const histogram& hist = c.fetch_duration;
    for (std::size_t i = 0; i <= histogram::upper_bounds.size(); ++i) {
      series_start(out, "trawler_fetch_duration_seconds_bucket", c);
      out += ",le=\"";
      if (i < histogram::upper_bounds.size()) {
        append_double(out, histogram::upper_bounds[i]);
      } else {
        out += "+Inf";
      }
      out += "\"} ";
      append_uint(out, hist.cumulative(i));
      out += '\n';
    }
    series_start(out, "trawler_fetch_duration_seconds_sum", c);
    out += "} ";
    append_double(out, hist.sum());
    out += '\n';
    sample(out, "trawler_fetch_duration_seconds_count", c, hist.count());
  }
  return out;
}

}  // namespace trawler::metrics
