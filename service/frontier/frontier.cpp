#include "frontier/frontier.hpp"

#include "common/hash_mix.hpp"

#include <algorithm>
#include <cstring>

namespace trawler::frontier {

namespace {

std::uint64_t load8(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

}  // namespace

std::uint64_t url_hash(std::string_view url) {
  // Eight bytes per step, each word mixed in with a multiply-rotate; URLs share long
  // prefixes, so the final avalanche spreads the bits of the tail.
  std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (url.size() * 0xff51afd7ed558ccdull);
  const char* p = url.data();
  std::size_t n = url.size();
  for (; n >= 8; p += 8, n -= 8) {
    h ^= load8(p) * 0x87c37b91114253d5ull;
    h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937full;
  }
  if (n > 0) {
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    h ^= tail * 0x87c37b91114253d5ull;
    h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937full;
  }
  return mix64(h);
}

bool hash_set::insert(std::uint64_t h) {
  // Grown at 70% full: linear probing stays short, and the table at most 1/0.35 of its load.
  if ((size_ + 1) * 10 > slots_.size() * 7) grow();
  h = key(h);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

bool hash_set::contains(std::uint64_t h) const {
  if (slots_.empty()) return false;
  h = key(h);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return true;
    if (slots_[i] == 0) return false;
  }
}

void hash_set::grow() {
  std::vector<std::uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  const std::size_t mask = slots_.size() - 1;
  for (const std::uint64_t h : old) {
    if (h == 0) continue;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = h;
  }
}

std::string_view url_entry::target() const {
  // As url::split cuts it: normalized URLs always have a path after the authority.
  std::string_view rest = url;
  const std::size_t scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) return "/";
  rest.remove_prefix(scheme_end + 3);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "/";
  rest.remove_prefix(slash);
  return rest.substr(0, rest.find('#'));
}

frontier::frontier(options opt) : opt_(opt) {}

host_id frontier::host_for(std::string_view key) {
  auto it = host_ids_.find(std::string(key));
  if (it != host_ids_.end()) return it->second;
  auto id = static_cast<host_id>(hosts_.size());
  host_state h;
  h.key = std::string(key);
  h.delay = opt_.delay;
  if (!opt_.robots_gate) h.robots = robots_state::known;
  hosts_.emplace_back(std::move(h));
  host_ids_.emplace(std::string(key), id);
  return id;
}

const std::string& frontier::host_key(host_id h) const {
  return hosts_.at(h).key;
}

bool frontier::mark_seen(std::string_view url) {
  return seen_.insert(url_hash(url));
}

bool frontier::was_seen(std::string_view url) const {
  return seen_.contains(url_hash(url));
}

void frontier::push(url_entry e) {
  host_id id = e.host;
  hosts_.at(id).queue.push_back(std::move(e));
  ++queued_;
  reschedule(id);
}

bool frontier::has_work(const host_state& h) const {
  if (h.robots == robots_state::fetching || h.parked) return false;
  if (h.open >= opt_.per_host) return false;
  // An unknown robots.txt is itself work: the robots lease comes first.
  return (!h.queue.empty() && !new_held_) || !h.revisits.empty();
}

time_point frontier::eligible_at(const host_state& h) const {
  const time_point polite = std::max(h.next_start, h.blocked_until);
  if ((h.queue.empty() || new_held_) && !h.revisits.empty())
    return std::max(polite, h.revisits.front().due);
  return polite;
}

namespace {
constexpr auto later_due = std::greater<>{};
}  // namespace

void frontier::push_revisit(url_entry e, time_point due) {
  host_id id = e.host;
  e.revisit = true;
  auto& heap = hosts_.at(id).revisits;
  heap.push_back(due_entry{due, revisit_seq_++, std::move(e)});
  std::push_heap(heap.begin(), heap.end(), later_due);
  ++revisits_;
  reschedule(id);
}

void frontier::hold_new(bool held) {
  if (held == new_held_) return;
  new_held_ = held;
  for (host_id id = 0; id < hosts_.size(); ++id) {
    if (!hosts_.at(id).queue.empty()) reschedule(id);
  }
}

std::size_t frontier::revisits_due(time_point now) const {
  std::size_t n = 0;
  for (const host_state& h : hosts_) {
    if (h.revisits.empty() || h.revisits.front().due > now) continue;
    for (const auto& d : h.revisits) n += d.due <= now ? 1 : 0;
  }
  return n;
}

void frontier::reschedule(host_id id) {
  host_state& h = hosts_.at(id);
  if (h.scheduled_at) {
    ready_.erase({*h.scheduled_at, id});
    h.scheduled_at.reset();
  }
  if (!has_work(h)) return;
  time_point at = eligible_at(h);
  ready_.emplace(at, id);
  h.scheduled_at = at;
}

void frontier::release_due_retries(time_point now) {
  while (!retries_.empty() && retries_.top().at <= now) {
    // priority_queue::top is const; the entry is moved out just before pop.
    url_entry e = std::move(const_cast<waiting_retry&>(retries_.top()).entry);
    retries_.pop();
    host_id id = e.host;
    if (e.revisit) {
      // A revisit's retry is a revisit due now: it is not held with new URLs.
      --hosts_.at(id).retrying;
      --queued_;
      push_revisit(std::move(e), now);
      continue;
    }
    // Retries go first: they were admitted earlier than what is queued behind them.
    --hosts_.at(id).retrying;
    hosts_.at(id).queue.push_front(std::move(e));
    reschedule(id);
  }
}

std::optional<lease> frontier::next_ready(time_point now) {
  release_due_retries(now);
  for (;;) {
    if (ready_.empty()) return std::nullopt;
    auto [at, id] = *ready_.begin();
    if (at > now) return std::nullopt;
    host_state& h = hosts_.at(id);
    lease l;
    l.host = id;
    if (h.robots == robots_state::unknown) {
      l.kind = lease_kind::robots;
      h.robots = robots_state::fetching;
    } else {
      const bool fresh = !h.queue.empty() && !new_held_;
      const bool due = !h.revisits.empty() && h.revisits.front().due <= now;
      if (!fresh && !due) {
        reschedule(id);  // its time moved (new URLs held): look again
        continue;
      }
      bool take_revisit = due;
      if (fresh && due) {
        // A deficit count: a revisit starts only if, with it, revisits stay within their share
        // of the starts made while both sides waited.
        const double after = static_cast<double>(h.shared_revisit + 1);
        const double total = static_cast<double>(h.shared_revisit + h.shared_new + 1);
        take_revisit = after <= opt_.revisit_share * total + 1e-9;
        ++(take_revisit ? h.shared_revisit : h.shared_new);
      }
      l.kind = lease_kind::page;
      if (take_revisit) {
        std::pop_heap(h.revisits.begin(), h.revisits.end(), later_due);
        l.due = h.revisits.back().due;
        l.entry = std::move(h.revisits.back().entry);
        h.revisits.pop_back();
        --revisits_;
      } else {
        l.entry = std::move(h.queue.front());
        h.queue.pop_front();
        --queued_;
      }
    }
    ++h.open;
    ++open_total_;
    h.next_start = now + h.delay;
    reschedule(id);
    return l;
  }
}

std::optional<time_point> frontier::next_wakeup() const {
  std::optional<time_point> t;
  if (!ready_.empty()) t = ready_.begin()->first;
  if (!retries_.empty() && (!t || retries_.top().at < *t)) t = retries_.top().at;
  return t;
}

void frontier::finish(host_id id) {
  host_state& h = hosts_.at(id);
  if (h.open > 0) {
    --h.open;
    --open_total_;
  }
  reschedule(id);
}

void frontier::retry(url_entry e, time_point at) {
  ++queued_;
  ++hosts_.at(e.host).retrying;
  retries_.push(waiting_retry{at, retry_seq_++, std::move(e)});
}

void frontier::sent(host_id id, time_point at) {
  host_state& h = hosts_.at(id);
  if (at + h.delay <= h.next_start) return;
  h.next_start = at + h.delay;
  reschedule(id);
}

void frontier::block_host_until(host_id id, time_point until) {
  host_state& h = hosts_.at(id);
  h.blocked_until = std::max(h.blocked_until, until);
  reschedule(id);
}

void frontier::park_host(host_id id) {
  hosts_.at(id).parked = true;
  reschedule(id);
}

void frontier::unpark_host(host_id id) {
  hosts_.at(id).parked = false;
  reschedule(id);
}

bool frontier::parked(host_id id) const {
  return hosts_.at(id).parked;
}

void frontier::set_host_delay(host_id id, duration d) {
  host_state& h = hosts_.at(id);
  h.delay = std::max(opt_.delay, d);
  reschedule(id);
}

void frontier::robots_ready(host_id id) {
  hosts_.at(id).robots = robots_state::known;
  reschedule(id);
}

void frontier::robots_retry(host_id id, time_point at) {
  host_state& h = hosts_.at(id);
  h.robots = robots_state::unknown;
  h.blocked_until = std::max(h.blocked_until, at);
  reschedule(id);
}

std::size_t frontier::pending_on(host_id id) const {
  const host_state& h = hosts_.at(id);
  return h.queue.size() + h.retrying + static_cast<std::size_t>(h.open);
}

std::size_t frontier::revisits_on(host_id id) const {
  return hosts_.at(id).revisits.size();
}

std::size_t frontier::queued_on(host_id id) const {
  const host_state& h = hosts_.at(id);
  return h.queue.size() + h.retrying;
}

std::vector<frontier::host_view> frontier::busiest_hosts(std::size_t limit, time_point now) const {
  std::vector<host_view> out;
  host_id id = 0;
  for (const host_state& h : hosts_) {
    const std::size_t queued = h.queue.size() + h.retrying;
    if (queued > 0 || h.open > 0 || !h.revisits.empty()) {
      const time_point at = eligible_at(h);
      out.push_back({id, h.key, queued, h.open, at > now ? at - now : duration{0}, h.parked,
                     h.robots == robots_state::known, h.revisits.size()});
    }
    ++id;
  }
  const auto more_work = [](const host_view& a, const host_view& b) {
    const auto wa = a.queued + static_cast<std::size_t>(a.open) + a.revisits;
    const auto wb = b.queued + static_cast<std::size_t>(b.open) + b.revisits;
    return wa != wb ? wa > wb : a.key < b.key;
  };
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(limit), out.end(),
                      more_work);
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end(), more_work);
  }
  return out;
}

