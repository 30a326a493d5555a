// The crawl-wide frontier's scripts against a real redis-server and a real Redis Cluster, with
// several workers (each its own client and connections, as separate processes would have).
#include "cluster/shared_frontier.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <set>

#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace trawler::cluster;
using trawler::redis::cluster_client;
using trawler::testing::redis_cluster;
using trawler::testing::redis_server;

namespace {

std::vector<trawler::redis::endpoint> endpoints(const std::string& urls) {
  return trawler::redis::parse_urls(urls).values;
}

shared_entry entry(const std::string& host, const std::string& path, int depth = 1) {
  return make_entry(host + path, host, depth, 5, false, host + "/");
}

// One worker: its own connections.
struct worker {
  worker(asio::io_context& io, const std::string& urls, const std::string& crawl,
         const std::string& id, shared_options opt = {})
      : redis(io.get_executor(), endpoints(urls)), front(redis, crawl, id, opt) {}
  cluster_client redis;
  shared_frontier front;
};

shared_options few_buckets(int n = 4) {
  shared_options o;
  o.buckets = n;
  o.lease = 2000ms;
  return o;
}

// Runs a coroutine to its end on `io`. The connections keep read loops waiting on `io`, so it
// is stopped, not run dry.
template <class F>
void run(asio::io_context& io, F&& f) {
  std::exception_ptr failure;
  asio::co_spawn(io, f(), [&](std::exception_ptr e) {
    failure = e;
    io.stop();
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

// ASSERT_* returns, which a coroutine cannot: these co_return instead.
#define CO_ASSERT_TRUE(a) \
  if (!(a)) {             \
    EXPECT_TRUE(a);       \
    co_return;            \
  }

std::vector<std::pair<int, std::vector<shared_entry>>> by_bucket(
    const shared_frontier& f, const std::vector<shared_entry>& entries) {
  std::map<int, std::vector<shared_entry>> m;
  for (const auto& e : entries) m[f.bucket_of(e.host)].push_back(e);
  return {m.begin(), m.end()};
}

// Vectors built outside the co_await: GCC 12 rejects a braced list held across a suspension
// ("array used as initializer").
template <class T, class... More>
std::vector<T> many(T first, More... more) {
  std::vector<T> v;
  v.push_back(std::move(first));
  (v.push_back(std::move(more)), ...);
  return v;
}

std::vector<std::pair<int, std::string>> want(int bucket, std::string dead) {
  std::vector<std::pair<int, std::string>> v;
  v.emplace_back(bucket, std::move(dead));
  return v;
}

std::vector<trawler::redis::command> cmd(std::vector<std::string> c) {
  std::vector<trawler::redis::command> v;
  v.push_back(std::move(c));
  return v;
}

std::map<int, std::vector<fingerprint>> done_of(int bucket, std::vector<std::string> urls) {
  std::map<int, std::vector<fingerprint>> m;
  for (const auto& u : urls) m[bucket].push_back(fingerprint::of(u));
  return m;
}

std::vector<bool> flat(const std::vector<admitted_batch>& batches) {
  std::vector<bool> out;
  for (const auto& b : batches) out.insert(out.end(), b.added.begin(), b.added.end());
  return out;
}

}  // namespace

// "Seeds given to any worker are admitted once": two workers offer overlapping URLs.
TEST(SharedFrontier, SeenSetAdmitsEachUrlOnceAcrossWorkers) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c1", "wa", few_buckets()), b(io, s.url(), "c1", "wb", few_buckets());
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    auto ra = co_await a.front.admit(by_bucket(a.front, many(entry(h, "/1"), entry(h, "/2"))));
    auto rb = co_await b.front.admit(
        by_bucket(b.front, many(entry(h, "/2"), entry(h, "/3"), entry(h, "/3"))));
    CO_ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_EQ(flat(ra.value), (std::vector<bool>{true, true}));
    EXPECT_EQ(flat(rb.value), (std::vector<bool>{false, true, false}));
    // The first links of a host make it ready: its owner's doorbell should ring (none yet).
    EXPECT_EQ(ra.value.at(0).newly_ready, 1);
    EXPECT_EQ(rb.value.at(0).newly_ready, 0);
    EXPECT_EQ(ra.value.at(0).owner, "");
    auto all = co_await a.front.census();
    CO_ASSERT_TRUE(all.ok());
    std::int64_t queued = 0, seen = 0;
    for (const auto& c : all.value) {
      queued += c.queued;
      seen += c.seen;
    }
    EXPECT_EQ(queued, 3);
    EXPECT_EQ(seen, 3);
  });
}

