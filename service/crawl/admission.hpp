#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/crawl_config.hpp"
#include "crawl/crawl_stats.hpp"
#include "frontier/crawl_frontier.hpp"
#include "scope/scope.hpp"
#include "url/url.hpp"

namespace trawler::state {
class crawl_state;
}

namespace trawler::crawl {

// Which URLs enter the crawl: seeds, links and redirect targets through the scope rules and the
// seen set, sitemap files (outside scope, within sitemaps.*) and their locations. What passes
// is noted in the state and handed to the frontier.
class admission {
 public:
  enum class outcome {
    refused,  // seen before, out of scope, over a limit
    offered,  // handed to a frontier that tells later whether it was new to the crawl
    added,    // new to the crawl, queued
  };

  admission(const config::crawl_config& cfg, frontier::crawl_frontier& front,
            crawl_stats& counters);

  // Notes admissions and drops in `store`; the drops it holds count as filtered already.
  void attach(state::crawl_state* store);
  scope::scope& scope_rules() { return scope_; }

  // A seed as given: why it cannot be used, or nullopt (admitted, or crawled before a resume).
  std::optional<std::string> seed(const std::string& given);
  std::size_t seeds() const { return seeds_; }

  // A link or redirect target of a page.
  outcome link(const std::string& url, int depth, int redirects_left,
               const frontier::shared_text& referrer);
  // A page requisite (fetch.requisites) of a page or style sheet, or a requisite's redirect
  // target: scope::check_requisite's rules.
  outcome requisite(const std::string& url, int depth, int redirects_left,
                    const frontier::shared_text& referrer);
  // A link not followed (nofollow): noted in the state, for explain, when it is new.
  bool keeps_drops() const { return store_ != nullptr; }
  void not_followed(const std::string& url, int depth, const frontier::shared_text& referrer);
  // A sitemap file (robots.txt may point at another host: no scope, but sitemaps.max_files).
  outcome sitemap(const std::string& location, int depth, const frontier::shared_text& referrer);
  // A <loc> of a sitemap: a link within sitemaps.max_urls.
  outcome sitemap_location(const std::string& url, int depth,
                           const frontier::shared_text& referrer);
  // The sitemaps a host announces in robots.txt, else its /sitemap.xml; once per host.
  void host_sitemaps(const std::string& host_key, const std::vector<std::string>& listed);

 private:
  outcome admit_checked(const std::string& url, const url::parts& parts, scope::verdict verdict,
                        int depth, int redirects_left, const frontier::shared_text& referrer,
                        bool requisite);
  outcome sitemap_file(const std::string& location, int depth,
                       const frontier::shared_text& referrer, bool with_seeds);
  void host_sitemaps(const std::string& host_key, const std::vector<std::string>& listed,
                     bool with_seeds);

  const config::crawl_config& cfg_;
  frontier::crawl_frontier& front_;
  crawl_stats& counters_;
  scope::scope scope_;
  state::crawl_state* store_ = nullptr;
  std::size_t seeds_ = 0;
  std::int64_t sitemap_files_ = 0;
  std::int64_t sitemap_urls_ = 0;
  std::unordered_set<std::string> sitemap_hosts_;
  frontier::hash_set filtered_;    // counted once each
  frontier::hash_set unfollowed_;  // nofollow links and capped sitemap URLs noted (with a state)
};

}  // namespace trawler::crawl
