#include "benchsite/delay_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <iostream>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace trawler::benchsite {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

double proxy_stats::lateness_ms(double quantile) const {
  std::uint64_t total = 0;
  for (const std::uint64_t n : lateness) total += n;
  if (total == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(quantile * static_cast<double>(total - 1));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < lateness.size(); ++i) {
    seen += lateness[i];
    if (seen > rank) return static_cast<double>(i + 1) / 10.0;  // 4.1, not 4.1000000000000005
  }
  return lateness_max_ms;
}

std::string proxy_stats::to_json() const {
  std::uint64_t released = 0;
  for (const std::uint64_t n : lateness) released += n;
  const nlohmann::json j = {
      {"connections", connections},
      {"open", open},
      {"peak_open", peak_open},
      {"upstream_failures", upstream_failures},
      {"resets", resets},
      {"timeouts", timeouts},
      {"bytes_up", bytes[0]},
      {"bytes_down", bytes[1]},
      {"chunks_up", chunks[0]},
      {"chunks_down", chunks[1]},
      {"writes_up", writes[0]},
      {"writes_down", writes[1]},
      {"half_closes_up", half_closes[0]},
      {"half_closes_down", half_closes[1]},
      {"paused_up", paused[0]},
      {"paused_down", paused[1]},
      {"released", released},
      {"lateness_p50_ms", lateness_ms(0.5)},
      {"lateness_p99_ms", lateness_ms(0.99)},
      {"lateness_max_ms", lateness_max_ms},
  };
  return j.dump();
}

namespace {

enum class chunk_kind : std::uint8_t { data, eof, reset };

struct chunk {
  clock_type::time_point due;
  chunk_kind kind = chunk_kind::data;
  std::vector<char> bytes;
};

// One direction of a connection: what its reader took from the source and its writer has
// not yet released to the destination, in arrival order (so in due order: the delay is the
// same for every chunk).
struct pipe {
  explicit pipe(const asio::any_io_executor& ex) : wake(ex), space(ex) {}

  std::deque<chunk> queue;
  std::size_t queued = 0;       // data bytes in the queue
  asio::steady_timer wake;      // the writer's: data arrived, or the front chunk is due
  asio::steady_timer space;     // the reader's: the queue has room again
  bool writer_waiting = false;  // for data: the queue was empty
  bool reader_paused = false;
  bool done = false;  // the FIN went out
  std::vector<char> scratch;
  std::vector<asio::const_buffer> gather;
};

}  // namespace

struct delay_proxy::impl {
  struct connection;

  impl(asio::any_io_executor e, options o) : ex(std::move(e)), opt(o) {}

  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self, std::size_t index);
  static asio::awaitable<void> serve(std::shared_ptr<impl> self, std::shared_ptr<connection> c);
  static asio::awaitable<void> reader(std::shared_ptr<connection> c, int dir);
  static asio::awaitable<void> writer(std::shared_ptr<connection> c, int dir);
  static asio::awaitable<void> watchdog(std::shared_ptr<connection> c);
  void spawn(asio::awaitable<void> task);

  asio::any_io_executor ex;
  options opt;
  std::vector<tcp::acceptor> acceptors;
  std::unordered_set<connection*> open;
  proxy_stats stats;
  bool stopped = false;
};

struct delay_proxy::impl::connection {
  connection(std::shared_ptr<impl> p, tcp::socket s)
      : owner(std::move(p)),
        client(std::move(s)),
        upstream(owner->ex),
        pipes{pipe(owner->ex), pipe(owner->ex)},
        timer(owner->ex),
        accepted(clock_type::now()),
        last_activity(accepted) {
    owner->open.insert(this);
    owner->stats.peak_open = std::max(owner->stats.peak_open, ++owner->stats.open);
    for (pipe& p : pipes) p.scratch.resize(owner->opt.read_size);
  }
  ~connection() {
    owner->open.erase(this);
    --owner->stats.open;
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Direction 0 is client to upstream, 1 upstream to client.
  tcp::socket& source(int dir) { return dir == 0 ? client : upstream; }
  tcp::socket& destination(int dir) { return dir == 0 ? upstream : client; }

  // Ends the connection at once; with `reset`, both peers see a reset, not a FIN.
  void abort(bool reset) {
    if (closed) return;
    if (reset) ++owner->stats.resets;
    boost::system::error_code ignored;
    for (tcp::socket* s : {&client, &upstream}) {
      if (!s->is_open()) continue;
      if (reset) s->set_option(asio::socket_base::linger(true, 0), ignored);
      s->close(ignored);
    }
    wind_down();
  }
  // Both FINs went out: nothing is left to forward.
  void finish() {
    if (closed) return;
    boost::system::error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
    wind_down();
  }
  // The queues stay: a writer suspended in async_write still points into its front chunks.
  // They go with the connection, when the last of its coroutines lets go of it.
  void wind_down() {
    closed = true;
    for (pipe& p : pipes) {
      p.wake.cancel();
      p.space.cancel();
    }
    timer.cancel();
  }

  std::shared_ptr<impl> owner;
  tcp::socket client;
  tcp::socket upstream;
  std::array<pipe, 2> pipes;
  asio::steady_timer timer;  // the connect and idle deadlines
  clock_type::time_point accepted;
  clock_type::time_point last_activity;
  bool connected = false;
  bool closed = false;
};

void delay_proxy::impl::spawn(asio::awaitable<void> task) {
  // Errors are error_codes; an exception (bad_alloc) ends one task, never the loop. The
  // connection's deadline then closes what it left open.
  asio::co_spawn(ex, std::move(task), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "trawler-bench-delay: " << x.what() << "\n";
    }
  });
}

