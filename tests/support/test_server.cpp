#include "support/test_server.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <ctime>
#include <type_traits>

#include "support/gzip_bomb.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

namespace trawler::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// unordered_map lookups by string_view without building a std::string per request.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "Example.com:8080" -> "example.com", "[::1]:80" -> "[::1]".
std::string host_name(std::string_view host_header) {
  std::string_view name = host_header;
  if (!name.empty() && name.front() == '[') {
    const auto close = name.find(']');
    if (close != std::string_view::npos) name = name.substr(0, close + 1);
  } else if (const auto colon = name.find(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  return lowercase(name);
}

std::string reason_phrase(int status) {
  const auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  if (reason == "<unknown-status>") return "Unknown";
  return std::string(reason);
}

bool status_has_body(int status) {
  return status >= 200 && status != 204 && status != 304;
}

// The status line and headers up to (excluding) the Connection header and the blank line.
std::string status_line(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
}

std::string finish_head(std::string head, bool keep_alive) {
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return head;
}

// A response with its bytes laid out once, so serving it costs no formatting.
struct prepared {
  std::array<std::shared_ptr<const std::string>, 2> head;  // [keep_alive]
  std::shared_ptr<const std::string> body;
  std::chrono::milliseconds delay{0};
};

std::shared_ptr<const prepared> prepare(response r) {
  const bool has_body = status_has_body(r.status);
  bool explicit_length = false;
  std::string head = status_line(r.status);
  head += "Server: trawler-test-server\r\n";
  if (!r.content_type.empty()) head += "Content-Type: " + r.content_type + "\r\n";
  for (const auto& [name, value] : r.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding"))
      explicit_length = true;
    head += name + ": " + value + "\r\n";
  }
  if (has_body && !explicit_length)
    head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  auto p = std::make_shared<prepared>();
  p->head[0] = std::make_shared<const std::string>(finish_head(head, false));
  p->head[1] = std::make_shared<const std::string>(finish_head(std::move(head), true));
  p->body = std::make_shared<const std::string>(has_body ? std::move(r.body) : std::string());
  p->delay = r.delay;
  return p;
}

struct route {
  std::vector<std::shared_ptr<const prepared>> answers;  // one for a page, n for a sequence
  std::size_t next = 0;                                  // sequence position (under mutex_)
  std::optional<misbehaviour> bad;
  std::shared_ptr<const misbehaviour_params> params;
  test_server::handler answer;  // when set: the answer is made per request
};

// What a request gets: a prepared answer or a misbehaviour.
struct selection {
  std::shared_ptr<const prepared> answer;
  std::optional<misbehaviour> bad;
  std::shared_ptr<const misbehaviour_params> params;
};

struct observations {
  string_map<string_map<int>> hits;  // target -> host -> count
  int open = 0;
  int max_open = 0;
  string_map<int> open_by_host;
  string_map<int> max_by_host;
  std::vector<request_entry> log;
  std::uint64_t connections = 0;
  // Accept times of connections that have not sent a request yet.
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> fresh_connections;
};

// When the oldest unread byte on `fd` reached this machine's kernel, on the steady clock: the
// SO_TIMESTAMPNS stamp of its packet (set on the listening socket, so inherited by accepted
// ones and taken even before the accept). The server's own lateness in reading cannot move it.
// nullopt when the kernel gave none.
std::optional<std::chrono::steady_clock::time_point> kernel_arrival(int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT) <= 0) return std::nullopt;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    // The stamp is CLOCK_REALTIME: its age now, taken off the steady clock's now. The two
    // clocks are read back to back; a read pair split by a preemption is taken again.
    auto ns = [](const timespec& t) {
      return std::chrono::nanoseconds(std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec);
    };
    std::chrono::nanoseconds age{};
    std::chrono::steady_clock::time_point now;
    for (int tries = 0; tries < 5; ++tries) {
      timespec real_before{}, real_after{};
      ::clock_gettime(CLOCK_REALTIME, &real_before);
      now = std::chrono::steady_clock::now();
      ::clock_gettime(CLOCK_REALTIME, &real_after);
      age = (ns(real_before) + ns(real_after)) / 2 - ns(stamp);
      if (ns(real_after) - ns(real_before) < std::chrono::microseconds(50)) break;
    }
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
  }
  return std::nullopt;
}

