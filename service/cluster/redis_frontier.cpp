#include "cluster/redis_frontier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

#include "common/log.hpp"
#include "url/url.hpp"

namespace trawler::cluster {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string text_of(const frontier::shared_text& t) {
  return t ? *t : std::string();
}

shared_options shared_options_of(const fleet_settings& s) {
  shared_options so;
  so.lease = s.lease;
  so.batch = static_cast<std::size_t>(std::clamp(s.per_host * 4, 4, 64));
  return so;
}

}  // namespace

std::string worker_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  char tail[9];
  std::snprintf(tail, sizeof tail, "%08x", rd());
  return std::string(host) + "-" + std::to_string(getpid()) + "-" + tail;
}

redis_frontier::redis_frontier(asio::any_io_executor ex, frontier::options opt,
                               frontier::frontier_owner& owner, fleet_settings settings)
    : crawl_frontier(opt),
      ex_(ex),
      owner_(owner),
      settings_(std::move(settings)),
      address_(settings_.redis.address()),
      redis_(ex, settings_.redis),
      shared_(redis_, settings_.crawl_name,
              settings_.worker.empty() ? worker_name() : settings_.worker,
              shared_options_of(settings_)),
      timer_(ex) {}

redis_frontier::~redis_frontier() = default;

// ---- what the crawler asks -------------------------------------------------------------------

void redis_frontier::seed(frontier::admitted_url u) {
  // A sitemap offered with the seeds (robots off: /sitemap.xml) is not a seed: its host is not
  // the scope's.
  if (!u.sitemap) {
    if (auto parts = url::split(u.url)) seed_hosts_.push_back(parts->host);
  }
  // Offered to the fleet at the next tick: whichever worker offers it first admits it.
  seeds_.push_back(make_entry(std::move(u.url), std::move(u.host_key), u.depth, u.redirects_left,
                              u.sitemap, text_of(u.referrer)));
  owner_.wake();
}

bool redis_frontier::admit(frontier::admitted_url u) {
  // The fleet decides whether it is new (settle() counts the new ones).
  outbox_.push_back(make_entry(std::move(u.url), std::move(u.host_key), u.depth, u.redirects_left,
                               u.sitemap, text_of(u.referrer)));
  return false;
}

asio::awaitable<std::optional<int>> redis_frontier::settle() {
  if (outbox_.empty()) co_return 0;
  auto links = std::move(outbox_);
  outbox_.clear();
  ++busy_;
  auto flags = co_await call<std::vector<bool>>([&] { return shared_.admit(links); });
  --busy_;
  owner_.wake();
  // Only the fleet knows which links were new to the crawl.
  co_return flags ? static_cast<int>(std::count(flags->begin(), flags->end(), true)) : 0;
}

void redis_frontier::recorded(std::string_view url) {
  // Marked done once its line is written (flush), so a kill in between fetches it again rather
  // than losing it.
  done_.push_back(fingerprint(url));
}

void redis_frontier::cancelled(const frontier::url_entry& e) {
  give_back_.push_back(to_shared(e));
}

asio::awaitable<void> redis_frontier::share_robots(frontier::host_id h,
                                                   frontier::robots_verdict v) {
  // The next owner of the host reads it instead of fetching robots.txt again.
  const std::string key = schedule().host_key(h);
  ++busy_;
  co_await call<bool>([&] { return shared_.store_robots(key, v, settings_.robots_ttl); });
  --busy_;
  owner_.wake();
}

bool redis_frontier::page_budget_left() const {
  return settings_.max_pages <= 0 || page_tokens_ > 0;
}

void redis_frontier::page_started() {
  ++open_pages_;
  if (settings_.max_pages > 0) --page_tokens_;
}

void redis_frontier::page_ended(bool answered) {
  --open_pages_;
  if (settings_.max_pages > 0 && !answered) ++page_tokens_;
}

bool redis_frontier::budget_spent() const {
  return settings_.max_pages > 0 && budget_exhausted_ && page_tokens_ == 0 && open_pages_ == 0;
}

std::optional<bool> redis_frontier::ended() const {
  // The tick says when the crawl is over everywhere (or Redis is lost).
  if (finished_ || !failure_.empty() || budget_spent()) return finished_;
  return std::nullopt;
}