// The seen set is integer subsets that stay below Redis' intset limit as they grow (linear
// hashing), and stays exact through the splits.
TEST(SharedFrontier, SeenSetStaysInCompactIntegerSubsets) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c2", "wa", few_buckets(2));
  std::vector<shared_entry> all;
  for (int i = 0; i < 20000; ++i)
    all.push_back(entry("http://h" + std::to_string(i % 7) + ".test:80", "/p" + std::to_string(i)));
  run(io, [&]() -> asio::awaitable<void> {
    for (std::size_t i = 0; i < all.size(); i += 1000) {
      std::vector<shared_entry> part(all.begin() + static_cast<long>(i),
                                     all.begin() + static_cast<long>(i + 1000));
      auto r = co_await a.front.admit(by_bucket(a.front, part));
      CO_ASSERT_TRUE(r.ok());
      for (bool added : flat(r.value)) EXPECT_TRUE(added);
    }
    // Offered again after all the splits: every one is known.
    for (std::size_t i = 0; i < all.size(); i += 2000) {
      std::vector<shared_entry> part(all.begin() + static_cast<long>(i),
                                     all.begin() + static_cast<long>(i + 2000));
      auto r = co_await a.front.admit(by_bucket(a.front, part));
      CO_ASSERT_TRUE(r.ok());
      for (bool added : flat(r.value)) EXPECT_FALSE(added);
    }
    std::size_t subsets = 0, members = 0;
    for (int b = 0; b < 2; ++b) {
      const auto prefix = bucket_prefix("c2", b);
      auto keys = co_await a.redis.exec(0, cmd(many<std::string>("KEYS", prefix + "s:*")));
      CO_ASSERT_TRUE(keys.ok());
      for (const auto& k : keys.replies[0].elements) {
        auto both = cmd(many<std::string>("OBJECT", "ENCODING", k.str));
        both.push_back(many<std::string>("SCARD", k.str));
        auto info = co_await a.redis.exec(0, std::move(both));
        CO_ASSERT_TRUE(info.ok());
        EXPECT_EQ(info.replies[0].str, "intset") << k.str;
        EXPECT_LE(info.replies[1].integer, 512) << k.str;
        members += static_cast<std::size_t>(info.replies[1].integer);
        ++subsets;
      }
    }
    EXPECT_EQ(members, all.size());
    EXPECT_GE(subsets, 20000u / 400);
  });
}

// A bucket has one owner; another worker cannot take its hosts; given up, it can be acquired.
TEST(SharedFrontier, OneOwnerPerBucket) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c3", "wa", few_buckets()), b(io, s.url(), "c3", "wb", few_buckets());
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    const int bk = a.front.bucket_of(h);
    co_await a.front.admit(by_bucket(a.front, many(entry(h, "/1"), entry(h, "/2"))));
    auto ga = co_await a.front.acquire(want(bk, ""));
    CO_ASSERT_TRUE(ga.ok());
    EXPECT_TRUE(ga.value.at(0).ok);
    EXPECT_EQ(ga.value.at(0).counts.queued, 2);
    EXPECT_EQ(ga.value.at(0).counts.next_ready, std::chrono::milliseconds(0));
    auto gb = co_await b.front.acquire(want(bk, ""));
    CO_ASSERT_TRUE(gb.ok());
    EXPECT_FALSE(gb.value.at(0).ok);
    EXPECT_EQ(gb.value.at(0).owner, "wa");
    shared_frontier::take_request rq;
    rq.bucket = bk;
    rq.new_hosts = 4;
    auto tb = co_await b.front.take(many(rq));
    CO_ASSERT_TRUE(tb.ok());
    EXPECT_FALSE(tb.value.at(0).owned);
    auto ta = co_await a.front.take(many(rq));
    CO_ASSERT_TRUE(ta.ok());
    CO_ASSERT_TRUE(ta.value.at(0).owned);
    CO_ASSERT_TRUE(ta.value.at(0).hosts.size() == 1u);
    EXPECT_EQ(ta.value.at(0).hosts[0].host, h);
    EXPECT_EQ(ta.value.at(0).hosts[0].entries.size(), 2u);
    EXPECT_EQ(ta.value.at(0).counts.claimed, 2);
    EXPECT_EQ(ta.value.at(0).counts.queued, 0);
    // Recorded: the claimed set empties.
    auto two_done = done_of(bk, many(h + "/1", h + "/2"));
    auto rec = co_await a.front.record(two_done);
    CO_ASSERT_TRUE(rec.ok());
    EXPECT_EQ(rec.value.at(bk).claimed, 0);
    // Given up (host released first, with the wait politeness asks): b acquires it and takes
    // the host's later links with that wait.
    rq.new_hosts = 0;
    rq.release = {{h, 600ms}};
    co_await a.front.take(many(rq));
    co_await a.front.give_up(many(bk));
    co_await a.front.admit(by_bucket(a.front, many(entry(h, "/3"))));
    auto again = co_await b.front.acquire(want(bk, ""));
    CO_ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again.value.at(0).ok);
    shared_frontier::take_request rq2;
    rq2.bucket = bk;
    rq2.new_hosts = 1;
    auto t2 = co_await b.front.take(many(rq2));
    CO_ASSERT_TRUE(t2.ok() && t2.value.at(0).owned && t2.value.at(0).hosts.size() == 1u);
    EXPECT_GT(t2.value.at(0).hosts[0].wait, 300ms);
    EXPECT_LE(t2.value.at(0).hosts[0].wait, 600ms);
  });
}

