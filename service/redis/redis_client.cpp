#include "redis/redis_client.hpp"

#include <hiredis/hiredis.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <deque>

namespace trawler::redis {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::optional<long long> reply::as_integer() const {
  if (type == kind::integer) return integer;
  if (type != kind::string && type != kind::status) return std::nullopt;
  long long n = 0;
  const auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), n);
  if (ec != std::errc() || p != str.data() + str.size()) return std::nullopt;
  return n;
}

namespace {

struct reader_free {
  void operator()(redisReader* r) const noexcept { redisReaderFree(r); }
};

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
  }
  return out;
}

// Appends one command in RESP to `out`.
void format(const command& c, std::string& out) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(c.size());
  lens.reserve(c.size());
  for (const auto& a : c) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* formatted = nullptr;
  const int n =
      redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (n > 0) out.append(formatted, static_cast<std::size_t>(n));
  redisFreeCommand(formatted);
}

// A pipeline waiting for its replies. The timer is the wake-up: cancelled when the last reply
// (or the connection's failure) arrives.
struct pending {
  explicit pending(const asio::any_io_executor& ex) : signal(ex) {}
  std::size_t expected = 0;
  std::vector<reply> replies;
  error_code ec;
  std::string message;
  bool done = false;
  asio::steady_timer signal;
};

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
  enum class link { down, connecting, up };

  impl(asio::any_io_executor e, endpoint where, client_options o)
      : ex(std::move(e)), ep(std::move(where)), opt(o), socket(ex), connect_signal(ex) {}

  asio::any_io_executor ex;
  endpoint ep;
  client_options opt;
  tcp::socket socket;
  link state = link::down;
  // Bumped at every connection's end: the read and write loops of an older connection see
  // it after their suspension and stop without touching the new one.
  std::uint64_t generation = 0;
  std::string outbox;
  bool writing = false;
  std::deque<std::shared_ptr<pending>> waiting;  // in the order their replies come
  std::unique_ptr<redisReader, reader_free> reader;
  asio::steady_timer connect_signal;  // exec()s wait on it while a connect is in progress
  error_code last_connect_ec;
  std::string last_connect_message;
  std::uint64_t round_trips = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t socket_writes = 0;

  std::string where() const { return "Redis at " + ep.address(); }

  // Ends the connection: every waiting pipeline gets `ec`.
  void fail(error_code ec, const std::string& message) {
    ++generation;
    error_code ignored;
    socket.close(ignored);
    state = link::down;
    outbox.clear();
    writing = false;
    reader.reset();
    auto failed = std::move(waiting);
    waiting.clear();
    for (auto& p : failed) {
      p->ec = ec;
      p->message = message;
      p->done = true;
      p->signal.cancel();
    }
  }

  void send(const std::shared_ptr<pending>& p, const std::vector<command>& commands) {
    for (const auto& c : commands) format(c, outbox);
    p->expected = commands.size();
    waiting.push_back(p);
    if (!writing) {
      writing = true;
      asio::co_spawn(ex, write_loop(shared_from_this(), generation), asio::detached);
    }
  }

  // Waits for the pipeline's replies; past the timeout the connection is given up.
  asio::awaitable<void> wait(const std::shared_ptr<pending>& p) {
    if (p->done) co_return;
    p->signal.expires_after(opt.timeout);
    co_await p->signal.async_wait(use_tuple);
    if (!p->done) {
      fail(asio::error::timed_out,
           where() + " did not answer within " + std::to_string(opt.timeout.count()) + " ms");
    }
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<impl> self, std::uint64_t gen) {
    while (gen == self->generation && !self->outbox.empty()) {
      std::string out;
      out.swap(self->outbox);
      auto [ec, n] = co_await asio::async_write(self->socket, asio::buffer(out), use_tuple);
      if (gen != self->generation) co_return;
      if (ec) {
        self->fail(ec, "writing to " + self->where() + ": " + ec.message());
        co_return;
      }
      self->bytes_sent += n;
      ++self->socket_writes;
    }
    if (gen == self->generation) self->writing = false;
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<impl> self, std::uint64_t gen) {
    std::array<char, 16384> buf;
    for (;;) {
      auto [ec, n] = co_await self->socket.async_read_some(asio::buffer(buf), use_tuple);
      if (gen != self->generation) co_return;
      if (ec) {
        self->fail(ec, ec == asio::error::eof
                           ? self->where() + " closed the connection"
                           : "reading from " + self->where() + ": " + ec.message());
        co_return;
      }
      self->bytes_received += n;
      if (redisReaderFeed(self->reader.get(), buf.data(), n) != REDIS_OK) {
        self->fail(make_error_code(boost::system::errc::protocol_error),
                   self->where() + " sent bytes that are not RESP");
        co_return;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(self->reader.get(), &raw) != REDIS_OK) {
          self->fail(make_error_code(boost::system::errc::protocol_error),
                     self->where() + " sent a malformed reply");
          co_return;
        }
        if (raw == nullptr) break;
        reply r = convert(static_cast<redisReply*>(raw));
        freeReplyObject(raw);
        if (self->waiting.empty()) {
          self->fail(make_error_code(boost::system::errc::protocol_error),
                     self->where() + " sent a reply nobody asked for");
          co_return;
        }
        const std::shared_ptr<pending> front = self->waiting.front();
        front->replies.push_back(std::move(r));
        if (front->replies.size() == front->expected) {
          self->waiting.pop_front();
          ++self->round_trips;
          front->done = true;
          front->signal.cancel();
        }
      }
    }
  }

  // TCP, then AUTH and SELECT. Only one connect runs; other callers wait for its outcome.
  asio::awaitable<std::pair<error_code, std::string>> ensure_connected() {
    using namespace asio::experimental::awaitable_operators;
    if (state == link::up) co_return std::pair{error_code{}, std::string{}};
    if (state == link::connecting) {
      // Armed by the connect in progress (setting it here would wake the other waiters).
      co_await connect_signal.async_wait(use_tuple);
      if (state == link::up) co_return std::pair{error_code{}, std::string{}};
      co_return std::pair{
          last_connect_ec ? last_connect_ec : error_code(asio::error::not_connected),
          last_connect_message};
    }
    state = link::connecting;
    connect_signal.expires_at(asio::steady_timer::time_point::max());
    auto self = shared_from_this();
    auto result = co_await connect_once();
    if (result.first) {
      state = link::down;
      error_code ignored;
      socket.close(ignored);
    } else {
      state = link::up;
    }
    last_connect_ec = result.first;
    last_connect_message = result.second;
    connect_signal.cancel();
    co_return result;
  }

  asio::awaitable<std::pair<error_code, std::string>> connect_once() {
    using namespace asio::experimental::awaitable_operators;
    const auto deadline = std::chrono::steady_clock::now() + opt.timeout;
    asio::steady_timer timer(ex);
    tcp::resolver resolver(ex);
    timer.expires_at(deadline);
    auto resolved = co_await (resolver.async_resolve(ep.host, std::to_string(ep.port), use_tuple) ||
                              timer.async_wait(use_tuple));
    if (resolved.index() == 1) {
      co_return std::pair{error_code(asio::error::timed_out),
                          "cannot reach " + where() + ": the name lookup timed out"};
    }
    auto [rec, endpoints] = std::get<0>(std::move(resolved));
    if (rec) co_return std::pair{rec, "cannot reach " + where() + ": " + rec.message()};

    socket = tcp::socket(ex);
    timer.expires_at(deadline);
    auto connected =
        co_await (asio::async_connect(socket, endpoints, use_tuple) || timer.async_wait(use_tuple));
    if (connected.index() == 1) {
      co_return std::pair{error_code(asio::error::timed_out),
                          "cannot reach " + where() + ": connecting timed out"};
    }
    if (auto cec = std::get<0>(connected); std::get<0>(cec)) {
      co_return std::pair{std::get<0>(cec),
                          "cannot reach " + where() + ": " + std::get<0>(cec).message()};
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);

    ++generation;
    reader.reset(redisReaderCreate());
    asio::co_spawn(ex, read_loop(shared_from_this(), generation), asio::detached);

    std::vector<command> hello;
    if (!ep.password.empty()) {
      hello.push_back(ep.user.empty() ? command{"AUTH", ep.password}
                                      : command{"AUTH", ep.user, ep.password});
    }
    if (ep.db != 0) hello.push_back({"SELECT", std::to_string(ep.db)});
    hello.push_back({"PING"});
    auto p = std::make_shared<pending>(ex);
    send(p, hello);
    co_await wait(p);
    if (p->ec) co_return std::pair{p->ec, p->message};
    for (std::size_t i = 0; i < p->replies.size(); ++i) {
      if (!p->replies[i].is_error()) continue;
      const std::string what = hello[i][0] == "SELECT" ? "SELECT " + hello[i][1] : hello[i][0];
      auto msg = where() + " refused " + what + ": " + p->replies[i].str;
      fail(make_error_code(boost::system::errc::permission_denied), msg);
      co_return std::pair{error_code(make_error_code(boost::system::errc::permission_denied)), msg};
    }
    co_return std::pair{error_code{}, std::string{}};
  }
};

