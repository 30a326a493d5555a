// The fleet's partitioned layout: buckets, key names and slots, fingerprints, queue entries,
// and who owns which bucket. Pure: no Redis.
#include "cluster/layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "redis/slot.hpp"

using namespace trawler::cluster;

namespace {

std::vector<std::string> workers(int n, const std::string& tag = "w") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("host-" + tag + std::to_string(i) + "-4242-0a1b2c3d");
  return out;
}

std::map<int, int> loads(const std::vector<int>& owner) {
  std::map<int, int> l;
  for (int o : owner) ++l[o];
  return l;
}

}  // namespace

TEST(ClusterLayout, EveryKeyOfABucketSharesItsSlotAndBucketsSpreadOverSlots) {
  const std::string crawl = "news";
  std::set<std::uint16_t> slots;
  for (int b = 0; b < 1024; ++b) {
    const auto p = bucket_prefix(crawl, b);
    const auto slot = trawler::redis::key_slot(p + "n");
    for (const char* what : {"ready", "claimed", "held", "owner", "s:17", "q:https://a.example:443",
                             "hs:http://b.example:80", "robots:http://b.example:80"})
      EXPECT_EQ(trawler::redis::key_slot(p + what), slot) << p << what;
    slots.insert(slot);
  }
  // 1024 buckets over 16384 slots: nearly all distinct, so shards share them evenly.
  EXPECT_GT(slots.size(), 990u);
  // The crawl-wide keys are one slot, apart from the buckets'.
  EXPECT_EQ(trawler::redis::key_slot(crawl_prefix(crawl) + "workers"),
            trawler::redis::key_slot(crawl_prefix(crawl) + "pages"));
  EXPECT_EQ(crawl_prefix(crawl), "trawler:{news}:");
  EXPECT_EQ(bucket_prefix(crawl, 17), "trawler:{news:b17}:");
  EXPECT_EQ(bell_key(crawl, "w1"), "trawler:{news:w:w1}:bell");
}

TEST(ClusterLayout, HostsSpreadEvenlyOverBuckets) {
  std::vector<int> count(1024, 0);
  for (int i = 0; i < 102400; ++i) {
    const int b = bucket_of("https://site" + std::to_string(i) + ".example:443", 1024);
    ASSERT_GE(b, 0);
    ASSERT_LT(b, 1024);
    ++count[static_cast<std::size_t>(b)];
  }
  // 100 hosts a bucket on average; a fair hash keeps every bucket within 100 +- 50.
  EXPECT_GT(*std::min_element(count.begin(), count.end()), 50);
  EXPECT_LT(*std::max_element(count.begin(), count.end()), 150);
  EXPECT_EQ(bucket_of("https://a.example:443", 1024), bucket_of("https://a.example:443", 1024));
  EXPECT_EQ(bucket_of("https://a.example:443", 1), 0);
}

TEST(ClusterLayout, FingerprintForms) {
  const auto f = fingerprint::of("https://a.example/x");
  EXPECT_EQ(fingerprint::from_raw(f.raw()), f);
  EXPECT_EQ(f.raw().size(), 8u);
  EXPECT_EQ(f.low30(), f.value & 0x3fffffff);
  EXPECT_EQ(std::stoll(f.decimal()), static_cast<std::int64_t>(f.value));
  EXPECT_EQ((fingerprint{0xffffffffffffffffULL}.decimal()), "-1");
  EXPECT_EQ((fingerprint{0x8000000000000000ULL}.decimal()), "-9223372036854775808");
  EXPECT_FALSE(fingerprint::from_raw("1234567"));
}

TEST(ClusterLayout, EntriesRoundTripWithoutTheirHost) {
  auto e = make_entry("https://a.example/p?q=1", "https://a.example:443", 3, 7, true,
                      "https://a.example/");
  const auto stored = encode(e);
  // The host is the queue's key: not repeated in every entry.
  EXPECT_EQ(stored.find("a.example:443"), std::string::npos);
  EXPECT_EQ(stored.substr(0, 8), fingerprint::of(e.url).raw());
  EXPECT_EQ(decode(stored, "https://a.example:443"), e);
  e.referrer.clear();
  e.sitemap = false;
  EXPECT_EQ(decode(encode(e), "https://a.example:443"), e);
  EXPECT_FALSE(decode(stored, ""));
  EXPECT_FALSE(decode("short", "h"));
  // A damaged entry is refused rather than fetched as another URL.
  auto damaged = stored;
  damaged.back() = 'X';
  EXPECT_FALSE(decode(damaged, "https://a.example:443"));
  EXPECT_FALSE(decode(stored.substr(0, 8) + "1\t2\t3\t\thttps://a.example/p?q=1", "h"));
  // URLs of the queue's origin are stored as paths; others whole.
  EXPECT_NE(stored.find("\t/p?q=1"), std::string::npos);
  EXPECT_NE(stored.find("\t/\t"), std::string::npos);
  const auto other = make_entry("http://b.example:8080/x", "http://b.example:8080", 0, 5, false,
                                "https://elsewhere.example/from");
  const auto s2 = encode(other);
  EXPECT_NE(s2.find("\t/x"), std::string::npos);
  EXPECT_NE(s2.find("https://elsewhere.example/from"), std::string::npos);
  EXPECT_EQ(decode(s2, "http://b.example:8080"), other);
  // A URL written with its default port is kept whole, and still comes back as it was.
  const auto odd = make_entry("https://a.example:443/z", "https://a.example:443", 0, 5, false, "");
  EXPECT_EQ(decode(encode(odd), "https://a.example:443"), odd);
}