asio::awaitable<void> delay_proxy::impl::reader(std::shared_ptr<connection> c, int dir) {
  impl& m = *c->owner;
  pipe& p = c->pipes[static_cast<std::size_t>(dir)];
  const auto d = static_cast<std::size_t>(dir);
  for (;;) {
    if (c->closed) co_return;
    if (p.queued >= m.opt.max_queued) {
      // Bounded memory: the destination is slower than the source (never with the site, which
      // the crawler reads as fast as it can; a stalled client would otherwise grow us).
      ++m.stats.paused[d];
      p.reader_paused = true;
      p.space.expires_at(clock_type::time_point::max());
      co_await p.space.async_wait(use_tuple);
      p.reader_paused = false;
      continue;
    }
    auto [ec, n] = co_await c->source(dir).async_read_some(asio::buffer(p.scratch), use_tuple);
    if (c->closed) co_return;
    const auto now = clock_type::now();
    c->last_activity = now;
    // The client's bytes cannot have left before its handshake's round trip was over.
    const auto sent = dir == 0 ? std::max(now, c->accepted + m.opt.handshake) : now;
    const auto due = sent + m.opt.one_way;
    const bool was_empty = p.queue.empty();
    if (n > 0) {
      p.queue.push_back(
          {due, chunk_kind::data, std::vector<char>(p.scratch.begin(), p.scratch.begin() + n)});
      p.queued += n;
      m.stats.bytes[d] += n;
      ++m.stats.chunks[d];
    }
    if (ec) {
      // A FIN travels like the bytes before it; anything else (a reset) becomes a reset on the
      // other side, after the same delay.
      const chunk_kind end = ec == asio::error::eof ? chunk_kind::eof : chunk_kind::reset;
      p.queue.push_back({due, end, {}});
    }
    if (was_empty && p.writer_waiting) p.wake.cancel();
    if (ec) co_return;
  }
}

asio::awaitable<void> delay_proxy::impl::writer(std::shared_ptr<connection> c, int dir) {
  impl& m = *c->owner;
  pipe& p = c->pipes[static_cast<std::size_t>(dir)];
  const auto d = static_cast<std::size_t>(dir);
  for (;;) {
    if (c->closed) co_return;
    if (p.queue.empty()) {
      p.writer_waiting = true;
      p.wake.expires_at(clock_type::time_point::max());
      co_await p.wake.async_wait(use_tuple);  // the reader cancels it
      p.writer_waiting = false;
      continue;
    }
    auto now = clock_type::now();
    if (now < p.queue.front().due) {
      // New chunks go behind the front one, so they never make this wait shorter.
      p.wake.expires_at(p.queue.front().due);
      co_await p.wake.async_wait(use_tuple);
      continue;
    }
    // Everything due goes out in one gathered write, up to an end marker.
    p.gather.clear();
    std::size_t k = 0;
    std::size_t bytes = 0;
    for (; k < p.queue.size() && p.gather.size() < 64; ++k) {
      const chunk& ch = p.queue[k];
      if (ch.kind != chunk_kind::data || ch.due > now) break;
      p.gather.push_back(asio::buffer(ch.bytes));
      bytes += ch.bytes.size();
    }
    for (std::size_t i = 0; i < std::max<std::size_t>(k, 1); ++i) {
      const double late_ms =
          std::chrono::duration<double, std::milli>(now - p.queue[i].due).count();
      m.stats.lateness_max_ms = std::max(m.stats.lateness_max_ms, late_ms);
      const auto bucket = static_cast<std::size_t>(late_ms * 10);
      ++m.stats.lateness[std::min(bucket, proxy_stats::lateness_buckets)];
    }
    if (k == 0) {
      const bool eof = p.queue.front().kind == chunk_kind::eof;
      if (!eof) {
        c->abort(true);
        co_return;
      }
      boost::system::error_code ignored;
      c->destination(dir).shutdown(tcp::socket::shutdown_send, ignored);
      ++m.stats.half_closes[d];
      p.queue.pop_front();
      p.done = true;
      if (c->pipes[0].done && c->pipes[1].done) c->finish();
      co_return;
    }
    auto [ec, n] = co_await asio::async_write(c->destination(dir), p.gather, use_tuple);
    if (c->closed) co_return;
    if (ec) {
      // The destination is gone (reset, or closed while data was on its way): so is the
      // connection, for both peers.
      c->abort(true);
      co_return;
    }
    ++m.stats.writes[d];
    p.queue.erase(p.queue.begin(), p.queue.begin() + static_cast<std::ptrdiff_t>(k));
    p.queued -= bytes;
    c->last_activity = clock_type::now();
    if (p.reader_paused && p.queued < m.opt.max_queued) p.space.cancel();
  }
}

