#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>

#include "common/error_kind.hpp"
#include "common/fleet_counts.hpp"
#include "metrics/histogram.hpp"

namespace trawler::metrics {

// The counters of one crawl that /metrics exposes. They mirror crawl::crawl_stats, which
// metrics cannot name: it sits below crawl in the target graph.
struct crawl_counters {
  std::uint64_t pages = 0;                                         // records with a response
  std::array<std::uint64_t, 4> status_classes{};                   // 2xx, 3xx, 4xx, 5xx
  std::uint64_t other_status = 0;                                  // 1xx and nonsense codes
  std::array<std::uint64_t, std::size(all_error_kinds)> errors{};  // by error_kind
  std::uint64_t bytes = 0;                                         // decoded body bytes
  std::uint64_t seen = 0;
  std::uint64_t queued = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t filtered = 0;
  std::uint64_t robots_fetches = 0;
  bool operator==(const crawl_counters&) const = default;
};

using trawler::fleet_counts;

// Recrawl (SPEC additions "Recrawl"): visits by change (new, changed, unchanged, not_modified,
// gone, failed), conditional requests and what they saved, revisits waiting and due.
struct recrawl_gauges {
  std::array<std::uint64_t, 6> changes{};
  std::uint64_t conditional = 0;
  std::uint64_t validators_ignored = 0;
  std::uint64_t bytes_saved = 0;
  std::uint64_t parses_skipped = 0;
  std::uint64_t waiting = 0;
  std::uint64_t due = 0;
  // How late revisits started after they came due: counts per bucket of lag_bounds (seconds;
  // the last is +Inf, not cumulative), and their sum.
  static constexpr std::array<double, 8> lag_bounds{0.1, 1, 10, 60, 600, 3600, 21600, 86400};
  std::array<std::uint64_t, lag_bounds.size() + 1> lag_counts{};
  double lag_sum_s = 0;
};

// One crawl as the renderer sees it; `id` becomes the `crawl` label.
struct crawl_snapshot {
  std::string id;
  std::string state;  // running, paused, completed, cancelled, failed, ...
  crawl_counters counters;
  histogram fetch_duration;
  std::optional<fleet_counts> fleet;      // a crawl shared with other workers
  std::optional<recrawl_gauges> recrawl;  // a crawl with recrawl on
};

}  // namespace trawler::metrics
