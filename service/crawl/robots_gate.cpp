#include "crawl/robots_gate.hpp"

#include <algorithm>

#include "robots/robots_directives.hpp"

namespace trawler::crawl {

using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

robots_gate::robots_gate(const config::crawl_config& cfg, frontier::frontier& schedule,
                         host_politeness& politeness)
    : cfg_(cfg),
      schedule_(schedule),
      politeness_(politeness),
      product_token_(robots::product_token(cfg.robots.user_agent)) {}

std::optional<refusal> robots_gate::refusal_of(const frontier::url_entry& e) const {
  if (!cfg_.robots.obey || !hosts_.contains(e.host)) return std::nullopt;
  const host_robots& hr = hosts_.at(e.host);
  if (!hr.known) return std::nullopt;
  if (hr.failure) return refusal{*hr.failure, hr.failure_message};
  if (hr.rules.allowed(e.target())) return std::nullopt;
  return refusal{error_kind::robots, refusal_message(hr, e.target())};
}

// Names what decided, so that a record (and `trawler explain`) can say which line to change.
std::string robots_gate::refusal_message(const host_robots& hr, std::string_view target) {
  if (hr.rules.blanket_disallow()) {
    return (hr.server_error > 0 ? "robots.txt answered " + std::to_string(hr.server_error)
                                : std::string("robots.txt answered a server error")) +
           ": the whole host is disallowed (RFC 9309 2.3.1.4)";
  }
  const auto d = hr.rules.decide(target);
  if (d.line == 0) return "disallowed by robots.txt";
  return "disallowed by robots.txt line " + std::to_string(d.line) + " \"" + d.rule +
         "\" (group \"User-agent: " + d.group + "\" at line " + std::to_string(d.group_line) + ")";
}

void robots_gate::open(frontier::host_id h, host_robots& hr) {
  hr.known = true;
  hr.fetched_at = steady::now();
  if (!hr.failure) {
    if (auto cd = hr.rules.crawl_delay()) politeness_.crawl_delay(h, *cd);
  }
  schedule_.robots_ready(h);
}

std::optional<robots_gate::settled> robots_gate::fetched(frontier::host_id h,
                                                         const fetch::fetch_result& res) {
  host_robots& hr = hosts_[h];
  ++hr.attempts;
  if (res.error) {
    // Stopping: the host's URLs stay queued (SPEC "Stopping"), no verdict is made.
    if (res.error == error_kind::cancelled) return std::nullopt;
    if (auto delay = politeness_.retry_delay(res, hr.attempts, h)) {
      schedule_.robots_retry(h, steady::now() + *delay);
      return std::nullopt;
    }
  } else if (!(res.status >= 200 && res.status <= 299) &&
             !(res.status >= 400 && res.status <= 499 && res.status != 429)) {
    if (auto delay = politeness_.retry_delay(res, hr.attempts, h)) {
      schedule_.robots_retry(h, steady::now() + *delay);
      return std::nullopt;
    }
  }
  settled out;
  hr.server_error = 0;
  if (res.error) {
    hr.failure = *res.error;
    hr.failure_message = "robots.txt: " + res.message;
    out.verdict = {"failure", "", std::string(to_string(*hr.failure)), hr.failure_message};
  } else if (res.status >= 200 && res.status <= 299) {
    hr.rules = robots::rules::parse(res.body, product_token_);
    out.verdict = {"rules", res.body, "", ""};
    out.sitemaps = hr.rules.sitemaps();
  } else if (res.status >= 400 && res.status <= 499 && res.status != 429) {
    hr.rules = robots::rules::allow_all();
    out.verdict = {"allow_all", "", "", ""};
  } else {
    // RFC 9309 2.3.1.4: unreachable (5xx) means complete disallow.
    hr.rules = robots::rules::disallow_all();
    hr.server_error = res.status;
    out.verdict = {"disallow_all", "", "", ""};
  }
  open(h, hr);
  for (auto& e : schedule_.remove_if(
           h, [&](const frontier::url_entry& e) { return refusal_of(e).has_value(); })) {
    auto why = *refusal_of(e);
    out.refused.emplace_back(std::move(e), std::move(why));
  }
  return out;
}

void robots_gate::learn(frontier::host_id h, const frontier::robots_verdict& v) {
  if (!cfg_.robots.obey) return;
  host_robots& hr = hosts_[h];
  if (hr.known) return;
  if (v.outcome == "rules") {
    hr.rules = robots::rules::parse(v.body, product_token_);
  } else if (v.outcome == "disallow_all") {
    hr.rules = robots::rules::disallow_all();
  } else if (v.outcome == "failure") {
    hr.failure = error_kind_from_string(v.failure_kind).value_or(error_kind::other);
    hr.failure_message = v.failure_message;
  } else {
    hr.rules = robots::rules::allow_all();
  }
  open(h, hr);
}

milliseconds robots_gate::sweep_interval() const {
  return std::clamp(milliseconds(cfg_.robots.cache_ttl_ms / 4), milliseconds(250),
                    milliseconds(60000));
}

void robots_gate::start(steady::time_point now) {
  next_sweep_ = now + sweep_interval();
}

void robots_gate::sweep(steady::time_point now) {
  next_sweep_ = now + sweep_interval();
  auto ttl = milliseconds(cfg_.robots.cache_ttl_ms);
  for (frontier::host_id h = 0; h < hosts_.size(); ++h) {
    host_robots& hr = hosts_[h];
    if (!hr.known || hr.failure || now - hr.fetched_at < ttl) continue;
    hr.known = false;
    hr.attempts = 0;
    schedule_.robots_retry(h, now);
  }
}

}  // namespace trawler::crawl
