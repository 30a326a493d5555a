#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/version.hpp"
#include "report/crawl_report.hpp"

namespace trawler::report {

namespace {

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string count(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string bytes_text(double b) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  return fixed(b, u == 0 || b >= 100 ? 0 : 1) + " " + units[u];
}

std::string ms_text(double ms) {
  if (ms >= 10000) return fixed(ms / 1000, 0) + " s";
  if (ms >= 1000) return fixed(ms / 1000, 1) + " s";
  return fixed(ms, ms >= 10 ? 0 : 1) + " ms";
}

std::string utc_text(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + " UTC";
}

std::string duration_text(double s) {
  if (s < 120) return fixed(s, 1) + " s";
  const auto total = static_cast<std::int64_t>(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

// A round axis maximum at or above v: 1, 2 or 5 times a power of ten.
double nice_max(double v) {
  if (v <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v) return m * p;
  return 10 * p;
}

struct bar {
  std::string label;  // under the bar (some are skipped when crowded)
  double value = 0;   // the main series
  double second = 0;  // drawn over the first from the base, in the alert colour (errors)
  std::string tip;    // the bar's title (hover)
};

// A vertical bar chart as inline SVG.
std::string bar_chart(const std::vector<bar>& bars, const std::string& unit,
                      const std::string& legend_main, const std::string& legend_second) {
  const double width = 880, height = 240, left = 56, bottom = 40, top = 24;
  const double plot_w = width - left - 12, plot_h = height - bottom - top;
  double peak = 0;
  for (const auto& b : bars) peak = std::max({peak, b.value, b.second});
  const double ymax = nice_max(peak);
  std::string svg = "<svg viewBox=\"0 0 " + fixed(width, 0) + " " + fixed(height, 0) +
                    "\" role=\"img\" class=\"chart\">";
  for (int i = 0; i <= 4; ++i) {
    const double y = top + plot_h - plot_h * i / 4;
    const double v = ymax * i / 4;
    svg += "<line class=\"grid\" x1=\"" + fixed(left, 0) + "\" x2=\"" + fixed(width - 12, 0) +
           "\" y1=\"" + fixed(y, 1) + "\" y2=\"" + fixed(y, 1) + "\"/>";
    svg += "<text class=\"axis\" x=\"" + fixed(left - 6, 0) + "\" y=\"" + fixed(y + 4, 1) +
           "\" text-anchor=\"end\">" +
           esc(v >= 100 || v == 0 ? fixed(v, 0) : fixed(v, v >= 10 ? 0 : 1)) + "</text>";
  }
  svg += "<text class=\"axis\" x=\"" + fixed(left - 6, 0) + "\" y=\"10\" text-anchor=\"end\">" +
         esc(unit) + "</text>";
  const std::size_t n = std::max<std::size_t>(bars.size(), 1);
  const double slot = plot_w / static_cast<double>(n);
  const double bw = std::clamp(slot * 0.8, 1.0, 64.0);
  const std::size_t label_every = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double x = left + slot * static_cast<double>(i) + (slot - bw) / 2;
    const double h = plot_h * b.value / ymax;
    svg += "<g><title>" + esc(b.tip.empty() ? b.label : b.tip) + "</title>";
    svg += "<rect class=\"main\" x=\"" + fixed(x, 1) + "\" y=\"" + fixed(top + plot_h - h, 1) +
           "\" width=\"" + fixed(bw, 1) + "\" height=\"" + fixed(h, 1) + "\"/>";
    if (b.second > 0) {
      const double h2 = plot_h * b.second / ymax;
      svg += "<rect class=\"alert\" x=\"" + fixed(x, 1) + "\" y=\"" + fixed(top + plot_h - h2, 1) +
             "\" width=\"" + fixed(bw, 1) + "\" height=\"" + fixed(h2, 1) + "\"/>";
    }
    svg += "</g>";
    if (i % label_every == 0) {
      svg += "<text class=\"axis\" x=\"" + fixed(x + bw / 2, 1) + "\" y=\"" +
             fixed(height - bottom + 16, 0) + "\" text-anchor=\"middle\">" + esc(b.label) +
             "</text>";
    }
  }
  svg += "</svg>";
  std::string legend = "<p class=\"legend\"><span class=\"key main\"></span>" + esc(legend_main);
  if (!legend_second.empty()) {
    legend += " <span class=\"key alert\"></span>" + esc(legend_second);
  }
  return svg + legend + "</p>";
}

std::vector<bar> histogram_bars(const log_histogram& h, bool as_bytes) {
  // Four raw buckets per bar (a doubling), from the first to the last that holds anything.
  int first = -1, last = -1;
  for (int b = 0; b < log_histogram::buckets; ++b) {
    if (h.counts[static_cast<std::size_t>(b)] == 0) continue;
    if (first < 0) first = b;
    last = b;
  }
  std::vector<bar> out;
  if (first < 0) return out;
  first -= first % 4;
  for (int b = first; b <= last; b += 4) {
    std::uint64_t n = 0;
    for (int k = b; k < b + 4 && k < log_histogram::buckets; ++k) {
      n += h.counts[static_cast<std::size_t>(k)];
    }
    const double lo = log_histogram::lower_bound(b);
    const double hi = log_histogram::upper_bound(std::min(b + 3, log_histogram::buckets - 1));
    const std::string label = as_bytes ? bytes_text(lo) : ms_text(lo);
    out.push_back({label, static_cast<double>(n), 0,
                   label + " to " + (as_bytes ? bytes_text(hi) : ms_text(hi)) + ": " + count(n)});
  }
  return out;
}

std::string card(const std::string& label, const std::string& value) {
  return "<div class=\"card\"><div class=\"value\">" + esc(value) + "</div><div class=\"label\">" +
         esc(label) + "</div></div>";
}

constexpr const char* style = R"CSS(
:root { --ink:#1d2430; --muted:#5d6778; --line:#d9dee6; --main:#2f6fb5; --alert:#d0473c; --bg:#fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0 auto; padding: 24px; max-width: 960px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .value { font-size: 20px; font-weight: 600; } .card .label { color: var(--muted); font-size: 12px; }
.chart { width: 100%; height: auto; display: block; }
.chart .grid { stroke: var(--line); stroke-width: 1; } .chart .axis { fill: var(--muted); font-size: 11px; }
.chart .main, .key.main { fill: var(--main); background: var(--main); }
.chart .alert, .key.alert { fill: var(--alert); background: var(--alert); }
.legend { color: var(--muted); font-size: 12px; margin: 2px 0 0; }
.key { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
th { cursor: pointer; user-select: none; white-space: nowrap; } th:hover { color: var(--main); }
th[aria-sort=ascending]::after { content: " \25B2"; } th[aria-sort=descending]::after { content: " \25BC"; }
.examples { color: var(--muted); font-size: 12px; word-break: break-all; }
td.url { word-break: break-all; }
.note { color: var(--muted); font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2 { break-after: avoid; } .chart, table, .cards { break-inside: avoid; }
  th { cursor: auto; } th::after { content: "" !important; }
}
)CSS";

// Sorts a table by the clicked column: numbers by data-v, text otherwise.
constexpr const char* sort_script = R"JS(
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var down = th.getAttribute('aria-sort') !== 'descending';
      table.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      rows.sort(function (a, b) {
        var x = a.cells[col], y = b.cells[col];
        var vx = x.dataset.v, vy = y.dataset.v;
        var r = vx !== undefined ? Number(vx) - Number(vy) : x.textContent.localeCompare(y.textContent);
        return down ? -r : r;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
)JS";

// A sortable table of named counts with their first few URLs ("Errors by kind", "gone
// because"), or `none` as a note when there are no rows.
std::string examples_table(std::string_view name, const std::map<std::string, kind_row>& rows,
                           std::string_view none) {
  if (rows.empty()) return "<p class=\"note\">" + std::string(none) + "</p>";
  std::string h = "<table class=\"sortable\"><thead><tr><th>" + std::string(name) +
                  "</th><th class=\"n\">records</th><th>examples</th></tr></thead><tbody>";
  for (const auto& [key, row] : rows) {
    h += "<tr><td>" + esc(key) + "</td><td class=\"n\" data-v=\"" + std::to_string(row.count) +
         "\">" + count(row.count) + "</td><td class=\"examples\">";
    for (std::size_t i = 0; i < row.examples.size(); ++i) {
      if (i) h += "<br>";
      h += esc(row.examples[i]);
    }
    h += "</td></tr>";
  }
  return h + "</tbody></table>";
}

// The URLs that answered 4xx or 5xx, most linked first, with the pages linking them.
std::string broken_links_section(const nlohmann::json& b) {
  std::string h = "<h2 id=\"broken-links\">Broken links</h2>";
  const auto& rows = b["rows"];
  const auto listed = b["listed"].get<std::uint64_t>();
  if (rows.empty()) {
    return h + "<p class=\"note\">No URL answered 4xx or 5xx.</p>";
  }
  h += "<p class=\"note\">" + count(listed) + (listed == 1 ? " URL" : " URLs") +
       " answered 4xx or 5xx (at their latest record); linking pages are the pages whose links "
       "hold the URL, or that redirect to it, and the page it was found on.</p>";
  h += "<table class=\"sortable\" id=\"broken-links-table\"><thead><tr><th>URL</th>"
       "<th class=\"n\">status</th><th class=\"n\">linked from</th><th>linking pages (first "
       "5)</th></tr></thead><tbody>";
  for (const auto& x : rows) {
    const auto n = x["linked_from_count"].get<std::uint64_t>();
    h += "<tr><td class=\"url\">" + esc(x["url"].get<std::string>()) + "</td><td class=\"n\" " +
         "data-v=\"" + x["status"].dump() + "\">" + x["status"].dump() +
         "</td><td class=\"n\" data-v=\"" + std::to_string(n) + "\">" + count(n) +
         "</td><td class=\"examples\">";
    bool first = true;
    for (const auto& p : x["linked_from"]) {
      h += (first ? "" : "<br>") + esc(p.get<std::string>());
      first = false;
    }
    h += "</td></tr>";
  }
  h += "</tbody></table>";
  if (rows.size() < listed) {
    h += "<p class=\"note\">The " + count(rows.size()) +
         " most linked are shown; trawler report "
         "--broken-links FILE writes all " +
         count(listed) + " as CSV.</p>";
  }
  if (const auto more = b["not_listed_records"].get<std::uint64_t>()) {
    h += "<p class=\"note\">" + count(more) + " more 4xx/5xx records are past the " +
         count(broken_links::max_urls) + " URLs the table keeps.</p>";
  }
  return h;
}

}  // namespace

std::string render_html(const crawl_report& r, const std::vector<std::string>& inputs) {
  const nlohmann::json s = r.summary();
  std::string h;
  h.reserve(64 * 1024);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  h += "<title>trawler crawl report</title><style>";
  h += style;
  h += "</style></head><body>\n<h1>Crawl report</h1><p class=\"sub\">";
  if (r.first_ms() && r.last_ms()) {
    h += esc(utc_text(*r.first_ms())) + " to " + esc(utc_text(*r.last_ms())) + " &middot; ";
  }
  h += count(r.records()) + " records from " + count(inputs.size()) +
       (inputs.size() == 1 ? " output" : " outputs") + " &middot; trawler " + esc(version) +
       "</p>\n";

  const double duration = s["duration_s"].get<double>();
  std::vector<std::pair<std::int64_t, second_counts>> secs(r.per_second().begin(),
                                                           r.per_second().end());
  double peak = 0;
  h += "<div class=\"cards\">";
  h += card("pages (with a response)", count(r.pages()));
  h += card("4xx/5xx responses", count(r.http_errors()));
  h += card("fetch errors (no response, robots...)", count(r.errors()));
  h += card("hosts", count(r.hosts().size()));
  h += card("body bytes", bytes_text(static_cast<double>(r.bytes())));
  h += card("duration", duration_text(duration));
  h += card("pages/s (average)", fixed(s["pages_per_s"].get<double>(), 1));

  // Pages and errors over time, in at most 120 bins.
  std::vector<bar> over_time;
  std::int64_t width_s = 1;
  if (!secs.empty()) {
    const std::int64_t first = secs.front().first, last = secs.back().first;
    const std::int64_t span = last - first + 1;
    width_s = std::max<std::int64_t>(1, (span + 119) / 120);
    const std::int64_t bins = (span + width_s - 1) / width_s;
    over_time.resize(static_cast<std::size_t>(bins));
    for (const auto& [sec, c] : secs) {
      auto& b = over_time[static_cast<std::size_t>((sec - first) / width_s)];
      b.value += static_cast<double>(c.pages);
      b.second += static_cast<double>(c.errors);
    }
    for (std::size_t i = 0; i < over_time.size(); ++i) {
      auto& b = over_time[i];
      b.value /= static_cast<double>(width_s);
      b.second /= static_cast<double>(width_s);
      peak = std::max(peak, b.value);
      const auto offset = static_cast<double>(static_cast<std::int64_t>(i) * width_s);
      b.label = "+" + duration_text(offset);
      b.tip = b.label + ": " + fixed(b.value, 1) + " pages/s, " + fixed(b.second, 1) + " errors/s";
    }
  }
  h += card("pages/s (peak)", fixed(peak, 1));
  const auto& rt = s["response_ms"];
  h += card("response time, median", ms_text(rt["median"].get<double>()));
  h += card("response time, p95", ms_text(rt["p95"].get<double>()));
  h += "</div>\n";

  h += "<h2>Throughput</h2>";
  if (over_time.empty()) {
    h += "<p class=\"note\">No record has a time.</p>";
  } else {
    h += bar_chart(over_time, "per s", "pages per second",
                   "errors per second (robots refusals included)");
    h += "<p class=\"note\">Each bar is " + count(static_cast<std::uint64_t>(width_s)) +
         " s of the crawl, by the records' fetched_at.</p>";
  }

  h += "<h2>Response time</h2>";
  auto rt_bars = histogram_bars(r.response_ms(), false);
  h += rt_bars.empty() ? "<p class=\"note\">No responses.</p>"
                       : bar_chart(rt_bars, "pages",
                                   "pages by response time (elapsed_ms of the last attempt)", "");

  h += "<h2>Status classes</h2>";
  const char* classes[] = {"2xx", "3xx", "4xx", "5xx", "other", "none"};
  std::vector<bar> status_bars;
  for (std::size_t i = 0; i < 6; ++i) {
    const auto n = r.status_classes()[i];
    if (n == 0 && i >= 4) continue;
    bar b{classes[i], 0, 0, std::string(classes[i]) + ": " + count(n)};
    (i >= 2 ? b.second : b.value) = static_cast<double>(n);
    status_bars.push_back(b);
  }
  h += bar_chart(status_bars, "records", "2xx, 3xx", "4xx, 5xx, no response");

  h += "<h2>Errors by kind</h2>";
  h += examples_table("kind", r.error_kinds(), "No errors.");

  h += broken_links_section(s["broken_links"]);

  // Recrawl: what the visits told the indexer.
  if (r.recrawl()) {
    h += "<h2>Freshness</h2>";
    std::vector<bar> change_bars;
    for (std::size_t i = 0; i < std::size(change_names); ++i) {
      const auto n = r.changes()[i];
      bar b{change_names[i], 0, 0, std::string(change_names[i]) + ": " + count(n)};
      (i >= 4 ? b.second : b.value) = static_cast<double>(n);
      change_bars.push_back(b);
    }
    h += bar_chart(change_bars, "records", "new, changed, unchanged, not_modified", "gone, failed");
    h += examples_table("gone because", r.gone_reasons(), "No deletions.");
    h += "<table class=\"sortable\" id=\"freshness-hosts\"><thead><tr><th>host</th>";
    for (const char* c : change_names) h += "<th class=\"n\">" + std::string(c) + "</th>";
    h += "<th class=\"n\">304 share of revisits</th></tr></thead><tbody>";
    for (const auto& x : s["freshness"]["hosts"]) {
      h += "<tr><td>" + esc(x["host"].get<std::string>()) + "</td>";
      for (const char* c : change_names) {
        h += "<td class=\"n\" data-v=\"" + x[c].dump() + "\">" + count(x[c].get<std::uint64_t>()) +
             "</td>";
      }
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * x["not_modified_share"].get<double>());
      h +=
          "<td class=\"n\" data-v=\"" + x["not_modified_share"].dump() + "\">" + pct + "</td></tr>";
    }
    h += "</tbody></table>";
  }

  h += "<h2>Content types</h2><table class=\"sortable\"><thead><tr><th>type</th><th "
       "class=\"n\">pages</th><th class=\"n\">bytes</th></tr></thead><tbody>";
  for (const auto& [type, row] : r.content_types()) {
    h += "<tr><td>" + esc(type) + "</td><td class=\"n\" data-v=\"" + std::to_string(row.count) +
         "\">" + count(row.count) + "</td><td class=\"n\" data-v=\"" + std::to_string(row.bytes) +
         "\">" + bytes_text(static_cast<double>(row.bytes)) + "</td></tr>";
  }
  h += "</tbody></table>";

  h += "<h2>Body sizes</h2>";
  auto size_bars = histogram_bars(r.sizes(), true);
  h += size_bars.empty() ? "<p class=\"note\">No responses.</p>"
                         : bar_chart(size_bars, "pages", "pages by decoded body size", "");

  h += "<h2>Depth</h2>";
  std::vector<bar> depth_bars;
  for (std::size_t d = 0; d < r.depths().size(); ++d) {
    const std::string label = d + 1 == r.depths().size() && d == 64 ? "64+" : std::to_string(d);
    depth_bars.push_back({label, static_cast<double>(r.depths()[d]), 0,
                          "depth " + label + ": " + count(r.depths()[d])});
  }
  h += depth_bars.empty()
           ? "<p class=\"note\">No depths.</p>"
           : bar_chart(depth_bars, "records", "records by link distance from a seed", "");

  // Hosts: the busiest first; a very wide crawl shows its first 2,000 here (all are in the
  // embedded summary).
  const auto& hosts = s["hosts"];
  constexpr std::size_t shown_hosts = 2000;
  h += "<h2>Hosts</h2><table class=\"sortable\" id=\"hosts\"><thead><tr><th>host</th>"
       "<th class=\"n\">pages</th><th class=\"n\">errors</th><th class=\"n\">median</th>"
       "<th class=\"n\">p95</th><th class=\"n\">bytes</th><th class=\"n\">robots refusals</th>"
       "</tr></thead><tbody>";
  for (std::size_t i = 0; i < hosts.size() && i < shown_hosts; ++i) {
    const auto& x = hosts[i];
    auto num = [&](const char* k, const std::string& text) {
      return "<td class=\"n\" data-v=\"" + x[k].dump() + "\">" + text + "</td>";
    };
    h += "<tr><td>" + esc(x["host"].get<std::string>()) + "</td>" +
         num("pages", count(x["pages"].get<std::uint64_t>())) +
         num("errors", count(x["errors"].get<std::uint64_t>())) +
         num("median_ms",
             x["pages"].get<std::uint64_t>() ? ms_text(x["median_ms"].get<double>()) : "-") +
         num("p95_ms", x["pages"].get<std::uint64_t>() ? ms_text(x["p95_ms"].get<double>()) : "-") +
         num("bytes", bytes_text(x["bytes"].get<double>())) +
         num("robots", count(x["robots"].get<std::uint64_t>())) + "</tr>";
  }
  h += "</tbody></table>";
  if (hosts.size() > shown_hosts) {
    h += "<p class=\"note\">" + count(hosts.size() - shown_hosts) +
         " more hosts are in the embedded data (script#trawler-report).</p>";
  }
  h += "<p class=\"note\">Response times are read from histograms with 19% wide buckets (within "
       "10%). Inputs: ";
  for (std::size_t i = 0; i < inputs.size(); ++i) h += (i ? ", " : "") + esc(inputs[i]);
  if (r.invalid()) h += ". Lines that were not records: " + count(r.invalid());
  h += ".</p>\n";

  std::string data = s.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Inside <script> no "<" may appear ("</script>", "<!--" change how the page parses): JSON
  // can spell it \u003c.
  for (std::size_t at = 0; (at = data.find('<', at)) != std::string::npos; at += 6) {
    data.replace(at, 1, "\\u003c");
  }
  h += "<script type=\"application/json\" id=\"trawler-report\">" + data + "</script>\n";
  h += "<script>";
  h += sort_script;
  h += "</script></body></html>\n";
  return h;
}

}  // namespace trawler::report
