#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/stable_table.hpp"

// The crawl's schedule: which URL may start now, on which host, honouring per-host open
// limits, start spacing, Retry-After blocks, retry backoff and the robots.txt gate. Pure: the
// caller passes `now`; nothing here sleeps or does I/O.
namespace trawler::frontier {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

using host_id = std::uint32_t;

// A string shared by many entries: the links of one page all point to its URL as referrer.
using shared_text = std::shared_ptr<const std::string>;

// A queued URL. Kept small, since millions may wait: the request target is a view into the
// URL, and the referrer is shared with the page's other links.
struct url_entry {
  std::string url;       // normalized
  shared_text referrer;  // null: none
  host_id host = 0;
  int depth = 0;
  int redirects_left = 0;
  int attempts = 0;      // attempts already made (retries carry them)
  bool sitemap = false;  // a sitemap file: its <loc> values are the links
  // A page requisite (fetch.requisites): recorded and archived, never parsed for links; a
  // style sheet's url()s and @imports are requisites too.
  bool requisite = false;
  bool revisit = false;  // recrawl: visited before (its page is not counted against max_pages)
  bool lastmod = false;  // recrawl: brought forward by a sitemap's <lastmod>
  // Recrawl: the URL's visit count when this revisit was scheduled (0: not checked). A URL may
  // wait twice (its own due time, and a sooner one from a sitemap): whichever comes second
  // finds the count moved on and is dropped.
  std::uint32_t visit_stamp = 0;

  // Path and query, as sent on the request line ("/" when the URL has no path).
  std::string_view target() const;
  std::string_view referrer_view() const { return referrer ? *referrer : std::string_view(); }
};

enum class lease_kind { page, robots };

// A permission to start one request now. The caller must call finish() for it.
struct lease {
  lease_kind kind = lease_kind::page;
  host_id host = 0;
  url_entry entry;                // for robots leases: only `host` is meaningful
  std::optional<time_point> due;  // a revisit: when it came due (its lag is now - due)
};

struct options {
  int per_host = 2;
  duration delay{0};
  bool robots_gate = true;  // hold each host's URLs until its robots.txt is known
  // Recrawl: while a host has both new URLs and due revisits, revisits take at most this share
  // of its starts (a share one side does not use goes to the other).
  double revisit_share = 0.5;
  // Recrawl continuous: the crawl never ends on an empty frontier.
  bool endless = false;
};

// A set of 64-bit hashes in one flat array with linear probing: 11-23 bytes per hash where a
// node-based set takes ~40, and a lookup touches one cache line. Zero marks a free slot, so
// the hash 0 is stored as 1 (one more collision in 2^64).
class hash_set {
 public:
  // True when h was not in the set: adds it.
  bool insert(std::uint64_t h);
  bool contains(std::uint64_t h) const;
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }

 private:
  static std::uint64_t key(std::uint64_t h) { return h == 0 ? 1 : h; }
  void grow();

  std::vector<std::uint64_t> slots_;  // a power of two in size, or empty
  std::size_t size_ = 0;
};

class frontier {
 public:
  explicit frontier(options opt);

  // Registers (or finds) a politeness key "scheme://host:port".
  host_id host_for(std::string_view key);
  const std::string& host_key(host_id h) const;

  // True when the URL was never seen before: marks it seen. Hashes, not strings, are kept.
  bool mark_seen(std::string_view url);
  bool was_seen(std::string_view url) const;
  // Queues an entry whose URL was already marked seen.
  void push(url_entry e);

  // Recrawl: a visited URL comes due again at `due`. Among a host's due revisits the earliest
  // due (the most overdue) goes first; new URLs and revisits share the host's politeness.
  void push_revisit(url_entry e, time_point due);
  // New URLs start no more (the page budget is spent); revisits go on.
  void hold_new(bool held);
  // Revisits waiting (due or not), and of those the ones due at `now` (linear: for stats).
  std::size_t revisits() const { return revisits_; }
  // Revisits of one host waiting here, due or not.
  std::size_t revisits_on(host_id id) const;
  std::size_t revisits_due(time_point now) const;
  const options& settings() const { return opt_; }

  // The next request that may start at `now`, or nullopt. Counts it open on its host.
  std::optional<lease> next_ready(time_point now);
  // When the next lease could become available (nullopt: none until something changes, for
  // example when every queued URL sits on a parked host).
  std::optional<time_point> next_wakeup() const;

