// The cluster client against a real Redis Cluster (and a single Redis) started by the test on
// loopback ports: slots, discovery, MOVED after a resharding, ASK during a migration, scripts,
// one pipeline per master, and a master killed and replaced by its replica.
#include "redis/cluster_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "redis/redis_client.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_server.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using trawler::redis::client;
using trawler::redis::cluster_client;
using trawler::redis::cluster_options;
using trawler::redis::command;
using trawler::redis::endpoint;
using trawler::redis::exec_result;
using trawler::redis::key_slot;
using trawler::redis::reply;
using trawler::testing::redis_cluster;
using trawler::testing::redis_server;

namespace {

std::vector<endpoint> seeds(const std::string& urls) {
  auto p = trawler::redis::parse_urls(urls);
  EXPECT_TRUE(p.error.empty()) << p.error;
  return p.values;
}

endpoint endpoint_of(const std::string& url) {
  auto p = trawler::redis::parse_url(url);
  EXPECT_TRUE(p.value) << p.error;
  return p.value.value_or(endpoint{});
}

// Runs one coroutine on a fresh io_context to its end (the clients it made must be gone or
// closed by then: their connections keep the io_context busy).
template <class F>
void run(F&& f) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, f(io.get_executor()), asio::use_future);
  io.run();
  fut.get();
}

// A key of every slot ("k:<n>" for the first n that hashes there).
const std::vector<std::string>& key_per_slot() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> out(trawler::redis::slot_count);
    std::size_t found = 0;
    for (int n = 0; found < out.size(); ++n) {
      std::string k = "k:" + std::to_string(n);
      auto& slot = out[key_slot(k)];
      if (slot.empty()) {
        slot = std::move(k);
        ++found;
      }
    }
    return out;
  }();
  return keys;
}

