// The Redis client against a real redis-server started by the test on a loopback port.
#include "redis/redis_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <thread>

#include "support/redis_server.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using trawler::redis::client;
using trawler::redis::command;
using trawler::redis::exec_result;
using trawler::redis::parse_url;
using trawler::redis::reply;
using trawler::testing::redis_server;

namespace {

trawler::redis::endpoint endpoint_of(const std::string& url) {
  auto p = parse_url(url);
  EXPECT_TRUE(p.value) << p.error;
  return p.value.value_or(trawler::redis::endpoint{});
}

// Runs one coroutine on a fresh io_context to its end.
template <class F>
auto run(F&& f) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, f(io.get_executor()), asio::use_future);
  io.run();
  return fut.get();
}

}  // namespace

TEST(RedisClient, CommandsAndReplyKinds) {
  redis_server server;
  NEED_REDIS(server);
  auto r = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client c(ex, endpoint_of(server.url()));
    std::vector<command> cmds = {{"SET", "k", std::string("v\r\nwith bytes")},
                                 {"GET", "k"},
                                 {"GET", "missing"},
                                 {"INCRBY", "n", "41"},
                                 {"INCR", "n"},
                                 {"RPUSH", "l", "a", "b"},
                                 {"LRANGE", "l", "0", "-1"},
                                 {"LPUSH", "k", "x"}};
    co_return co_await c.exec(std::move(cmds));  // WRONGTYPE: an error reply
  });
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.replies.size(), 8u);
  EXPECT_EQ(r.replies[0].type, reply::kind::status);
  EXPECT_EQ(r.replies[0].str, "OK");
  EXPECT_EQ(r.replies[1].str, "v\r\nwith bytes");
  EXPECT_TRUE(r.replies[2].is_nil());
  EXPECT_EQ(r.replies[3].as_integer(), 41);
  EXPECT_EQ(r.replies[4].as_integer(), 42);
  EXPECT_EQ(r.replies[5].as_integer(), 2);
  ASSERT_EQ(r.replies[6].elements.size(), 2u);
  EXPECT_EQ(r.replies[6].elements[1].str, "b");
  EXPECT_TRUE(r.replies[7].is_error());
  EXPECT_NE(r.replies[7].str.find("WRONGTYPE"), std::string::npos);
}

TEST(RedisClient, BinarySafeArguments) {
  redis_server server;
  NEED_REDIS(server);
  std::string blob;
  for (int i = 0; i < 256; ++i) blob += static_cast<char>(i);
  auto r = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client c(ex, endpoint_of(server.url()));
    std::vector<command> cmds = {{"SET", blob, blob}, {"GET", blob}, {"STRLEN", blob}};
    co_return co_await c.exec(std::move(cmds));
  });
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.replies[1].str, blob);
  EXPECT_EQ(r.replies[2].as_integer(), 256);
}

// Many coroutines share the one connection: their commands are pipelined and each gets its
// own replies, in its own order.
TEST(RedisClient, ConcurrentCallersArePipelinedOnOneConnection) {
  redis_server server;
  NEED_REDIS(server);
  asio::io_context io;
  client c(io.get_executor(), endpoint_of(server.url()));
  constexpr int callers = 200;
  int good = 0;
  int finished = 0;
  for (int i = 0; i < callers; ++i) {
    asio::co_spawn(
        io,
        [&c, &good, &finished, i]() -> asio::awaitable<void> {
          const std::string key = "k" + std::to_string(i);
          std::vector<command> cmds = {
              {"SET", key, std::to_string(i * 7)}, {"INCR", key}, {"GET", key}};
          auto r = co_await c.exec(std::move(cmds));
          if (r.ok() && r.replies.size() == 3 && r.replies[2].as_integer() == i * 7 + 1) ++good;
          // The connection's read loop keeps the io_context busy until the client closes.
          if (++finished == callers) c.close();
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(good, callers);
  EXPECT_EQ(c.round_trips(), static_cast<std::uint64_t>(callers) + 1);  // + the PING of connect
  // Pipelined: the callers that queued while a write was on the wire went out together.
  EXPECT_LT(c.socket_writes(), static_cast<std::uint64_t>(callers) / 4) << c.socket_writes();
  EXPECT_GT(c.bytes_sent(), 0u);
  EXPECT_GT(c.bytes_received(), 0u);
}

TEST(RedisClient, LuaScriptChangesSeveralKeysAtOnce) {
  redis_server server;
  NEED_REDIS(server);
  auto r = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client c(ex, endpoint_of(server.url()));
    const std::string script =
        "if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then "
        "  redis.call('RPUSH', KEYS[2], ARGV[1]) return 1 end return 0";
    std::vector<command> cmds = {{"EVAL", script, "2", "seen", "queue", "u1"},
                                 {"EVAL", script, "2", "seen", "queue", "u1"},
                                 {"EVAL", script, "2", "seen", "queue", "u2"},
                                 {"LRANGE", "queue", "0", "-1"}};
    co_return co_await c.exec(std::move(cmds));
  });
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.replies[0].as_integer(), 1);
  EXPECT_EQ(r.replies[1].as_integer(), 0);
  EXPECT_EQ(r.replies[2].as_integer(), 1);
  ASSERT_EQ(r.replies[3].elements.size(), 2u);
}

