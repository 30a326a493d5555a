#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/error_kind.hpp"
#include "common/fleet_counts.hpp"
#include "metrics/crawl_snapshot.hpp"
#include "metrics/histogram.hpp"

namespace trawler::crawl {

// How late a periodic 10 ms timer on the crawl's event loop runs: how long a ready handler
// (a response, a finished parse) waits behind the loop's other work. 0.1 ms buckets up to
// 50 ms (one more for anything later) and the exact maximum: fixed memory for any crawl.
class loop_lag {
 public:
  static constexpr double bucket_ms = 0.1;
  static constexpr std::size_t buckets = 500;
  static constexpr std::chrono::milliseconds period{10};

  void observe(double ms) noexcept;
  // The upper edge of the bucket holding the q-quantile (never below the true value), capped
  // by the maximum; 0 without samples.
  double quantile_ms(double q) const noexcept;
  double max_ms() const noexcept { return max_ms_; }
  std::uint64_t samples() const noexcept { return samples_; }
  bool operator==(const loop_lag&) const = default;

 private:
  std::array<std::uint32_t, buckets + 1> counts_{};
  std::uint64_t samples_ = 0;
  double max_ms_ = 0;
};

// Cluster mode: the crawl-wide counts, as of the worker's last look at Redis.
using cluster_counts = fleet_counts;

// Recrawl (SPEC additions "Recrawl"): visits by what they told the indexer, and what conditional
// requests saved.
struct recrawl_counts {
  // By recrawl::change: new, changed, unchanged, not_modified, gone, failed.
  std::array<std::uint64_t, 6> changes{};
  std::uint64_t conditional = 0;         // requests sent with validators
  std::uint64_t validators_ignored = 0;  // of those, a 2xx with the very same body
  std::uint64_t bytes_saved = 0;         // body bytes a 304 did not send (the last 2xx's size)
  std::uint64_t parses_skipped = 0;      // unchanged bodies and 304s: no parse
  std::uint64_t lastmod_hints = 0;       // revisits a sitemap's <lastmod> brought forward
  // How late revisits started after they came due, in seconds: counts per bucket of
  // lag_bounds (the last: more), and their sum.
  static constexpr auto lag_bounds = metrics::recrawl_gauges::lag_bounds;
  std::array<std::uint64_t, lag_bounds.size() + 1> lag_counts{};
  double lag_sum_s = 0;
  void observe_lag(double seconds);
  // The upper bound of the bucket holding the q-quantile (the largest bound for the last
  // bucket); 0 without revisits.
  double lag_quantile(double q) const;
  // Adds the counters that runs carry (everything but the live waiting and due).
  void add_carried(const recrawl_counts& o);
  // Live, not carried: revisits waiting in the schedule, and of those the ones due now.
  std::uint64_t waiting = 0;
  std::uint64_t due = 0;
  bool operator==(const recrawl_counts&) const = default;
};

// SPEC "Precise rules: Stats object".
struct crawl_stats {
  std::uint64_t pages = 0;                        // records with a response
  std::array<std::uint64_t, 4> status_classes{};  // 2xx, 3xx, 4xx, 5xx
  std::uint64_t other_status = 0;                 // 1xx and nonsense codes
  std::array<std::uint64_t, std::size(all_error_kinds)> errors{};
  std::uint64_t bytes = 0;
  std::uint64_t seen = 0;
  std::uint64_t queued = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t filtered = 0;
  std::uint64_t robots_fetches = 0;
  std::uint64_t records = 0;
  double elapsed_s = 0;
  metrics::histogram fetch_duration;  // page fetches, seconds (for /metrics)
  loop_lag lag;
  std::optional<cluster_counts> cluster;  // cluster mode only
  std::optional<recrawl_counts> recrawl;  // recrawl.mode other than off

  double pages_per_s() const { return elapsed_s > 0 ? static_cast<double>(pages) / elapsed_s : 0; }
  // Records with an error kind: no usable response (network, TLS, protocol, size, robots,
  // address policy, redirect limit, cancelled). 4xx and 5xx responses are not among them.
  std::uint64_t error_total() const;
  // Responses that answered 4xx or 5xx (a broken link for whoever links the URL): counted in
  // pages and status, never in errors.
  std::uint64_t http_error_total() const { return status_classes[2] + status_classes[3]; }
  nlohmann::json to_json() const;
  // The human report for stderr, like the 500 Lines crawler's.
  std::string report() const;
  // One progress line (no newline).
  std::string progress_line() const;

  // What a resumed crawl carries on from its state dir (SPEC "Stopping": stats are
  // cumulative): the counters of records and fetches, the elapsed time and the fetch-duration
  // histogram. seen, queued and in_flight are live values, and the loop lag describes this
  // run's event loop, so they are not carried.
  nlohmann::json carried_json() const;
  // nullopt when `j` is not what carried_json() writes (a missing or damaged snapshot).
  static std::optional<crawl_stats> from_carried_json(const nlohmann::json& j);
  // The carried part of `base` added to these counters.
  void carry_from(const crawl_stats& base);
};

}  // namespace trawler::crawl