frontier::host_view frontier::view_of(host_id id, time_point now) const {
  const host_state& h = hosts_.at(id);
  const time_point at = eligible_at(h);
  return {id,
          h.key,
          h.queue.size() + h.retrying,
          h.open,
          at > now ? at - now : duration{0},
          h.parked,
          h.robots == robots_state::known,
          h.revisits.size()};
}

std::optional<host_id> frontier::find_host(std::string_view key) const {
  const auto it = host_ids_.find(std::string(key));
  if (it == host_ids_.end()) return std::nullopt;
  return it->second;
}

duration frontier::host_delay(host_id id) const {
  return std::max(hosts_.at(id).delay, opt_.delay);
}

std::optional<frontier::place> frontier::find_queued(host_id id, std::string_view url) const {
  const host_state& h = hosts_.at(id);
  for (std::size_t i = 0; i < h.queue.size(); ++i) {
    if (h.queue[i].url == url) return place{i, false, {}};
  }
  if (h.retrying == 0) return std::nullopt;
  // A copy of the heap: explain is rare, retries are few.
  auto copy = retries_;
  for (; !copy.empty(); copy.pop()) {
    if (copy.top().entry.host == id && copy.top().entry.url == url)
      return place{0, true, copy.top().at};
  }
  return std::nullopt;
}