std::string address_of(std::uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// gtest's ASSERT_* return from a void function; these end the coroutine instead (co_return
// of a void expression: the failure, with what is streamed after the macro).
#define CO_ASSERT_TRUE(c) \
  if (c) {                \
  } else                  \
    co_return ADD_FAILURE() << "CO_ASSERT_TRUE(" #c ") failed: "
#define CO_ASSERT_EQ(a, b) \
  if ((a) == (b)) {        \
  } else                   \
    co_return ADD_FAILURE() << #a " == " #b ": " << (a) << " vs " << (b) << " "
#define CO_ASSERT_NE(a, b) \
  if ((a) != (b)) {        \
  } else                   \
    co_return ADD_FAILURE() << #a " != " #b ": both " << (a) << " "

// Commands built outside the coroutines: GCC 12 rejects a braced list of string literals
// held across a co_await.
template <class... A>
command cmd(A&&... a) {
  return command{std::string(std::forward<A>(a))...};
}

template <class... C>
std::vector<command> cmds(C... c) {
  std::vector<command> v;
  (v.push_back(std::move(c)), ...);
  return v;
}

asio::awaitable<exec_result> one(cluster_client& c, std::uint16_t slot, command cmd) {
  std::vector<command> cmds;
  cmds.push_back(std::move(cmd));
  co_return co_await c.exec(slot, std::move(cmds));
}

asio::awaitable<void> pause(asio::any_io_executor ex, std::chrono::milliseconds d) {
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

// Keys of all 16384 slots, written in one exec_each: each lands on the master that serves its
// slot (asked of that node directly), Redis computes the same slot, and all read back.
TEST(RedisCluster, KeysOfEverySlotLandOnTheirMaster) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  const auto& keys = key_per_slot();
  std::map<std::uint16_t, std::vector<std::uint16_t>> slots_of;  // master port -> its slots
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.url(cluster.ports().front())));
    EXPECT_EQ(c.masters(), 0u);
    EXPECT_FALSE(co_await c.refresh());
    EXPECT_TRUE(c.is_cluster());
    EXPECT_EQ(c.masters(), 3u);
    std::set<std::string> addresses, expected;
    for (std::size_t i = 0; i < c.masters(); ++i) addresses.insert(c.master_address(i));
    for (const auto p : cluster.initial_masters()) expected.insert(address_of(p));
    EXPECT_EQ(addresses, expected);

    std::vector<std::pair<std::uint16_t, std::vector<command>>> writes, reads;
    for (std::uint16_t s = 0; s < trawler::redis::slot_count; ++s) {
      std::vector<command> w = {{"SET", keys[s], "v" + std::to_string(s)}};
      std::vector<command> r = {{"GET", keys[s]}};
      writes.emplace_back(s, std::move(w));
      reads.emplace_back(s, std::move(r));
    }
    const auto before = c.counts();
    auto written = co_await c.exec_each(std::move(writes));
    const auto after = c.counts();
    // One pipeline per master, no redirection.
    EXPECT_EQ(after.round_trips - before.round_trips, 3u);
    EXPECT_EQ(after.commands - before.commands, 16384u);
    EXPECT_EQ(after.moved + after.asked + after.retried, 0u);
    EXPECT_GT(after.bytes_sent, before.bytes_sent + 16384 * 20);
    EXPECT_GT(after.bytes_received, before.bytes_received + 16384 * 4);
    CO_ASSERT_EQ(written.size(), 16384u);
    std::size_t ok = 0;
    for (const auto& w : written) ok += w.ok() && w.replies.size() == 1 && w.replies[0].str == "OK";
    EXPECT_EQ(ok, 16384u);
    auto read = co_await c.exec_each(std::move(reads));
    std::size_t same = 0;
    for (std::size_t s = 0; s < read.size(); ++s) {
      same += read[s].ok() && read[s].replies.size() == 1 &&
              read[s].replies[0].str == "v" + std::to_string(s);
    }
    EXPECT_EQ(same, 16384u);
    for (std::uint16_t s = 0; s < trawler::redis::slot_count; ++s) {
      const std::string addr = c.master_address(c.master_of(s));
      slots_of[static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)))].push_back(
          s);
    }
    // Straight to each master, no routing: it has exactly the keys of its slots.
    for (const auto port : cluster.initial_masters()) {
      client direct(ex, endpoint_of(cluster.url(port)));
      std::vector<command> ask;
      for (std::uint16_t s = 0; s < trawler::redis::slot_count; ++s) {
        ask.push_back({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(s)});
        ask.push_back({"CLUSTER", "KEYSLOT", keys[s]});
      }
      ask.push_back({"DBSIZE"});
      auto r = co_await direct.exec(std::move(ask));
      EXPECT_TRUE(r.ok()) << r.message;
      if (!r.ok()) continue;
      const auto& mine = slots_of[port];
      const std::set<std::uint16_t> mine_set(mine.begin(), mine.end());
      std::size_t right_count = 0, right_slot = 0;
      for (std::uint16_t s = 0; s < trawler::redis::slot_count; ++s) {
        right_count += r.replies[2 * s].as_integer() == (mine_set.count(s) ? 1 : 0);
        right_slot += r.replies[2 * s + 1].as_integer() == s;
      }
      EXPECT_EQ(right_count, 16384u) << port;
      EXPECT_EQ(right_slot, 16384u) << port;  // Redis' CRC16 is ours
      EXPECT_EQ(r.replies.back().as_integer(), static_cast<long long>(mine.size()));
      EXPECT_GT(mine.size(), 5000u);
    }
  });
  EXPECT_EQ(slots_of.size(), 3u);
}