asio::awaitable<void> delay_proxy::impl::watchdog(std::shared_ptr<connection> c) {
  impl& m = *c->owner;
  for (;;) {
    if (c->closed) co_return;
    const auto deadline =
        c->connected ? c->last_activity + m.opt.idle_timeout : c->accepted + m.opt.connect_timeout;
    if (clock_type::now() >= deadline) {
      ++(c->connected ? m.stats.timeouts : m.stats.upstream_failures);
      c->abort(!c->connected);
      co_return;
    }
    c->timer.expires_at(deadline);  // activity moves the deadline on; checked when it fires
    co_await c->timer.async_wait(use_tuple);
  }
}

asio::awaitable<void> delay_proxy::impl::serve(std::shared_ptr<impl> self,
                                               std::shared_ptr<connection> c) {
  boost::system::error_code ignored;
  c->client.set_option(tcp::no_delay(true), ignored);
  self->spawn(watchdog(c));
  // The client's bytes are timed from now; they wait in the queue while we connect.
  self->spawn(reader(c, 0));
  auto [ec] = co_await c->upstream.async_connect(self->opt.upstream, use_tuple);
  if (c->closed) co_return;
  if (ec) {
    ++self->stats.upstream_failures;
    c->abort(true);  // the client sees a reset, as from a refused connection
    co_return;
  }
  c->connected = true;
  c->upstream.set_option(tcp::no_delay(true), ignored);
  self->spawn(writer(c, 0));
  self->spawn(reader(c, 1));
  self->spawn(writer(c, 1));
}

asio::awaitable<void> delay_proxy::impl::accept_loop(std::shared_ptr<impl> self,
                                                     std::size_t index) {
  asio::steady_timer backoff(self->ex);
  for (;;) {
    auto [ec, socket] = co_await self->acceptors[index].async_accept(use_tuple);
    if (self->stopped || !self->acceptors[index].is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: let connections close before trying again.
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    ++self->stats.connections;
    auto c = std::make_shared<connection>(self, std::move(socket));
    self->spawn(serve(self, std::move(c)));
  }
}

delay_proxy::delay_proxy(asio::any_io_executor ex, options opt)
    : impl_(std::make_shared<impl>(std::move(ex), opt)) {}

delay_proxy::~delay_proxy() {
  stop();
}

std::uint16_t delay_proxy::listen(const std::string& address, std::uint16_t port,
                                  boost::system::error_code& ec) {
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) return 0;
  const tcp::endpoint ep(addr, port);
  tcp::acceptor a(impl_->ex);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return 0;
  const std::uint16_t bound = a.local_endpoint(ec).port();
  if (ec) return 0;
  impl_->acceptors.push_back(std::move(a));
  return bound;
}

void delay_proxy::start() {
  for (std::size_t i = 0; i < impl_->acceptors.size(); ++i) {
    impl_->spawn(impl::accept_loop(impl_, i));
  }
}

void delay_proxy::stop() {
  impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  boost::system::error_code ignored;
  for (tcp::acceptor& a : m.acceptors) a.close(ignored);
  const std::vector<impl::connection*> open(m.open.begin(), m.open.end());
  for (impl::connection* c : open) c->abort(false);
}

const proxy_stats& delay_proxy::stats() const {
  return impl_->stats;
}

}  // namespace trawler::benchsite
