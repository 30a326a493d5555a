// The crawl-wide frontier's scripts against a real redis-server, with several workers (each
// its own client and connection, as separate processes would have).
#include "cluster/shared_frontier.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <set>
#include <thread>

#include "support/redis_server.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using trawler::cluster::claimed_host;
using trawler::cluster::decode;
using trawler::cluster::encode;
using trawler::cluster::make_entry;
using trawler::cluster::robots_record;
using trawler::cluster::shared_entry;
using trawler::cluster::shared_frontier;
using trawler::cluster::shared_options;
using trawler::redis::client;
using trawler::testing::redis_server;

namespace {

trawler::redis::endpoint endpoint_of(const redis_server& s) {
  return trawler::redis::parse_url(s.url()).value.value();
}

shared_entry entry(const std::string& host, const std::string& path, int depth = 1) {
  return make_entry(host + path, host, depth, 5, false, host + "/");
}

// One worker: its own connection to Redis.
struct worker {
  worker(asio::io_context& io, const redis_server& s, const std::string& name,
         const std::string& id, shared_options opt = {})
      : redis(io.get_executor(), endpoint_of(s)), front(redis, name, id, opt) {}
  client redis;
  shared_frontier front;
};

// Runs a coroutine to its end on `io`. The workers' connections keep their read loops waiting
// on `io`, so it is stopped, not run dry.
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
#define CO_ASSERT_EQ(a, b) \
  if (!((a) == (b))) {     \
    EXPECT_EQ(a, b);       \
    co_return;             \
  }
#define CO_ASSERT_TRUE(a) \
  if (!(a)) {             \
    EXPECT_TRUE(a);       \
    co_return;            \
  }

}  // namespace

TEST(SharedEntry, EncodeDecodeRoundTrip) {
  auto e =
      make_entry("http://a.test:80/x?y=1", "http://a.test:80", 3, 7, true, "http://a.test:80/");
  EXPECT_EQ(e.fingerprint.size(), 16u);
  auto back = decode(encode(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, e);
  auto bare = make_entry("https://b.test:443/", "https://b.test:443", 0, 10, false, "");
  EXPECT_EQ(decode(encode(bare)), bare);
  EXPECT_FALSE(decode("2\tx\th\t0\t0\t0\t\thttp://a/"));  // another format
  EXPECT_FALSE(decode("1\tx\th\tz\t0\t0\t\thttp://a/"));  // depth not a number
  EXPECT_FALSE(decode("1\tx\th\t0\t0\t0\t"));             // no URL
  EXPECT_FALSE(decode("1\tx\t\t0\t0\t0\t\thttp://a/"));   // no host
}

// "seeds given to any worker are admitted once": two workers offer the same URLs.
TEST(SharedFrontier, SeenSetAdmitsEachUrlOnceAcrossWorkers) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s, "c1", "wa"), b(io, s, "c1", "wb");
  std::vector<bool> fa, fb;
  run(io, [&]() -> asio::awaitable<void> {
    // Nothing admitted yet: not finished (a worker waits for the seeds of another).
    auto empty = co_await a.front.status(10s);
    EXPECT_TRUE(empty.ok()) << empty.message;
    EXPECT_FALSE(empty.value.finished());
    std::vector<shared_entry> first = {entry("http://h.test:80", "/1"),
                                       entry("http://h.test:80", "/2")};
    std::vector<shared_entry> second = {entry("http://h.test:80", "/2"),
                                        entry("http://h.test:80", "/3"),
                                        entry("http://h.test:80", "/3")};
    auto ra = co_await a.front.admit(first);
    auto rb = co_await b.front.admit(second);
    EXPECT_TRUE(ra.ok()) << ra.message;
    EXPECT_TRUE(rb.ok()) << rb.message;
    fa = ra.value;
    fb = rb.value;
    auto st = co_await a.front.status(10s);
    EXPECT_EQ(st.value.queued, 3);
    EXPECT_EQ(st.value.seen, 3);
    EXPECT_FALSE(st.value.finished());
  });
  EXPECT_EQ(fa, (std::vector<bool>{true, true}));
  EXPECT_EQ(fb, (std::vector<bool>{false, true, false}));
}