time_point frontier::host_eligible_at(host_id id) const {
  return eligible_at(hosts_.at(id));
}

bool frontier::robots_known(host_id id) const {
  return hosts_.at(id).robots == robots_state::known;
}

std::vector<url_entry> frontier::remove_if(host_id id,
                                           const std::function<bool(const url_entry&)>& reject) {
  std::vector<url_entry> removed;
  host_state& h = hosts_.at(id);
  std::deque<url_entry> kept;
  for (auto& e : h.queue) {
    if (reject(e)) {
      removed.push_back(std::move(e));
    } else {
      kept.push_back(std::move(e));
    }
  }
  h.queue = std::move(kept);
  std::size_t revisits_removed = 0;
  if (!h.revisits.empty()) {
    std::vector<due_entry> keep;
    for (auto& d : h.revisits) {
      if (reject(d.entry)) {
        removed.push_back(std::move(d.entry));
        ++revisits_removed;
      } else {
        keep.push_back(std::move(d));
      }
    }
    h.revisits = std::move(keep);
    std::make_heap(h.revisits.begin(), h.revisits.end(), later_due);
    revisits_ -= revisits_removed;
  }
  // Waiting retries of this host are checked as well, so none slips past a new verdict.
  std::vector<waiting_retry> others;
  while (!retries_.empty()) {
    waiting_retry w = std::move(const_cast<waiting_retry&>(retries_.top()));
    retries_.pop();
    if (w.entry.host == id && reject(w.entry)) {
      --h.retrying;
      removed.push_back(std::move(w.entry));
    } else {
      others.push_back(std::move(w));
    }
  }
  for (auto& w : others) retries_.push(std::move(w));
  queued_ -= removed.size() - revisits_removed;
  reschedule(id);
  return removed;
}

std::vector<url_entry> frontier::drain_all() {
  std::vector<url_entry> all;
  all.reserve(queued_);
  for (host_id id = 0; id < hosts_.size(); ++id) {
    for (auto& e : hosts_.at(id).queue) all.push_back(std::move(e));
    hosts_.at(id).queue.clear();
    reschedule(id);
  }
  while (!retries_.empty()) {
    all.push_back(std::move(const_cast<waiting_retry&>(retries_.top()).entry));
    retries_.pop();
  }
  for (auto& h : hosts_) h.retrying = 0;
  queued_ = 0;
  return all;
}

}  // namespace trawler::frontier
