// trawler-bench-delay: a TCP delay line (benchsite/delay_proxy.hpp) in its own process, so a
// benchmark's latency is applied outside the site and the crawler, as a network would, and
// its CPU cost can be told apart. Prints "ADDR:PORT" for each listener, then "ready"; on
// SIGINT or SIGTERM writes its counts and its own CPU use (--stats) and exits.
// --self-test checks the delay, pipelining, order, half-closes and resets against an echo
// server of its own, and exits 0 when every check passes.
#include <sys/resource.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "benchsite/delay_proxy.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using trawler::benchsite::delay_proxy;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::string_view usage_text =
    "usage: trawler-bench-delay --upstream HOST:PORT [--delay-ms D] [--listen-addr ADDR]...\n"
    "                           [--listen-port P] [--ports N] [--no-handshake-delay]\n"
    "                           [--stats FILE]\n"
    "       trawler-bench-delay --self-test [--delay-ms D]\n"
    "Forwards every connection accepted on each ADDR (default 127.0.0.1) and each of N ports\n"
    "(P, P+1, ...; P 0, the default: N free ports) to HOST:PORT, releasing every chunk of\n"
    "bytes in each direction D/2 ms after it arrived (default D 50: a 50 ms round trip), in\n"
    "order, pipelined, without a bandwidth limit. Prints ADDR:PORT for each listener, then\n"
    "\"ready\". A new connection's first bytes wait one round trip more (the TCP handshake\n"
    "the kernel answered at once; --no-handshake-delay: not). On SIGINT/SIGTERM writes its\n"
    "counts and CPU use to the --stats JSON file.\n"
    "  --self-test      check the delay, pipelining, order, half-closes and resets against\n"
    "                   an echo server of its own; exit 0 when every check passes\n";

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
}

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

// ---- the self-test -----------------------------------------------------------------------

// The upstream of the self-test: echoes every chunk at once; at the client's FIN answers
// "BYE\n" and closes. Notes whether a connection ended in a reset, and when.
struct echo_server {
  explicit echo_server(asio::io_context& io) : acceptor(io, tcp::endpoint(tcp::v4(), 0)) {}

  asio::awaitable<void> session(tcp::socket s) {
    std::vector<char> buf(64 * 1024);
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
      if (ec == asio::error::eof) {
        co_await asio::async_write(s, asio::buffer("BYE\n", 4), use_tuple);
        boost::system::error_code ignored;
        s.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
      if (ec) {
        ++resets;
        last_reset = clock_type::now();
        co_return;
      }
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(buf.data(), n), use_tuple);
      if (wec) co_return;
    }
  }
  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, s] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);  // as the site does: no Nagle stalls
      asio::co_spawn(acceptor.get_executor(), session(std::move(s)), asio::detached);
    }
  }

  tcp::acceptor acceptor;
  int resets = 0;
  clock_type::time_point last_reset{};
};

struct checker {
  bool ok = true;
  void check(bool pass, const std::string& what) {
    std::cout << "self-test: " << (pass ? "ok   " : "FAIL ") << what << std::endl;
    ok = ok && pass;
  }
};

std::string fmt_ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", v);
  return buf;
}

// One echo round trip of `bytes` bytes on an open connection, written and read at the same
// time as a real client reads (a receiver that stops reading lets TCP's window close, and
// reopening it costs a delayed ACK, 40 ms, that no proxy adds); -1 on an error or a mismatch.
asio::awaitable<double> round_trip(tcp::socket& s, std::size_t bytes, unsigned salt) {
  using namespace asio::experimental::awaitable_operators;
  std::vector<char> out(bytes), in(bytes);
  for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<char>((i * 31 + salt) % 251);
  const auto t0 = clock_type::now();
  auto send = [&]() -> asio::awaitable<bool> {
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(out), use_tuple);
    co_return !ec;
  };
  auto receive = [&]() -> asio::awaitable<bool> {
    auto [ec, n] = co_await asio::async_read(s, asio::buffer(in), use_tuple);
    co_return !ec;
  };
  const auto [sent, received] = co_await (send() && receive());
  if (!sent || !received || in != out) co_return -1;
  co_return ms_since(t0);
}