// Host ownership: a host claimed by one worker is not claimed by another while the lease
// lives; after the lease expires (the owner died) another worker takes it.
TEST(SharedFrontier, OneOwnerPerHostUntilTheLeaseExpires) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  shared_options opt;
  opt.lease = 300ms;
  opt.batch = 2;
  worker a(io, s, "c2", "wa", opt), b(io, s, "c2", "wb", opt);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> es;
    for (int i = 0; i < 5; ++i) es.push_back(entry("http://h.test:80", "/" + std::to_string(i)));
    es.push_back(entry("http://g.test:80", "/only"));
    co_await a.front.admit(es);
    auto ca = co_await a.front.claim(1);
    EXPECT_TRUE(ca.ok()) << ca.message;
    EXPECT_EQ(ca.value.size(), 1u);
    auto cb = co_await b.front.claim(5);
    EXPECT_TRUE(cb.ok()) << cb.message;
    // b gets only the other host.
    std::set<std::string> hosts_a, hosts_b;
    for (const auto& h : ca.value) hosts_a.insert(h.host);
    for (const auto& h : cb.value) hosts_b.insert(h.host);
    EXPECT_EQ(hosts_a.size() + hosts_b.size(), 2u);
    for (const auto& h : hosts_b) EXPECT_FALSE(hosts_a.count(h)) << h;
    // The owner refills; the other worker cannot.
    const std::string h_host = "http://h.test:80";
    worker& owner = hosts_a.count(h_host) ? a : b;
    worker& other = hosts_a.count(h_host) ? b : a;
    auto more = co_await owner.front.refill(h_host);
    EXPECT_TRUE(more.value.has_value());
    auto stolen = co_await other.front.refill(h_host);
    EXPECT_FALSE(stolen.value.has_value());
    // The owner goes silent: after the lease, the other worker claims the host.
    co_await sleep_for(400ms);
    auto later = co_await other.front.claim(5);
    bool got_h = false;
    for (const auto& h : later.value) got_h = got_h || h.host == h_host;
    EXPECT_TRUE(got_h);
    std::vector<std::string> mine = {h_host};
    auto lost = co_await owner.front.renew(mine);
    EXPECT_EQ(lost.value, std::vector<std::string>{h_host});
  });
}

// A worker killed mid-crawl: its claimed entries go back once it has been silent long enough,
// and another worker fetches them; nothing is lost.
TEST(SharedFrontier, DeadWorkersClaimedEntriesAreReaped) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  shared_options opt;
  opt.lease = 200ms;
  opt.batch = 10;
  worker a(io, s, "c3", "wa", opt), b(io, s, "c3", "wb", opt);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> es;
    for (int i = 0; i < 4; ++i) es.push_back(entry("http://h.test:80", "/" + std::to_string(i)));
    co_await a.front.admit(es);
    auto ca = co_await a.front.claim(1);
    EXPECT_EQ(ca.value.size(), 1u);
    EXPECT_EQ(ca.value.at(0).entries.size(), 4u);
    // a records one page, then dies holding three.
    std::vector<std::string> one = {ca.value[0].entries[0].fingerprint};
    co_await a.front.record(one, {});
    auto st = co_await b.front.status(10s);
    EXPECT_EQ(st.value.claimed, 3);
    EXPECT_EQ(st.value.queued, 0);
    EXPECT_FALSE(st.value.finished());
    co_await b.front.renew({});                           // b's heartbeat
    EXPECT_EQ((co_await b.front.reap(1000ms)).value, 0);  // a is not silent long enough yet
    co_await sleep_for(300ms);
    co_await b.front.renew({});
    EXPECT_EQ((co_await b.front.reap(250ms)).value, 1);
    auto cb = co_await b.front.claim(1);
    EXPECT_EQ(cb.value.size(), 1u);
    std::set<std::string> urls;
    for (const auto& e : cb.value.at(0).entries) urls.insert(e.url);
    EXPECT_EQ(urls, (std::set<std::string>{"http://h.test:80/1", "http://h.test:80/2",
                                           "http://h.test:80/3"}));
    std::vector<std::string> done;
    for (const auto& e : cb.value[0].entries) done.push_back(e.fingerprint);
    co_await b.front.record(done, {});
    auto end = co_await b.front.status(10s);
    EXPECT_TRUE(end.value.finished());
    EXPECT_EQ(end.value.workers, 1);  // a was reaped
  });
}