// A page requisite stays one through the fleet's queues (kind "2"), and a page stays a page.
TEST(ClusterLayout, RequisiteFlagSurvivesTheQueue) {
  const auto r = make_entry("https://cdn.example/i.png", "https://cdn.example:443", 2, 10, false,
                            "https://a.example/", true);
  ASSERT_TRUE(r.requisite);
  const auto stored = encode(r);
  EXPECT_NE(stored.find("\t2\t"), std::string::npos) << stored.substr(8);
  const auto back = decode(stored, "https://cdn.example:443");
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->requisite);
  EXPECT_FALSE(back->sitemap);
  EXPECT_EQ(*back, r);
  auto page = r;
  page.requisite = false;
  EXPECT_FALSE(decode(encode(page), "https://cdn.example:443")->requisite);
  // An unknown kind is a damaged entry.
  auto odd = stored;
  odd[odd.find("\t2\t") + 1] = '3';
  EXPECT_FALSE(decode(odd, "https://cdn.example:443"));
}

TEST(ClusterLayout, SharesAreFairForAnyFleetSize) {
  for (int n : {1, 2, 3, 4, 5, 7, 10, 33, 100, 200}) {
    const auto owner = assign_buckets(workers(n), 1024);
    ASSERT_EQ(owner.size(), 1024u);
    const auto l = loads(owner);
    EXPECT_EQ(static_cast<int>(l.size()), n) << "a worker got nothing at " << n;
    int most = 0;
    for (const auto& [w, c] : l) {
      EXPECT_GE(w, 0);
      EXPECT_LT(w, n);
      most = std::max(most, c);
    }
    const double mean = 1024.0 / n;
    // Shares differ by one bucket at most: the bound (1.2) holds from 5 buckets each.
    EXPECT_LE(most, static_cast<int>(std::ceil(mean))) << n;
    if (n <= 200) {
      EXPECT_LE(most / mean, 1.2) << n;
    }
  }
  EXPECT_TRUE(assign_buckets({}, 1024).empty());
}

TEST(ClusterLayout, EveryWorkerComputesTheSameOwners) {
  auto ws = workers(9);
  const auto sorted = sorted_workers(ws);
  const auto a = assign_buckets(ws, 512);
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(ws.begin(), ws.end(), rng);
    auto dup = ws;
    dup.push_back(ws.front());  // a duplicate changes nothing either
    EXPECT_EQ(assign_buckets(dup, 512), a);
  }
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
}

// A worker joining takes its share, mostly from the others' shares, and few buckets move
// between the workers that were there: each move is a handover (drain, give up, acquire). A
// worker leaving is the same change backwards.
TEST(ClusterLayout, AJoinMovesLittleBesidesItsShare) {
  for (int n : {2, 4, 10, 50}) {
    const auto before = workers(n);
    auto after = before;
    after.push_back("host-late-1-ffff");
    const auto sb = sorted_workers(before);
    const auto sa = sorted_workers(after);
    const auto ob = assign_buckets(before, 1024);
    const auto oa = assign_buckets(after, 1024);
    int to_new = 0, among_old = 0;
    for (std::size_t b = 0; b < 1024; ++b) {
      const auto& was = sb[static_cast<std::size_t>(ob[b])];
      const auto& now = sa[static_cast<std::size_t>(oa[b])];
      if (now == "host-late-1-ffff") {
        ++to_new;
      } else if (now != was) {
        ++among_old;
      }
    }
    const int share = 1024 / (n + 1);
    EXPECT_GE(to_new, share - 1) << n;
    // Capped rendezvous reshuffles a little among the old workers; a plain modulo would move
    // nearly every bucket.
    EXPECT_LE(among_old, share) << n << " workers: " << among_old << " moved among the old";
  }
}
