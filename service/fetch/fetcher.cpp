#include "fetch/fetcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <unordered_map>
#include <unordered_set>

#include "fetch/decoder.hpp"

namespace trawler::fetch {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::optional<std::string> fetch_result::header(std::string_view name) const {
  std::optional<std::string> joined;
  for (const auto& [n, v] : headers) {
    if (n != name) continue;
    if (joined) {
      *joined += ", ";
      *joined += v;
    } else {
      joined = v;
    }
  }
  return joined;
}

namespace {

struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};
  std::string peer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

enum class exchange_end { reusable, close, resend };

// A stream that copies what passes through it, for archives (output.warc): the request as sent
// and the response as received, before the parser removes chunking or the decoder the content
// coding. With null targets it only forwards. Completions run on the handler's own executor,
// as the stream below would run them.
template <class Next>
class wire_tap {
 public:
  using executor_type = typename Next::executor_type;

  wire_tap(Next& next, std::string* sent, std::string* received)
      : next_(next), sent_(sent), received_(received) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return relay<true>(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return relay<false>(buffers, std::forward<Token>(token));
  }

 private:
  template <bool Read, class Buffers, class Token>
  auto relay(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          auto ex = asio::get_associated_executor(handler, next_.get_executor());
          auto done = [this, b, h = std::move(handler)](error_code ec, std::size_t n) mutable {
            if (std::string* copy = Read ? received_ : sent_) {
              std::size_t left = n;
              for (auto it = asio::buffer_sequence_begin(b);
                   left > 0 && it != asio::buffer_sequence_end(b); ++it) {
                const asio::const_buffer piece(*it);
                const std::size_t take = std::min(left, piece.size());
                copy->append(static_cast<const char*>(piece.data()), take);
                left -= take;
              }
            }
            std::move(h)(ec, n);
          };
          if constexpr (Read) {
            next_.async_read_some(b, asio::bind_executor(ex, std::move(done)));
          } else {
            next_.async_write_some(b, asio::bind_executor(ex, std::move(done)));
          }
        },
        token, buffers);
  }
  Next& next_;
  std::string* sent_;
  std::string* received_;
};

std::string strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return std::string(host.substr(1, host.size() - 2));
  }
  return std::string(host);
}

net::ip_address to_policy_address(const asio::ip::address& a) {
  net::ip_address out;
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    out.v6 = true;
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

std::string_view class_name(net::address_class c) {
  switch (c) {
    case net::address_class::public_unicast:
      return "public";
    case net::address_class::loopback:
      return "loopback";
    case net::address_class::private_net:
      return "private";
    case net::address_class::link_local:
      return "link-local";
    case net::address_class::multicast:
      return "multicast";
    case net::address_class::unspecified:
      return "unspecified";
    case net::address_class::reserved:
      return "reserved";
  }
  return "reserved";
}

bool is_closed_before_response(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// Errors once a connection is up: the kinds the record speaks of.
error_kind kind_of_exchange_error(const error_code& ec) {
  if (ec == beast::error::timeout) return error_kind::timeout;
  if (ec == http::error::header_limit) return error_kind::too_large;
  if (ec == asio::error::operation_aborted) return error_kind::cancelled;
  return error_kind::protocol;
}

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  if (ec == http::error::header_limit) return "response headers over the header limit";
  return ec.message();
}

}  // namespace

struct fetcher::impl {
  struct dns_entry {
    std::vector<asio::ip::address> addresses;
    steady::time_point expires;
  };

  asio::any_io_executor ex;
  fetch_settings s;
  ssl::context tls_ctx{ssl::context::tls_client};
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  std::unordered_set<connection*> active;
  std::unordered_map<std::string, dns_entry> dns;
  std::string accept_encoding;
  bool cancelled = false;
  // Loading the system CA store costs tens of milliseconds: an http-only crawl never does.
  bool ca_loaded = false;
  std::size_t idle_total = 0;
  static constexpr std::size_t max_idle_total = 512;

  impl(asio::any_io_executor e, fetch_settings settings)
      : ex(std::move(e)), s(std::move(settings)) {
    tls_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    for (const auto& c : s.accept_encoding) {
      if (!accept_encoding.empty()) accept_encoding += ", ";
      accept_encoding += c;
    }
    if (accept_encoding.empty()) accept_encoding = "identity";
  }