// A page's end and its links' admission are one step: no worker sees the crawl finished in
// between. And a released host keeps its politeness: the next owner is told to wait.
TEST(SharedFrontier, RecordAdmitsLinksAndReleaseHandsPolitenessOn) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s, "c4", "wa"), b(io, s, "c4", "wb");
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> seed = {entry("http://h.test:80", "/")};
    co_await a.front.admit(seed);
    auto ca = co_await a.front.claim(4);
    EXPECT_EQ(ca.value.size(), 1u);
    std::vector<std::string> done = {ca.value.at(0).entries.at(0).fingerprint};
    std::vector<shared_entry> links = {entry("http://h.test:80", "/next"),
                                       entry("http://h.test:80", "/")};
    auto flags = co_await a.front.record(done, links);
    EXPECT_EQ(flags.value, (std::vector<bool>{true, false}));
    auto st = co_await b.front.status(10s);
    EXPECT_EQ(st.value.queued, 1);
    EXPECT_EQ(st.value.claimed, 0);
    EXPECT_FALSE(st.value.finished());
    // a still owns the host (its lease): b cannot claim it.
    EXPECT_TRUE((co_await b.front.claim(4)).value.empty());
    // a hands it back with 400 ms to wait (its delay_ms): b may claim only after that.
    EXPECT_TRUE((co_await a.front.release("http://h.test:80", 400ms, {})).ok());
    EXPECT_TRUE((co_await b.front.claim(4)).value.empty());
    co_await sleep_for(450ms);
    auto cb = co_await b.front.claim(4);
    EXPECT_EQ(cb.value.size(), 1u);
    if (!cb.value.empty()) {
      EXPECT_EQ(cb.value[0].entries.at(0).url, "http://h.test:80/next");
    }
  });
}

// SIGTERM: a worker gives its hosts back at once, unfinished entries first in the queue.
TEST(SharedFrontier, ReleaseReturnsUnfinishedEntriesAtOnce) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  shared_options opt;
  opt.batch = 3;
  worker a(io, s, "c5", "wa", opt), b(io, s, "c5", "wb", opt);
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> es;
    for (int i = 0; i < 5; ++i) es.push_back(entry("http://h.test:80", "/" + std::to_string(i)));
    co_await a.front.admit(es);
    auto ca = co_await a.front.claim(1);
    auto& got = ca.value.at(0).entries;
    EXPECT_EQ(got.size(), 3u);
    std::vector<std::string> done = {got[0].fingerprint};
    co_await a.front.record(done, {});
    std::vector<shared_entry> unfinished = {got[1], got[2]};
    EXPECT_TRUE((co_await a.front.release("http://h.test:80", 0ms, unfinished)).ok());
    auto st = co_await b.front.status(10s);
    EXPECT_EQ(st.value.queued, 4);
    EXPECT_EQ(st.value.claimed, 0);
    auto cb = co_await b.front.claim(1);
    std::vector<std::string> urls;
    for (const auto& e : cb.value.at(0).entries) urls.push_back(e.url);
    EXPECT_EQ(urls, (std::vector<std::string>{"http://h.test:80/1", "http://h.test:80/2",
                                              "http://h.test:80/3"}));
  });
}

