#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error_kind.hpp"
#include "net/address_policy.hpp"
#include "net/resolve_pins.hpp"
#include "url/url.hpp"

// The HTTP/1.1 client: keep-alive pool per host, TLS with SNI and verification, a deadline on
// every step, no automatic redirects, streaming content decoding with a byte cap. Every
// outcome is a value: nothing a server does throws out of async_fetch.
namespace trawler::fetch {

struct fetch_settings {
  std::string user_agent;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::vector<std::string> accept_encoding{"gzip", "deflate", "br"};
  bool tls_verify = true;
  bool allow_private = false;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_body_bytes = 10 * 1024 * 1024;
  std::uint32_t header_limit = 64 * 1024;
  std::chrono::seconds dns_ttl{300};
  std::size_t max_idle_per_host = 8;
  net::resolve_pins pins;
  // Keep the exchange's bytes as they crossed the wire (fetch_result::wire_*), for archives.
  bool capture_wire = false;
};

struct fetch_result {
  std::optional<error_kind> error;  // nullopt: a whole response arrived
  std::string message;
  bool has_response = false;  // a status line and headers arrived (status is meaningful)
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;                                          // decoded, at most the cap
  bool truncated = false;
  std::chrono::steady_clock::duration elapsed{};
  std::string peer;  // the address connected to
  // With fetch_settings::capture_wire: the request as sent and the response as received (status
  // line, header block and body before any transfer or content decoding), up to where reading
  // stopped (a body cut at the cap ends early; bytes read past the message are included).
  std::string wire_request;
  std::string wire_response;

  // All values of a header (name lowercase), joined with ", "; nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
};

class fetcher {
 public:
  fetcher(boost::asio::any_io_executor ex, fetch_settings settings);
  ~fetcher();
  fetcher(const fetcher&) = delete;
  fetcher& operator=(const fetcher&) = delete;

  // GET the target. The executor of the awaiting coroutine must be the fetcher's executor.
  // max_body overrides the settings' body cap for this request (sitemaps are larger).
  // on_send, when set, is called each time the request is about to be written (after the
  // connect): the moment the server sees it start, which politeness spacing counts from.
  // `headers` go out with this request only (a revisit's If-None-Match / If-Modified-Since).
  boost::asio::awaitable<fetch_result> async_fetch(
      url::parts target, std::optional<std::size_t> max_body = {},
      std::function<void()> on_send = {},
      std::vector<std::pair<std::string, std::string>> headers = {});

  // Ends every open request now (their results get kind `cancelled`) and refuses new ones.
  void cancel_all();
  // Closes idle kept-alive connections.
  void close_idle();
  std::size_t open_connections() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace trawler::fetch
