#pragma once

#include <chrono>
#include <optional>
#include <random>

#include "common/stable_table.hpp"
#include "config/crawl_config.hpp"
#include "fetch/fetcher.hpp"
#include "frontier/frontier.hpp"

namespace trawler::crawl {

// How each host has been answering, and what the schedule makes of it: exponential backoff of
// a struggling host, adaptive start spacing (limits.adaptive), Crawl-delay, Retry-After, the
// retry policy of a failed request, and scope.max_pages_per_host.
class host_politeness {
 public:
  host_politeness(const config::crawl_config& cfg, frontier::frontier& schedule);

  // A page request is about to start on the host: keeps scope.max_pages_per_host.
  void page_started(frontier::host_id h);
  // A page request ended without a response (or will be tried again): its slot is free.
  void page_unstarted(frontier::host_id h);
  // Errors that say the host is struggling back the whole host off; a good answer clears it.
  void note_outcome(frontier::host_id h, const fetch::fetch_result& res);
  // robots.txt asked for this spacing (capped by robots.max_crawl_delay_ms).
  void crawl_delay(frontier::host_id h, std::chrono::milliseconds d);
  // The delay before another try, or nullopt when no more tries are allowed. A Retry-After
  // blocks the whole host for every URL of it.
  std::optional<std::chrono::milliseconds> retry_delay(const fetch::fetch_result& res, int attempts,
                                                       frontier::host_id h);

  // What a host's answers have been, for the crawl's host view.
  struct host_record {
    std::uint64_t responses = 0;  // fetches with an HTTP response
    std::uint64_t failures = 0;   // fetches without one, 429 and 5xx
    int consecutive_failures = 0;
    double response_ms = -1;  // smoothed response time; < 0 until the first response
  };
  host_record record_of(frontier::host_id h) const;

 private:
  struct host_health {
    int consecutive_failures = 0;
    double latency_ms = -1;              // smoothed response time; < 0 until the first response
    std::int64_t started_pages = 0;      // page requests that got or may get a response
    std::chrono::milliseconds floor{0};  // delay_ms or Crawl-delay, whichever is larger
    std::uint64_t responses = 0;
    std::uint64_t failures = 0;
  };

  std::chrono::milliseconds backoff(int attempts);

  const config::crawl_config& cfg_;
  frontier::frontier& schedule_;
  // Stable: a reference may be held while other hosts are registered.
  stable_table<host_health> health_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date, relative to `now`.
std::optional<std::chrono::milliseconds> parse_retry_after(
    const std::string& value, std::chrono::system_clock::time_point now);

}  // namespace trawler::crawl
