#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/layout.hpp"
#include "frontier/crawl_frontier.hpp"
#include "redis/cluster_client.hpp"

// The crawl-wide part of a frontier shared by many workers through Redis (one node or a Redis
// Cluster), partitioned in host buckets (cluster/layout.hpp). Per bucket: a queue per politeness
// host, a ready set of hosts with queued URLs (scored by when they may start), the seen set as
// compact integer subsets, the claimed entries of its owner, the hosts the owner holds, counters
// and the owner. Every change is one Lua script on one bucket (one slot); scripts declare the
// bucket's fixed keys and name a host's keys from the same hash tag. Times are the Redis
// server's (TIME inside the scripts).
//
// A bucket's owner alone claims its hosts, so its local per_host and delay limits are the
// fleet's for those hosts: that is what makes politeness fleet-wide. Ownership follows the
// worker registry (assign_buckets over the live workers); a worker is live while its heartbeat
// is younger than the lease, and a dead worker's buckets are taken over with everything it had
// claimed put back.
namespace trawler::cluster {

using robots_record = frontier::robots_verdict;

template <class T>
struct result {
  boost::system::error_code ec;
  std::string message;  // names Redis and the address, for ec
  T value{};
  bool ok() const noexcept { return !ec; }
};

struct shared_options {
  std::chrono::milliseconds lease{15000};  // cluster.lease_ms
  std::size_t batch = 64;                  // entries taken from a host's queue at a time
  int buckets = default_buckets;           // cluster.buckets (the crawl's first worker fixes it)
  bool recrawl = false;                    // recrawl.mode continuous: takes bring due revisits
};

// A bucket's counters as a script left them.
struct bucket_counts {
  std::int64_t queued = 0;   // entries waiting in the bucket's host queues
  std::int64_t claimed = 0;  // entries its owner claimed and has not recorded
  std::int64_t seen = 0;     // distinct URLs admitted to the bucket
  // Until the earliest ready host may start (nullopt: no host is ready at all).
  std::optional<std::chrono::milliseconds> next_ready;
  std::int64_t revisits = 0;  // recrawl: visited URLs waiting for their next visit
};

// Recrawl: a visit to keep with its record: the URL's row and when it is due again.
struct kept_visit {
  std::string host;         // politeness key
  fingerprint fp;           // of the URL
  std::string value;        // encode_visit(entry, row)
  std::int64_t due_ms = 0;  // Unix ms
};

// Links for one bucket, and which of them were new to the fleet.
struct admitted_batch {
  std::vector<bool> added;  // per entry
  int newly_ready = 0;      // hosts that got their first queued URL (the owner should look)
  // The bucket's owner ("" when nobody owns it). No counts: an admission is the most frequent
  // call, and its counts would cost the bucket four reads each time for nobody (an owner
  // learns its buckets' counts from its takes and records).
  std::string owner;
};

struct claimed_host {
  std::string host;
  std::chrono::milliseconds wait{0};    // until the host's next allowed start
  std::optional<robots_record> robots;  // known to the fleet and not expired
  std::vector<shared_entry> entries;    // claimed now by this worker
};

// What one take() on a bucket brought.
struct taken {
  bool owned = true;                // false: the bucket is someone else's now
  std::vector<claimed_host> hosts;  // new hosts claimed (with their entries)
  std::map<std::string, std::vector<shared_entry>> refills;  // more for hosts held already
  bucket_counts counts;
};

struct registry {
  std::vector<std::string> alive;  // workers with a heartbeat younger than the lease, sorted
  // Per live worker: "busy", or "idle:N" (N grows each time it goes idle).
  std::map<std::string, std::string> idle;
  // What the live workers last said of their buckets (queued, claimed, seen, hosts held).
  std::int64_t queued = 0, claimed = 0, seen = 0, hosts_held = 0;
  std::int64_t revisits = 0;      // recrawl: visited URLs waiting in the live workers' buckets
  int buckets = default_buckets;  // the crawl's bucket count (fixed by its first worker)
  bool seeded = false;            // a URL was admitted to the crawl
  std::int64_t pages = 0;         // of the crawl-wide page budget, used or reserved
};

// A worker's part of the crawl-wide counts, sent with its heartbeat.
struct worker_part {
  std::int64_t queued = 0, claimed = 0, seen = 0, hosts_held = 0, revisits = 0;
};

class shared_frontier {
 public:
  struct lua_script;  // a script's text and SHA1 (defined with the scripts)

  shared_frontier(redis::cluster_client& redis, std::string crawl_name, std::string worker_id,
                  shared_options opt = {});

  const std::string& worker() const noexcept { return worker_; }
  const std::string& crawl() const noexcept { return crawl_; }
  int buckets() const noexcept { return opt_.buckets; }
  // The bucket count the crawl already has wins over the configured one (registry()).
  void use_buckets(int n) noexcept { opt_.buckets = n; }
  int bucket_of(std::string_view host) const { return cluster::bucket_of(host, opt_.buckets); }

  // Adds the entries the fleet has not seen, each to its host's queue; entries are grouped by
  // bucket and sent one pipeline per shard. Per bucket, in the order of `by_bucket`.
  boost::asio::awaitable<result<std::vector<admitted_batch>>> admit(
      std::vector<std::pair<int, std::vector<shared_entry>>> by_bucket);
  // The claimed entries (by fingerprint) are recorded: they leave the claimed set; with them
  // (recrawl) their visits are kept: each URL's row, and its fingerprint in its host's revisit
  // set at the due time. Returns the buckets' counts after.
  boost::asio::awaitable<result<std::map<int, bucket_counts>>> record(
      std::map<int, std::vector<fingerprint>> done,
      std::map<int, std::vector<kept_visit>> visits = {});