constexpr std::uint64_t endless_headers_cap = 64ull << 20;
constexpr std::size_t write_chunk = 64 * 1024;

std::string endless_header_block() {
  std::string block;
  block.reserve(write_chunk + 128);
  for (int i = 0; block.size() < write_chunk; ++i)
    block += "X-Endless-" + std::to_string(i) + ": " + std::string(100, 'e') + "\r\n";
  return block;
}

std::string random_bytes() {
  std::mt19937 gen(12345);
  std::string out(4096, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  out[0] = '\x17';  // never "HTTP"
  return out;
}

std::string_view field_or_empty(const http::request<http::string_body>& req, http::field f) {
  const auto it = req.find(f);
  return it == req.end() ? std::string_view() : std::string_view(it->value());
}

}  // namespace

struct test_server::impl {
  explicit impl(options opt) : opt_(opt) {
    if (opt_.tls) {
      const test_pki& pki = test_pki::instance();
      const credentials& leaf = pki.leaf(opt_.certificate);
      ssl_ctx_.emplace(ssl::context::tls_server);
      ssl_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::single_dh_use);
      // The chain carries the CA so clients that trust only the CA can build the path.
      std::string chain = leaf.cert_pem;
      if (opt_.certificate != cert::self_signed) chain += pki.ca_cert_pem;
      ssl_ctx_->use_certificate_chain(asio::buffer(chain));
      ssl_ctx_->use_private_key(asio::buffer(leaf.key_pem), ssl::context::pem);
    }
    const tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), opt_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (opt_.log_requests) {
      // Kernel receive stamps for request_entry::first_byte (see kernel_arrival).
      const int on = 1;
      ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    }
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), log_exception);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~impl() {
    // Stopping abandons never-answered and trickling connections in place; the
    // io_context destructor then frees their coroutine frames (and sockets).
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  static void log_exception(std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "test_server: %s\n", ex.what());
    }
  }

  // ---- routes -----------------------------------------------------------------

  void set_route(std::string host, std::string target, route r) {
    const std::lock_guard lock(mutex_);
    routes_[lowercase(host)][std::move(target)] = std::make_shared<route>(std::move(r));
  }

  selection route_for(std::string_view host, std::string_view target,
                      const request_entry* seen = nullptr) {
    // Called with mutex_ held.
    auto find_in = [&](std::string_view h) -> route* {
      const auto by_host = routes_.find(h);
      if (by_host == routes_.end()) return nullptr;
      const auto it = by_host->second.find(target);
      return it == by_host->second.end() ? nullptr : it->second.get();
    };
    route* r = host.empty() ? nullptr : find_in(host);
    if (r == nullptr) r = find_in("");
    if (r == nullptr) return {not_found_, std::nullopt, nullptr};
    if (r->bad) return {nullptr, r->bad, r->params};
    if (r->answer) return {seen ? prepare(r->answer(*seen)) : not_found_, std::nullopt, nullptr};
    const std::size_t i = std::min(r->next, r->answers.size() - 1);
    if (r->next < r->answers.size()) ++r->next;
    return {r->answers[i], std::nullopt, nullptr};
  }

  // ---- observations -------------------------------------------------------------

  selection on_request(const http::request<http::string_body>& req, const std::string& host,
                       std::uint64_t connection_id,
                       std::optional<std::chrono::steady_clock::time_point> first_byte) {
    const std::string_view target = req.target();
    const std::lock_guard lock(mutex_);
    auto target_it = obs_.hits.find(target);
    if (target_it == obs_.hits.end())
      target_it = obs_.hits.emplace(std::string(target), string_map<int>()).first;
    auto& by_host = target_it->second;
    const auto hit = by_host.find(host);
    if (hit == by_host.end())
      by_host.emplace(host, 1);
    else
      ++hit->second;

    obs_.max_open = std::max(obs_.max_open, ++obs_.open);
    auto open_it = obs_.open_by_host.find(host);
    if (open_it == obs_.open_by_host.end()) open_it = obs_.open_by_host.emplace(host, 0).first;
    const int open_here = ++open_it->second;
    auto max_it = obs_.max_by_host.find(host);
    if (max_it == obs_.max_by_host.end())
      obs_.max_by_host.emplace(host, open_here);
    else
      max_it->second = std::max(max_it->second, open_here);

    request_entry e;
    {
      e.method = std::string(req.method_string());
      e.target = std::string(target);
      e.host = host;
      e.user_agent = std::string(field_or_empty(req, http::field::user_agent));
      e.accept_encoding = std::string(field_or_empty(req, http::field::accept_encoding));
      e.at = std::chrono::steady_clock::now();
      e.started = e.at;
      e.first_byte = first_byte.value_or(e.at);
      if (auto fresh = obs_.fresh_connections.find(connection_id);
          fresh != obs_.fresh_connections.end()) {
        e.started = fresh->second;
        obs_.fresh_connections.erase(fresh);
      }
      e.connection_id = connection_id;
      e.host_header = std::string(field_or_empty(req, http::field::host));
      for (const auto& f : req) e.headers.emplace_back(f.name_string(), f.value());
    }
    auto chosen = route_for(host, target, &e);
    if (opt_.log_requests) obs_.log.push_back(std::move(e));
    return chosen;
  }

  void on_answered(const std::string& host) {
    const std::lock_guard lock(mutex_);
    --obs_.open;
    const auto it = obs_.open_by_host.find(host);
    if (it != obs_.open_by_host.end()) --it->second;
  }

  // Counts a request as open from construction until destruction, including when the
  // server stops with the request unanswered.
  class open_request {
   public:
    open_request(impl& owner, const std::string& host) : owner_(owner), host_(host) {}
    ~open_request() { owner_.on_answered(host_); }
    open_request(const open_request&) = delete;
    open_request& operator=(const open_request&) = delete;

   private:
    impl& owner_;
    const std::string& host_;
  };

  std::string gzip_bomb(std::uint64_t size) {
    const std::lock_guard lock(bomb_mutex_);
    auto it = bombs_.find(size);
    if (it == bombs_.end()) it = bombs_.emplace(size, make_gzip_zeros(size)).first;
    return it->second;
  }

  // ---- serving ------------------------------------------------------------------

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of descriptors and the like: back off instead of spinning.
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(10));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::uint64_t id = 0;
      {
        const std::lock_guard lock(mutex_);
        id = ++next_connection_id_;
        ++obs_.connections;
        if (opt_.log_requests) obs_.fresh_connections.emplace(id, std::chrono::steady_clock::now());
      }
      if (ssl_ctx_)
        asio::co_spawn(ioc_, serve_tls(std::move(socket), id), log_exception);
      else
        asio::co_spawn(ioc_, serve(beast::tcp_stream(std::move(socket)), id), log_exception);
    }
  }

  asio::awaitable<void> serve_tls(tcp::socket socket, std::uint64_t id) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *ssl_ctx_);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    // A failed handshake is what the certificate tests provoke: not worth a log line.
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
    if (ec) co_return;
    beast::get_lowest_layer(stream).expires_never();
    co_await serve(std::move(stream), id);
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream stream, std::uint64_t id) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);
      parser.body_limit(8 * 1024 * 1024);
      // On plain connections, when the request's first byte arrived (nothing of it read yet);
      // through TLS the socket's bytes are records, and the TLS layer may hold some already.
      std::optional<std::chrono::steady_clock::time_point> first_byte;
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        if (opt_.log_requests && buffer.size() == 0) {
          auto [wait_ec] = co_await stream.socket().async_wait(tcp::socket::wait_read, use_tuple);
          if (!wait_ec) first_byte = kernel_arrival(stream.socket().native_handle());
        }
      }
      auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (read_ec) co_return;  // the client closed, or sent something that is not HTTP
      const auto& req = parser.get();
      const std::string host = host_name(field_or_empty(req, http::field::host));
      const bool keep_alive = req.keep_alive();
      const bool head_only = req.method() == http::verb::head;
      const selection sel = on_request(req, host, id, first_byte);
      bool go_on = false;
      {
        const open_request open(*this, host);
        if (sel.answer)
          go_on = co_await answer(stream, *sel.answer, keep_alive, head_only);
        else
          go_on = co_await misbehave(stream, *sel.bad, *sel.params, keep_alive);
      }
      if (!go_on) co_return;
      if (!keep_alive) break;
    }
    co_await close_gracefully(stream);
  }

  template <class Stream>
  asio::awaitable<bool> answer(Stream& stream, const prepared& p, bool keep_alive, bool head_only) {
    if (p.delay.count() > 0) {
      asio::steady_timer timer(stream.get_executor(), p.delay);
      co_await timer.async_wait(use_tuple);
    }
    const std::array<asio::const_buffer, 2> bufs{
        asio::buffer(*p.head[keep_alive ? 1 : 0]),
        head_only ? asio::const_buffer() : asio::buffer(*p.body)};
    auto [ec, n] = co_await asio::async_write(stream, bufs, use_tuple);
    co_return !ec;
  }

  template <class Stream>
  asio::awaitable<bool> write_all(Stream& stream, std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(bytes), use_tuple);
    co_return !ec;
  }

  // Returns whether the connection may serve another request.
  template <class Stream>
  asio::awaitable<bool> misbehave(Stream& stream, misbehaviour m, const misbehaviour_params& p,
                                  bool keep_alive) {
    const std::string type = "Content-Type: text/html\r\n";
    switch (m) {
      case misbehaviour::close_mid_body: {
        const std::string head = finish_head(
            status_line(200) + type + "Content-Length: " + std::to_string(p.body.size()) + "\r\n",
            true);
        if (co_await write_all(stream, head + p.body.substr(0, p.body.size() / 2)))
          co_await close_gracefully(stream, false);
        co_return false;
      }
      case misbehaviour::reset_mid_body: {
        const std::string head = finish_head(
            status_line(200) + type + "Content-Length: " + std::to_string(p.body.size()) + "\r\n",
            true);
        co_await write_all(stream, head + p.body.substr(0, p.body.size() / 2));
        reset(stream);
        co_return false;
      }
      case misbehaviour::trickle: {
        const std::string all = finish_head(status_line(200) + type + "Content-Length: " +
                                                std::to_string(p.body.size()) + "\r\n",
                                            keep_alive) +
                                p.body;
        asio::steady_timer timer(stream.get_executor());
        for (std::size_t i = 0; i < all.size(); ++i) {
          if (i > 0) {
            timer.expires_after(p.interval);
            co_await timer.async_wait(use_tuple);
          }
          if (!co_await write_all(stream, std::string_view(all).substr(i, 1))) co_return false;
        }
        co_return keep_alive;
      }
      case misbehaviour::content_length_short: {
        // The garbage sits where the next response would start: a client that reuses
        // this connection reads it as a malformed status line.
        const std::string all = finish_head(status_line(200) + type + "Content-Length: " +
                                                std::to_string(p.body.size()) + "\r\n",
                                            true) +
                                p.body + "GARBAGE PAST CONTENT-LENGTH 0123456789abcdef\r\n\r\n";
        co_return co_await write_all(stream, all);
      }
      case misbehaviour::content_length_long: {
        const std::string head = finish_head(status_line(200) + type + "Content-Length: " +
                                                 std::to_string(p.body.size() + 1000) + "\r\n",
                                             true);
        if (co_await write_all(stream, head + p.body)) co_await close_gracefully(stream, false);
        co_return false;
      }
      case misbehaviour::gzip_bomb: {
        const std::string body = gzip_bomb(p.size);
        const std::string head = finish_head(
            status_line(200) + type +
                "Content-Encoding: gzip\r\nContent-Length: " + std::to_string(body.size()) + "\r\n",
            keep_alive);
        const std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
        auto [ec, n] = co_await asio::async_write(stream, bufs, use_tuple);
        co_return !ec && keep_alive;
      }
      case misbehaviour::endless_headers: {
        static const std::string block = endless_header_block();
        if (!co_await write_all(stream, status_line(200))) co_return false;
        for (std::uint64_t sent = 0; sent < endless_headers_cap; sent += block.size())
          if (!co_await write_all(stream, block)) co_return false;
        reset(stream);
        co_return false;
      }
      case misbehaviour::huge_header: {
        const std::string prefix = status_line(200) + "X-Huge: ";
        if (!co_await write_all(stream, prefix)) co_return false;
        // The line is "X-Huge: " + value + CRLF, `size` bytes in all.
        const std::uint64_t value_len = p.size > 10 ? p.size - 10 : 0;
        const std::string filler(write_chunk, 'h');
        for (std::uint64_t sent = 0; sent < value_len;) {
          const std::size_t n =
              static_cast<std::size_t>(std::min<std::uint64_t>(write_chunk, value_len - sent));
          if (!co_await write_all(stream, std::string_view(filler).substr(0, n))) co_return false;
          sent += n;
        }
        const std::string rest =
            "\r\n" + type + "Content-Length: " + std::to_string(p.body.size()) + "\r\n" +
            (keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n") + p.body;
        co_return co_await write_all(stream, rest) && keep_alive;
      }
      case misbehaviour::garbage_status:
        if (co_await write_all(stream, "HTTP/1.1 abc nonsense\r\n\r\n"))
          co_await close_gracefully(stream, false);
        co_return false;
      case misbehaviour::not_http: {
        static const std::string noise = random_bytes();
        if (co_await write_all(stream, noise)) co_await close_gracefully(stream, false);
        co_return false;
      }
      case misbehaviour::bad_chunk: {
        const std::string all =
            finish_head(status_line(200) + type + "Transfer-Encoding: chunked\r\n", true) +
            "5\r\nhello\r\nzz;not-hex\r\nworld\r\n0\r\n\r\n";
        if (co_await write_all(stream, all)) co_await close_gracefully(stream, false);
        co_return false;
      }
      case misbehaviour::never_answer: {
        // Keep reading (and ignoring) until the client gives up or the server stops.
        std::array<char, 4096> sink;
        for (;;) {
          auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
          if (ec) co_return false;
        }
      }
      case misbehaviour::close_immediately:
        co_await close_gracefully(stream, false);
        co_return false;
    }
    co_return false;
  }

  template <class Stream>
  static void reset(Stream& stream) {
    auto& socket = beast::get_lowest_layer(stream).socket();
    beast::error_code ignored;
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
  }

  // FIN after what was written, then wait briefly for the client to close, so that its
  // unread request bytes do not turn our close into a RST that could destroy the
  // response still in its receive buffer.
  template <class Stream>
  asio::awaitable<void> close_gracefully(Stream& stream, bool tls_notify = true) {
    auto& lowest = beast::get_lowest_layer(stream);
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      if (tls_notify) {
        lowest.expires_after(std::chrono::seconds(1));
        // stream_truncated and timeouts are expected here: the client may just close.
        co_await stream.async_shutdown(use_tuple);
      }
    }
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(2));
    std::array<char, 4096> sink;
    for (;;) {
      auto [ec, n] = co_await lowest.async_read_some(asio::buffer(sink), use_tuple);
      if (ec) break;
    }
    lowest.socket().close(ignored);
  }

  // Members are destroyed in reverse order: the io_context (and with it every
  // connection's coroutine frame) goes before the state those frames touch.
  options opt_;
  mutable std::mutex mutex_;
  string_map<string_map<std::shared_ptr<route>>> routes_;
  observations obs_;
  std::uint64_t next_connection_id_ = 0;
  const std::shared_ptr<const prepared> not_found_ = prepare(
      response{.status = 404, .body = "not found", .content_type = "text/plain", .headers = {}});
  std::mutex bomb_mutex_;
  std::map<std::uint64_t, std::string> bombs_;
  std::optional<ssl::context> ssl_ctx_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_{ioc_};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