// Client FIN, then everything until the proxy's FIN: the echo and "BYE\n" must come back.
asio::awaitable<bool> close_cleanly(tcp::socket& s) {
  boost::system::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
  std::string got;
  std::vector<char> buf(4096);
  for (;;) {
    auto [rec, n] = co_await s.async_read_some(asio::buffer(buf), use_tuple);
    got.append(buf.data(), n);
    if (rec == asio::error::eof) break;
    if (rec) co_return false;
  }
  s.close(ec);
  co_return got == "BYE\n";
}

asio::awaitable<void> self_test(asio::io_context& io, std::chrono::milliseconds delay, checker& c,
                                int& exit_code) {
  const double d = static_cast<double>(delay.count());
  const double slack = 25;  // scheduling on a shared machine
  echo_server echo(io);
  asio::co_spawn(io, echo.accept_loop(), asio::detached);
  delay_proxy::options opt;
  opt.upstream =
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), echo.acceptor.local_endpoint().port());
  opt.one_way = std::chrono::duration_cast<std::chrono::microseconds>(delay) / 2;
  opt.handshake = 2 * opt.one_way;
  delay_proxy proxy(io.get_executor(), opt);
  boost::system::error_code ec;
  const std::uint16_t port = proxy.listen("127.0.0.1", 0, ec);
  if (ec) {
    c.check(false, "listen: " + ec.message());
    exit_code = 1;
    co_return;
  }
  proxy.start();
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  std::cout << "self-test: echo server behind a " << delay.count() << " ms round trip on port "
            << port << std::endl;

  // 1. A new connection's first round trip costs the handshake's too; the next ones cost the
  // delay, not less, not much more.
  {
    tcp::socket s(io);
    auto [cec] = co_await s.async_connect(ep, use_tuple);
    s.set_option(tcp::no_delay(true), ec);
    const double first = cec ? -1 : co_await round_trip(s, 100, 9);
    c.check(first >= 2 * d - 0.5 && first < 2 * d + slack,
            "first round trip on a new connection (handshake + request): " + fmt_ms(first) +
                " (expected " + fmt_ms(2 * d) + ")");
    double lo = 1e9, hi = -1;
    bool good = first >= 0;
    for (unsigned i = 0; good && i < 5; ++i) {
      const double t = co_await round_trip(s, 100, i);
      good = t >= 0;
      lo = std::min(lo, t);
      hi = std::max(hi, t);
    }
    c.check(good && lo >= d - 0.5 && hi < d + slack,
            "5 round trips of 100 bytes: " + fmt_ms(lo) + " .. " + fmt_ms(hi) + " (expected " +
                fmt_ms(d) + " .. " + fmt_ms(d + slack) + ")");
    // 2. 2 MB both ways costs about one delay, not one per chunk, and arrives intact.
    const double t = good ? co_await round_trip(s, 2 * 1024 * 1024, 7) : -1;
    c.check(t >= d - 0.5 && t < 2 * d + slack,
            "2 MB echoed in order in " + fmt_ms(t) + " (pipelined: < " + fmt_ms(2 * d + slack) +
                "; one delay per 64 KB chunk would be " + fmt_ms(32 * d) + ")");
    // 3. A half-close travels like data: the echo server sees our FIN and answers.
    const auto t0 = clock_type::now();
    const bool closed = co_await close_cleanly(s);
    const double tc = ms_since(t0);
    c.check(closed && tc >= d - 0.5 && tc < d + slack,
            "half-close: FIN forwarded, the answer and the upstream's FIN back in " + fmt_ms(tc));
  }

  // 4. 64 concurrent connections, 10 sequential round trips each: about 10 delays in all.
  {
    constexpr int conns = 64;
    constexpr int trips = 10;
    int left = conns;
    int failures = 0;
    asio::steady_timer all_done(io, clock_type::time_point::max());
    const auto t0 = clock_type::now();
    for (int k = 0; k < conns; ++k) {
      asio::co_spawn(
          io,
          [&, k]() -> asio::awaitable<void> {
            tcp::socket s(io);
            auto [e] = co_await s.async_connect(ep, use_tuple);
            boost::system::error_code ignored;
            s.set_option(tcp::no_delay(true), ignored);
            bool good = !e;
            for (int i = 0; good && i < trips; ++i) {
              good = co_await round_trip(s, 2000 + static_cast<std::size_t>(k), k + i) >= 0;
            }
            if (good) good = co_await close_cleanly(s);
            if (!good) ++failures;
            if (--left == 0) all_done.cancel();
          },
          asio::detached);
    }
    co_await all_done.async_wait(use_tuple);
    const double t = ms_since(t0);
    // Each connection's handshake and last FIN exchange cost one more delay each.
    const double expected = (trips + 2) * d;
    c.check(failures == 0 && t >= expected - 0.5 && t < 1.3 * expected + 2 * slack,
            "64 connections x 10 round trips (+ handshake, close): " + fmt_ms(t) + " (expected " +
                fmt_ms(expected) + "), " + std::to_string(failures) + " failed");
  }

  // 5. A reset reaches the upstream as a reset, after the one-way delay.
  {
    tcp::socket s(io);
    auto [e] = co_await s.async_connect(ep, use_tuple);
    const bool good = !e && co_await round_trip(s, 10, 3) >= 0;
    const int before = echo.resets;
    boost::system::error_code ignored;
    s.set_option(asio::socket_base::linger(true, 0), ignored);
    const auto t0 = clock_type::now();
    s.close(ignored);
    asio::steady_timer wait(io);
    wait.expires_after(delay + std::chrono::milliseconds(static_cast<int>(slack)));
    co_await wait.async_wait(use_tuple);
    const bool reset = echo.resets == before + 1;
    const double t =
        reset ? std::chrono::duration<double, std::milli>(echo.last_reset - t0).count() : -1;
    c.check(good && reset && t >= d / 2 - 0.5 && t < d / 2 + slack,
            "client reset reached the upstream as a reset after " + fmt_ms(t) + " (expected " +
                fmt_ms(d / 2) + ")");
  }

  // 6. An upstream that refuses: the client's connection ends at once, counted.
  {
    tcp::acceptor closed_port(io, tcp::endpoint(tcp::v4(), 0));
    delay_proxy::options bad = opt;
    bad.upstream =
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), closed_port.local_endpoint().port());
    closed_port.close();
    delay_proxy refusing(io.get_executor(), bad);
    const std::uint16_t p2 = refusing.listen("127.0.0.1", 0, ec);
    refusing.start();
    tcp::socket s(io);
    auto [e] = co_await s.async_connect(tcp::endpoint(ep.address(), p2), use_tuple);
    const auto t0 = clock_type::now();
    char byte = 0;
    auto [rec, n] = co_await s.async_read_some(asio::buffer(&byte, 1), use_tuple);
    const double t = ms_since(t0);
    c.check(
        !e && rec && n == 0 && refusing.stats().upstream_failures == 1 && t < slack,
        "refused upstream: the client's connection ended (" + rec.message() + ") in " + fmt_ms(t));
    refusing.stop();
  }

  // 7. Nothing left open; the counts add up.
  {
    asio::steady_timer wait(io);
    wait.expires_after(delay);
    co_await wait.async_wait(use_tuple);
    const auto& st = proxy.stats();
    c.check(
        st.open == 0 && st.connections == 1 + 64 + 1 && st.resets == 1 && st.half_closes[0] == 65 &&
            st.half_closes[1] == 65 && st.bytes[1] == st.bytes[0] + 65 * 4,
        "counts: " + std::to_string(st.connections) + " connections, " + std::to_string(st.open) +
            " open, " + std::to_string(st.resets) + " reset, " + std::to_string(st.half_closes[0]) +
            "/" + std::to_string(st.half_closes[1]) + " FINs forwarded, " +
            std::to_string(st.bytes[0]) + " bytes up, " + std::to_string(st.bytes[1]) +
            " down (the echo's BYEs: " + std::to_string(st.bytes[1] - st.bytes[0]) +
            " more down), " + std::to_string(st.chunks[0]) + "/" + std::to_string(st.chunks[1]) +
            " chunks read, " + std::to_string(st.writes[0]) + "/" + std::to_string(st.writes[1]) +
            " writes, lateness p99 " + fmt_ms(st.lateness_ms(0.99)));
  }
  proxy.stop();
  boost::system::error_code ignored;
  echo.acceptor.close(ignored);
  exit_code = c.ok ? 0 : 1;
  std::cout << "self-test: " << (c.ok ? "passed" : "FAILED") << std::endl;
}