// Any one node is enough to find the rest: a non-first node alone, or a list whose first node
// is down. AUTH from the seed URL goes to the nodes found.
TEST(RedisCluster, OneSeedFindsTheWholeCluster) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  const std::uint16_t last = cluster.ports().back();
  const std::uint16_t nobody = trawler::testing::free_port();
  const std::vector<std::uint16_t> probes = {0, 6000, 12000, 16383};
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    {
      cluster_client c(ex, seeds(cluster.url(last)));
      EXPECT_EQ(c.address(), address_of(last));
      for (const auto s : probes) {
        const std::string& key = key_per_slot()[s];
        std::vector<command> cmds = {{"SET", key, "x" + key}, {"GET", key}};
        auto r = co_await c.exec(s, std::move(cmds));
        CO_ASSERT_TRUE(r.ok()) << r.message;
        EXPECT_EQ(r.replies[1].str, "x" + key);
      }
      EXPECT_EQ(c.masters(), 3u);
      EXPECT_EQ(c.counts().moved, 0u);
      EXPECT_EQ(c.counts().refreshes, 1u);
      std::set<std::size_t> used;
      for (const auto s : probes) used.insert(c.master_of(s));
      EXPECT_EQ(used.size(), 3u);
    }
    {
      const std::string list =
          "redis://127.0.0.1:" + std::to_string(nobody) + ", " + cluster.url(cluster.ports()[1]);
      cluster_client c(ex, seeds(list));
      EXPECT_EQ(c.address(), address_of(nobody) + "," + address_of(cluster.ports()[1]));
      auto r = co_await one(c, 16383, cmd("GET", key_per_slot()[16383]));
      CO_ASSERT_TRUE(r.ok()) << r.message;
      EXPECT_EQ(r.replies[0].str, "x" + key_per_slot()[16383]);
      EXPECT_EQ(c.masters(), 3u);
    }
    // A password on every node: the seed's goes to the nodes learned from it.
    for (const auto p : cluster.ports()) {
      EXPECT_EQ(cluster.cli(p, {"CONFIG", "SET", "requirepass", "s3cret"}), "OK");
    }
    {
      cluster_client c(ex, seeds("redis://:s3cret@127.0.0.1:" + std::to_string(last)));
      for (const auto s : probes) {
        auto r = co_await one(c, s, cmd("GET", key_per_slot()[s]));
        CO_ASSERT_TRUE(r.ok()) << r.message;
        EXPECT_EQ(r.replies[0].str, "x" + key_per_slot()[s]);
      }
    }
    {
      cluster_client c(ex, seeds(cluster.url(last)));
      auto r = co_await one(c, 0, cmd("GET", key_per_slot()[0]));
      EXPECT_FALSE(r.ok());
      EXPECT_NE(r.message.find(address_of(last)), std::string::npos) << r.message;
      EXPECT_FALSE(c.is_cluster());
      EXPECT_EQ(c.masters(), 0u);
    }
  });
}

// A resharding while the client writes: its map goes stale, MOVED is followed (the map is
// reloaded), every acknowledged INCR is in the end value (nothing lost, nothing twice).
TEST(RedisCluster, ReshardingMidTestIsFollowedThroughMoved) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  const std::uint16_t from = cluster.initial_masters()[0];
  const std::uint16_t to = cluster.initial_masters()[1];
  constexpr std::uint16_t counters = 300;  // slots 0..299, all on `from`
  std::vector<std::uint16_t> moved_slots;
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.url(from)));
    std::vector<long long> acked(counters, 0);
    for (std::uint16_t s = 0; s < counters; ++s) {
      auto r = co_await one(c, s, cmd("SET", key_per_slot()[s], "0"));
      EXPECT_TRUE(r.ok()) << r.message;
    }
    EXPECT_EQ(c.master_address(c.master_of(0)), address_of(from));
    std::atomic<bool> done{false};
    std::thread reshard([&] {
      moved_slots = cluster.migrate_slots(from, to, 100);
      done = true;
    });
    std::size_t failures = 0;
    std::size_t error_replies = 0;
    for (std::uint16_t s = 0; !done || s % counters != 0; s = (s + 1) % counters) {
      auto r = co_await one(c, s, cmd("INCR", key_per_slot()[s]));
      if (!r.ok()) {
        ++failures;
      } else if (r.replies[0].is_error()) {
        ++error_replies;
      } else {
        ++acked[s];
      }
    }
    reshard.join();
    EXPECT_EQ(failures, 0u);
    EXPECT_EQ(error_replies, 0u);
    EXPECT_EQ(moved_slots.size(), 100u);
    EXPECT_GT(c.counts().moved, 0u);
    EXPECT_GT(c.counts().refreshes, 1u);
    // After the resharding: the map is the new one, each counter holds exactly its INCRs.
    std::vector<std::pair<std::uint16_t, std::vector<command>>> reads;
    for (std::uint16_t s = 0; s < counters; ++s) {
      std::vector<command> get = {{"GET", key_per_slot()[s]}};
      reads.emplace_back(s, std::move(get));
    }
    auto values = co_await c.exec_each(std::move(reads));
    std::size_t exact = 0;
    for (std::uint16_t s = 0; s < counters; ++s) {
      exact += values[s].ok() && values[s].replies[0].as_integer() == acked[s] && acked[s] > 0;
    }
    EXPECT_EQ(exact, counters);
    for (const auto s : moved_slots) {
      EXPECT_EQ(c.master_address(c.master_of(s)), address_of(to)) << s;
    }
    // Writable where they are now; the new owner has them (asked directly).
    const std::uint16_t s = moved_slots.empty() ? 0 : moved_slots.back();
    auto w = co_await one(c, s, cmd("SET", key_per_slot()[s], "after"));
    EXPECT_TRUE(w.ok() && w.replies[0].str == "OK") << w.message;
    client direct(ex, endpoint_of(cluster.url(to)));
    auto r = co_await direct.exec1(cmd("GET", key_per_slot()[s]));
    EXPECT_EQ(r.replies.at(0).str, "after");
  });
}