  // Becomes the bucket's owner: when nobody owns it, or when `dead_owner` does (then what it
  // had claimed and held goes back to the queues first). False (with the owner) when another
  // worker owns it.
  struct acquired {
    bool ok = false;
    std::string owner;
    bucket_counts counts;
  };
  boost::asio::awaitable<result<std::vector<acquired>>> acquire(
      std::vector<std::pair<int, std::string>> bucket_and_dead_owner);
  // Gives buckets up (this worker must have released their hosts): their owner key goes.
  boost::asio::awaitable<result<bool>> give_up(std::vector<int> buckets);

  // Per owned bucket: new hosts (up to `new_hosts`, due now), more entries for `refill` hosts,
  // and `release` hosts given back (with their wait). One pipeline per shard.
  struct take_request {
    int bucket = 0;
    std::size_t new_hosts = 0;
    std::vector<std::string> refill;
    std::vector<std::pair<std::string, std::chrono::milliseconds>> release;
  };
  boost::asio::awaitable<result<std::vector<taken>>> take(std::vector<take_request> requests);

  // After an outage (a failover may lose a master's last writes; a call whose answer was lost
  // may have run): per owned bucket, the hosts this worker holds, the entries it still has
  // claimed and the ones it recorded lately. Anything else the bucket lists goes back: held
  // hosts to the ready set, claimed entries it recorded out of the claimed set, other claimed
  // entries to their queue.
  struct reconcile_request {
    int bucket = 0;
    std::vector<std::string> held;
    std::vector<fingerprint> claimed;
    std::vector<fingerprint> recorded;
  };
  struct repaired {
    bool owned = true;
    std::int64_t hosts = 0;     // held in Redis, not here: given back
    std::int64_t entries = 0;   // claimed in Redis, recorded here: dropped
    std::int64_t requeued = 0;  // claimed in Redis, unknown here: queued again
  };
  boost::asio::awaitable<result<std::vector<repaired>>> reconcile(
      std::vector<reconcile_request> requests);

  // Gives a host back with its unfinished entries (to the front of its queue, when they are
  // still claimed by this worker) and the wait its next owner must honour.
  boost::asio::awaitable<result<bool>> release(std::string host, std::chrono::milliseconds wait,
                                               std::vector<shared_entry> unfinished);

  // Heartbeat and registry in one call on the crawl-wide slot: this worker's state ("busy" or
  // "idle:N") and part of the counts; returns the live workers and the fleet's sums.
  boost::asio::awaitable<result<registry>> beat(const std::string& idle_state, worker_part part);
  // Leaves the registry (its buckets must be given up first).
  boost::asio::awaitable<result<bool>> leave();

  // Every bucket's queued and claimed counts (one pipeline per shard): the end-of-crawl check.
  boost::asio::awaitable<result<std::vector<bucket_counts>>> census();

  // Rings the owners' doorbells: bucket numbers per owner, or membership_changed (a worker
  // joined or left: look at the registry now rather than at the next heartbeat).
  static constexpr int membership_changed = -1;
  // Rings the owners' doorbells: bucket numbers per owner.
  boost::asio::awaitable<result<bool>> ring(std::map<std::string, std::vector<int>> by_owner);
  // Buckets other workers made ready since the last call.
  boost::asio::awaitable<result<std::vector<int>>> answer_bell();

  // Takes up to `n` pages of a crawl-wide budget of `max`; returns how many were granted.
  boost::asio::awaitable<result<std::int64_t>> reserve_pages(std::int64_t max, std::int64_t n);
  boost::asio::awaitable<result<bool>> unreserve_pages(std::int64_t n);
  // The crawl has URLs (its seeds were admitted): from now on a fleet with nothing queued and
  // nothing claimed anywhere is a finished crawl, not one that has not started.
  boost::asio::awaitable<result<bool>> mark_seeded();
  // The crawl's seed hosts: adds `mine`, returns all.
  boost::asio::awaitable<result<std::vector<std::string>>> seed_hosts(
      std::vector<std::string> mine);

  // The fleet's robots.txt verdict for a host, kept for `ttl` (robots.cache_ttl_ms).
  boost::asio::awaitable<result<bool>> store_robots(std::string host, robots_record r,
                                                    std::chrono::milliseconds ttl);

 private:
  struct call {
    std::uint16_t slot;
    const lua_script* script;
    std::vector<std::string> keys;
    std::vector<std::string> args;
  };
  // Runs scripts by SHA1 (EVALSHA), one pipeline per shard; a node that does not know a script
  // (new or restarted) gets it loaded and the call made again.
  boost::asio::awaitable<std::vector<redis::exec_result>> eval(std::vector<call> calls);
  std::uint16_t crawl_slot() const;
  std::uint16_t bucket_slot(int b) const;
  std::string bkey(int b, std::string_view what) const;
  std::string ckey(std::string_view what) const;
  std::vector<std::string> bucket_keys(int b) const;

  redis::cluster_client& redis_;
  std::string crawl_;
  std::string worker_;
  shared_options opt_;
};

}  // namespace trawler::cluster