  // The request of a lease went out at `at`, later than its lease (connect, a busy loop): the
  // host's next start is spaced from then.
  void sent(host_id h, time_point at);
  // The request of a lease ended (response, failure or cancellation).
  void finish(host_id h);
  // Puts an entry back to be tried again no earlier than `at` (its attempts already counted).
  void retry(url_entry e, time_point at);
  // Holds every request to the host until `until` (Retry-After, backoff after errors).
  void block_host_until(host_id h, time_point until);
  // No more requests start on the host; its URLs stay queued (a per-host page budget).
  void park_host(host_id h);
  void unpark_host(host_id h);
  bool parked(host_id h) const;
  // Start spacing for one host (Crawl-delay; the larger of it and the global delay applies).
  void set_host_delay(host_id h, duration d);

  // robots.txt gate: the robots lease for the host completed; its queue may now flow.
  void robots_ready(host_id h);
  bool robots_known(host_id h) const;
  // robots.txt could not be had this time: ask for it again (a robots lease) from `at` on.
  void robots_retry(host_id h, time_point at);
  // Takes every queued (and retry-waiting) entry of the host for which `reject` returns true.
  std::vector<url_entry> remove_if(host_id h, const std::function<bool(const url_entry&)>& reject);
  // Everything still queued, in host order (for state saving and the stop report).
  std::vector<url_entry> drain_all();

  // The host's work not finished yet: queued, waiting to be retried, open.
  std::size_t pending_on(host_id h) const;
  // Of that, what has not started: queued and waiting to be retried.
  std::size_t queued_on(host_id h) const;
  // When the host may start its next request (spacing, Retry-After, backoff).
  time_point host_eligible_at(host_id h) const;

  // One host as the schedule sees it (for GET /v1/crawls/{id} and the dashboard).
  struct host_view {
    host_id id = 0;
    std::string key;
    std::size_t queued = 0;  // waiting, retries included
    int open = 0;
    duration wait{0};  // until it may start its next request (spacing, Retry-After, backoff)
    bool parked = false;
    bool robots_known = false;
    std::size_t revisits = 0;  // recrawl: revisits waiting, due or not
  };
  // The `limit` hosts with the most work not finished (queued + open + revisits), most first.
  std::vector<host_view> busiest_hosts(std::size_t limit, time_point now) const;

  // One host's view (a registered host).
  host_view view_of(host_id h, time_point now) const;
  std::optional<host_id> find_host(std::string_view key) const;
  duration host_delay(host_id h) const;

  // Where a URL waits (for explain; linear in the host's queue): `ahead` entries of its host's
  // queue come before it, or it waits in the retry queue until `retry_at`.
  struct place {
    std::size_t ahead = 0;
    bool retry = false;
    time_point retry_at{};
  };
  std::optional<place> find_queued(host_id h, std::string_view url) const;

  std::size_t queued() const { return queued_; }
  std::size_t in_flight() const { return open_total_; }
  std::size_t seen() const { return seen_.size(); }
  std::size_t hosts() const { return hosts_.size(); }
  bool idle() const { return queued_ == 0 && open_total_ == 0 && revisits_ == 0; }

 private:
  enum class robots_state : std::uint8_t { unknown, fetching, known };
  struct due_entry {
    time_point due;
    std::uint64_t seq;
    url_entry entry;
    // For a min-heap with std::push_heap: "greater" puts the earliest due on top.
    bool operator>(const due_entry& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };
  struct host_state {
    std::string key;
    std::deque<url_entry> queue;
    std::vector<due_entry> revisits;  // a min-heap on due
    std::uint64_t shared_new = 0;     // starts taken by each side while both waited
    std::uint64_t shared_revisit = 0;
    int open = 0;
    time_point next_start{};
    time_point blocked_until{};
    duration delay{0};
    robots_state robots = robots_state::unknown;
    bool parked = false;
    std::size_t retrying = 0;                // entries of this host in retries_
    std::optional<time_point> scheduled_at;  // key in ready_ when scheduled
  };
  struct waiting_retry {
    time_point at;
    std::uint64_t seq;
    url_entry entry;
    bool operator>(const waiting_retry& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  time_point eligible_at(const host_state& h) const;
  bool has_work(const host_state& h) const;
  void reschedule(host_id id);
  void release_due_retries(time_point now);

  options opt_;
  // Stable: host_key() hands out references, and a host may be registered while one is held.
  stable_table<host_state> hosts_;
  std::unordered_map<std::string, host_id> host_ids_;
  hash_set seen_;
  std::set<std::pair<time_point, host_id>> ready_;
  std::priority_queue<waiting_retry, std::vector<waiting_retry>, std::greater<>> retries_;
  std::uint64_t retry_seq_ = 0;
  std::uint64_t revisit_seq_ = 0;
  std::size_t revisits_ = 0;
  bool new_held_ = false;
  std::size_t queued_ = 0;
  std::size_t open_total_ = 0;
};

// A 64-bit hash of a URL, 8 bytes at a time. The state keeps it for dropped URLs (explain), so
// it must not change between versions (nor depend on more than the byte order).
std::uint64_t url_hash(std::string_view url);

}  // namespace trawler::frontier