// A dead owner's claimed entries and held hosts go back to the queues when its bucket is taken
// over; an owner that is alive cannot be taken over.
TEST(SharedFrontier, TakeoverPutsADeadOwnersClaimsBack) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c4", "wa", few_buckets()), b(io, s.url(), "c4", "wb", few_buckets());
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    const int bk = a.front.bucket_of(h);
    std::vector<shared_entry> three = {entry(h, "/1"), entry(h, "/2"), entry(h, "/3")};
    co_await a.front.admit(by_bucket(a.front, three));
    co_await a.front.acquire(want(bk, ""));
    shared_frontier::take_request rq;
    rq.bucket = bk;
    rq.new_hosts = 1;
    auto ta = co_await a.front.take(many(rq));
    CO_ASSERT_TRUE(ta.ok() && ta.value.at(0).hosts.size() == 1u);
    EXPECT_EQ(ta.value.at(0).hosts[0].entries.size(), 3u);
    // a recorded /1, then died.
    auto one_done = done_of(bk, many(h + "/1"));
    co_await a.front.record(one_done);
    auto wrong = co_await b.front.acquire(want(bk, "someone-else"));
    CO_ASSERT_TRUE(wrong.ok());
    EXPECT_FALSE(wrong.value.at(0).ok);
    auto taken_over = co_await b.front.acquire(want(bk, "wa"));
    CO_ASSERT_TRUE(taken_over.ok());
    EXPECT_TRUE(taken_over.value.at(0).ok);
    EXPECT_EQ(taken_over.value.at(0).counts.queued, 2);
    EXPECT_EQ(taken_over.value.at(0).counts.claimed, 0);
    auto tb = co_await b.front.take(many(rq));
    CO_ASSERT_TRUE(tb.ok() && tb.value.at(0).hosts.size() == 1u);
    std::set<std::string> urls;
    for (const auto& e : tb.value.at(0).hosts[0].entries) urls.insert(e.url);
    EXPECT_EQ(urls, (std::set<std::string>{h + "/2", h + "/3"}));
    // The zombie finds out at its next call.
    auto tz = co_await a.front.take(many(rq));
    CO_ASSERT_TRUE(tz.ok());
    EXPECT_FALSE(tz.value.at(0).owned);
  });
}

// Release puts unfinished entries back at the front of the host's queue, in order.
TEST(SharedFrontier, ReleaseReturnsUnfinishedEntriesFirst) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  auto opt = few_buckets();
  opt.batch = 2;
  worker a(io, s.url(), "c5", "wa", opt);
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    const int bk = a.front.bucket_of(h);
    co_await a.front.admit(
        by_bucket(a.front, many(entry(h, "/1"), entry(h, "/2"), entry(h, "/3"))));
    co_await a.front.acquire(want(bk, ""));
    shared_frontier::take_request rq;
    rq.bucket = bk;
    rq.new_hosts = 1;
    auto t = co_await a.front.take(many(rq));
    CO_ASSERT_TRUE(t.ok() && t.value.at(0).hosts.size() == 1u);
    EXPECT_EQ(t.value.at(0).hosts[0].entries.size(), 2u);  // the batch
    auto rel = co_await a.front.release(h, 0ms, t.value.at(0).hosts[0].entries);
    CO_ASSERT_TRUE(rel.ok());
    const auto slot = trawler::redis::key_slot(bucket_prefix("c5", bk));
    const std::string qkey = bucket_prefix("c5", bk) + "q:" + h;
    auto q = co_await a.redis.exec(slot, cmd(many<std::string>("LRANGE", qkey, "0", "-1")));
    CO_ASSERT_TRUE(q.ok());
    std::vector<std::string> order;
    for (const auto& e : q.replies[0].elements) order.push_back(decode(e.str, h)->url);
    EXPECT_EQ(order, (std::vector<std::string>{h + "/1", h + "/2", h + "/3"}));
    // Released entries are no longer claimed: released twice, nothing is queued twice.
    co_await a.front.release(h, 0ms, t.value.at(0).hosts[0].entries);
    auto n = co_await a.redis.exec(slot, cmd(many<std::string>("LLEN", qkey)));
    EXPECT_EQ(n.replies.at(0).integer, 3);
  });
}

