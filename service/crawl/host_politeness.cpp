#include "crawl/host_politeness.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>

namespace trawler::crawl {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

bool is_retryable(error_kind k) {
  return k == error_kind::dns || k == error_kind::connect || k == error_kind::timeout ||
         k == error_kind::protocol;
}

}  // namespace

std::optional<milliseconds> parse_retry_after(const std::string& v,
                                              std::chrono::system_clock::time_point now) {
  std::string s = v;
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  s = s.substr(i);
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
    long long secs = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
    if (ec != std::errc()) return milliseconds(std::numeric_limits<int>::max());
    return milliseconds(secs * 1000);
  }
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(when - now);
}

host_politeness::host_politeness(const config::crawl_config& cfg, frontier::frontier& schedule)
    : cfg_(cfg),
      schedule_(schedule),
      health_(host_health{0, -1, 0, milliseconds(cfg.limits.delay_ms)}) {}

void host_politeness::page_started(frontier::host_id h) {
  if (cfg_.scope.max_pages_per_host <= 0) return;
  auto& hh = health_[h];
  if (++hh.started_pages >= cfg_.scope.max_pages_per_host) schedule_.park_host(h);
}

void host_politeness::page_unstarted(frontier::host_id h) {
  if (cfg_.scope.max_pages_per_host <= 0) return;
  auto& hh = health_[h];
  if (hh.started_pages > 0) --hh.started_pages;
  if (hh.started_pages < cfg_.scope.max_pages_per_host && schedule_.parked(h))
    schedule_.unpark_host(h);
}

// With limits.adaptive the start spacing follows the host's response time (AutoThrottle:
// latency / per_host, smoothed).
void host_politeness::note_outcome(frontier::host_id h, const fetch::fetch_result& res) {
  auto& hh = health_[h];
  bool struggling = false;
  if (res.error) {
    struggling = *res.error == error_kind::dns || *res.error == error_kind::connect ||
                 *res.error == error_kind::timeout;
  } else if (res.has_response) {
    struggling = res.status == 429 || (res.status >= 500 && res.status <= 599);
  }
  if (res.has_response) ++hh.responses;
  if (struggling || !res.has_response) ++hh.failures;
  if (res.has_response) {
    const double ms = std::chrono::duration<double, std::milli>(res.elapsed).count();
    hh.latency_ms = hh.latency_ms < 0 ? ms : (hh.latency_ms + ms) / 2;
  }
  if (struggling) {
    ++hh.consecutive_failures;
    double penalty = 250.0 * std::pow(2.0, std::min(hh.consecutive_failures - 1, 10));
    penalty = std::min(penalty, 8000.0);
    schedule_.block_host_until(h, steady::now() + milliseconds(static_cast<long long>(penalty)));
  } else if (res.has_response) {
    hh.consecutive_failures = 0;
  }
  if (cfg_.limits.adaptive && res.has_response) {
    double target = hh.latency_ms / std::max(1, cfg_.limits.per_host);
    // Errors never shorten the spacing.
    if (struggling) target = std::max(target, static_cast<double>(hh.floor.count()) * 2);
    double upper = static_cast<double>(cfg_.limits.adaptive_max_delay_ms);
    double delay = std::clamp(target, static_cast<double>(hh.floor.count()),
                              std::max(upper, static_cast<double>(hh.floor.count())));
    schedule_.set_host_delay(h, milliseconds(static_cast<long long>(delay)));
  }
}

host_politeness::host_record host_politeness::record_of(frontier::host_id h) const {
  if (!health_.contains(h)) return {};
  const host_health& hh = health_.at(h);
  return {hh.responses, hh.failures, hh.consecutive_failures, hh.latency_ms};
}

void host_politeness::crawl_delay(frontier::host_id h, milliseconds d) {
  auto capped = std::min<long long>(d.count(), cfg_.robots.max_crawl_delay_ms);
  auto& hh = health_[h];
  hh.floor = std::max(hh.floor, milliseconds(capped));
  schedule_.set_host_delay(h, hh.floor);
}

milliseconds host_politeness::backoff(int attempts) {
  // 0.5 s, 1 s, 2 s ... capped at 60 s, with +-50% jitter so hosts are not hit in lockstep.
  double base = 500.0 * std::pow(2.0, std::max(0, attempts - 1));
  base = std::min(base, 60000.0);
  std::uniform_real_distribution<double> jitter(0.5, 1.5);
  return milliseconds(static_cast<long long>(base * jitter(rng_)));
}

std::optional<milliseconds> host_politeness::retry_delay(const fetch::fetch_result& res,
                                                         int attempts, frontier::host_id h) {
  // While stopping, a retry is still queued (not recorded): it stays for a resume.
  if (attempts >= cfg_.limits.max_tries) return std::nullopt;
  bool retry = false;
  if (res.error) {
    retry = is_retryable(*res.error);
  } else if (res.has_response) {
    retry = res.status == 429 || (res.status >= 500 && res.status <= 599);
  }
  if (!retry) return std::nullopt;
  milliseconds delay = backoff(attempts);
  if (res.has_response) {
    if (auto ra = res.header("retry-after")) {
      if (auto d = parse_retry_after(*ra, std::chrono::system_clock::now())) {
        if (d->count() > cfg_.limits.max_retry_after_ms) return std::nullopt;
        delay = *d;
        // The server asked the whole host to wait, not just this URL.
        schedule_.block_host_until(h, steady::now() + delay);
      }
    }
  }
  return delay;
}

}  // namespace trawler::crawl
