#include "benchsite/site_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace trawler::benchsite {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t max_samples = 20;
constexpr std::string_view not_found_body =
    "<!DOCTYPE html>\n<html><head><title>Not found</title></head><body><h1>Not "
    "found</h1></body></html>\n";

void append_number(std::string& out, std::size_t n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

}  // namespace

std::uint64_t server_stats::distinct_pages() const {
  return static_cast<std::uint64_t>(
      std::count_if(hits.begin(), hits.end(), [](std::uint32_t n) { return n > 0; }));
}

std::uint64_t server_stats::duplicate_fetches() const {
  std::uint64_t extra = 0;
  for (const std::uint32_t n : hits) extra += n > 1 ? n - 1 : 0;
  return extra;
}

std::string server_stats::to_json() const {
  const std::uint64_t distinct = distinct_pages();
  nlohmann::json j = {
      {"pages", hits.size()},
      {"distinct_pages", distinct},
      {"missing", hits.size() - distinct},
      {"duplicate_fetches", duplicate_fetches()},
      {"page_responses", page_responses},
      {"not_modified", not_modified},
      {"not_found", not_found},
      {"not_found_samples", not_found_samples},
      {"robots", robots},
      {"requests", requests},
      {"connections", connections},
      {"body_bytes", body_bytes},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// One response: the header block is built per request (it is small); the body pieces are
// views into the site, written without a copy.
struct response {
  std::string head;
  std::array<std::string_view, 3> body{};
  std::size_t body_size = 0;
};

// The pages never change: one ETag per page, one Last-Modified for the site.
constexpr std::string_view site_last_modified = "Tue, 01 Dec 2026 00:00:00 GMT";

void build_response(const site& s, server_stats& st, std::string_view host, std::string_view target,
                    bool keep_alive, bool head_only, bool validators,
                    std::string_view if_none_match, std::string_view if_modified_since,
                    response& out) {
  // Absolute-form targets (a client talking to us as a proxy) name the host themselves.
  if (target.starts_with("http://")) {
    const std::string_view rest = target.substr(7);
    const auto slash = rest.find('/');
    host = rest.substr(0, slash);
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  }
  const int page = s.find(s.host_index(host), target);
  std::string_view status;
  std::string_view type;
  std::string etag;
  if (page >= 0 && validators) {
    etag = "\"p" + std::to_string(page) + "\"";
    const bool match =
        !if_none_match.empty() ? if_none_match == etag : if_modified_since == site_last_modified;
    if (match) {
      ++st.not_modified;
      out.head.clear();
      out.head += "HTTP/1.1 304 Not Modified\r\nServer: trawler-bench-site\r\nETag: ";
      out.head += etag;
      out.head += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
      out.body = {};
      out.body_size = 0;
      return;
    }
  }
  if (page >= 0) {
    ++st.page_responses;
    ++st.hits[static_cast<std::size_t>(page)];
    status = "200 OK";
    type = "text/html; charset=utf-8";
    out.body = s.body(page);
    out.body_size = s.body_size(page);
  } else if (target == "/robots.txt") {
    ++st.robots;
    status = "200 OK";
    type = "text/plain";
    out.body = {site::robots_txt(), {}, {}};
    out.body_size = site::robots_txt().size();
  } else {
    ++st.not_found;
    if (st.not_found_samples.size() < max_samples) {
      st.not_found_samples.emplace_back(std::string(host) + " " + std::string(target));
    }
    status = "404 Not Found";
    type = "text/html; charset=utf-8";
    out.body = {not_found_body, {}, {}};
    out.body_size = not_found_body.size();
  }
  out.head.clear();
  out.head += "HTTP/1.1 ";
  out.head += status;
  out.head += "\r\nServer: trawler-bench-site\r\nContent-Type: ";
  out.head += type;
  if (!etag.empty()) {
    out.head += "\r\nETag: ";
    out.head += etag;
    out.head += "\r\nLast-Modified: ";
    out.head += site_last_modified;
  }
  out.head += "\r\nContent-Length: ";
  append_number(out.head, out.body_size);
  out.head += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (head_only) {
    out.body = {};
  } else {
    st.body_bytes += out.body_size;
  }
}

}  // namespace

struct site_server::impl {
  impl(asio::any_io_executor e, options o) : ex(std::move(e)), opt(o), acceptor(ex) {}

  static asio::awaitable<void> session(std::shared_ptr<impl> self, tcp::socket socket);
  static asio::awaitable<void> accept_loop(std::shared_ptr<impl> self);

  asio::any_io_executor ex;
  options opt;
  tcp::acceptor acceptor;
  const site* pages = nullptr;
  server_stats stats;
  std::unordered_set<beast::tcp_stream*> open;
  bool stopped = false;
};

asio::awaitable<void> site_server::impl::session(std::shared_ptr<impl> self, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  self->open.insert(&stream);
  struct unregister {
    impl& m;
    beast::tcp_stream* s;
    ~unregister() { m.open.erase(s); }
  } guard{*self, &stream};

  beast::flat_buffer buffer;
  response res;
  asio::steady_timer delay(stream.get_executor());
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(16 * 1024);
    stream.expires_after(self->opt.idle_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec || self->stopped) break;
    const auto& req = parser.get();
    ++self->stats.requests;
    const bool keep_alive = req.keep_alive();
    build_response(*self->pages, self->stats, req[http::field::host], req.target(), keep_alive,
                   req.method() == http::verb::head, self->opt.validators,
                   req[http::field::if_none_match], req[http::field::if_modified_since], res);
    if (self->opt.delay.count() > 0) {
      delay.expires_after(self->opt.delay);
      co_await delay.async_wait(use_tuple);  // only stop() ends it early
      if (self->stopped) break;
    }
    const std::array<asio::const_buffer, 4> buffers = {
        asio::buffer(res.head), asio::buffer(res.body[0]), asio::buffer(res.body[1]),
        asio::buffer(res.body[2])};
    stream.expires_after(self->opt.idle_timeout);
    auto [wec, wn] = co_await asio::async_write(stream, buffers, use_tuple);
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> site_server::impl::accept_loop(std::shared_ptr<impl> self) {
  asio::steady_timer backoff(self->ex);
  for (;;) {
    auto [ec, socket] = co_await self->acceptor.async_accept(use_tuple);
    if (self->stopped || !self->acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors and the like: let connections close before trying again.
      backoff.expires_after(std::chrono::milliseconds(10));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ++self->stats.connections;
    asio::co_spawn(self->ex, session(self, std::move(socket)), asio::detached);
  }
}

site_server::site_server(asio::any_io_executor ex, options opt)
    : impl_(std::make_shared<impl>(std::move(ex), opt)) {}

site_server::~site_server() {
  stop();
}

std::uint16_t site_server::listen(const std::string& address, std::uint16_t port) {
  const tcp::endpoint ep(asio::ip::make_address(address), port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
  return a.local_endpoint().port();
}

void site_server::serve(const site& s) {
  impl_->pages = &s;
  impl_->stats.hits.assign(static_cast<std::size_t>(s.pages()), 0);
  asio::co_spawn(impl_->ex, impl::accept_loop(impl_), asio::detached);
}

void site_server::stop() {
  impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  boost::system::error_code ignored;
  m.acceptor.close(ignored);
  // Closing cancels each session's pending operation; the session then unregisters itself.
  const std::vector<beast::tcp_stream*> open(m.open.begin(), m.open.end());
  for (beast::tcp_stream* s : open) s->socket().close(ignored);
}

const server_stats& site_server::stats() const {
  return impl_->stats;
}

}  // namespace trawler::benchsite
