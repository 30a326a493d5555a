#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error_kind.hpp"
#include "common/stable_table.hpp"
#include "config/crawl_config.hpp"
#include "crawl/host_politeness.hpp"
#include "fetch/fetcher.hpp"
#include "frontier/crawl_frontier.hpp"
#include "robots/robots_rules.hpp"

namespace trawler::crawl {

// Why a URL is not fetched: robots.txt refuses it, or robots.txt itself could not be had.
struct refusal {
  error_kind kind;
  std::string message;
};

// The robots.txt gate (RFC 9309): what is known of each host's robots.txt, the verdict for each
// URL, the outcome of a robots.txt fetch (or of another worker's, shared through the fleet),
// and the expiry of cached verdicts. The schedule holds a host's URLs until its gate opens.
class robots_gate {
 public:
  robots_gate(const config::crawl_config& cfg, frontier::frontier& schedule,
              host_politeness& politeness);

  const std::string& product_token() const { return product_token_; }

  // nullopt: allowed (or the host's robots.txt is not known yet, or robots are off).
  std::optional<refusal> refusal_of(const frontier::url_entry& e) const;

  // What a settled robots.txt fetch decided.
  struct settled {
    frontier::robots_verdict verdict;   // for the fleet
    std::vector<std::string> sitemaps;  // Sitemap: lines (none after a failure)
    // The host's queued URLs that the verdict refuses, taken out of the schedule.
    std::vector<std::pair<frontier::url_entry, refusal>> refused;
  };
  // The outcome of a robots.txt fetch, after its redirects. nullopt: not settled (cancelled by
  // a stop, or to be tried again: the schedule has a robots lease for it later).
  std::optional<settled> fetched(frontier::host_id h, const fetch::fetch_result& res);
  // Another worker settled the host's robots.txt: used as if fetched here (unless known).
  void learn(frontier::host_id h, const frontier::robots_verdict& v);

  // RFC 9309 2.4: a cached robots.txt is used for at most robots.cache_ttl_ms. When a sweep is
  // due, stale hosts go back behind the gate: their next request is robots.txt again.
  std::chrono::steady_clock::time_point next_sweep() const { return next_sweep_; }
  void start(std::chrono::steady_clock::time_point now);
  void sweep(std::chrono::steady_clock::time_point now);

 private:
  struct host_robots {
    bool known = false;
    robots::rules rules = robots::rules::allow_all();
    std::optional<error_kind> failure;  // a network failure: every page gets this kind
    std::string failure_message;
    int attempts = 0;
    int server_error = 0;  // the status that made it disallow_all(); 0: learned or none
    std::chrono::steady_clock::time_point fetched_at{};
  };

  static std::string refusal_message(const host_robots& hr, std::string_view target);

  void open(frontier::host_id h, host_robots& hr);
  std::chrono::milliseconds sweep_interval() const;

  const config::crawl_config& cfg_;
  frontier::frontier& schedule_;
  host_politeness& politeness_;
  std::string product_token_;
  // Stable: the verdict of a fetch is written after it suspended, while other hosts appeared.
  stable_table<host_robots> hosts_;
  std::chrono::steady_clock::time_point next_sweep_{};
};

}  // namespace trawler::crawl