// A slot half migrated by hand: a key already moved answers ASK from the old owner; the client
// sends ASKING and the command to the new owner once, the map unchanged. A multi-key command
// over both halves gets TRYAGAIN, waited out for retry_for, then handed back. Once the slot
// is moved, MOVED.
TEST(RedisCluster, AskDuringAManualMigration) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  const std::string a = "{ask}:a", b = "{ask}:b", n = "{ask}:new";
  const std::uint16_t slot = key_slot(a);
  const std::uint16_t from = cluster.master_of_slot(slot);
  std::uint16_t to = 0;
  for (const auto p : cluster.initial_masters()) {
    if (p != from) to = p;
  }
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.url(to)));
    std::vector<command> setup = {{"SET", a, "1"}, {"SET", b, "2"}};
    auto r = co_await c.exec(slot, std::move(setup));
    EXPECT_TRUE(r.ok()) << r.message;
    const std::size_t owner = c.master_of(slot);
    EXPECT_EQ(c.master_address(owner), address_of(from));

    EXPECT_TRUE(cluster.begin_migration(slot, from, to));
    EXPECT_TRUE(cluster.migrate_keys(from, to, {a}));
    const auto before = c.counts();
    std::vector<command> mixed = {{"GET", a}, {"GET", b}, {"SET", n, "3"}, {"INCR", a}};
    r = co_await c.exec(slot, std::move(mixed));
    CO_ASSERT_TRUE(r.ok()) << r.message;
    CO_ASSERT_EQ(r.replies.size(), 4u);
    EXPECT_EQ(r.replies[0].str, "1");   // on `to`: ASK
    EXPECT_EQ(r.replies[1].str, "2");   // still on `from`
    EXPECT_EQ(r.replies[2].str, "OK");  // a new key goes to `to`: ASK
    EXPECT_EQ(r.replies[3].as_integer(), 2);
    const auto after = c.counts();
    EXPECT_EQ(after.asked - before.asked, 3u);
    EXPECT_EQ(after.moved, 0u);
    EXPECT_EQ(after.refreshes, before.refreshes);  // the map is kept
    EXPECT_EQ(c.master_of(slot), owner);
    // The first pipeline to `from`, then ASKING + command three times in one to `to`.
    EXPECT_EQ(after.round_trips - before.round_trips, 2u);
    EXPECT_EQ(after.commands - before.commands, 4u + 6u);
    {
      client direct(ex, endpoint_of(cluster.url(to)));
      std::vector<command> look = {{"ASKING"}, {"GET", n}, {"GET", b}};
      auto d = co_await direct.exec(std::move(look));
      CO_ASSERT_TRUE(d.ok()) << d.message;
      EXPECT_EQ(d.replies[1].str, "3");
      EXPECT_TRUE(d.replies[2].str.starts_with("MOVED")) << d.replies[2].str;  // not asking
    }
    {
      // Keys on both sides of the migration: TRYAGAIN until retry_for, then the reply as is.
      cluster_options quick;
      quick.retry_for = 300ms;
      cluster_client q(ex, seeds(cluster.url(from)), quick);
      const auto t0 = std::chrono::steady_clock::now();
      auto m = co_await one(q, slot, cmd("MGET", a, b));
      const auto took = std::chrono::steady_clock::now() - t0;
      CO_ASSERT_TRUE(m.ok()) << m.message;
      EXPECT_TRUE(m.replies[0].is_error());
      EXPECT_TRUE(m.replies[0].str.starts_with("TRYAGAIN")) << m.replies[0].str;
      EXPECT_GE(q.counts().retried, 3u);
      EXPECT_GE(took, 300ms);
      EXPECT_LT(took, 3s);
    }
    EXPECT_TRUE(cluster.finish_migration(slot, from, to));
    std::vector<command> all = {{"GET", a}, {"GET", b}, {"GET", n}, {"MGET", a, b}};
    r = co_await c.exec(slot, std::move(all));
    CO_ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.replies[0].str, "2");
    EXPECT_EQ(r.replies[1].str, "2");
    EXPECT_EQ(r.replies[2].str, "3");
    CO_ASSERT_EQ(r.replies[3].elements.size(), 2u);
    EXPECT_EQ(r.replies[3].elements[0].str, "2");
    EXPECT_GT(c.counts().moved, 0u);
    EXPECT_EQ(c.master_address(c.master_of(slot)), address_of(to));
  });
}