// The registry: heartbeats, idle states, the fleet's sums, the bucket count fixed by the first
// worker; the doorbell.
TEST(SharedFrontier, RegistryAndDoorbell) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c6", "wa", few_buckets(8)), b(io, s.url(), "c6", "wb", few_buckets(16));
  run(io, [&]() -> asio::awaitable<void> {
    auto ra = co_await a.front.beat("busy", {5, 1, 9, 2});
    CO_ASSERT_TRUE(ra.ok());
    EXPECT_EQ(ra.value.alive, std::vector<std::string>{"wa"});
    EXPECT_EQ(ra.value.buckets, 8);
    EXPECT_FALSE(ra.value.seeded);
    auto rb = co_await b.front.beat("idle:1", {1, 0, 3, 0});
    CO_ASSERT_TRUE(rb.ok());
    EXPECT_EQ(rb.value.alive, (std::vector<std::string>{"wa", "wb"}));
    EXPECT_EQ(rb.value.buckets, 8);  // the crawl's, not b's configured 16
    EXPECT_EQ(rb.value.idle.at("wa"), "busy");
    EXPECT_EQ(rb.value.idle.at("wb"), "idle:1");
    EXPECT_EQ(rb.value.queued, 6);
    EXPECT_EQ(rb.value.seen, 12);
    EXPECT_EQ(rb.value.hosts_held, 2);
    co_await a.front.mark_seeded();
    // wa silent past the lease (2 s): not alive any more.
    co_await sleep_for(2100ms);
    auto later = co_await b.front.beat("idle:1", {1, 0, 3, 0});
    CO_ASSERT_TRUE(later.ok());
    EXPECT_EQ(later.value.alive, std::vector<std::string>{"wb"});
    EXPECT_TRUE(later.value.seeded);
    // Doorbell: buckets rung for b come back once.
    std::map<std::string, std::vector<int>> bells;
    bells["wb"] = many(3, 5);
    bells["wa"] = many(shared_frontier::membership_changed);
    co_await a.front.ring(bells);
    auto bell = co_await b.front.answer_bell();
    CO_ASSERT_TRUE(bell.ok());
    std::sort(bell.value.begin(), bell.value.end());
    EXPECT_EQ(bell.value, (std::vector<int>{3, 5}));
    auto empty = co_await b.front.answer_bell();
    EXPECT_TRUE(empty.value.empty());
    auto mine = co_await a.front.answer_bell();
    EXPECT_EQ(mine.value, std::vector<int>{shared_frontier::membership_changed});
  });
}

TEST(SharedFrontier, PageBudgetIsCrawlWide) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c7", "wa"), b(io, s.url(), "c7", "wb");
  run(io, [&]() -> asio::awaitable<void> {
    auto x = co_await a.front.reserve_pages(10, 8);
    auto y = co_await b.front.reserve_pages(10, 8);
    EXPECT_EQ(x.value, 8);
    EXPECT_EQ(y.value, 2);
    co_await a.front.unreserve_pages(3);
    auto z = co_await b.front.reserve_pages(10, 8);
    EXPECT_EQ(z.value, 3);
    auto none = co_await a.front.reserve_pages(10, 8);
    EXPECT_EQ(none.value, 0);
  });
}