  std::unique_ptr<connection> take_idle(const std::string& key, steady::time_point now) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& pool = it->second;
    while (!pool.empty()) {
      auto c = std::move(pool.back());
      pool.pop_back();
      error_code ec;
      // Bytes waiting on an idle connection belong to no request of ours (a server that sent
      // past Content-Length late): such a connection is not reused.
      auto waiting = c->lowest().socket().available(ec);
      if (!ec && waiting == 0 && now - c->idle_since < std::chrono::seconds(30)) {
        --idle_total;
        c->buffer.reserve(64 * 1024);
        return c;
      }
      --idle_total;
    }
    return nullptr;
  }

  void give_back(const std::string& key, std::unique_ptr<connection> c, steady::time_point now) {
    if (cancelled) return;
    auto& pool = idle[key];
    // Idle connections are bounded per host and in all; an idle one keeps no read buffer.
    if (pool.size() >= s.max_idle_per_host || idle_total >= max_idle_total) return;
    c->buffer.shrink_to_fit();
    c->idle_since = now;
    pool.push_back(std::move(c));
    ++idle_total;
  }

  asio::awaitable<std::vector<asio::ip::address>> resolve(const url::parts& t,
                                                          steady::time_point deadline,
                                                          fetch_result& r) {
    std::vector<asio::ip::address> out;
    if (auto pinned = s.pins.find(t.host, t.port)) {
      error_code ec;
      auto a = asio::ip::make_address(net::to_string(*pinned), ec);
      if (!ec) out.push_back(a);
      co_return out;
    }
    std::string host = strip_brackets(t.host);
    error_code ec;
    auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
      out.push_back(literal);
      co_return out;
    }
    auto now = steady::now();
    if (auto it = dns.find(host); it != dns.end() && it->second.expires > now) {
      co_return it->second.addresses;
    }
    // The timer's handler may already be queued with success when the lookup completes, and
    // then runs after this frame is gone: it shares ownership of what it touches instead of
    // pointing into the frame.
    struct lookup {
      explicit lookup(const asio::any_io_executor& e) : resolver(e) {}
      tcp::resolver resolver;
      bool timed_out = false;
    };
    auto pending = std::make_shared<lookup>(ex);
    asio::steady_timer timer(ex);
    timer.expires_at(std::min(deadline, now + s.connect_timeout));
    timer.async_wait([pending](const error_code& wait_ec) {
      if (!wait_ec) {
        pending->timed_out = true;
        pending->resolver.cancel();
      }
    });
    auto [rec, results] = co_await pending->resolver.async_resolve(host, "", use_tuple);
    timer.cancel();
    const bool timed_out = pending->timed_out;
    if (rec) {
      r.error = timed_out ? error_kind::timeout : error_kind::dns;
      if (cancelled) r.error = error_kind::cancelled;
      r.message = timed_out ? "DNS lookup of " + host + " timed out"
                            : "DNS lookup of " + host + " failed: " + rec.message();
      co_return out;
    }
    for (const auto& e : results) {
      auto a = e.endpoint().address();
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    if (out.empty()) {
      r.error = error_kind::dns;
      r.message = "DNS lookup of " + host + " returned no address";
      co_return out;
    }
    dns[host] = dns_entry{out, now + s.dns_ttl};
    co_return out;
  }

  asio::awaitable<std::unique_ptr<connection>> open(const url::parts& t,
                                                    steady::time_point deadline, fetch_result& r) {
    auto addresses = co_await resolve(t, deadline, r);
    if (r.error) co_return nullptr;
    // The policy is applied to what will be connected, after DNS: a name cannot smuggle a
    // private address past it.
    std::vector<tcp::endpoint> endpoints;
    std::string refused;
    for (const auto& a : addresses) {
      auto cls = net::classify(to_policy_address(a));
      if (!s.allow_private && cls != net::address_class::public_unicast) {
        if (refused.empty()) {
          refused = a.to_string() + " is a " + std::string(class_name(cls)) + " address";
        }
        continue;
      }
      endpoints.emplace_back(a, t.port);
    }
    if (endpoints.empty()) {
      r.error = error_kind::blocked_address;
      r.message = "refused to connect: " + refused + " (network.allow_private is off)";
      co_return nullptr;
    }

    auto c = std::make_unique<connection>();
    // Room for a whole typical page per read instead of many small reads.
    c->buffer.reserve(64 * 1024);
    c->plain = std::make_unique<beast::tcp_stream>(ex);
    c->plain->expires_at(std::min(deadline, steady::now() + s.connect_timeout));
    active.insert(c.get());
    auto [cec, ep] = co_await c->plain->async_connect(endpoints, use_tuple);
    active.erase(c.get());
    if (cec) {
      r.error = cec == beast::error::timeout ? error_kind::timeout : error_kind::connect;
      if (cancelled) r.error = error_kind::cancelled;
      r.message = "connect to " + endpoints.front().address().to_string() + " port " +
                  std::to_string(t.port) + ": " + describe(cec);
      co_return nullptr;
    }
    c->peer = ep.address().to_string();
    if (t.scheme != "https") co_return c;

    if (!ca_loaded) {
      ca_loaded = true;
      error_code ca_ec;
      tls_ctx.set_default_verify_paths(ca_ec);
    }
    c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*c->plain), tls_ctx);
    c->plain.reset();
    std::string host = strip_brackets(t.host);
    error_code literal_ec;
    asio::ip::make_address(host, literal_ec);
    if (literal_ec) {
      // SNI is for names only (RFC 6066 3).
      SSL_set_tlsext_host_name(c->tls->native_handle(), host.c_str());
    }
    if (s.tls_verify) {
      c->tls->set_verify_mode(ssl::verify_peer);
      c->tls->set_verify_callback(ssl::host_name_verification(host));
    } else {
      c->tls->set_verify_mode(ssl::verify_none);
    }
    c->lowest().expires_at(std::min(deadline, steady::now() + s.connect_timeout));
    active.insert(c.get());
    auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, use_tuple);
    active.erase(c.get());
    if (hec) {
      r.error = hec == beast::error::timeout ? error_kind::timeout : error_kind::tls;
      if (cancelled) r.error = error_kind::cancelled;
      std::string why = describe(hec);
      long verify = SSL_get_verify_result(c->tls->native_handle());
      if (verify != X509_V_OK)
        why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      r.message = "TLS handshake with " + host + ": " + why;
      co_return nullptr;
    }
    co_return c;
  }

  // The connection's stream, copying the exchange into `r` when the settings ask for it.
  template <class Next>
  wire_tap<Next> tap(Next& next, fetch_result& r) {
    if (!s.capture_wire) return wire_tap<Next>(next, nullptr, nullptr);
    return wire_tap<Next>(next, &r.wire_request, &r.wire_response);
  }

  template <class Stream>
  asio::awaitable<exchange_end> exchange(
      Stream stream, connection& c, const url::parts& t, bool reused, steady::time_point deadline,
      std::size_t max_body, fetch_result& r, const std::function<void()>& on_send,
      const std::vector<std::pair<std::string, std::string>>& request_headers) {
    http::request<http::empty_body> req{http::verb::get, t.target, 11};
    bool default_port =
        (t.scheme == "http" && t.port == 80) || (t.scheme == "https" && t.port == 443);
    req.set(http::field::host, default_port ? t.host : t.host + ":" + std::to_string(t.port));
    req.set(http::field::user_agent, s.user_agent);
    req.set(http::field::accept, "text/html,application/xhtml+xml,*/*;q=0.8");
    req.set(http::field::accept_encoding, accept_encoding);
    for (const auto& [name, value] : s.extra_headers) req.set(name, value);
    for (const auto& [name, value] : request_headers) req.set(name, value);
    req.keep_alive(true);

    c.lowest().expires_at(deadline);
    if (on_send) on_send();
    auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
    (void)written;
    if (wec) {
      // A kept-alive connection the server closed meanwhile: send again on a fresh one.
      if (reused && !cancelled && wec != beast::error::timeout) co_return exchange_end::resend;
      r.error = cancelled ? error_kind::cancelled : kind_of_exchange_error(wec);
      if (r.error == error_kind::protocol) r.error = error_kind::connect;
      r.message = "sending the request: " + describe(wec);
      co_return exchange_end::close;
    }

    http::response_parser<http::buffer_body> parser;
    parser.header_limit(s.header_limit);
    parser.body_limit(boost::none);
    auto [hec, header_bytes] =
        co_await http::async_read_header(stream, c.buffer, parser, use_tuple);
    if (hec) {
      if (reused && !cancelled && header_bytes == 0 && c.buffer.size() == 0 &&
          is_closed_before_response(hec)) {
        co_return exchange_end::resend;
      }
      r.error = cancelled ? error_kind::cancelled : kind_of_exchange_error(hec);
      r.message = "reading the response header: " + describe(hec);
      co_return exchange_end::close;
    }

    auto& res = parser.get();
    r.has_response = true;
    r.status = static_cast<int>(res.result_int());
    r.headers.reserve(16);
    for (const auto& field : res) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      r.headers.emplace_back(std::move(name), std::string(field.value()));
    }

    std::vector<content_coding> codings;
    if (auto it = res.find(http::field::content_encoding); it != res.end()) {
      if (auto parsed = parse_content_encoding(it->value())) codings = std::move(*parsed);
    }
    body_decoder decoder(std::move(codings), max_body);
    if (auto length = parser.content_length()) {
      r.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, max_body)));
    }

    std::array<char, 16384> chunk;
    while (!parser.is_done()) {
      res.body().data = chunk.data();
      res.body().size = chunk.size();
      res.body().more = true;
      auto [bec, n] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
      (void)n;
      if (bec == http::error::need_buffer) bec = {};
      std::size_t got = chunk.size() - res.body().size;
      if (got > 0) {
        auto st = decoder.feed(std::string_view(chunk.data(), got), r.body);
        if (st == body_decoder::status::limit_reached) {
          r.truncated = true;
          co_return exchange_end::close;
        }
        if (st == body_decoder::status::error) {
          r.error = error_kind::protocol;
          r.message = "content decoding failed: " + decoder.error_message();
          co_return exchange_end::close;
        }
      }
      if (bec) {
        r.error = cancelled ? error_kind::cancelled : kind_of_exchange_error(bec);
        r.message = "reading the response body: " + describe(bec);
        co_return exchange_end::close;
      }
    }
    auto st = decoder.finish(r.body);
    if (st == body_decoder::status::limit_reached) {
      r.truncated = true;
      co_return exchange_end::close;
    }
    if (st == body_decoder::status::error) {
      r.error = error_kind::protocol;
      r.message = "content decoding failed: " + decoder.error_message();
      co_return exchange_end::close;
    }
    // Bytes past the end of the message are no part of it; the connection cannot be trusted.
    if (!res.keep_alive() || c.buffer.size() != 0) co_return exchange_end::close;
    co_return exchange_end::reusable;
  }
};

