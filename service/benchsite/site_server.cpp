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
#include <cmath>
#include <ostream>
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
constexpr std::string_view gone_body =
    "<!DOCTYPE html>\n<html><head><title>Gone</title></head><body><h1>Gone</h1></body>"
    "</html>\n";

std::int64_t unix_us_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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
  if (model_not_found + model_gone > 0) {
    j["model_not_found"] = model_not_found;
    j["model_gone"] = model_gone;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// One response: the header block is built per request (it is small); the body pieces are
// views into the site, written without a copy, but for the change model's piece of a version
// (`dynamic`).
struct response {
  std::string head;
  std::string dynamic;
  std::array<std::string_view, 4> body{};
  std::size_t body_size = 0;
};

// The change model's side of the server: its clock and what it answered.
struct model_clock {
  std::int64_t start_us = 0;
  std::int64_t day_ms = sim_day;
  std::uint64_t nonce = 0;
  std::vector<served> log;

  sim_ms at(std::int64_t unix_us) const {
    const double sim = static_cast<double>(unix_us - start_us) / 1000.0 *
                       (static_cast<double>(sim_day) / static_cast<double>(day_ms));
    return static_cast<sim_ms>(std::floor(sim));
  }
  double wall_ms(sim_ms t) const {
    return static_cast<double>(start_us) / 1000.0 +
           static_cast<double>(t) * static_cast<double>(day_ms) / static_cast<double>(sim_day);
  }
};

std::size_t size_of(const std::array<std::string_view, 4>& pieces) {
  std::size_t n = 0;
  for (const auto p : pieces) n += p.size();
  return n;
}

// A page of a site with the change model: its answer at the simulated time of now.
void build_model_response(const site& s, server_stats& st, model_clock& clock, int page,
                          bool keep_alive, bool head_only, std::string_view if_none_match,
                          std::string_view if_modified_since, response& out) {
  const std::int64_t now = unix_us_now();
  const answer a = s.respond(page, clock.at(now), if_none_match, if_modified_since);
  served rec;
  rec.at_us = now;
  rec.page = page;
  rec.status = static_cast<std::uint16_t>(a.status);
  rec.version = a.version;
  std::string_view status;
  std::string_view type = "text/html; charset=utf-8";
  out.body = {};
  out.body_size = 0;
  switch (a.status) {
    case 200:
      ++st.page_responses;
      ++st.hits[static_cast<std::size_t>(page)];
      status = "200 OK";
      out.body = s.body_at(page, a.version, ++clock.nonce, out.dynamic);
      out.body_size = size_of(out.body);
      rec.bytes = head_only ? 0 : out.body_size;
      break;
    case 304:
      ++st.not_modified;
      status = "304 Not Modified";
      rec.would_bytes = size_of(s.body_at(page, a.version, clock.nonce, out.dynamic));
      break;
    case 410:
      ++st.model_gone;
      status = "410 Gone";
      out.body = {gone_body, {}, {}, {}};
      out.body_size = gone_body.size();
      break;
    default:
      ++st.model_not_found;
      status = "404 Not Found";
      out.body = {not_found_body, {}, {}, {}};
      out.body_size = not_found_body.size();
      break;
  }
  clock.log.push_back(rec);
  out.head.clear();
  out.head += "HTTP/1.1 ";
  out.head += status;
  out.head += "\r\nServer: trawler-bench-site";
  if (a.status != 304) {
    out.head += "\r\nContent-Type: ";
    out.head += type;
  }
  if (!a.etag.empty()) {
    out.head += "\r\nETag: ";
    out.head += a.etag;
  }
  if (!a.last_modified.empty()) {
    out.head += "\r\nLast-Modified: ";
    out.head += a.last_modified;
  }
  if (a.status != 304) {
    out.head += "\r\nContent-Length: ";
    append_number(out.head, out.body_size);
  }
  out.head += keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n";
  if (head_only) {
    out.body = {};
  } else {
    st.body_bytes += out.body_size;
  }
}

// The pages never change: one ETag per page, one Last-Modified for the site.
constexpr std::string_view site_last_modified = "Tue, 01 Dec 2026 00:00:00 GMT";

void build_response(const site& s, server_stats& st, model_clock& clock, std::string_view host,
                    std::string_view target, bool keep_alive, bool head_only, bool validators,
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
  if (page >= 0 && s.changing()) {
    build_model_response(s, st, clock, page, keep_alive, head_only, if_none_match,
                         if_modified_since, out);
    return;
  }
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
    const auto b = s.body(page);
    out.body = {b[0], {}, b[1], b[2]};
    out.body_size = s.body_size(page);
  } else if (target == "/robots.txt") {
    ++st.robots;
    status = "200 OK";
    type = "text/plain";
    out.body = {site::robots_txt(), {}, {}, {}};
    out.body_size = site::robots_txt().size();
  } else {
    ++st.not_found;
    if (st.not_found_samples.size() < max_samples) {
      st.not_found_samples.emplace_back(std::string(host) + " " + std::string(target));
    }
    status = "404 Not Found";
    type = "text/html; charset=utf-8";
    out.body = {not_found_body, {}, {}, {}};
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
  model_clock clock;
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
    build_response(*self->pages, self->stats, self->clock, req[http::field::host], req.target(),
                   keep_alive, req.method() == http::verb::head, self->opt.validators,
                   req[http::field::if_none_match], req[http::field::if_modified_since], res);
    if (self->opt.delay.count() > 0) {
      delay.expires_after(self->opt.delay);
      co_await delay.async_wait(use_tuple);  // only stop() ends it early
      if (self->stopped) break;
    }
    const std::array<asio::const_buffer, 5> buffers = {
        asio::buffer(res.head), asio::buffer(res.body[0]), asio::buffer(res.body[1]),
        asio::buffer(res.body[2]), asio::buffer(res.body[3])};
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
  impl_->stats.hits.assign(static_cast<std::size_t>(s.total_pages()), 0);
  impl_->clock.start_us = unix_us_now();
  impl_->clock.day_ms = std::max<std::int64_t>(impl_->opt.day_ms, 1);
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

std::int64_t site_server::started_unix_us() const {
  return impl_->clock.start_us;
}

sim_ms site_server::simulated(std::int64_t unix_us) const {
  return impl_->clock.at(unix_us);
}

const std::vector<served>& site_server::served_log() const {
  return impl_->clock.log;
}

void site_server::write_truth(std::ostream& out) const {
  const impl& m = *impl_;
  if (m.pages == nullptr) return;
  const site& s = *m.pages;
  const model_clock& clock = m.clock;
  const std::int64_t stop_us = unix_us_now();
  const sim_ms now = clock.at(stop_us);
  // Wall times in ms with microseconds (3 decimals).
  auto wall = [&](sim_ms t) { return std::round(clock.wall_ms(t) * 1000.0) / 1000.0; };
  const change_options& c = s.options().changes;
  nlohmann::json head = {
      {"type", "site"},
      {"start_unix_ms", static_cast<double>(clock.start_us) / 1000.0},
      {"stop_unix_ms", static_cast<double>(stop_us) / 1000.0},
      {"day_ms", clock.day_ms},
      {"simulated_ms_at_stop", now},
      {"pages", s.pages()},
      {"total_pages", s.total_pages()},
      {"hosts", s.hosts()},
      {"seed", s.options().seed},
      {"changes", c.enabled},
      {"hourly", c.hourly},
      {"daily", c.daily},
      {"weekly", c.weekly},
      {"churn", c.churn},
      {"deleted", c.deleted},
      {"flapping", c.flapping},
      {"new_pages", c.new_pages},
      {"horizon_days", c.horizon_days},
  };
  out << head.dump() << '\n';
  for (int p = 0; p < s.total_pages(); ++p) {
    nlohmann::json j = {{"type", "page"},
                        {"page", p},
                        {"url", s.url(p)},
                        {"host", s.host_of(p)},
                        {"class", class_name(s.class_of(p))},
                        {"validators", validator_mode_name(s.validators_of(s.host_of(p)))},
                        {"born_ms", wall(s.born(p))}};
    const sim_ms deleted = s.deleted_at(p);
    if (deleted != sim_never && deleted <= now) {
      j["deleted_ms"] = wall(deleted);
      j["deleted_status"] = s.deleted_status(p);
    } else {
      j["deleted_ms"] = nullptr;
    }
    auto changes = nlohmann::json::array();
    for (const sim_ms t : s.changes(p)) {
      if (t > now) break;
      changes.push_back(wall(t));
    }
    j["changes_ms"] = std::move(changes);
    auto flaps = nlohmann::json::array();
    for (const auto& [from, to] : s.flaps(p)) {
      if (from > now) break;
      flaps.push_back({wall(from), wall(to)});
    }
    j["flaps_ms"] = std::move(flaps);
    out << j.dump() << '\n';
  }
  for (const served& r : clock.log) {
    const nlohmann::json j = {{"type", "serve"},
                              {"at_ms", static_cast<double>(r.at_us) / 1000.0},
                              {"page", r.page},
                              {"status", r.status},
                              {"version", r.version},
                              {"bytes", r.bytes},
                              {"would_bytes", r.would_bytes}};
    out << j.dump() << '\n';
  }
}

}  // namespace trawler::benchsite
