#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error_kind.hpp"
#include "metrics/histogram.hpp"

namespace trawler::crawl {

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

  double pages_per_s() const { return elapsed_s > 0 ? static_cast<double>(pages) / elapsed_s : 0; }
  std::uint64_t error_total() const;
  nlohmann::json to_json() const;
  // The human report for stderr, like the 500 Lines crawler's.
  std::string report() const;
  // One progress line (no newline).
  std::string progress_line() const;
};

}  // namespace trawler::crawl