void redis_frontier::dispatcher_done() {
  dispatcher_done_ = true;
  timer_.cancel();
}

std::optional<frontier::crawl_wide_counts> redis_frontier::counts() const {
  frontier::crawl_wide_counts c;
  if (status_) {
    c = frontier::crawl_wide_counts{status_->seen,    status_->queued,      status_->claimed,
                                    status_->workers, status_->hosts_owned, status_->pages};
  }
  c.owned_here = static_cast<std::int64_t>(owned_.size());
  return c;
}

std::string redis_frontier::sharing() const {
  return "crawl \"" + settings_.crawl_name + "\" as worker " + shared_.worker() + " at Redis " +
         address_;
}

// ---- Redis calls -------------------------------------------------------------------------------

milliseconds redis_frontier::give_up() const {
  // Long enough for a Redis restart; a dead worker's hosts come back after lease_ms anyway.
  return std::max(milliseconds(5000), 2 * settings_.lease);
}

void redis_frontier::fail(const std::string& why) {
  if (!failure_.empty()) return;
  failure_ = why + " (gave up after " + std::to_string(give_up().count() / 1000) + " s of retries)";
  log::error("cluster: " + failure_);
  owner_.fail(failure_);
}

template <class T, class Op>
asio::awaitable<std::optional<T>> redis_frontier::call(Op op) {
  milliseconds pause{100};
  std::optional<steady::time_point> failing_since;
  for (;;) {
    if (!failure_.empty()) co_return std::nullopt;
    auto r = co_await op();
    if (r.ok()) co_return std::optional<T>(std::move(r.value));
    const auto now = steady::now();
    if (!failing_since) {
      failing_since = now;
      log::warn("cluster: " + r.message + "; retrying");
    }
    if (now - *failing_since > give_up()) {
      fail(r.message);
      co_return std::nullopt;
    }
    asio::steady_timer t(ex_, pause);
    co_await t.async_wait(use_tuple);
    pause = std::min(pause * 2, milliseconds(2000));
  }
}

shared_entry redis_frontier::to_shared(const frontier::url_entry& e) const {
  return make_entry(e.url, schedule().host_key(e.host), e.depth, e.redirects_left, e.sitemap,
                    text_of(e.referrer));
}

bool redis_frontier::locally_idle() const {
  return !owner_.busy() && schedule().idle() && busy_ == 0 && outbox_.empty() && seeds_.empty();
}

// A host now ours: its robots.txt verdict as the fleet knows it, the wait its previous owner
// left, and its claimed entries.
void redis_frontier::install(claimed_host& c) {
  const frontier::host_id h = schedule().host_for(c.host);
  owned_[h] = c.host;
  if (c.robots) owner_.learn_robots(h, *c.robots);
  if (c.wait.count() > 0) schedule().block_host_until(h, steady::now() + c.wait);
  install_entries(h, c.entries);
}

void redis_frontier::install_entries(frontier::host_id h, std::vector<shared_entry>& entries) {
  frontier::shared_text last_referrer;
  for (auto& se : entries) {
    frontier::url_entry e;
    schedule().mark_seen(se.url);
    e.url = std::move(se.url);
    e.host = h;
    e.depth = se.depth;
    e.redirects_left = se.redirects_left;
    e.sitemap = se.sitemap;
    if (!se.referrer.empty()) {
      if (!last_referrer || *last_referrer != se.referrer)
        last_referrer = std::make_shared<const std::string>(std::move(se.referrer));
      e.referrer = last_referrer;
    }
    owner_.enqueue(std::move(e));
  }
}

milliseconds redis_frontier::wait_left(frontier::host_id h) const {
  const auto at = schedule().host_eligible_at(h);
  const auto now = steady::now();
  return at > now ? std::chrono::duration_cast<milliseconds>(at - now) : milliseconds(0);
}