fetcher::fetcher(asio::any_io_executor ex, fetch_settings settings)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(settings))) {}

fetcher::~fetcher() = default;

asio::awaitable<fetch_result> fetcher::async_fetch(
    url::parts t, std::optional<std::size_t> max_body, std::function<void()> on_send,
    std::vector<std::pair<std::string, std::string>> headers) {
  impl& m = *impl_;
  std::size_t cap = max_body.value_or(m.s.max_body_bytes);
  fetch_result r;
  auto start = steady::now();
  if (m.cancelled) {
    r.error = error_kind::cancelled;
    r.message = "the crawl is stopping";
    co_return r;
  }
  auto deadline = start + m.s.request_timeout;
  std::string key = url::host_key(t);
  auto c = m.take_idle(key, start);
  bool reused = c != nullptr;
  for (int round = 0; round < 2; ++round) {
    if (!c) {
      c = co_await m.open(t, deadline, r);
      if (!c) break;
      reused = false;
    }
    m.active.insert(c.get());
    exchange_end end = c->tls ? co_await m.exchange(m.tap(*c->tls, r), *c, t, reused, deadline, cap,
                                                    r, on_send, headers)
                              : co_await m.exchange(m.tap(*c->plain, r), *c, t, reused, deadline,
                                                    cap, r, on_send, headers);
    m.active.erase(c.get());
    r.peer = c->peer;
    if (end == exchange_end::resend) {
      c.reset();
      r = fetch_result{};
      continue;
    }
    if (end == exchange_end::reusable) m.give_back(key, std::move(c), steady::now());
    break;
  }
  r.elapsed = steady::now() - start;
  co_return r;
}

void fetcher::cancel_all() {
  impl_->cancelled = true;
  for (connection* c : impl_->active) {
    error_code ec;
    c->lowest().socket().cancel(ec);
    c->lowest().socket().close(ec);
  }
  impl_->idle.clear();
  impl_->idle_total = 0;
}

void fetcher::close_idle() {
  impl_->idle.clear();
  impl_->idle_total = 0;
}

std::size_t fetcher::open_connections() const {
  std::size_t n = impl_->active.size();
  for (const auto& [key, pool] : impl_->idle) n += pool.size();
  return n;
}

}  // namespace trawler::fetch
