#include "api/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <set>

#include "common/log.hpp"

namespace trawler::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// A response for a request the parser refused; nullopt: just close (timeouts, resets).
std::optional<response> refusal_for(const error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec == http::error::body_limit) {
    return error_response(413, "the request body is larger than the limit");
  }
  if (ec == http::error::header_limit) {
    return error_response(431, "the request header is larger than the limit");
  }
  // Any other parser error (bad method, target, version, field, chunk...).
  if (ec.category() == make_error_code(http::error::bad_method).category()) {
    return error_response(400, "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

}  // namespace

struct server::impl : std::enable_shared_from_this<impl> {
  // One live connection, known to stop() so it can close the idle ones.
  struct connection {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;  // between a request's first byte read and its response written
  };

  impl(asio::any_io_executor e, router& r, server_options o)
      : ex(std::move(e)), routes(r), options(o), acceptor(ex) {}

  asio::any_io_executor ex;
  router& routes;
  server_options options;
  tcp::acceptor acceptor;
  std::set<connection*> connections;
  bool stopping = false;

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    asio::steady_timer backoff(ex);
    while (!stopping) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (stopping || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Out of file descriptors and the like: pause instead of spinning.
        log::warn("control API: accept failed: " + ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(use_tuple);
        continue;
      }
      if (connections.size() >= options.max_connections) {
        error_code ignored;
        socket.close(ignored);  // over the limit: refuse rather than grow without bound
        continue;
      }
      asio::co_spawn(ex, session(std::move(socket)), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error(std::string("control API session ended with an exception: ") + ex.what());
        } catch (...) {
          log::error("control API session ended with an unknown exception");
        }
      });
    }
  }

  static request to_request(const http::request<http::string_body>& m) {
    request r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    r.headers.reserve(8);
    for (const auto& f : m)
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = m.body();
    return r;
  }

  static http::response<http::string_body> to_message(response&& res, unsigned version,
                                                      bool keep_alive) {
    http::response<http::string_body> m{static_cast<http::status>(res.status), version};
    m.set(http::field::server, "trawler");
    m.set(http::field::content_type, res.content_type);
    m.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : res.headers) m.set(name, value);
    m.body() = std::move(res.body);
    m.keep_alive(keep_alive);
    m.prepare_payload();
    return m;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    connection conn{&stream, false};
    connections.insert(&conn);
    struct unregister {
      std::set<connection*>& set;
      connection* c;
      ~unregister() { set.erase(c); }
    } guard{connections, &conn};

    while (!stopping) {
      // A fresh parser per request: limits and state never leak from one request to the next.
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.header_limit);
      parser.body_limit(options.body_limit);

      stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      conn.busy = true;
      if (ec) {
        if (auto refusal = refusal_for(ec)) co_await write(stream, std::move(*refusal), 11, false);
        break;  // end_of_stream between requests, timeouts and resets end quietly
      }
      auto expect = parser.get()[http::field::expect];
      if (iequals(expect, "100-continue") && !parser.is_done()) {
        // curl sends this for bodies over 1 KiB and waits a second for the go-ahead.
        http::response<http::empty_body> go{http::status::continue_, parser.get().version()};
        stream.expires_after(options.io_timeout);
        auto [wec, wn] = co_await http::async_write(stream, go, use_tuple);
        if (wec) break;
      }
      if (!parser.is_done()) {
        stream.expires_after(options.io_timeout);
        auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (rec) {
          if (auto refusal = refusal_for(rec)) {
            co_await write(stream, std::move(*refusal), parser.get().version(), false);
          }
          break;
        }
      }
      const auto& msg = parser.get();
      response res = routes.handle(to_request(msg));
      bool keep_alive = msg.keep_alive() && !stopping;
      if (!co_await write(stream, std::move(res), msg.version(), keep_alive)) break;
      conn.busy = false;
      if (!keep_alive) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
  }

  asio::awaitable<bool> write(beast::tcp_stream& stream, response res, unsigned version,
                              bool keep_alive) {
    if (!res.file.empty())
      co_return co_await write_file(stream, std::move(res), version, keep_alive);
    auto m = to_message(std::move(res), version, keep_alive);
    stream.expires_after(options.io_timeout);
    auto [ec, n] = co_await http::async_write(stream, m, use_tuple);
    co_return !ec;
  }

  // A file body (a crawl's records, maybe gigabytes): the size it has now, read from disk a
  // buffer at a time; each buffer written gets io_timeout, not the whole file.
  asio::awaitable<bool> write_file(beast::tcp_stream& stream, response res, unsigned version,
                                   bool keep_alive) {
    http::file_body::value_type file;
    error_code ec;
    file.open(res.file.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      log::warn("cannot open " + res.file + ": " + ec.message());
      co_return co_await write(stream,
                               error_response(500, "cannot open " + res.file + ": " + ec.message()),
                               version, keep_alive);
    }
    http::response<http::file_body> m{static_cast<http::status>(res.status), version};
    m.set(http::field::server, "trawler");
    m.set(http::field::content_type, res.content_type);
    m.set(http::field::cache_control, "no-store");
    for (auto& [name, value] : res.headers) m.set(name, value);
    m.body() = std::move(file);
    m.keep_alive(keep_alive);
    m.prepare_payload();
    http::response_serializer<http::file_body> sr{m};
    while (!sr.is_done()) {
      stream.expires_after(options.io_timeout);
      auto [wec, wn] = co_await http::async_write_some(stream, sr, use_tuple);
      if (wec) co_return false;
    }
    co_return true;
  }
};

server::server(asio::any_io_executor ex, router& r, server_options options)
    : impl_(std::make_shared<impl>(std::move(ex), r, options)) {}

server::~server() {
  error_code ignored;
  impl_->acceptor.close(ignored);
}

std::string server::listen(const std::string& address, std::uint16_t port) {
  error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  std::string where = (address.find(':') != std::string::npos ? "[" + address + "]" : address) +
                      ":" + std::to_string(port);
  if (ec) return where + ": not a numeric address";
  tcp::endpoint ep(addr, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) return "";
  error_code ignored;
  a.close(ignored);
  return where + ": " + ec.message();
}

std::uint16_t server::port() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void server::start() {
  asio::co_spawn(impl_->ex, impl_->accept_loop(), [](std::exception_ptr e) {
    if (e) log::error("control API: the accept loop ended with an exception");
  });
}

void server::stop() {
  impl& m = *impl_;
  m.stopping = true;
  error_code ignored;
  m.acceptor.close(ignored);
  for (auto* c : m.connections) {
    // Idle ones wait for a request that may never come; busy ones finish their response.
    if (!c->busy) c->stream->socket().close(ignored);
  }
}

}  // namespace trawler::api