// Gives a host back with what is still queued for it here.
asio::awaitable<void> redis_frontier::release_host(frontier::host_id h) {
  auto it = owned_.find(h);
  if (it == owned_.end()) co_return;
  const std::string key = it->second;
  owned_.erase(it);
  std::vector<shared_entry> unfinished;
  for (auto& e : schedule().remove_if(h, [](const frontier::url_entry&) { return true; }))
    unfinished.push_back(to_shared(e));
  const milliseconds wait = wait_left(h);
  co_await call<bool>([&] { return shared_.release(key, wait, unfinished); });
}

// The scope's seed hosts are the crawl's: a worker started without seeds learns them here.
asio::awaitable<void> redis_frontier::sync_seed_hosts(std::vector<std::string> mine) {
  const std::string key = shared_.prefix() + "seedhosts";
  std::vector<redis::command> cmds;
  if (!mine.empty()) {
    redis::command add = {"SADD", key};
    add.insert(add.end(), mine.begin(), mine.end());
    cmds.push_back(std::move(add));
  }
  cmds.push_back({"SMEMBERS", key});
  auto r = co_await redis_.exec(std::move(cmds));
  if (!r.ok() || r.replies.empty()) co_return;
  for (const auto& h : r.replies.back().elements) owner_.learn_seed_host(h.str);
}

asio::awaitable<void> redis_frontier::publish_seeds() {
  if (seeds_.empty()) co_return;
  auto seeds = std::move(seeds_);
  seeds_.clear();
  auto hosts = std::move(seed_hosts_);
  seed_hosts_.clear();
  ++busy_;
  co_await sync_seed_hosts(std::move(hosts));
  co_await call<std::vector<bool>>([&] { return shared_.admit(seeds); });
  --busy_;
  owner_.wake();
}

asio::awaitable<void> redis_frontier::flush(bool force) {
  const auto now = steady::now();
  if (done_.empty() || (!force && now < next_flush_)) co_return;
  // Every tick: the records written but not yet marked done are what a kill -9 would have
  // recorded twice, so that window stays a few tens of milliseconds.
  next_flush_ = now + milliseconds(20);
  if (!owner_.flush_output()) co_return;  // the output failed: the crawl is being stopped
  auto done = std::move(done_);
  done_.clear();
  co_await call<std::vector<bool>>([&] { return shared_.record(done, {}); });
}