test_server::test_server(options opt) : impl_(std::make_unique<impl>(opt)) {}

test_server::~test_server() = default;

std::uint16_t test_server::port() const {
  return impl_->port_;
}

std::string test_server::base_url() const {
  return (impl_->opt_.tls ? "https://localhost:" : "http://127.0.0.1:") +
         std::to_string(impl_->port_);
}

void test_server::add_page(std::string target, response r, std::string host) {
  route rt;
  rt.answers.push_back(prepare(std::move(r)));
  impl_->set_route(std::move(host), std::move(target), std::move(rt));
}

void test_server::add_html(std::string target, std::string html, std::string host) {
  response r;
  r.body = std::move(html);
  add_page(std::move(target), std::move(r), std::move(host));
}

void test_server::add_redirect(std::string target, std::string location, int status,
                               std::string host) {
  response r{.status = status, .body = "", .content_type = "", .headers = {}};
  r.headers.emplace_back("Location", std::move(location));
  add_page(std::move(target), std::move(r), std::move(host));
}

void test_server::add_handler(std::string target, handler answer, std::string host) {
  route r;
  r.answer = std::move(answer);
  impl_->set_route(std::move(host), std::move(target), std::move(r));
}

void test_server::add_sequence(std::string target, std::vector<response> seq, std::string host) {
  if (seq.empty()) throw std::invalid_argument("add_sequence: empty sequence");
  route rt;
  for (auto& r : seq) rt.answers.push_back(prepare(std::move(r)));
  impl_->set_route(std::move(host), std::move(target), std::move(rt));
}

