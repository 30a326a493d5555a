#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontier/crawl_frontier.hpp"
#include "redis/redis_client.hpp"

// The crawl-wide part of a frontier shared by many workers through one Redis: the seen set,
// a queue per politeness host (scheme://host:port), host ownership by lease, the claimed
// entries of each worker (so a dead worker's URLs go back), a page budget and robots.txt
// verdicts. Every change that touches several keys is one Lua script, so workers never see
// half of one. Times are the Redis server's (TIME inside the scripts): workers' clocks may
// disagree, the server's is the one clock.
//
// Host ownership is what makes politeness fleet-wide: a host's URLs are fetched only by the
// worker holding its lease, so that worker's local per_host and delay limits are the
// fleet's. A lease is renewed while held and handed back with the host's next allowed start
// (and any Retry-After block), which the next owner honours.
//
// Keys live under "trawler:{NAME}:" (the braces keep a crawl's keys in one Redis Cluster hash
// slot; the scripts build key names, so Redis Cluster itself is not supported).
namespace trawler::cluster {

// One queued URL as the fleet stores it. `fingerprint` is frontier::url_hash of the URL, in
// hex: the member of the seen set.
struct shared_entry {
  std::string url;
  std::string host;  // politeness key, scheme://host:port
  int depth = 0;
  int redirects_left = 0;
  bool sitemap = false;
  std::string referrer;  // empty: none
  std::string fingerprint;

  bool operator==(const shared_entry&) const = default;
};

// The seen set's member for a URL: frontier::url_hash in 16 hex digits (little-endian
// arithmetic: the same on every x86-64 and ARM64 worker).
std::string fingerprint(std::string_view url);
// A shared_entry for `url` (fingerprint computed).
shared_entry make_entry(std::string url, std::string host, int depth, int redirects_left,
                        bool sitemap, std::string referrer);
// The stored form, tab-separated, "1" (the format) first; URLs and host keys never hold a
// tab or newline (they are normalized), so no escaping is needed.
std::string encode(const shared_entry& e);
std::optional<shared_entry> decode(std::string_view text);

// What the fleet knows of a host's robots.txt (outcome "rules", "allow_all", "disallow_all"
// or "failure").
using robots_record = frontier::robots_verdict;

struct claimed_host {
  std::string host;
  std::chrono::milliseconds wait{0};    // until the host's next allowed start
  std::optional<robots_record> robots;  // known to the fleet and not expired
  std::vector<shared_entry> entries;    // claimed now by this worker
};

struct crawl_status {
  std::int64_t queued = 0;   // entries waiting in host queues
  std::int64_t claimed = 0;  // entries claimed by workers (in flight, or queued locally)
  std::int64_t seen = 0;     // distinct URLs admitted
  std::int64_t workers = 0;  // workers with a recent heartbeat
  std::int64_t hosts_owned = 0;
  std::int64_t pages = 0;  // page budget used (scope.max_pages counts it)
  // Nothing queued and nothing claimed anywhere, in a crawl that was seeded: the crawl is over.
  // Before any URL was admitted a worker waits for one: workers started together with the
  // seeds on only one of them must not end before that one has admitted them.
  bool finished() const noexcept { return seen > 0 && queued == 0 && claimed == 0; }
};

template <class T>
struct result {
  boost::system::error_code ec;
  std::string message;  // names Redis and the address, for ec
  T value{};
  bool ok() const noexcept { return !ec; }
};

struct shared_options {
  std::chrono::milliseconds lease{15000};  // cluster.lease_ms
  std::size_t batch = 64;                  // entries claimed from a host's queue at a time
};

class shared_frontier {
 public:
  shared_frontier(redis::client& redis, std::string crawl_name, std::string worker_id,
                  shared_options opt = {});

  const std::string& worker() const noexcept { return worker_; }
  const std::string& prefix() const noexcept { return prefix_; }

  // Adds the entries whose URL the fleet has not seen; true at each index added.
  boost::asio::awaitable<result<std::vector<bool>>> admit(std::vector<shared_entry> entries);
  // Atomically: the claimed entries `done` are finished (recorded) by this worker, and the
  // links they produced are admitted. Doing both at once means no other worker can see the
  // crawl as finished between a page's end and its links' arrival.
  boost::asio::awaitable<result<std::vector<bool>>> record(
      std::vector<std::string> done_fingerprints, std::vector<shared_entry> links);
  // Claims up to `max_hosts` hosts that have queued entries, are due and have no owner, each
  // with up to `batch` entries. Also this worker's heartbeat.
  boost::asio::awaitable<result<std::vector<claimed_host>>> claim(std::size_t max_hosts);
  // More entries of a host this worker owns; lost (false) when the lease is no longer ours.
  boost::asio::awaitable<result<std::optional<std::vector<shared_entry>>>> refill(std::string host);
  // Renews the leases of `hosts` and the heartbeat; returns the hosts whose lease was lost.
  boost::asio::awaitable<result<std::vector<std::string>>> renew(std::vector<std::string> hosts);
  // Gives a host back: its lease ends now, `unfinished` (claimed, not recorded) return to the
  // front of its queue, and the next owner waits `wait` (politeness, Retry-After).
  boost::asio::awaitable<result<bool>> release(std::string host, std::chrono::milliseconds wait,
                                               std::vector<shared_entry> unfinished);
  // Puts back the claimed entries of workers silent for longer than `silent` (dead): returns
  // how many workers were reaped. Any worker may call it.
  boost::asio::awaitable<result<std::int64_t>> reap(std::chrono::milliseconds silent);
  // This worker leaves: its heartbeat goes (its hosts must be released first).
  boost::asio::awaitable<result<bool>> leave();

  boost::asio::awaitable<result<crawl_status>> status(std::chrono::milliseconds alive_within);

  // Takes up to `n` pages of a crawl-wide budget of `max`; returns how many were granted.
  boost::asio::awaitable<result<std::int64_t>> reserve_pages(std::int64_t max, std::int64_t n);
  // Returns unused pages of a reservation.
  boost::asio::awaitable<result<bool>> unreserve_pages(std::int64_t n);

  // The fleet's robots.txt verdict for a host, kept for `ttl` (robots.cache_ttl_ms).
  boost::asio::awaitable<result<bool>> store_robots(std::string host, robots_record r,
                                                    std::chrono::milliseconds ttl);

 private:
  // Runs a script by its SHA1 (EVALSHA), loading it once per connection when Redis does not
  // know it (a restarted Redis forgets scripts).
  boost::asio::awaitable<redis::exec_result> eval(const std::string& script, const std::string& sha,
                                                  std::vector<std::string> args);

  redis::client& redis_;
  std::string prefix_;
  std::string worker_;
  shared_options opt_;
};

}  // namespace trawler::cluster