// EVALSHA with its KEYS in one slot: scripts are loaded per node, so NOSCRIPT is answered
// by each master until it has the script; SCRIPT LOAD goes with the EVALSHA to the slot's
// master. Errors that are not redirections (CROSSSLOT) come back at once, as they are.
TEST(RedisCluster, ScriptsWithKeysInOneSlotLoadPerNode) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  const std::string script =
      "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('INCR', KEYS[2])";
  // Two hash tags served by different masters.
  std::string tag_x = "{x0}", tag_y;
  for (int i = 1; tag_y.empty(); ++i) {
    const std::string t = "{x" + std::to_string(i) + "}";
    if (cluster.master_of_slot(key_slot(t)) != cluster.master_of_slot(key_slot(tag_x))) tag_y = t;
  }
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.url(cluster.ports()[0])));
    EXPECT_FALSE(co_await c.refresh());
    const std::uint16_t sx = key_slot(tag_x), sy = key_slot(tag_y);
    CO_ASSERT_NE(c.master_of(sx), c.master_of(sy));
    // Loaded on x's master only.
    auto loaded = co_await c.exec_on_master(c.master_of(sx), cmds(cmd("SCRIPT", "LOAD", script)));
    CO_ASSERT_TRUE(loaded.ok()) << loaded.message;
    const std::string sha = loaded.replies.at(0).str;
    EXPECT_EQ(sha.size(), 40u);

    auto run_script = [&](const std::string& tag, std::uint16_t slot,
                          bool load) -> asio::awaitable<exec_result> {
      std::vector<command> batch;
      if (load) batch.push_back(cmd("SCRIPT", "LOAD", script));
      batch.push_back(cmd("EVALSHA", sha, "2", tag + ":v", tag + ":n", "val" + tag));
      co_return co_await c.exec(slot, std::move(batch));
    };
    auto x = co_await run_script(tag_x, sx, false);
    CO_ASSERT_TRUE(x.ok()) << x.message;
    EXPECT_EQ(x.replies[0].as_integer(), 1);
    auto y = co_await run_script(tag_y, sy, false);
    CO_ASSERT_TRUE(y.ok()) << y.message;
    EXPECT_TRUE(y.replies[0].str.starts_with("NOSCRIPT")) << y.replies[0].str;
    y = co_await run_script(tag_y, sy, true);
    CO_ASSERT_TRUE(y.ok()) << y.message;
    EXPECT_EQ(y.replies[0].str, sha);
    EXPECT_EQ(y.replies[1].as_integer(), 1);
    y = co_await run_script(tag_y, sy, false);
    EXPECT_EQ(y.replies.at(0).as_integer(), 2);
    auto v = co_await one(c, sy, cmd("GET", tag_y + ":v"));
    EXPECT_EQ(v.replies.at(0).str, "val" + tag_y);
    // KEYS of two slots: Redis refuses, the client hands it back without retrying.
    const auto before = c.counts();
    std::vector<command> cross = {{"EVALSHA", sha, "2", tag_x + ":v", tag_y + ":n", "z"}};
    auto bad = co_await c.exec(sx, std::move(cross));
    CO_ASSERT_TRUE(bad.ok()) << bad.message;
    EXPECT_TRUE(bad.replies[0].str.starts_with("CROSSSLOT")) << bad.replies[0].str;
    EXPECT_EQ(c.counts().round_trips - before.round_trips, 1u);
    EXPECT_EQ(c.counts().retried, 0u);
  });
}