client::client(asio::any_io_executor ex, endpoint ep, client_options opt)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(ep), opt)) {}

client::~client() {
  close();
}

asio::awaitable<exec_result> client::exec(std::vector<command> commands) {
  // The exec holds the state: a client destroyed meanwhile fails it instead of freeing it.
  std::shared_ptr<impl> self = impl_;
  exec_result out;
  if (commands.empty()) co_return out;
  auto [cec, cmsg] = co_await self->ensure_connected();
  if (cec) {
    out.ec = cec;
    out.message = std::move(cmsg);
    co_return out;
  }
  auto p = std::make_shared<pending>(self->ex);
  self->send(p, commands);
  co_await self->wait(p);
  out.ec = p->ec;
  out.message = std::move(p->message);
  out.replies = std::move(p->replies);
  co_return out;
}

asio::awaitable<exec_result> client::exec1(command c) {
  std::vector<command> one;
  one.push_back(std::move(c));
  co_return co_await exec(std::move(one));
}

void client::close() {
  impl_->fail(asio::error::operation_aborted, "the Redis client was closed");
}

bool client::connected() const noexcept {
  return impl_->state == impl::link::up;
}

const endpoint& client::where() const noexcept {
  return impl_->ep;
}

std::uint64_t client::round_trips() const noexcept {
  return impl_->round_trips;
}

std::uint64_t client::bytes_sent() const noexcept {
  return impl_->bytes_sent;
}

std::uint64_t client::bytes_received() const noexcept {
  return impl_->bytes_received;
}

std::uint64_t client::socket_writes() const noexcept {
  return impl_->socket_writes;
}

}  // namespace trawler::redis