void test_server::add_misbehaviour(std::string target, misbehaviour m, misbehaviour_params p,
                                   std::string host) {
  route rt;
  rt.bad = m;
  rt.params = std::make_shared<const misbehaviour_params>(std::move(p));
  impl_->set_route(std::move(host), std::move(target), std::move(rt));
}

int test_server::hits(std::string_view target, std::string_view host) const {
  const std::lock_guard lock(impl_->mutex_);
  const auto it = impl_->obs_.hits.find(target);
  if (it == impl_->obs_.hits.end()) return 0;
  if (!host.empty()) {
    const auto h = it->second.find(lowercase(host));
    return h == it->second.end() ? 0 : h->second;
  }
  int total = 0;
  for (const auto& [name, count] : it->second) total += count;
  return total;
}

int test_server::max_concurrent_requests(std::string_view host) const {
  const std::lock_guard lock(impl_->mutex_);
  if (host.empty()) return impl_->obs_.max_open;
  const auto it = impl_->obs_.max_by_host.find(lowercase(host));
  return it == impl_->obs_.max_by_host.end() ? 0 : it->second;
}

std::vector<request_entry> test_server::requests() const {
  const std::lock_guard lock(impl_->mutex_);
  return impl_->obs_.log;
}

std::uint64_t test_server::connections_accepted() const {
  const std::lock_guard lock(impl_->mutex_);
  return impl_->obs_.connections;
}

void test_server::reset_observations() {
  const std::lock_guard lock(impl_->mutex_);
  auto& obs = impl_->obs_;
  obs.hits.clear();
  obs.log.clear();
  obs.connections = 0;
  obs.max_open = obs.open;
  obs.max_by_host.clear();
  for (const auto& [host, open] : obs.open_by_host)
    if (open > 0) obs.max_by_host.emplace(host, open);
}

}  // namespace trawler::testing