// exec_each over every master: one pipeline per master, results in the order given; the
// per-master commands of exec_on_master reach the master named.
TEST(RedisCluster, ExecEachRunsOnePipelinePerMaster) {
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.urls()));
    EXPECT_FALSE(co_await c.refresh());
    std::vector<std::pair<std::uint16_t, std::vector<command>>> batches;
    std::set<std::size_t> masters_used;
    for (int i = 0; i < 60; ++i) {
      const auto s = static_cast<std::uint16_t>((i * 5471) % 16384);  // all over the ring
      masters_used.insert(c.master_of(s));
      const std::string& k = key_per_slot()[s];
      std::vector<command> cmds = {
          {"SET", k, "b" + std::to_string(i)}, {"APPEND", k, "!"}, {"GET", k}};
      batches.emplace_back(s, std::move(cmds));
    }
    EXPECT_EQ(masters_used.size(), 3u);
    const auto before = c.counts();
    auto results = co_await c.exec_each(std::move(batches));
    const auto after = c.counts();
    EXPECT_EQ(after.round_trips - before.round_trips, 3u);
    EXPECT_EQ(after.commands - before.commands, 180u);
    CO_ASSERT_EQ(results.size(), 60u);
    for (int i = 0; i < 60; ++i) {
      CO_ASSERT_TRUE(results[i].ok()) << results[i].message;
      CO_ASSERT_EQ(results[i].replies.size(), 3u);
      EXPECT_EQ(results[i].replies[2].str, "b" + std::to_string(i) + "!") << i;
    }
    for (std::size_t i = 0; i < c.masters(); ++i) {
      auto info = co_await c.exec_on_master(i, cmds(cmd("INFO", "server"), cmd("PING")));
      CO_ASSERT_TRUE(info.ok()) << info.message;
      const std::string addr = c.master_address(i);
      EXPECT_NE(info.replies[0].str.find("tcp_port:" + addr.substr(addr.rfind(':') + 1)),
                std::string::npos);
      EXPECT_EQ(info.replies[1].str, "PONG");
    }
    auto none = co_await c.exec_on_master(3, cmds(cmd("PING")));
    EXPECT_FALSE(none.ok());
  });
}

// 3 masters with a replica each: SIGKILL of a master. The client's execs to its slots fail
// (ec) until a replica is promoted, then work again, with the data replicated before the kill.
TEST(RedisCluster, KilledMasterIsFollowedToItsPromotedReplica) {
  redis_cluster cluster(
      redis_cluster::options{.masters = 3, .replicas = 1, .node_timeout_ms = 1000});
  NEED_REDIS_CLUSTER(cluster);
  ASSERT_EQ(cluster.ports().size(), 6u);
  constexpr int keys = 300;
  auto slot_of = [](int i) { return static_cast<std::uint16_t>((i * 54) % 16384); };
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.urls()));
    std::vector<std::pair<std::uint16_t, std::vector<command>>> writes;
    for (int i = 0; i < keys; ++i) {
      std::vector<command> w = {{"SET", key_per_slot()[slot_of(i)], "kept" + std::to_string(i)}};
      writes.emplace_back(slot_of(i), std::move(w));
    }
    for (const auto& r : co_await c.exec_each(std::move(writes))) EXPECT_TRUE(r.ok()) << r.message;
    // Replicated before the kill (an acknowledged write may be lost otherwise).
    for (std::size_t i = 0; i < c.masters(); ++i) {
      auto w = co_await c.exec_on_master(i, cmds(cmd("WAIT", "1", "2000")));
      EXPECT_EQ(w.replies.at(0).as_integer(), 1) << c.master_address(i);
    }
    const std::uint16_t dead = cluster.kill_master(0);
    const std::uint16_t slot = 0;  // master 0's
    CO_ASSERT_EQ(c.master_address(c.master_of(slot)), address_of(dead));
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t failures = 0;
    exec_result r;
    for (;;) {
      r = co_await one(c, slot, cmd("GET", key_per_slot()[slot]));
      if (r.ok()) break;
      ++failures;
      if (std::chrono::steady_clock::now() - t0 > 20s) break;
      co_await pause(ex, 100ms);
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    CO_ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_GT(failures, 0u);  // the first exec after the kill failed at least
    EXPECT_EQ(r.replies[0].str, "kept0");
    const std::uint16_t promoted = cluster.wait_failover(dead, 10s);
    CO_ASSERT_NE(promoted, 0);
    EXPECT_EQ(c.master_address(c.master_of(slot)), address_of(promoted));
    EXPECT_EQ(c.masters(), 3u);
    // Everything written before the kill reads back, from every shard.
    std::vector<std::pair<std::uint16_t, std::vector<command>>> reads;
    for (int i = 0; i < keys; ++i) {
      std::vector<command> g = {{"GET", key_per_slot()[slot_of(i)]}};
      reads.emplace_back(slot_of(i), std::move(g));
    }
    auto got = co_await c.exec_each(std::move(reads));
    int same = 0;
    for (int i = 0; i < keys; ++i) {
      same += got[i].ok() && got[i].replies[0].str == "kept" + std::to_string(i);
    }
    EXPECT_EQ(same, keys);
    auto w = co_await one(c, slot, cmd("SET", key_per_slot()[slot], "new"));
    EXPECT_TRUE(w.ok() && w.replies[0].str == "OK") << w.message;
    std::cerr << "failover followed after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms, "
              << failures << " failed execs, " << c.counts().refreshes << " map loads\n";
  });
}