asio::awaitable<void> redis_frontier::tick() {
  const auto lease = settings_.lease;
  co_await publish_seeds();
  // Links admitted outside a page (sitemaps of seeds) go out with the tick.
  if (!outbox_.empty()) co_await settle();
  co_await flush(false);
  auto now = steady::now();
  if (now >= next_renew_) {
    next_renew_ = now + lease / 3;
    std::vector<std::string> keys;
    for (const auto& [id, key] : owned_) keys.push_back(key);
    auto lost = co_await call<std::vector<std::string>>([&] { return shared_.renew(keys); });
    if (lost) {
      for (const auto& key : *lost) {
        // Another worker has the host now: what is queued for it here goes back.
        std::optional<frontier::host_id> lost_id;
        for (const auto& [id, k] : owned_) {
          if (k == key) lost_id = id;
        }
        if (!lost_id) continue;
        log::warn("cluster: lost the lease of " + key);
        co_await release_host(*lost_id);
      }
    }
  }
  if (now >= next_reap_) {
    next_reap_ = now + lease;
    co_await call<std::int64_t>([&] { return shared_.reap(2 * lease); });
  }
  if (now >= next_seeds_) {
    next_seeds_ = now + milliseconds(2000);
    co_await sync_seed_hosts({});
  }
  if (owner_.stopping()) {
    // SIGTERM: the hosts go back at once; open requests finish or are cancelled.
    if (!handed_back_) {
      handed_back_ = true;
      std::vector<frontier::host_id> ids;
      for (const auto& [id, key] : owned_) ids.push_back(id);
      for (auto id : ids) co_await release_host(id);
    }
    co_return;
  }
  // Hosts running low here get more of their queue before their requests run out (their new
  // links are in Redis too); a host with nothing left at all goes back to the fleet.
  const std::size_t low_water = static_cast<std::size_t>(std::max(1, settings_.per_host)) * 2;
  std::vector<frontier::host_id> low;
  for (const auto& [id, key] : owned_) {
    if (schedule().queued_on(id) < low_water) low.push_back(id);
  }
  for (auto id : low) {
    auto it = owned_.find(id);
    if (it == owned_.end() || schedule().queued_on(id) >= low_water) continue;
    const std::string key = it->second;
    auto more = co_await call<std::optional<std::vector<shared_entry>>>(
        [&] { return shared_.refill(key); });
    if (!more) continue;
    if (!*more) {
      owned_.erase(id);  // the lease was lost meanwhile
    } else if (!(*more)->empty()) {
      install_entries(id, **more);
      owner_.wake();
    } else if (schedule().pending_on(id) == 0 && owned_.count(id)) {
      co_await release_host(id);
    }
  }
  // Crawl-wide page budget.
  if (settings_.max_pages > 0 && !budget_exhausted_ &&
      page_tokens_ < static_cast<std::int64_t>(settings_.concurrency)) {
    const std::int64_t want = settings_.concurrency - page_tokens_;
    auto got = co_await call<std::int64_t>(
        [&] { return shared_.reserve_pages(settings_.max_pages, want); });
    if (got) {
      page_tokens_ += *got;
      if (*got == 0) budget_exhausted_ = true;
      // Either way the dispatcher has something to decide: start pages, or end.
      owner_.wake();
    }
  }
  // Claim hosts while this worker can use more: per_host requests each, up to concurrency.
  if (!owner_.paused() && !budget_spent()) {
    const std::size_t per = static_cast<std::size_t>(std::max(1, settings_.per_host));
    const std::size_t slots = (static_cast<std::size_t>(settings_.concurrency) + per - 1) / per;
    std::size_t busy_hosts = 0;
    for (const auto& [id, key] : owned_) {
      if (schedule().pending_on(id) > 0) ++busy_hosts;
    }
    if (busy_hosts < slots) {
      auto got = co_await call<std::vector<claimed_host>>(
          [&] { return shared_.claim(slots - busy_hosts); });
      if (got && !got->empty()) {
        for (auto& c : *got) install(c);
        owner_.wake();
      }
    }
  }
  // Nothing here and nothing anywhere: the crawl is over.
  if (locally_idle() && owned_.empty() && done_.empty()) {
    auto st = co_await call<crawl_status>([&] { return shared_.status(2 * lease); });
    if (st) {
      status_ = *st;
      if (st->finished() && locally_idle() && owned_.empty()) {
        finished_ = true;
        owner_.wake();
      }
    }
  } else if (now >= next_status_) {
    next_status_ = now + milliseconds(1000);
    auto st = co_await call<crawl_status>([&] { return shared_.status(2 * lease); });
    if (st) status_ = *st;
  }
}

// The end (or a stop): records marked done, the rest handed back, the budget returned.
asio::awaitable<void> redis_frontier::hand_back() {
  co_await flush(true);
  std::map<std::string, std::vector<shared_entry>> back;
  for (auto& e : give_back_) back[e.host].push_back(std::move(e));
  give_back_.clear();
  std::vector<frontier::host_id> ids;
  for (const auto& [id, key] : owned_) ids.push_back(id);
  for (auto id : ids) co_await release_host(id);
  for (auto& [host, entries] : back) {
    const std::string key = host;
    co_await call<bool>([&] { return shared_.release(key, milliseconds(0), entries); });
  }
  if (page_tokens_ > 0) {
    const auto n = page_tokens_;
    page_tokens_ = 0;
    co_await call<bool>([&] { return shared_.unreserve_pages(n); });
  }
  auto st = co_await call<crawl_status>([&] { return shared_.status(2 * settings_.lease); });
  if (st) status_ = *st;
  co_await call<bool>([&] { return shared_.leave(); });
}

asio::awaitable<void> redis_frontier::run() {
  // Seeds first, so that the first claim can find them.
  co_await publish_seeds();
  while (!dispatcher_done_ && failure_.empty()) {
    co_await tick();
    if (dispatcher_done_ || !failure_.empty()) break;
    timer_.expires_after(owned_.empty() ? milliseconds(50) : milliseconds(20));
    co_await timer_.async_wait(use_tuple);
  }
  if (failure_.empty()) co_await hand_back();
  // Its read loop would keep the crawl's event loop running.
  redis_.close();
}

}  // namespace trawler::cluster