int run_self_test(std::chrono::milliseconds delay) {
  asio::io_context io(1);
  checker c;
  int exit_code = 1;
  asio::co_spawn(io, self_test(io, delay, c, exit_code), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      c.check(false, std::string("exception: ") + x.what());
      exit_code = 1;
    }
  });
  io.run_for(std::chrono::seconds(60));
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string upstream;
  std::vector<std::string> addrs;
  std::string stats_path;
  unsigned first_port = 0;
  unsigned ports = 1;
  long long delay_ms = 50;
  bool test = false;
  bool handshake = true;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage_text;
      return 0;
    }
    if (flag == "--self-test") {
      test = true;
      continue;
    }
    if (flag == "--no-handshake-delay") {
      handshake = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "trawler-bench-delay: " << flag << " needs a value\n";
      return 2;
    }
    const std::string_view value = argv[++i];
    bool ok = true;
    if (flag == "--upstream") {
      upstream = value;
    } else if (flag == "--listen-addr") {
      addrs.emplace_back(value);
    } else if (flag == "--listen-port") {
      ok = parse_number(value, first_port) && first_port <= 65535;
    } else if (flag == "--ports") {
      ok = parse_number(value, ports) && ports >= 1 && ports <= 1024;
    } else if (flag == "--delay-ms") {
      ok = parse_number(value, delay_ms) && delay_ms >= 0 && delay_ms <= 600000;
    } else if (flag == "--stats") {
      stats_path = value;
    } else {
      std::cerr << "trawler-bench-delay: unknown option " << flag << "\n" << usage_text;
      return 2;
    }
    if (!ok) {
      std::cerr << "trawler-bench-delay: bad value for " << flag << ": " << value << "\n";
      return 2;
    }
  }
  if (test) return run_self_test(std::chrono::milliseconds(delay_ms));

  const auto colon = upstream.rfind(':');
  unsigned upstream_port = 0;
  if (colon == std::string::npos ||
      !parse_number(std::string_view(upstream).substr(colon + 1), upstream_port) ||
      upstream_port == 0 || upstream_port > 65535) {
    std::cerr << "trawler-bench-delay: --upstream HOST:PORT is required\n" << usage_text;
    return 2;
  }
  if (addrs.empty()) addrs.emplace_back("127.0.0.1");
  if (first_port != 0 && first_port + ports - 1 > 65535) {
    std::cerr << "trawler-bench-delay: --listen-port + --ports goes past 65535\n";
    return 2;
  }

  asio::io_context io(1);
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto found = resolver.resolve(upstream.substr(0, colon), upstream.substr(colon + 1), ec);
  if (ec || found.empty()) {
    std::cerr << "trawler-bench-delay: cannot resolve " << upstream << ": " << ec.message() << "\n";
    return 1;
  }
  delay_proxy::options opt;
  opt.upstream = found.begin()->endpoint();
  opt.one_way = std::chrono::microseconds(delay_ms * 500);
  opt.handshake = handshake ? 2 * opt.one_way : std::chrono::microseconds(0);
  delay_proxy proxy(io.get_executor(), opt);
  std::string listening;
  for (const std::string& a : addrs) {
    for (unsigned k = 0; k < ports; ++k) {
      const auto want = static_cast<std::uint16_t>(first_port == 0 ? 0 : first_port + k);
      const std::uint16_t got = proxy.listen(a, want, ec);
      if (ec) {
        std::cerr << "trawler-bench-delay: cannot listen on " << a << ":" << want << ": "
                  << ec.message() << "\n";
        return 1;
      }
      listening += a + ":" + std::to_string(got) + "\n";
    }
  }
  proxy.start();

  const auto started = clock_type::now();
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& sec, int) {
    if (sec) return;
    proxy.stop();
    if (!stats_path.empty()) {
      // The delay line's own cost, so a driver can report it apart from the crawler's.
      rusage self{};
      getrusage(RUSAGE_SELF, &self);
      auto j = nlohmann::json::parse(proxy.stats().to_json());
      j["delay_ms"] = delay_ms;
      j["handshake_delay"] = handshake;
      j["listeners"] = addrs.size() * ports;
      j["wall_s"] = std::chrono::duration<double>(clock_type::now() - started).count();
      j["cpu_user_s"] = seconds(self.ru_utime);
      j["cpu_sys_s"] = seconds(self.ru_stime);
      j["rss_kb"] = self.ru_maxrss;
      std::ofstream out(stats_path, std::ios::trunc);
      out << j.dump() << '\n';
    }
    io.stop();
  });
  std::cout << listening << "ready" << std::endl;
  io.run();
  // Let the closed connections' handlers run, so every coroutine ends before the context.
  io.restart();
  io.run_for(std::chrono::seconds(1));
  return 0;
}
