#include "crawl/admission.hpp"

#include "state/crawl_state.hpp"
#include "url/url.hpp"

namespace trawler::crawl {

namespace {

std::string text_of(const frontier::shared_text& t) {
  return t ? *t : std::string();
}

scope::rules scope_rules_of(const config::crawl_config& c) {
  scope::rules r;
  r.scope_mode = c.scope.mode == "domain" ? scope::mode::domain
                 : c.scope.mode == "any"  ? scope::mode::any
                                          : scope::mode::host;
  r.include = c.scope.include;
  r.exclude = c.scope.exclude;
  r.max_depth = c.scope.max_depth;
  r.max_url_length = static_cast<std::size_t>(c.scope.max_url_length);
  return r;
}

}  // namespace

admission::admission(const config::crawl_config& cfg, frontier::crawl_frontier& front,
                     crawl_stats& counters)
    : cfg_(cfg), front_(front), counters_(counters), scope_(scope_rules_of(cfg)) {}

std::optional<std::string> admission::seed(const std::string& given) {
  auto normalized = url::normalize_seed(given);
  if (!normalized) return "seed \"" + given + "\": not an http(s) URL";
  if (!scope_.seed_length_ok(*normalized)) {
    ++counters_.filtered;
    return "seed \"" + given + "\": longer than scope.max_url_length";
  }
  auto parts = url::split(*normalized);
  if (!parts) return "seed \"" + given + "\": not an http(s) URL";
  scope_.add_seed_host(parts->host);
  ++seeds_;
  auto& schedule = front_.schedule();
  if (schedule.was_seen(*normalized)) return std::nullopt;  // crawled before this resume
  const std::string key = url::host_key(*parts);
  // Without robots.txt there is no Sitemap: line to read; /sitemap.xml is the convention.
  if (!cfg_.robots.obey) host_sitemaps(key, {}, /*with_seeds=*/true);
  if (store_) store_->admitted({*normalized, 0, cfg_.limits.max_redirects, ""});
  front_.seed({std::move(*normalized), key, 0, cfg_.limits.max_redirects, false, nullptr});
  return std::nullopt;
}

admission::outcome admission::link(const std::string& link, int depth, int redirects_left,
                                   const frontier::shared_text& referrer) {
  auto& schedule = front_.schedule();
  if (schedule.was_seen(link)) return outcome::refused;
  auto parts = url::split(link);
  if (!parts) return outcome::refused;
  if (scope_.check(link, parts->host, depth) != scope::verdict::in) {
    if (filtered_.insert(frontier::url_hash(link))) ++counters_.filtered;
    return outcome::refused;
  }
  schedule.mark_seen(link);
  if (store_) store_->admitted({link, depth, redirects_left, text_of(referrer)});
  return front_.admit({link, url::host_key(*parts), depth, redirects_left, false, referrer})
             ? outcome::added
             : outcome::offered;
}

admission::outcome admission::sitemap(const std::string& location, int depth,
                                      const frontier::shared_text& referrer) {
  return sitemap_file(location, depth, referrer, false);
}

admission::outcome admission::sitemap_location(const std::string& url, int depth,
                                               const frontier::shared_text& referrer) {
  if (sitemap_urls_ >= cfg_.sitemaps.max_urls) return outcome::refused;
  auto result = link(url, depth, cfg_.limits.max_redirects, referrer);
  // Offered ones count too: a fleet worker cannot wait for the answer to keep the cap.
  if (result != outcome::refused) ++sitemap_urls_;
  return result;
}

admission::outcome admission::sitemap_file(const std::string& location, int depth,
                                           const frontier::shared_text& referrer, bool with_seeds) {
  if (!cfg_.sitemaps.enabled || sitemap_files_ >= cfg_.sitemaps.max_files) return outcome::refused;
  auto normalized = url::normalize(location);
  if (!normalized || !scope_.seed_length_ok(*normalized)) return outcome::refused;
  auto& schedule = front_.schedule();
  // Offered with the seeds, the frontier decides (and marks it seen) as it does for them.
  if (with_seeds ? schedule.was_seen(*normalized) : !schedule.mark_seen(*normalized))
    return outcome::refused;
  if (store_)
    store_->admitted({*normalized, depth, cfg_.limits.max_redirects, text_of(referrer), true});
  auto parts = url::split(*normalized);
  if (!parts) return outcome::refused;
  ++sitemap_files_;
  frontier::admitted_url u{std::move(*normalized),
                           url::host_key(*parts),
                           depth,
                           cfg_.limits.max_redirects,
                           true,
                           referrer};
  if (with_seeds) {
    front_.seed(std::move(u));
    return outcome::offered;
  }
  return front_.admit(std::move(u)) ? outcome::added : outcome::offered;
}

void admission::host_sitemaps(const std::string& host_key, const std::vector<std::string>& listed) {
  host_sitemaps(host_key, listed, false);
}

void admission::host_sitemaps(const std::string& host_key, const std::vector<std::string>& listed,
                              bool with_seeds) {
  if (!cfg_.sitemaps.enabled || !sitemap_hosts_.insert(host_key).second) return;
  const auto robots_url = std::make_shared<const std::string>(host_key + "/robots.txt");
  if (listed.empty()) {
    sitemap_file(host_key + "/sitemap.xml", 0, robots_url, with_seeds);
  } else {
    for (const auto& l : listed) sitemap_file(l, 0, robots_url, with_seeds);
  }
}

}  // namespace trawler::crawl