// A single Redis without cluster mode through the same class: one node serves every slot,
// AUTH and SELECT from the URL.
TEST(RedisCluster, SingleRedisWithoutClusterMode) {
  redis_server::options with_password;
  with_password.password = "pw";
  redis_server server(with_password);
  NEED_REDIS(server);
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(server.url() + "/3"));
    EXPECT_FALSE(co_await c.refresh());
    EXPECT_FALSE(c.is_cluster());
    EXPECT_EQ(c.masters(), 1u);
    EXPECT_EQ(c.master_of(0), 0u);
    EXPECT_EQ(c.master_of(16383), 0u);
    EXPECT_EQ(c.master_address(0), address_of(server.port()));
    std::vector<std::pair<std::uint16_t, std::vector<command>>> batches;
    for (const std::uint16_t s : {0, 5000, 16383}) {
      std::vector<command> cmds = {{"SET", key_per_slot()[s], std::to_string(s)},
                                   {"GET", key_per_slot()[s]}};
      batches.emplace_back(s, std::move(cmds));
    }
    const auto before = c.counts();
    auto results = co_await c.exec_each(std::move(batches));
    EXPECT_EQ(c.counts().round_trips - before.round_trips, 1u);
    CO_ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[2].replies.at(1).str, "16383");
    // Multi-key commands over any keys work on one Redis.
    std::vector<command> m = {{"MGET", key_per_slot()[0], key_per_slot()[16383]}};
    auto r = co_await c.exec(0, std::move(m));
    CO_ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.replies[0].elements.at(1).str, "16383");
    // In db 3, not 0.
    client direct(ex, endpoint_of(server.url()));
    std::vector<command> look = {
        {"EXISTS", key_per_slot()[0]}, {"SELECT", "3"}, {"EXISTS", key_per_slot()[0]}};
    auto d = co_await direct.exec(std::move(look));
    EXPECT_EQ(d.replies.at(0).as_integer(), 0);
    EXPECT_EQ(d.replies.at(2).as_integer(), 1);
  });
}

// Nothing to reach: the exec fails with the seeds named; a cluster node refuses db 3.
TEST(RedisCluster, UnreachableSeedsAndDbInClusterModeAreErrors) {
  const std::uint16_t p1 = trawler::testing::free_port();
  const std::uint16_t p2 = trawler::testing::free_port();
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds("redis://127.0.0.1:" + std::to_string(p1) +
                               ",redis://127.0.0.1:" + std::to_string(p2)));
    auto r = co_await one(c, 0, cmd("PING"));
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.message.find(address_of(p1) + "," + address_of(p2)), std::string::npos)
        << r.message;
    EXPECT_EQ(c.masters(), 0u);
    auto each = co_await c.exec_each({});
    EXPECT_TRUE(each.empty());
    c.close();
    auto closed = co_await one(c, 0, cmd("PING"));
    EXPECT_EQ(closed.ec, asio::error::operation_aborted);
  });
  redis_cluster cluster;
  NEED_REDIS_CLUSTER(cluster);
  run([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    cluster_client c(ex, seeds(cluster.url(cluster.ports()[0]) + "/3"));
    auto r = co_await one(c, 0, cmd("PING"));
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.message.find("SELECT"), std::string::npos) << r.message;
  });
}
