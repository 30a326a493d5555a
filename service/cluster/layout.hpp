#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Where a fleet's crawl lives in Redis, and who owns what: pure functions, no I/O.
//
// Hosts fall into a fixed number of buckets per crawl (cluster.buckets). Every key of a host
// (its queue, its politeness state, its robots.txt verdict) and of its bucket (the ready set,
// the seen subsets, the claimed entries, the counters, the owner) carries the bucket's hash tag
// "{NAME:bN}", so one bucket is one Redis Cluster slot and every script touches one slot. The
// few crawl-wide keys ("{NAME}": worker registry, page budget, seed hosts, the bucket count)
// are touched once per lease period or per reservation, never per page.
namespace trawler::cluster {

constexpr int default_buckets = 1024;
constexpr int max_buckets = 65536;

// The bucket of a politeness host (scheme://host:port), the same on every worker.
int bucket_of(std::string_view host_key, int buckets);

// "trawler:{NAME}:" for the crawl-wide keys.
std::string crawl_prefix(std::string_view crawl);
// "trawler:{NAME:bN}:" for a bucket's keys.
std::string bucket_prefix(std::string_view crawl, int bucket);
// A worker's doorbell: the buckets where other workers made hosts ready ("{NAME:w:WORKER}").
std::string bell_key(std::string_view crawl, std::string_view worker);

// A URL's fingerprint: frontier::url_hash. The seen set stores it as a signed 64-bit decimal
// (Redis keeps such members in a compact integer set); the queue entries and the claimed set
// carry its 8 bytes; the seen subsets are chosen by its low 30 bits.
struct fingerprint {
  std::uint64_t value = 0;

  static fingerprint of(std::string_view url);
  std::string decimal() const;  // as a signed 64-bit integer
  std::string raw() const;      // 8 bytes, little-endian
  static std::optional<fingerprint> from_raw(std::string_view bytes);
  std::uint32_t low30() const noexcept { return static_cast<std::uint32_t>(value & 0x3fffffffu); }
  bool operator==(const fingerprint&) const = default;
};

// One queued URL as the fleet stores it in its host's queue (the host is the queue's key).
struct shared_entry {
  std::string url;
  std::string host;  // politeness key, scheme://host:port (not stored in the entry)
  int depth = 0;
  int redirects_left = 0;
  bool sitemap = false;
  std::string referrer;    // empty: none
  bool requisite = false;  // a page requisite (frontier::url_entry::requisite)
  // Recrawl: the URL's visit row (recrawl::encode) when it was visited before. It travels
  // beside the stored form (take() reads it from the host's visit hash), never inside it.
  std::string visit;

  bool operator==(const shared_entry&) const = default;
};

shared_entry make_entry(std::string url, std::string host, int depth, int redirects_left,
                        bool sitemap, std::string referrer, bool requisite = false);
// The stored form: the fingerprint's 8 bytes, then "depth\tredirects\tkind\treferrer\turl"
// (URLs never hold a tab: they are normalized), the URL and the referrer written as a path
// ("/...") when they are of the queue's own origin; kind is "0" for a page, "1" for a sitemap,
// "2" for a page requisite. The scripts read the first 8 bytes only.
std::string encode(const shared_entry& e);
// `host` is the queue's host, which the stored form leaves out.
std::optional<shared_entry> decode(std::string_view stored, std::string_view host);

// Recrawl: a visited URL's value in its host's visit hash ("v:HOST", field: the fingerprint's 8
// bytes): the stored entry, its length first (4 bytes, little-endian) so that a script can cut
// it out when the URL comes due, then the visit row. The host's revisit set ("r:HOST") holds
// the fingerprint scored by the due time.
std::string encode_visit(const shared_entry& e, std::string_view row);
// The visit row of such a value (nullopt when it is not one).
std::optional<std::string> row_of_visit(std::string_view value);

// Which worker owns each bucket, given the live workers (any order; the result depends only on
// the set): rendezvous hashing with bounded loads. Each bucket goes to the worker that scores
// it highest among those below ceil(buckets / workers), so shares differ by at most one bucket,
// and a worker joining or leaving moves few buckets besides its own share. Returns, per bucket,
// an index into the sorted worker list (empty workers: empty result).
std::vector<int> assign_buckets(std::vector<std::string> workers_sorted, int buckets);
// The workers sorted and unique, as assign_buckets indexes them.
std::vector<std::string> sorted_workers(std::vector<std::string> workers);

}  // namespace trawler::cluster
