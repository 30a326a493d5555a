#pragma once

#include "support/test_pki.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace trawler::testing {

// A canned answer.
struct response {
  int status = 200;
  std::string body;
  std::string content_type = "text/html";  // empty: no Content-Type header
  // Extra headers (Location, Retry-After, Content-Encoding...). A Content-Length or
  // Transfer-Encoding given here replaces the automatic Content-Length.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds delay{0};  // wait before answering (per request)
};

// Ways to break HTTP on purpose. Each applies after the request has been read.
enum class misbehaviour {
  close_mid_body,        // Content-Length: N, sends half the body, closes (FIN)
  reset_mid_body,        // half the body then RST (SO_LINGER 0 close)
  trickle,               // a normal 200 response written one byte per `interval`
  content_length_short,  // Content-Length covers the body, then garbage follows on the same
                         // connection, which stays open for more requests
  content_length_long,   // announces more bytes than it sends, then closes
  gzip_bomb,             // Content-Encoding: gzip; inflates to `size` zero bytes
  endless_headers,       // status line, then header lines until 64 MiB or the client closes
  huge_header,           // one header line of `size` bytes, then a normal body
  garbage_status,        // "HTTP/1.1 abc nonsense\r\n\r\n", then closes
  not_http,              // 4 KiB of random bytes, then closes
  bad_chunk,             // chunked: one good chunk, then an invalid chunk-size line, closes
  never_answer,          // reads the request, never answers, keeps the connection open
  close_immediately,     // reads the request, closes without sending a byte
};

struct misbehaviour_params {
  std::chrono::milliseconds interval{1000};  // trickle: time between bytes
  std::uint64_t size = 1ull << 30;           // gzip_bomb: inflated size; huge_header: line size
  std::string body = "<html><head><title>t</title></head><body>misbehaving</body></html>";
};

// One request as the server saw it.
struct request_entry {
  std::string method;
  std::string target;
  std::string host;  // Host header name, lowercased, without port
  std::string user_agent;
  std::string accept_encoding;
  std::chrono::steady_clock::time_point at;  // when the request was fully read
  // When the client began it, as near as the server can tell: the accept time for the first
  // request of a connection (the client's start included its connect), else `at`. Spacing
  // between request starts is measured on this; `at` alone makes a request on a new
  // connection look later by its connect time under load.
  std::chrono::steady_clock::time_point started;
  // When the request's first byte reached this machine's kernel (its receive stamp, on plain
  // HTTP): the client's send, which no lateness of the server in reading can move. `at`
  // when the kernel gave no stamp (TLS, or bytes already read with the previous request).
  std::chrono::steady_clock::time_point first_byte;
  std::uint64_t connection_id = 0;  // 1 for the first accepted connection, ...
  std::string host_header;          // Host header as sent (with port)
  std::vector<std::pair<std::string, std::string>> headers;  // all request headers, as sent
};

// An HTTP/1.1 (or HTTPS) server on 127.0.0.1:<ephemeral> with its own io_context and
// thread, for integration tests. Routes are keyed by request target (path plus "?query",
// exactly as sent), optionally per Host name (without port): a host-specific route wins
// over an any-host route. Unknown targets get 404 text/plain "not found". Every method
// is thread-safe and may be called while serving.
class test_server {
 public:
  struct options {
    using cert = testing::cert;
    bool tls = false;
    cert certificate = cert::good;  // used when tls
    std::uint16_t port = 0;         // 0: an ephemeral port
    // The demo site turns this off so a long run does not grow memory per request;
    // hits() and the concurrency maxima are kept either way.
    bool log_requests = true;
  };

  // Binds and starts serving before it returns.
  explicit test_server(options opt);
  test_server() : test_server(options{}) {}
  // Stops and joins promptly, even with never_answer or trickling connections open.
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" or "https://localhost:PORT" (the TLS leaf covers both names).
  std::string base_url() const;

  void add_page(std::string target, response r, std::string host = "");
  void add_html(std::string target, std::string html, std::string host = "");
  void add_redirect(std::string target, std::string location, int status = 301,
                    std::string host = "");
  // The nth request gets seq[n]; the last one repeats (fails-then-succeeds).
  void add_sequence(std::string target, std::vector<response> seq, std::string host = "");
  void add_misbehaviour(std::string target, misbehaviour m, misbehaviour_params p = {},
                        std::string host = "");
  // Each request gets what `answer` returns for it (a page that changes, a server that answers
  // conditional requests). Called on the server's thread with its lock held: it must not call
  // this server's methods.
  using handler = std::function<response(const request_entry&)>;
  void add_handler(std::string target, handler answer, std::string host = "");

  // Requests for target (any host if host is empty).
  int hits(std::string_view target, std::string_view host = "") const;
  // Most requests open at once (read, not yet fully answered), overall or for one Host.
  int max_concurrent_requests(std::string_view host = "") const;
  std::vector<request_entry> requests() const;
  std::uint64_t connections_accepted() const;
  // Clears hits, the request log, the connection count and the maxima (which restart
  // from the requests open now). Routes and sequence positions stay.
  void reset_observations();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace trawler::testing