TEST(RedisClient, AuthWithPasswordAndAclUserAndSelect) {
  redis_server server(redis_server::options{
      .password = "pw1", .acl_user = "crawler", .acl_password = "pw2", .port = 0});
  NEED_REDIS(server);
  const std::string port = std::to_string(server.port());
  auto ok = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client a(ex, endpoint_of("redis://:pw1@127.0.0.1:" + port + "/3"));
    std::vector<command> cmds = {{"SET", "in3", "yes"}};
    auto r = co_await a.exec(std::move(cmds));
    if (!r.ok()) co_return r;
    client b(ex, endpoint_of("redis://crawler:pw2@127.0.0.1:" + port + "/3"));
    std::vector<command> check = {{"GET", "in3"}, {"ACL", "WHOAMI"}};
    co_return co_await b.exec(std::move(check));
  });
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.replies[0].str, "yes");  // the same db 3
  EXPECT_EQ(ok.replies[1].str, "crawler");
  auto other_db = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client a(ex, endpoint_of("redis://:pw1@127.0.0.1:" + port + "/0"));
    std::vector<command> cmds = {{"GET", "in3"}};
    co_return co_await a.exec(std::move(cmds));
  });
  ASSERT_TRUE(other_db.ok()) << other_db.message;
  EXPECT_TRUE(other_db.replies[0].is_nil());
  auto refused = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client a(ex, endpoint_of("redis://:wrong@127.0.0.1:" + port));
    std::vector<command> cmds = {{"PING"}};
    co_return co_await a.exec(std::move(cmds));
  });
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message.find("AUTH"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("127.0.0.1:" + port), std::string::npos) << refused.message;
  auto no_auth = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client a(ex, endpoint_of("redis://127.0.0.1:" + port));
    std::vector<command> cmds = {{"GET", "x"}};
    co_return co_await a.exec(std::move(cmds));
  });
  // Without AUTH the connect's PING is refused: the connection is not usable.
  EXPECT_FALSE(no_auth.ok());
  EXPECT_NE(no_auth.message.find("NOAUTH"), std::string::npos) << no_auth.message;
}

TEST(RedisClient, NothingListeningNamesRedisAndTheAddress) {
  const auto port = trawler::testing::free_port();
  auto r = run([&](asio::any_io_executor ex) -> asio::awaitable<exec_result> {
    client c(ex, endpoint_of("redis://127.0.0.1:" + std::to_string(port)));
    std::vector<command> cmds = {{"PING"}};
    co_return co_await c.exec(std::move(cmds));
  });
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message.find("Redis at 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << r.message;
}

// A server that accepts and never answers: the exec times out, with the address.
TEST(RedisClient, SilentServerTimesOut) {
  asio::io_context io;
  asio::ip::tcp::acceptor acc(io, {asio::ip::address_v4::loopback(), 0});
  asio::ip::tcp::socket held(io);
  acc.async_accept(held, [](const boost::system::error_code&) {});
  const auto port = acc.local_endpoint().port();
  exec_result r;
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        trawler::redis::client_options opt;
        opt.timeout = 300ms;
        client c(io.get_executor(), endpoint_of("redis://127.0.0.1:" + std::to_string(port)), opt);
        std::vector<command> cmds = {{"PING"}};
        r = co_await c.exec(std::move(cmds));
        acc.close();
      },
      asio::detached);
  io.run();
  EXPECT_EQ(r.ec, asio::error::timed_out) << r.message;
  EXPECT_NE(r.message.find("did not answer"), std::string::npos) << r.message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

// Redis killed under a live connection: the exec in flight fails; after a restart the same
// client connects again by itself.
TEST(RedisClient, ReconnectsAfterTheServerRestarts) {
  redis_server server;
  NEED_REDIS(server);
  asio::io_context io;
  std::vector<exec_result> results;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        client c(io.get_executor(), endpoint_of(server.url()));
        std::vector<command> cmds = {{"SET", "a", "1"}};
        results.push_back(co_await c.exec(std::move(cmds)));
        server.kill();  // blocks this thread briefly; the socket sees the close afterwards
        cmds = {{"GET", "a"}};
        results.push_back(co_await c.exec(std::move(cmds)));
        EXPECT_TRUE(server.restart()) << server.why();
        cmds = {{"SET", "b", "2"}, {"GET", "b"}};
        results.push_back(co_await c.exec(std::move(cmds)));
      },
      asio::detached);
  io.run();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].ok()) << results[0].message;
  EXPECT_FALSE(results[1].ok());
  EXPECT_NE(results[1].message.find("Redis at 127.0.0.1:"), std::string::npos)
      << results[1].message;
  ASSERT_TRUE(results[2].ok()) << results[2].message;
  EXPECT_EQ(results[2].replies[1].str, "2");
}