// scope.max_pages crawl-wide: workers reserving at once get exactly the budget in all.
TEST(SharedFrontier, PageBudgetIsCrawlWide) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  std::vector<std::unique_ptr<worker>> ws;
  for (int i = 0; i < 4; ++i)
    ws.push_back(std::make_unique<worker>(io, s, "c6", "w" + std::to_string(i)));
  std::int64_t granted = 0;
  int answered = 0;
  // Forty reservations of 3 from four workers, all in flight at once.
  for (int round = 0; round < 10; ++round) {
    for (auto& w : ws) {
      asio::co_spawn(
          io,
          [&granted, &answered, &w]() -> asio::awaitable<void> {
            auto r = co_await w->front.reserve_pages(25, 3);
            if (r.ok()) granted += r.value;
            ++answered;
          },
          asio::detached);
    }
  }
  run(io, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 500 && answered < 40; ++i) co_await sleep_for(10ms);
  });
  EXPECT_EQ(answered, 40);
  EXPECT_EQ(granted, 25);
  run(io, [&]() -> asio::awaitable<void> {
    co_await ws[0]->front.unreserve_pages(5);  // five starts ended without a response
    EXPECT_EQ((co_await ws[1]->front.reserve_pages(25, 10)).value, 5);
  });
}

// robots.txt once crawl-wide: a verdict stored by one owner comes with the host to the next,
// until its TTL.
TEST(SharedFrontier, RobotsVerdictTravelsWithTheHost) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s, "c7", "wa"), b(io, s, "c7", "wb");
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> two = {entry("http://h.test:80", "/1"),
                                     entry("http://h.test:80", "/2")};
    co_await a.front.admit(two);
    auto ca = co_await a.front.claim(1);
    EXPECT_FALSE(ca.value.at(0).robots.has_value());
    robots_record rr{"rules", "User-agent: *\nDisallow: /2\n", "", ""};
    EXPECT_TRUE((co_await a.front.store_robots("http://h.test:80", rr, 60s)).ok());
    std::vector<std::string> done = {ca.value[0].entries[0].fingerprint};
    co_await a.front.record(done, {});
    std::vector<shared_entry> rest = {ca.value[0].entries[1]};
    co_await a.front.release("http://h.test:80", 0ms, rest);
    auto cb = co_await b.front.claim(1);
    CO_ASSERT_EQ(cb.value.size(), 1u);
    CO_ASSERT_TRUE(cb.value[0].robots.has_value());
    EXPECT_EQ(*cb.value[0].robots, rr);
    // Expired: the next owner fetches robots.txt again.
    co_await b.front.store_robots("http://h.test:80", rr, 50ms);
    co_await b.front.release("http://h.test:80", 0ms, cb.value[0].entries);
    co_await sleep_for(100ms);
    auto again = co_await a.front.claim(1);
    CO_ASSERT_EQ(again.value.size(), 1u);
    EXPECT_FALSE(again.value[0].robots.has_value());
  });
}

// A restarted Redis has forgotten the scripts: they are loaded again without the caller
// seeing it (what Redis kept is another matter: this one keeps nothing).
TEST(SharedFrontier, ScriptsSurviveARedisRestart) {
  redis_server s;
  NEED_REDIS(s);
  asio::io_context io;
  worker a(io, s, "c8", "wa");
  run(io, [&]() -> asio::awaitable<void> {
    std::vector<shared_entry> one = {entry("http://h.test:80", "/1")};
    std::vector<shared_entry> two = {entry("http://h.test:80", "/2")};
    auto first = co_await a.front.admit(one);
    EXPECT_TRUE(first.ok()) << first.message;
    s.kill();
    auto down = co_await a.front.admit(two);
    EXPECT_FALSE(down.ok());
    EXPECT_NE(down.message.find("Redis at 127.0.0.1:"), std::string::npos) << down.message;
    EXPECT_TRUE(s.restart());
    auto back = co_await a.front.admit(two);
    EXPECT_TRUE(back.ok()) << back.message;
    EXPECT_EQ(back.value, std::vector<bool>{true});
  });
}
