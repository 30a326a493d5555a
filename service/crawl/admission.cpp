#include "crawl/admission.hpp"

#include "state/crawl_state.hpp"
#include "url/url.hpp"

namespace trawler::crawl {

namespace {

std::string text_of(const frontier::shared_text& t) {
  return t ? *t : std::string();
}

state::drop_reason reason_of(scope::verdict v) {
  switch (v) {
    case scope::verdict::not_included:
      return state::drop_reason::not_included;
    case scope::verdict::excluded:
      return state::drop_reason::excluded;
    case scope::verdict::too_deep:
      return state::drop_reason::too_deep;
    case scope::verdict::too_long:
      return state::drop_reason::too_long;
    case scope::verdict::in:
    case scope::verdict::out_of_scope:
      break;
  }
  return state::drop_reason::out_of_scope;
}

}  // namespace

admission::admission(const config::crawl_config& cfg, frontier::crawl_frontier& front,
                     crawl_stats& counters)
    : cfg_(cfg), front_(front), counters_(counters), scope_(scope::rules_of(cfg)) {}

void admission::attach(state::crawl_state* store) {
  store_ = store;
  if (store_)
    store_->for_each_dropped([&](std::uint64_t key, state::drop_reason why) {
      const bool counted =
          why != state::drop_reason::nofollow && why != state::drop_reason::sitemap_limit;
      (counted ? filtered_ : unfollowed_).insert(key);
    });
}

std::optional<std::string> admission::seed(const std::string& given) {
  auto normalized = url::normalize_seed(given);
  if (!normalized) return "seed \"" + given + "\": not an http(s) URL";
  if (!scope_.seed_length_ok(*normalized)) {
    if (filtered_.insert(frontier::url_hash(*normalized))) {
      ++counters_.filtered;
      if (store_)
        store_->dropped(frontier::url_hash(*normalized), state::drop_reason::too_long, -1, 0, {});
    }
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
  if (front_.schedule().was_seen(link)) return outcome::refused;
  auto parts = url::split(link);
  if (!parts) return outcome::refused;
  return admit_checked(link, *parts, scope_.check(link, parts->host, depth), depth, redirects_left,
                       referrer, false);
}

admission::outcome admission::requisite(const std::string& url, int depth, int redirects_left,
                                        const frontier::shared_text& referrer) {
  if (front_.schedule().was_seen(url)) return outcome::refused;
  auto parts = url::split(url);
  if (!parts) return outcome::refused;
  return admit_checked(url, *parts, scope_.check_requisite(url, depth), depth, redirects_left,
                       referrer, true);
}

admission::outcome admission::admit_checked(const std::string& link, const url::parts& parts,
                                            scope::verdict verdict, int depth, int redirects_left,
                                            const frontier::shared_text& referrer, bool requisite) {
  if (verdict != scope::verdict::in) {
    const auto key = frontier::url_hash(link);
    if (filtered_.insert(key)) {
      ++counters_.filtered;
      // Why, for `trawler explain`: 16 bytes a dropped URL in the state.
      if (store_) {
        const int rule = verdict == scope::verdict::excluded ? scope_.excluding_rule(link) : -1;
        store_->dropped(key, reason_of(verdict), rule, depth, text_of(referrer));
      }
    }
    return outcome::refused;
  }
  front_.schedule().mark_seen(link);
  if (store_) store_->admitted({link, depth, redirects_left, text_of(referrer), false, requisite});
  return front_.admit(
             {link, url::host_key(parts), depth, redirects_left, false, referrer, requisite})
             ? outcome::added
             : outcome::offered;
}

void admission::not_followed(const std::string& url, int depth,
                             const frontier::shared_text& referrer) {
  if (!store_ || front_.schedule().was_seen(url)) return;
  const auto key = frontier::url_hash(url);
  if (filtered_.contains(key) || !unfollowed_.insert(key)) return;
  store_->dropped(key, state::drop_reason::nofollow, -1, depth, text_of(referrer));
}

admission::outcome admission::sitemap(const std::string& location, int depth,
                                      const frontier::shared_text& referrer) {
  return sitemap_file(location, depth, referrer, false);
}

admission::outcome admission::sitemap_location(const std::string& url, int depth,
                                               const frontier::shared_text& referrer) {
  if (sitemap_urls_ >= cfg_.sitemaps.max_urls) {
    if (store_ && !front_.schedule().was_seen(url)) {
      const auto key = frontier::url_hash(url);
      if (!filtered_.contains(key) && unfollowed_.insert(key))
        store_->dropped(key, state::drop_reason::sitemap_limit, -1, depth, text_of(referrer));
    }
    return outcome::refused;
  }
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
