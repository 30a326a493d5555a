#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "metrics/crawl_snapshot.hpp"

// Prometheus text exposition format 0.0.4 (Content-Type: text/plain; version=0.0.4).
namespace trawler::metrics {

inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Every family gets its HELP and TYPE lines even with no crawl, so dashboards and alerts see
// the series names from the first scrape. Per-crawl series carry a `crawl` label; the crawl
// count by state is one gauge family without it. Ends with a newline.
std::string render_prometheus(std::span<const crawl_snapshot> crawls);

// A label value between the quotes: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view value);
// A sample value in shortest round-trip form ("0.25", "30", "1e+21"); NaN, +Inf, -Inf.
std::string format_value(double value);
// Counters exactly, even past 2^53.
std::string format_value(std::uint64_t value);

}  // namespace trawler::metrics
