#include "cluster/redis_frontier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>

#include "common/hash_mix.hpp"
#include "common/log.hpp"
#include "frontier/frontier.hpp"
#include "url/url.hpp"

namespace trawler::cluster {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Links a worker has seen the fleet know, kept so that site navigation (the same menu on every
// page) never reaches Redis: 2^18 fingerprints, 2 MiB. A hit is exact (only URLs the fleet
// answered for are kept); a miss asks Redis.
constexpr std::size_t seen_cache_slots = std::size_t{1} << 18;
// An empty bucket is looked at again after this, doubling up to the longest.
constexpr milliseconds first_backoff{1000};
constexpr milliseconds longest_backoff{30000};
// Admissions are kept after Redis acknowledged them, to offer again after a failover: a
// master replicates within milliseconds, so what a failover lost was acknowledged shortly
// before the master died; the heartbeat that notices the new master comes up to a beat
// interval plus the cluster's node timeout (Redis' default: 15 s) later.
constexpr milliseconds node_timeout_allowance{15000};

std::string text_of(const frontier::shared_text& t) {
  return t ? *t : std::string();
}

shared_options shared_options_of(const fleet_settings& s) {
  shared_options so;
  so.lease = s.lease;
  so.batch = static_cast<std::size_t>(std::clamp(s.per_host * 4, 4, 64));
  so.buckets = s.buckets;
  so.recrawl = s.recrawl;
  return so;
}

std::string addresses(const std::vector<redis::endpoint>& eps) {
  std::string out;
  for (const auto& e : eps) {
    if (!out.empty()) out += ',';
    out += e.address();
  }
  return out;
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
      address_(addresses(settings_.redis)),
      redis_(ex, settings_.redis),
      shared_(redis_, settings_.crawl_name,
              settings_.worker.empty() ? worker_name() : settings_.worker,
              shared_options_of(settings_)),
      seen_cache_(seen_cache_slots, 0),
      timer_(ex) {}

redis_frontier::~redis_frontier() = default;

std::size_t redis_frontier::buckets_owned() const {
  std::size_t n = 0;
  for (const auto& [b, st] : buckets_) n += st.owned ? 1 : 0;
  return n;
}

// ---- what the crawler asks -------------------------------------------------------------------

void redis_frontier::seed(frontier::admitted_url u) {
  // A sitemap offered with the seeds (robots off: /sitemap.xml) is not a seed: its host is not
  // the scope's.
  if (!u.sitemap) {
    if (auto parts = url::split(u.url)) seed_hosts_.push_back(parts->host);
  }
  // Offered to the fleet at the next tick: whichever worker offers it first admits it.
  seeds_.push_back(make_entry(std::move(u.url), std::move(u.host_key), u.depth, u.redirects_left,
                              u.sitemap, text_of(u.referrer), u.requisite));
  owner_.wake();
}

bool redis_frontier::admit(frontier::admitted_url u) {
  // The fleet decides whether it is new (settle() counts the new ones).
  outbox_.push_back(make_entry(std::move(u.url), std::move(u.host_key), u.depth, u.redirects_left,
                               u.sitemap, text_of(u.referrer), u.requisite));
  return false;
}

bool redis_frontier::seen_recently(std::uint64_t fp) const {
  return fp != 0 && seen_cache_[mix64(fp) & (seen_cache_slots - 1)] == fp;
}

void redis_frontier::remember_seen(std::uint64_t fp) {
  seen_cache_[mix64(fp) & (seen_cache_slots - 1)] = fp;
}

// Entries to the fleet, bucket by bucket (one pipeline per shard); owners of buckets where a
// host became ready hear of it through their doorbell. Returns, per entry, whether it was new
// to the crawl (false for one the local cache knew).
asio::awaitable<std::optional<std::vector<bool>>> redis_frontier::admit_entries(
    std::vector<shared_entry> in) {
  std::vector<bool> fresh(in.size(), false);
  std::map<int, std::vector<shared_entry>> grouped;
  std::map<int, std::vector<std::size_t>> index;  // each grouped entry's place in `in`
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto& e = in[i];
    if (seen_recently(fingerprint::of(e.url).value)) continue;
    const int b = shared_.bucket_of(e.host);
    grouped[b].push_back(std::move(e));
    index[b].push_back(i);
  }
  if (grouped.empty()) co_return fresh;
  std::vector<std::pair<int, std::vector<shared_entry>>> batches(grouped.begin(), grouped.end());
  grouped.clear();
  auto got = co_await call<std::vector<admitted_batch>>([&] { return shared_.admit(batches); });
  if (!got) co_return std::nullopt;
  std::map<std::string, std::vector<int>> bells;
  // Kept for a while: a master that acknowledged them may die before its replica has them.
  const auto acked = steady::now();
  const auto keep = settings_.lease / 3 + node_timeout_allowance;
  while (!outage_began_ && !recent_.empty() && acked - recent_.front().first > keep)
    recent_.pop_front();
  for (const auto& batch : batches) recent_.push_back({acked, batch});
  for (std::size_t i = 0; i < got->size() && i < batches.size(); ++i) {
    const auto& a = (*got)[i];
    const int b = batches[i].first;
    const auto& entries = batches[i].second;
    const auto& places = index[b];
    for (std::size_t k = 0; k < a.added.size() && k < entries.size(); ++k) {
      remember_seen(fingerprint::of(entries[k].url).value);
      if (a.added[k] && k < places.size()) fresh[places[k]] = true;
    }
    if (a.newly_ready == 0) continue;
    auto it = buckets_.find(b);
    if (a.owner == shared_.worker() && it != buckets_.end() && it->second.owned) {
      it->second.next_check = steady::now();
      it->second.backoff = milliseconds(0);
    } else if (!a.owner.empty()) {
      bells[a.owner].push_back(b);
    }
  }
  if (!bells.empty()) co_await call<bool>([&] { return shared_.ring(bells); });
  co_return fresh;
}

asio::awaitable<std::optional<int>> redis_frontier::settle() {
  // The links admitted since the last settle() are this page's. They go out with the tick's
  // admission round, together with the other pages' of the same tick: their buckets' scripts
  // then run once for all of them (a page's 35 links reach about 10 buckets; a busy worker's
  // pages of one tick share many).
  if (outbox_.size() == settled_) co_return 0;
  if (!round_) round_ = std::make_shared<admission_round>(ex_);
  const auto round = round_;
  const std::size_t begin = settled_, end = outbox_.size();
  settled_ = end;
  ++busy_;
  // The run loop sends the round at its next tick (every 20 ms while this worker holds hosts).
  if (!round->over) co_await round->done.async_wait(use_tuple);
  --busy_;
  // Only the fleet knows which links were new to the crawl.
  int added = 0;
  for (std::size_t i = begin; i < end && i < round->added.size(); ++i) added += round->added[i];
  co_return added;
}

asio::awaitable<void> redis_frontier::send_round() {
  if (outbox_.empty()) co_return;
  auto round = std::move(round_);
  round_.reset();
  auto entries = std::move(outbox_);
  outbox_.clear();
  settled_ = 0;
  ++busy_;
  auto fresh = co_await admit_entries(std::move(entries));
  --busy_;
  if (round) {
    if (fresh) round->added = std::move(*fresh);
    round->over = true;
    round->done.cancel();
  }
  owner_.wake();
}

void redis_frontier::end_round() {
  if (!round_) return;
  round_->over = true;
  round_->done.cancel();
  round_.reset();
}

void redis_frontier::recorded(std::string_view url) {
  // Marked done once its line is written (flush), so a kill in between fetches it again rather
  // than losing it.
  const auto fp = fingerprint::of(url);
  if (auto v = visiting_.find(fp.value); v != visiting_.end()) {
    // Kept with the done mark, in the same call: a kill before it fetches the URL again.
    const int b = shared_.bucket_of(v->second.host);
    visits_done_[b].push_back(std::move(v->second));
    visiting_.erase(v);
  }
  auto it = claimed_here_.find(fp.value);
  if (it == claimed_here_.end()) return;
  done_[it->second].push_back(fp);
  claimed_here_.erase(it);
}

void redis_frontier::cancelled(const frontier::url_entry& e) {
  visiting_.erase(fingerprint::of(e.url).value);
  give_back_.push_back(to_shared(e));
}

void redis_frontier::keep_visit(const frontier::url_entry& next, std::string row,
                                std::int64_t due_ms) {
  kept_visit k;
  k.host = schedule().host_key(next.host);
  k.fp = fingerprint::of(next.url);
  k.value = encode_visit(to_shared(next), row);
  k.due_ms = due_ms;
  visiting_[k.fp.value] = std::move(k);
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
  if (registered_) {
    c = frontier::crawl_wide_counts{
        registry_.seen,       registry_.queued,
        registry_.claimed,    static_cast<std::int64_t>(registry_.alive.size()),
        registry_.hosts_held, registry_.pages};
  }
  c.owned_here = static_cast<std::int64_t>(owned_.size());
  c.revisits = registry_.revisits;
  return c;
}

std::string redis_frontier::sharing() const {
  return "crawl \"" + settings_.crawl_name + "\" as worker " + shared_.worker() + " at Redis " +
         address_;
}

// ---- Redis calls -------------------------------------------------------------------------------

milliseconds redis_frontier::give_up_after() const {
  // Long enough for a Redis restart or a cluster failover; a dead worker's buckets come back
  // after lease_ms anyway.
  return std::max(milliseconds(10000), 2 * settings_.lease);
}

void redis_frontier::fail(const std::string& why) {
  if (!failure_.empty()) return;
  failure_ =
      why + " (gave up after " + std::to_string(give_up_after().count() / 1000) + " s of retries)";
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
    if (r.ok()) {
      if (failing_since) {
        log::info("cluster: Redis answers again");
        // A failover may have lost the old master's last writes: compare once it settled.
        reconcile_at_ = steady::now() + milliseconds(2000);
        if (!outage_began_ || *failing_since < *outage_began_) outage_began_ = *failing_since;
      }
      co_return std::optional<T>(std::move(r.value));
    }
    const auto now = steady::now();
    if (!failing_since) {
      failing_since = now;
      if (!outage_began_) outage_began_ = now;
      log::warn("cluster: " + r.message + "; retrying");
    }
    if (now - *failing_since > give_up_after()) {
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
                    text_of(e.referrer), e.requisite);
}

std::size_t redis_frontier::work_on(frontier::host_id h) const {
  return schedule().pending_on(h) + schedule().revisits_on(h);
}

std::size_t redis_frontier::waiting_on(frontier::host_id h) const {
  return schedule().queued_on(h) + schedule().revisits_on(h);
}

std::vector<frontier::url_entry> redis_frontier::remove_all(frontier::host_id h) {
  auto out = schedule().remove_if(h, [](const frontier::url_entry&) { return true; });
  for (const auto& e : out) {
    claimed_here_.erase(fingerprint::of(e.url).value);
    if (e.revisit) owner_.revisit_dropped(e.url);
  }
  return out;
}

bool redis_frontier::locally_idle() const {
  return !owner_.busy() && schedule().idle() && busy_ == 0 && outbox_.empty() && seeds_.empty();
}

// Nothing to do here and, as far as this worker knows, nothing in its buckets.
bool redis_frontier::idle_everywhere_here() const {
  if (!locally_idle() || !owned_.empty() || !done_.empty() || !claimed_here_.empty() ||
      !give_back_.empty())
    return false;
  for (const auto& [b, st] : buckets_) {
    if (st.leaving || st.counts.queued > 0 || st.counts.claimed > 0) return false;
  }
  return unowned_share_ == 0;
}

// A host of one of this worker's buckets: its robots.txt verdict as the fleet knows it, the
// wait its previous holder left, and its claimed entries.
void redis_frontier::install(int bucket, claimed_host& c) {
  const frontier::host_id h = schedule().host_for(c.host);
  if (!owned_.count(h)) {
    owned_[h] = c.host;
    buckets_[bucket].held.push_back(h);
    if (c.robots) owner_.learn_robots(h, *c.robots);
    if (c.wait.count() > 0) schedule().block_host_until(h, steady::now() + c.wait);
  }
  install_entries(bucket, h, c.entries);
}

void redis_frontier::install_entries(int bucket, frontier::host_id h,
                                     std::vector<shared_entry>& entries) {
  dry_[h] = entries.empty();
  frontier::shared_text last_referrer;
  for (auto& se : entries) {
    frontier::url_entry e;
    claimed_here_[fingerprint::of(se.url).value] = bucket;
    schedule().mark_seen(se.url);
    e.url = std::move(se.url);
    e.host = h;
    e.depth = se.depth;
    e.redirects_left = se.redirects_left;
    e.sitemap = se.sitemap;
    e.requisite = se.requisite;
    if (!se.referrer.empty()) {
      if (!last_referrer || *last_referrer != se.referrer)
        last_referrer = std::make_shared<const std::string>(std::move(se.referrer));
      e.referrer = last_referrer;
    }
    // Visited before (recrawl): a revisit, with the row its visit decides from.
    if (!se.visit.empty()) {
      owner_.revisit(std::move(e), std::move(se.visit));
    } else {
      owner_.enqueue(std::move(e));
    }
  }
}

// Forgets a held host here (its bucket's state in Redis says what happens to it).
void redis_frontier::drop_host(frontier::host_id h) {
  auto it = owned_.find(h);
  if (it == owned_.end()) return;
  const int b = shared_.bucket_of(it->second);
  owned_.erase(it);
  dry_.erase(h);
  auto bt = buckets_.find(b);
  if (bt != buckets_.end()) std::erase(bt->second.held, h);
}

milliseconds redis_frontier::wait_left(frontier::host_id h) const {
  const auto at = schedule().host_eligible_at(h);
  const auto now = steady::now();
  return at > now ? std::chrono::duration_cast<milliseconds>(at - now) : milliseconds(0);
}

// After a call on a bucket: when to look at it again for new hosts.
void redis_frontier::schedule_check(int bucket, const bucket_counts& c) {
  auto it = buckets_.find(bucket);
  if (it == buckets_.end()) return;
  auto& st = it->second;
  st.counts = c;
  const auto now = steady::now();
  if (c.next_ready && c.next_ready->count() == 0) {
    st.backoff = milliseconds(0);
    st.next_check = now;
    return;
  }
  st.backoff = st.backoff.count() == 0 ? first_backoff : std::min(st.backoff * 2, longest_backoff);
  auto next = now + st.backoff;
  // A host released with a wait comes due at a known time.
  if (c.next_ready) next = std::min(next, now + *c.next_ready);
  // Nothing ready at all: only a doorbell brings work (or the look every 30 s).
  if (!c.next_ready) next = now + longest_backoff;
  st.next_check = next;
}

// Gives a held host back with what is still queued for it here.
asio::awaitable<void> redis_frontier::release_host(frontier::host_id h) {
  auto it = owned_.find(h);
  if (it == owned_.end()) co_return;
  const std::string key = it->second;
  drop_host(h);
  std::vector<shared_entry> unfinished;
  if (auto aside = set_aside_.find(h); aside != set_aside_.end()) {
    unfinished = std::move(aside->second);
    set_aside_.erase(aside);
  }
  for (auto& e : remove_all(h)) unfinished.push_back(to_shared(e));
  const milliseconds wait = wait_left(h);
  co_await call<bool>([&] { return shared_.release(key, wait, unfinished); });
}

asio::awaitable<void> redis_frontier::publish_seeds() {
  if (seeds_.empty()) co_return;
  auto seeds = std::move(seeds_);
  seeds_.clear();
  auto hosts = std::move(seed_hosts_);
  seed_hosts_.clear();
  ++busy_;
  // The scope's seed hosts first: whoever takes the seeds' links judges them by these.
  auto all = co_await call<std::vector<std::string>>([&] { return shared_.seed_hosts(hosts); });
  if (all) {
    for (const auto& h : *all) owner_.learn_seed_host(h);
  }
  auto added = co_await admit_entries(std::move(seeds));
  if (added) co_await call<bool>([&] { return shared_.mark_seeded(); });
  --busy_;
  owner_.wake();
}

asio::awaitable<void> redis_frontier::flush(bool force) {
  const auto now = steady::now();
  if ((done_.empty() && visits_done_.empty()) || (!force && now < next_flush_)) co_return;
  // Every tick: the records written but not yet marked done are what a kill -9 would have
  // recorded twice, so that window stays a few tens of milliseconds.
  next_flush_ = now + milliseconds(20);
  if (!owner_.flush_output()) co_return;  // the output failed: the crawl is being stopped
  auto done = std::move(done_);
  done_.clear();
  auto visits = std::move(visits_done_);
  visits_done_.clear();
  // Kept a while: after an outage, a claim Redis still lists for this worker is told apart
  // from one it never received.
  const auto now2 = steady::now();
  const auto keep = settings_.lease / 3 + node_timeout_allowance;
  while (!outage_began_ && !recent_done_.empty() && now2 - std::get<0>(recent_done_.front()) > keep)
    recent_done_.pop_front();
  for (const auto& [b, fps] : done) {
    for (const auto& f : fps) recent_done_.emplace_back(now2, b, f);
  }
  while (!outage_began_ && !recent_visits_.empty() &&
         now2 - std::get<0>(recent_visits_.front()) > keep)
    recent_visits_.pop_front();
  for (const auto& [b, vs] : visits) {
    for (const auto& v : vs) recent_visits_.emplace_back(now2, b, v);
  }
  auto counts =
      co_await call<std::map<int, bucket_counts>>([&] { return shared_.record(done, visits); });
  if (!counts) co_return;
  for (const auto& [b, c] : *counts) {
    auto it = buckets_.find(b);
    if (it == buckets_.end()) continue;
    it->second.counts = c;
    if (c.next_ready)
      it->second.next_check = std::min(it->second.next_check, steady::now() + *c.next_ready);
  }
}

// The heartbeat, and what the registry says this worker should own.
asio::awaitable<void> redis_frontier::membership(bool force) {
  const auto now = steady::now();
  // The registry learns at once when this worker goes idle or busy (the end of the crawl is
  // judged from it).
  std::string state = "busy";
  if (idle_everywhere_here()) {
    if (idle_state_ == "busy") {
      ++idle_generation_;
      idle_since_ = now;
    }
    state = "idle:" + std::to_string(idle_generation_);
  }
  const bool changed = state != idle_state_;
  if (!force && !changed && now < next_beat_) co_return;
  // Idle workers look often for a while (the crawl may be ending), then every lease/3.
  const bool fresh_idle = state != "busy" && now - idle_since_ < milliseconds(10000);
  next_beat_ = now + (fresh_idle ? milliseconds(1000) : settings_.lease / 3);
  worker_part part;
  for (const auto& [b, st] : buckets_) {
    if (!st.owned) continue;
    part.queued += st.counts.queued;
    part.claimed += st.counts.claimed;
    part.seen += st.counts.seen;
    part.revisits += st.counts.revisits;
  }
  part.hosts_held = static_cast<std::int64_t>(owned_.size());
  auto reg = co_await call<registry>([&] { return shared_.beat(state, part); });
  if (!reg) co_return;
  co_await watch_masters();
  idle_state_ = state;
  if (!registered_ || reg->buckets != shared_.buckets()) {
    if (reg->buckets != settings_.buckets)
      log::info("cluster: the crawl has " + std::to_string(reg->buckets) +
                " buckets (fixed by its first worker); cluster.buckets " +
                std::to_string(settings_.buckets) + " does not apply");
    shared_.use_buckets(reg->buckets);
  }
  const bool joined = !registered_;
  registered_ = true;
  registry_ = *reg;
  alive_ = reg->alive;
  if (joined) co_await tell_the_others();
  if (owner_.stopping()) co_return;
  // Ownership: buckets now this worker's are acquired (taken over when their owner is dead);
  // buckets now another's are drained and given up (hand_over).
  const auto target = assign_buckets(alive_, shared_.buckets());
  const auto me_it = std::find(alive_.begin(), alive_.end(), shared_.worker());
  if (me_it == alive_.end()) co_return;
  const int me = static_cast<int>(me_it - alive_.begin());
  std::vector<std::pair<int, std::string>> wanted;
  for (int b = 0; b < static_cast<int>(target.size()); ++b) {
    auto it = buckets_.find(b);
    const bool mine = target[static_cast<std::size_t>(b)] == me;
    if (mine && (it == buckets_.end() || !it->second.owned)) wanted.push_back({b, ""});
    // A bucket being handed over is given up first (its hosts' URLs are set aside already),
    // then acquired again if it is this worker's once more.
    if (!mine && it != buckets_.end() && it->second.owned && !it->second.leaving) {
      it->second.leaving = true;
      it->second.leaving_since = now;
    }
  }
  int acquired = 0;
  for (int round = 0; round < 2 && !wanted.empty(); ++round) {
    auto got = co_await call<std::vector<shared_frontier::acquired>>(
        [&] { return shared_.acquire(wanted); });
    if (!got) co_return;
    std::vector<std::pair<int, std::string>> dead;
    for (std::size_t i = 0; i < got->size() && i < wanted.size(); ++i) {
      const int b = wanted[i].first;
      const auto& a = (*got)[i];
      if (a.ok) {
        ++acquired;
        auto& st = buckets_[b];
        st.owned = true;
        st.leaving = false;
        st.backoff = milliseconds(0);
        st.counts = a.counts;
        // Looked at when a host is ready; an empty bucket waits for a doorbell.
        st.next_check = steady::now() + a.counts.next_ready.value_or(longest_backoff);
        if (!wanted[i].second.empty())
          log::info("cluster: took bucket " + std::to_string(b) + " over from " + wanted[i].second +
                    " (silent for longer than lease_ms)");
      } else if (!std::binary_search(alive_.begin(), alive_.end(), a.owner)) {
        dead.push_back({b, a.owner});  // its owner may be dead
      }
      // Otherwise its owner is alive and hands it over after its pages end: asked again at
      // the next beat.
    }
    if (dead.empty()) break;
    // An owner missing from the registry read above may have joined since (it registers
    // before it acquires anything): only one missing from a registry read after the acquire
    // is dead.
    auto again = co_await call<registry>([&] { return shared_.beat(idle_state_, part); });
    if (!again) co_return;
    registry_ = *again;
    alive_ = again->alive;
    std::erase_if(dead, [&](const auto& d) {
      return std::binary_search(alive_.begin(), alive_.end(), d.second);
    });
    wanted = std::move(dead);
  }
  if (acquired > 0)
    log::info("cluster: acquired " + std::to_string(acquired) + " buckets; owns " +
              std::to_string(buckets_owned()) + " of " + std::to_string(shared_.buckets()) +
              " with " + std::to_string(alive_.size()) + " workers alive");
  // Until every bucket of this worker's share is owned, look again soon.
  unowned_share_ = 0;
  for (int b = 0; b < static_cast<int>(target.size()); ++b) {
    if (target[static_cast<std::size_t>(b)] != me) continue;
    auto it = buckets_.find(b);
    if (it == buckets_.end() || !it->second.owned) ++unowned_share_;
  }
  if (unowned_share_ > 0) next_beat_ = std::min(next_beat_, steady::now() + milliseconds(250));
  owner_.wake();
}

// Rings every other live worker's doorbell: a worker joined or leaves, so shares change now
// rather than at their next heartbeat.
asio::awaitable<void> redis_frontier::tell_the_others() {
  std::map<std::string, std::vector<int>> bells;
  for (const auto& w : alive_) {
    if (w != shared_.worker()) bells[w].push_back(shared_frontier::membership_changed);
  }
  if (!bells.empty()) co_await call<bool>([&] { return shared_.ring(bells); });
}

asio::awaitable<void> redis_frontier::answer_bell() {
  const auto now = steady::now();
  if (now < next_bell_) co_return;
  const bool idle = idle_state_ != "busy";
  next_bell_ = now + (idle ? milliseconds(1000) : milliseconds(200));
  auto rung = co_await call<std::vector<int>>([&] { return shared_.answer_bell(); });
  if (!rung) co_return;
  for (int b : *rung) {
    if (b == shared_frontier::membership_changed) next_beat_ = steady::now();
    auto it = buckets_.find(b);
    if (it == buckets_.end() || !it->second.owned) continue;
    it->second.next_check = steady::now();
    it->second.backoff = milliseconds(0);
  }
}

// Buckets that are another worker's now: their queued entries go back at once, their hosts
// once no page of them is open, the bucket once nothing claimed in it is unrecorded.
asio::awaitable<void> redis_frontier::hand_over() {
  std::vector<int> leaving;
  for (const auto& [b, st] : buckets_) {
    if (st.owned && st.leaving) leaving.push_back(b);
  }
  std::vector<int> give;
  for (int b : leaving) {
    auto it = buckets_.find(b);
    if (it == buckets_.end()) continue;
    const auto held = it->second.held;
    for (auto h : held) {
      // No new request starts on the host here: its queued URLs wait aside for the release,
      // which comes once its open requests have ended.
      auto& aside = set_aside_[h];
      for (auto& e : remove_all(h)) aside.push_back(to_shared(e));
      if (schedule().pending_on(h) == 0) co_await release_host(h);
    }
    it = buckets_.find(b);
    if (it == buckets_.end()) continue;
    bool open = !it->second.held.empty() || done_.count(b) > 0;
    for (const auto& [fp, bucket] : claimed_here_) {
      if (bucket == b) open = true;
    }
    // A page that never reports its record must not keep the bucket forever.
    if (open && steady::now() - it->second.leaving_since < settings_.lease) continue;
    if (open) {
      for (auto h : std::vector<frontier::host_id>(it->second.held)) co_await release_host(h);
      std::erase_if(claimed_here_, [b](const auto& kv) { return kv.second == b; });
    }
    give.push_back(b);
  }
  if (give.empty()) co_return;
  co_await flush(true);
  co_await call<bool>([&] { return shared_.give_up(give); });
  for (int b : give) buckets_.erase(b);
  log::info("cluster: handed " + std::to_string(give.size()) + " buckets over; owns " +
            std::to_string(buckets_owned()));
  // Their new owners acquire them at once rather than at their next look.
  const auto target = assign_buckets(alive_, shared_.buckets());
  std::map<std::string, std::vector<int>> bells;
  for (int b : give) {
    if (b < static_cast<int>(target.size()) && target[static_cast<std::size_t>(b)] >= 0) {
      const auto& to = alive_[static_cast<std::size_t>(target[static_cast<std::size_t>(b)])];
      if (to != shared_.worker()) bells[to] = {shared_frontier::membership_changed};
    }
  }
  if (!bells.empty()) co_await call<bool>([&] { return shared_.ring(bells); });
}

// Hosts from due buckets while request slots are free; more entries for held hosts running
// low; held hosts with nothing left go back (with the wait politeness asks of their next start).
asio::awaitable<void> redis_frontier::take() {
  const auto now = steady::now();
  const std::size_t per = static_cast<std::size_t>(std::max(1, settings_.per_host));
  const std::size_t slots = (static_cast<std::size_t>(settings_.concurrency) + per - 1) / per;
  std::size_t busy_hosts = 0;
  for (const auto& [id, key] : owned_) {
    if (work_on(id) > 0) ++busy_hosts;
  }
  std::size_t free_slots = busy_hosts < slots ? slots - busy_hosts : 0;
  if (owner_.paused() || budget_spent() || owner_.stopping()) free_slots = 0;
  const std::size_t low_water = per * 2;
  // Due buckets known to have a ready host first, then the others by how long they waited:
  // the new hosts asked for stay near the free slots.
  std::vector<std::pair<std::pair<int, steady::time_point>, int>> due;
  for (const auto& [b, st] : buckets_) {
    if (st.owned && !st.leaving && st.next_check <= now) {
      const bool ready = st.counts.next_ready && st.counts.next_ready->count() == 0;
      due.push_back({{ready ? 0 : 1, st.next_check}, b});
    }
  }
  std::sort(due.begin(), due.end());
  std::map<int, std::size_t> new_hosts;
  std::size_t asked = 0;
  for (const auto& [key, b] : due) {
    if (free_slots == 0 || asked >= 2 * free_slots) break;
    new_hosts[b] = free_slots;
    asked += free_slots;
  }
  std::vector<shared_frontier::take_request> requests;
  for (auto& [b, st] : buckets_) {
    if (!st.owned || st.leaving) continue;
    shared_frontier::take_request rq;
    rq.bucket = b;
    for (auto h : st.held) {
      const auto queued = waiting_on(h);
      if (work_on(h) == 0 && dry_[h]) {
        rq.release.push_back({owned_[h], wait_left(h)});
      } else if (queued < low_water) {
        rq.refill.push_back(owned_[h]);
      }
    }
    if (auto it = new_hosts.find(b); it != new_hosts.end()) rq.new_hosts = it->second;
    if (rq.new_hosts == 0 && rq.refill.empty() && rq.release.empty()) continue;
    requests.push_back(std::move(rq));
  }
  if (requests.empty()) co_return;
  for (const auto& rq : requests) {
    for (const auto& [key, wait] : rq.release) {
      const auto h = schedule().host_for(key);
      drop_host(h);
    }
  }
  auto got = co_await call<std::vector<taken>>([&] { return shared_.take(requests); });
  if (!got) co_return;
  bool work = false;
  for (std::size_t i = 0; i < got->size() && i < requests.size(); ++i) {
    const int b = requests[i].bucket;
    auto& t = (*got)[i];
    if (!t.owned) {
      // Another worker took the bucket over (this one was silent too long): what it had
      // claimed is back in the queues there, so nothing here may run.
      log::warn("cluster: bucket " + std::to_string(b) + " is another worker's now");
      auto it = buckets_.find(b);
      if (it == buckets_.end()) continue;
      for (auto h : std::vector<frontier::host_id>(it->second.held)) {
        remove_all(h);
        drop_host(h);
      }
      std::erase_if(claimed_here_, [b](const auto& kv) { return kv.second == b; });
      buckets_.erase(b);
      continue;
    }
    for (auto& [host, entries] : t.refills) {
      const auto h = schedule().host_for(host);
      if (!owned_.count(h)) continue;
      if (!entries.empty()) work = true;
      install_entries(b, h, entries);
    }
    for (auto& c : t.hosts) {
      work = true;
      install(b, c);
    }
    if (requests[i].new_hosts > 0) {
      if (t.hosts.size() >= requests[i].new_hosts) {
        // Maybe more are ready.
        auto& st = buckets_[b];
        st.counts = t.counts;
        st.backoff = milliseconds(0);
        st.next_check = steady::now();
      } else {
        schedule_check(b, t.counts);
      }
    } else {
      auto& st = buckets_[b];
      st.counts = t.counts;
      // A host given back with a wait (or queued meanwhile) is ready at a known time.
      if (t.counts.next_ready)
        st.next_check = std::min(st.next_check, steady::now() + *t.counts.next_ready);
    }
  }
  if (work) owner_.wake();
}

// A Redis Cluster's masters, looked at with every heartbeat: a master replaced by its replica
// (a failover) may have taken acknowledged writes with it, also of slots this worker has not
// called since, so what it admitted before is offered again and its buckets are compared.
asio::awaitable<void> redis_frontier::watch_masters() {
  if (!redis_.is_cluster()) co_return;
  const auto now = steady::now();
  if (co_await redis_.refresh()) co_return;
  std::vector<std::string> masters;
  for (std::size_t i = 0; i < redis_.masters(); ++i) masters.push_back(redis_.master_address(i));
  std::sort(masters.begin(), masters.end());
  if (!masters_.empty() && masters != masters_) {
    log::warn("cluster: the Redis Cluster's masters changed (a failover or a new shard)");
    if (!outage_began_ || last_map_check_ < *outage_began_) outage_began_ = last_map_check_;
    if (!reconcile_at_) reconcile_at_ = now + milliseconds(1000);
  }
  masters_ = std::move(masters);
  last_map_check_ = now;
}

// What this worker holds and has claimed, against what its buckets say: a write lost in a
// failover (the new master had not received it) is repaired, and counted in the log.
asio::awaitable<void> redis_frontier::reconcile() {
  reconcile_at_.reset();
  std::map<int, shared_frontier::reconcile_request> by_bucket;
  for (const auto& [b, st] : buckets_) {
    if (!st.owned) continue;
    auto& rq = by_bucket[b];
    rq.bucket = b;
    for (auto h : st.held) {
      if (auto it = owned_.find(h); it != owned_.end()) rq.held.push_back(it->second);
    }
  }
  for (const auto& [fp, b] : claimed_here_) {
    if (auto it = by_bucket.find(b); it != by_bucket.end())
      it->second.claimed.push_back(fingerprint{fp});
  }
  for (const auto& [b, fps] : done_) {
    if (auto it = by_bucket.find(b); it != by_bucket.end())
      it->second.claimed.insert(it->second.claimed.end(), fps.begin(), fps.end());
  }
  for (const auto& [at, b, fp] : recent_done_) {
    if (auto it = by_bucket.find(b); it != by_bucket.end()) it->second.recorded.push_back(fp);
  }
  std::vector<shared_frontier::reconcile_request> requests;
  for (auto& [b, rq] : by_bucket) requests.push_back(std::move(rq));
  // Admissions acknowledged shortly before the outage are offered again: the seen set keeps
  // those that survived from being queued twice, and the ones added now are what was lost.
  std::int64_t readmitted = 0;
  if (outage_began_) {
    const auto since = *outage_began_ - settings_.lease / 3 - node_timeout_allowance;
    outage_began_.reset();
    std::map<int, std::vector<shared_entry>> again;
    for (auto& [at, batch] : recent_) {
      if (at >= since) {
        auto& v = again[batch.first];
        v.insert(v.end(), batch.second.begin(), batch.second.end());
      }
    }
    recent_.clear();
    if (!again.empty()) {
      std::vector<std::pair<int, std::vector<shared_entry>>> batches(again.begin(), again.end());
      auto got = co_await call<std::vector<admitted_batch>>([&] { return shared_.admit(batches); });
      if (got) {
        std::map<std::string, std::vector<int>> bells;
        for (std::size_t i = 0; i < got->size() && i < batches.size(); ++i) {
          const auto& a = (*got)[i];
          for (bool added : a.added) readmitted += added ? 1 : 0;
          if (a.newly_ready > 0 && a.owner != shared_.worker() && !a.owner.empty())
            bells[a.owner].push_back(batches[i].first);
        }
        if (!bells.empty()) co_await call<bool>([&] { return shared_.ring(bells); });
        for (auto& [b, st] : buckets_) {
          if (st.owned) st.next_check = std::min(st.next_check, steady::now());
        }
      }
    }
  }
  // Visits kept shortly before the outage are kept again, the newest of each URL (writing a
  // row again changes nothing; one lost with the master would leave the URL never revisited).
  if (!recent_visits_.empty()) {
    std::unordered_map<std::uint64_t, std::pair<int, kept_visit>> newest;
    for (auto& [at, b, v] : recent_visits_) newest[v.fp.value] = {b, v};
    recent_visits_.clear();
    std::map<int, std::vector<kept_visit>> again;
    for (auto& [fp, bv] : newest) again[bv.first].push_back(std::move(bv.second));
    co_await call<std::map<int, bucket_counts>>([&] { return shared_.record({}, again); });
  }
  lost_admissions_ += readmitted;
  if (readmitted > 0)
    log::warn("cluster: Redis had lost " + std::to_string(readmitted) +
              " admitted URLs (a failover before its replica had them); admitted again");
  if (requests.empty()) co_return;
  auto got = co_await call<std::vector<shared_frontier::repaired>>(
      [&] { return shared_.reconcile(requests); });
  if (!got) co_return;
  std::int64_t hosts = 0, entries = 0, requeued = 0;
  for (const auto& r : *got) {
    hosts += r.hosts;
    entries += r.entries;
    requeued += r.requeued;
  }
  repaired_hosts_ += hosts;
  repaired_entries_ += entries + requeued;
  if (hosts > 0 || entries > 0 || requeued > 0) {
    log::warn("cluster: after the outage Redis still had " + std::to_string(hosts) +
              " hosts held that this worker had given back, " + std::to_string(entries) +
              " URLs claimed that it had recorded, and " + std::to_string(requeued) +
              " URLs claimed for it that it never received; repaired (the last are queued "
              "again: fetched, perhaps twice)");
  }
  owner_.wake();
}

// Nothing here, and the registry says every live worker is idle: the crawl is over when every
// bucket is empty and the registry did not change meanwhile (a worker that claimed or admitted
// in between is no longer idle at the same generation).
asio::awaitable<void> redis_frontier::check_end() {
  // Continuous recrawl never ends on an empty frontier: a stop ends it.
  if (settings_.recrawl) co_return;
  if (!idle_everywhere_here() || !registered_ || !registry_.seeded) co_return;
  if (idle_state_ == "busy") co_return;
  for (const auto& w : registry_.alive) {
    auto it = registry_.idle.find(w);
    if (it == registry_.idle.end() || it->second.rfind("idle:", 0) != 0) co_return;
  }
  const auto now = steady::now();
  if (now < next_census_) co_return;
  next_census_ = now + milliseconds(1000);
  const auto before = registry_;
  auto census = co_await call<std::vector<bucket_counts>>([&] { return shared_.census(); });
  if (!census) co_return;
  for (const auto& c : *census) {
    if (c.queued > 0 || c.claimed > 0) {
      // Work this worker's registry did not show: look at the buckets again, and at what a
      // lost write may have left behind.
      next_beat_ = steady::now();
      for (auto& [b, st] : buckets_) {
        if (st.owned) st.next_check = std::min(st.next_check, steady::now());
      }
      if (!reconcile_at_) reconcile_at_ = steady::now() + milliseconds(3000);
      co_return;
    }
  }
  co_await membership(true);
  if (registry_.alive != before.alive || registry_.idle != before.idle) co_return;
  if (idle_everywhere_here()) {
    finished_ = true;
    owner_.wake();
  }
}

asio::awaitable<void> redis_frontier::tick() {
  co_await membership(false);
  co_await publish_seeds();
  // The pages' links of this tick (and those admitted outside a page: sitemaps of seeds).
  co_await send_round();
  co_await flush(false);
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
  co_await answer_bell();
  if (reconcile_at_ && steady::now() >= *reconcile_at_) co_await reconcile();
  co_await hand_over();
  co_await take();
  const auto now = steady::now();
  if (now >= next_seeds_) {
    // Seed hosts another worker brought (a worker started without seeds learns them here).
    next_seeds_ = now + seeds_backoff_;
    seeds_backoff_ = std::min(seeds_backoff_ * 2, longest_backoff);
    auto all = co_await call<std::vector<std::string>>([&] { return shared_.seed_hosts({}); });
    if (all) {
      for (const auto& h : *all) owner_.learn_seed_host(h);
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
  co_await check_end();
}

// The end (or a stop): records marked done, the rest handed back, the buckets given up, the
// budget returned.
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
  // The crawl-wide counts as they are at the end (the registry's are as of the last beats).
  if (auto all = co_await call<std::vector<bucket_counts>>([&] { return shared_.census(); })) {
    registry_.seen = registry_.queued = registry_.claimed = registry_.revisits = 0;
    for (const auto& c : *all) {
      registry_.seen += c.seen;
      registry_.queued += c.queued;
      registry_.claimed += c.claimed;
      registry_.revisits += c.revisits;
    }
  }
  std::vector<int> mine;
  for (const auto& [b, st] : buckets_) {
    if (st.owned) mine.push_back(b);
  }
  if (!mine.empty()) co_await call<bool>([&] { return shared_.give_up(mine); });
  buckets_.clear();
  if (page_tokens_ > 0) {
    const auto n = page_tokens_;
    page_tokens_ = 0;
    co_await call<bool>([&] { return shared_.unreserve_pages(n); });
  }
  co_await call<bool>([&] { return shared_.leave(); });
  co_await tell_the_others();
}

asio::awaitable<void> redis_frontier::run() {
  // The registry first (it fixes the bucket count), then the seeds, so that the first take can
  // find them.
  co_await membership(true);
  co_await publish_seeds();
  while (!dispatcher_done_ && failure_.empty()) {
    co_await tick();
    if (dispatcher_done_ || !failure_.empty()) break;
    timer_.expires_after(owned_.empty() ? milliseconds(50) : milliseconds(20));
    co_await timer_.async_wait(use_tuple);
  }
  if (failure_.empty()) co_await send_round();
  // Pages still waiting for a round that will not be sent (Redis lost) learn nothing new.
  end_round();
  if (failure_.empty()) co_await hand_back();
  // Its read loops would keep the crawl's event loop running.
  redis_.close();
}

}  // namespace trawler::cluster