TEST(SharedFrontier, RobotsVerdictTravelsWithTheHost) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c8", "wa", few_buckets()), b(io, s.url(), "c8", "wb", few_buckets());
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    const int bk = a.front.bucket_of(h);
    robots_record rr{"rules", "User-agent: *\nDisallow: /x\n", "", ""};
    co_await a.front.store_robots(h, rr, 60000ms);
    co_await a.front.admit(by_bucket(a.front, many(entry(h, "/1"))));
    co_await b.front.acquire(want(bk, ""));
    shared_frontier::take_request rq;
    rq.bucket = bk;
    rq.new_hosts = 1;
    auto t = co_await b.front.take(many(rq));
    CO_ASSERT_TRUE(t.ok() && t.value.at(0).hosts.size() == 1u);
    EXPECT_EQ(t.value.at(0).hosts[0].robots, rr);
  });
}

TEST(SharedFrontier, ScriptsSurviveARedisRestart) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s.url(), "c9", "wa", few_buckets());
  run(io, [&]() -> asio::awaitable<void> {
    const std::string h = "http://h.test:80";
    auto first = co_await a.front.admit(by_bucket(a.front, many(entry(h, "/1"))));
    EXPECT_TRUE(first.ok()) << first.message;
    s.kill();
    auto down = co_await a.front.admit(by_bucket(a.front, many(entry(h, "/2"))));
    EXPECT_FALSE(down.ok());
    EXPECT_NE(down.message.find("127.0.0.1:"), std::string::npos) << down.message;
    EXPECT_TRUE(s.restart());
    auto back = co_await a.front.admit(by_bucket(a.front, many(entry(h, "/2"))));
    EXPECT_TRUE(back.ok()) << back.message;
    EXPECT_EQ(flat(back.value), std::vector<bool>{true});
  });
}

// On a Redis Cluster every script runs on its bucket's slot: admissions spread over every
// shard, takes, records, the registry and the census all work (a script touching another
// slot's key fails there with "non local key" or CROSSSLOT).
TEST(SharedFrontier, EveryScriptRunsOnOneSlotOfARedisCluster) {
  redis_cluster c;
  NEED_REDIS_CLUSTER(c);
  asio::io_context io;
  shared_options opt;
  opt.buckets = 64;
  worker a(io, c.url(c.ports().back()), "fleet", "wa", opt);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> links;
    for (int i = 0; i < 2000; ++i)
      links.push_back(
          entry("http://h" + std::to_string(i % 50) + ".test:80", "/p" + std::to_string(i)));
    auto r = co_await a.front.admit(by_bucket(a.front, links));
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(flat(r.value).size(), links.size());
    for (bool added : flat(r.value)) EXPECT_TRUE(added);
    EXPECT_EQ(a.redis.masters(), 3u);
    auto reg = co_await a.front.beat("busy", {});
    CO_ASSERT_TRUE(reg.ok());
    std::vector<std::pair<int, std::string>> all;
    for (int b = 0; b < 64; ++b) all.push_back({b, ""});
    auto acq = co_await a.front.acquire(all);
    CO_ASSERT_TRUE(acq.ok());
    for (const auto& x : acq.value) EXPECT_TRUE(x.ok);
    std::vector<shared_frontier::take_request> rqs;
    for (int b = 0; b < 64; ++b) {
      shared_frontier::take_request rq;
      rq.bucket = b;
      rq.new_hosts = 50;
      rqs.push_back(rq);
    }
    auto t = co_await a.front.take(rqs);
    CO_ASSERT_TRUE(t.ok());
    std::size_t got = 0;
    std::map<int, std::vector<fingerprint>> done;
    std::set<std::uint16_t> shards;
    for (std::size_t i = 0; i < t.value.size(); ++i) {
      for (const auto& h : t.value[i].hosts) {
        shards.insert(static_cast<std::uint16_t>(
            a.redis.master_of(trawler::redis::key_slot(bucket_prefix("fleet", rqs[i].bucket)))));
        for (const auto& e : h.entries) {
          ++got;
          done[rqs[i].bucket].push_back(fingerprint::of(e.url));
        }
      }
    }
    EXPECT_EQ(got, links.size());  // 40 entries a host, within one batch (64)
    EXPECT_EQ(shards.size(), 3u);
    auto rec = co_await a.front.record(done);
    CO_ASSERT_TRUE(rec.ok());
    auto census = co_await a.front.census();
    CO_ASSERT_TRUE(census.ok());
    std::int64_t queued = 0, claimed = 0, seen = 0;
    for (const auto& x : census.value) {
      queued += x.queued;
      claimed += x.claimed;
      seen += x.seen;
    }
    EXPECT_EQ(queued, 0);
    EXPECT_EQ(claimed, 0);
    EXPECT_EQ(seen, 2000);
  });
}
