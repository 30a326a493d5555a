#include "frontier/crawl_frontier.hpp"

namespace trawler::frontier {

local_frontier::local_frontier(options opt, frontier_owner& owner, std::int64_t max_pages)
    : crawl_frontier(opt), owner_(owner), max_pages_(max_pages) {}

url_entry local_frontier::entry_of(admitted_url u) {
  url_entry e;
  e.url = std::move(u.url);
  e.host = schedule().host_for(u.host_key);
  e.depth = u.depth;
  e.redirects_left = u.redirects_left;
  e.sitemap = u.sitemap;
  e.requisite = u.requisite;
  e.referrer = std::move(u.referrer);
  return e;
}

void local_frontier::seed(admitted_url u) {
  if (!schedule().mark_seen(u.url)) return;
  owner_.enqueue(entry_of(std::move(u)));
}

bool local_frontier::admit(admitted_url u) {
  owner_.enqueue(entry_of(std::move(u)));
  return true;
}

boost::asio::awaitable<std::optional<int>> local_frontier::settle() {
  co_return std::nullopt;
}

boost::asio::awaitable<void> local_frontier::share_robots(host_id, robots_verdict) {
  co_return;
}

bool local_frontier::page_budget_left() const {
  return max_pages_ <= 0 || answered_ + open_pages_ < static_cast<std::uint64_t>(max_pages_);
}

void local_frontier::page_ended(bool answered) {
  if (open_pages_ > 0) --open_pages_;
  if (answered) ++answered_;
}

bool local_frontier::budget_spent() const {
  return max_pages_ > 0 && answered_ >= static_cast<std::uint64_t>(max_pages_);
}

std::optional<bool> local_frontier::ended() const {
  // Nothing queued, the budget spent, or only hosts parked for good (a per-host budget):
  // the crawl is over, and it completed only when nothing is left.
  const auto& s = schedule();
  if (s.idle()) return true;
  // Recrawl continuous: revisits come due for ever; only a stop ends it.
  if (s.settings().endless) return std::nullopt;
  // Revisits do not count against the budget: they go on after it is spent.
  if (budget_spent() && s.revisits() > 0) return std::nullopt;
  if (budget_spent() || !s.next_wakeup()) return false;
  return std::nullopt;
}

boost::asio::awaitable<void> local_frontier::run() {
  co_return;
}

}  // namespace trawler::frontier
