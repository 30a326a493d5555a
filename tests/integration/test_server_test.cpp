// Self-test of the integration-test support library: the misbehaving web server, the
// runtime PKI, the process runner and the generated demo site.
#include "support/test_server.hpp"
#include "support/demo_site.hpp"
#include "support/gzip_bomb.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using trawler::testing::misbehaviour;
using trawler::testing::misbehaviour_params;
using trawler::testing::response;
using trawler::testing::test_server;

using clock_type = std::chrono::steady_clock;

// ---- a raw POSIX client, for byte-exact looks at what the server sends ----------------

enum class ending { eof, reset, timeout, open };

struct raw_read {
  std::string bytes;
  ending end = ending::open;
};

class raw_client {
 public:
  explicit raw_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
  }
  ~raw_client() { ::close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void get(std::string_view target, std::string_view extra_headers = "") {
    send("GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
         std::string(extra_headers) + "\r\n");
  }

  // Reads until the peer closes, the connection resets, `limit` bytes arrived
  // (ending::open) or `timeout` passes.
  raw_read read(std::chrono::milliseconds timeout, std::size_t limit = SIZE_MAX) {
    raw_read r;
    const auto deadline = clock_type::now() + timeout;
    char buf[65536];
    while (r.bytes.size() < limit) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      if (left.count() <= 0) {
        r.end = ending::timeout;
        return r;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) == 0) continue;
      const ssize_t n = ::recv(fd_, buf, std::min(sizeof buf, limit - r.bytes.size()), 0);
      if (n == 0) {
        r.end = ending::eof;
        return r;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        r.end = errno == ECONNRESET ? ending::reset : ending::eof;
        return r;
      }
      r.bytes.append(buf, static_cast<std::size_t>(n));
    }
    r.end = ending::open;
    return r;
  }

 private:
  int fd_;
};

// ---- a synchronous Beast client -----------------------------------------------------

struct beast_client {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;

  explicit beast_client(std::uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
    // Sync Beast reads have no deadline of their own; a hung test should fail, not hang.
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  http::response<http::string_body> request(http::verb method, std::string target,
                                            std::string host = "127.0.0.1",
                                            bool keep_alive = true) {
    http::request<http::empty_body> req(method, target, 11);
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "self-test/1");
    req.set(http::field::accept_encoding, "gzip, br");
    req.keep_alive(keep_alive);
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }

  http::response<http::string_body> get(std::string target, std::string host = "127.0.0.1") {
    return request(http::verb::get, std::move(target), std::move(host));
  }

  // Sends a GET and reads the answer with a parser, returning the parser's error.
  beast::error_code get_with_parser(const std::string& target,
                                    http::response_parser<http::string_body>& parser) {
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    http::write(socket, req);
    beast::error_code ec;
    http::read(socket, buffer, parser, ec);
    return ec;
  }
};

// ---- TLS client -----------------------------------------------------------------------

struct tls_outcome {
  beast::error_code ec;
  long verify_result = X509_V_OK;
  std::string body;
};

tls_outcome tls_get(std::uint16_t port, const std::string& ca_pem, const std::string& name,
                    const std::string& target = "/") {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  if (!ca_pem.empty()) ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
  // Checks the name the way the crawler will (OpenSSL's built-in host check).
  SSL_set1_host(stream.native_handle(), name.c_str());
  stream.next_layer().connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
  tls_outcome out;
  stream.handshake(ssl::stream_base::client, out.ec);
  out.verify_result = SSL_get_verify_result(stream.native_handle());
  if (out.ec) return out;
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, name);
  req.keep_alive(false);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res, out.ec);
  out.body = res.body();
  return out;
}

std::string header(const http::response<http::string_body>& res, std::string_view name) {
  const auto it = res.find(name);
  return it == res.end() ? std::string("<absent>") : std::string(it->value());
}

// ---- routes and observations ----------------------------------------------------------

TEST(TestServer, ServesPagesWithStatusTypeAndExtraHeaders) {
  test_server server;
  response r;
  r.status = 201;
  r.body = "hello";
  r.content_type = "text/plain; charset=utf-8";
  r.headers = {{"X-Test", "one"}, {"Retry-After", "3"}};
  server.add_page("/a", r);
  server.add_html("/b", "<p>b</p>");
  response untyped;
  untyped.body = "raw";
  untyped.content_type = "";
  server.add_page("/untyped", untyped);

  beast_client c(server.port());
  const auto a = c.get("/a");
  EXPECT_EQ(a.result_int(), 201);
  EXPECT_EQ(a.body(), "hello");
  EXPECT_EQ(header(a, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(header(a, "X-Test"), "one");
  EXPECT_EQ(header(a, "Retry-After"), "3");
  EXPECT_EQ(header(a, "Content-Length"), "5");

  const auto b = c.get("/b");
  EXPECT_EQ(b.result_int(), 200);
  EXPECT_EQ(b.body(), "<p>b</p>");
  EXPECT_EQ(header(b, "Content-Type"), "text/html");

  const auto u = c.get("/untyped");
  EXPECT_EQ(u.body(), "raw");
  EXPECT_EQ(header(u, "Content-Type"), "<absent>");

  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_NE(server.port(), 0);
}

TEST(TestServer, UnknownTargetIs404AndQueryIsPartOfTheTarget) {
  test_server server;
  server.add_html("/s?q=1", "with query");
  beast_client c(server.port());
  const auto missing = c.get("/nothing-here");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(missing.body(), "not found");
  EXPECT_EQ(header(missing, "Content-Type"), "text/plain");
  EXPECT_EQ(c.get("/s?q=1").body(), "with query");
  EXPECT_EQ(c.get("/s").result_int(), 404);
  EXPECT_EQ(c.get("/s?q=2").result_int(), 404);
  EXPECT_EQ(server.hits("/s?q=1"), 1);
  EXPECT_EQ(server.hits("/s"), 1);
  EXPECT_EQ(server.hits("/nothing-here"), 1);
  EXPECT_EQ(server.hits("/never"), 0);
}

TEST(TestServer, HeadGetsHeadersWithoutBody) {
  test_server server;
  server.add_html("/h", "0123456789");
  raw_client c(server.port());
  c.send("HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_NE(r.bytes.find("Content-Length: 10\r\n"), std::string::npos);
  EXPECT_TRUE(r.bytes.ends_with("\r\n\r\n")) << r.bytes;
  EXPECT_NE(r.bytes.find("Connection: close"), std::string::npos);
}

TEST(TestServer, HostSpecificRouteWinsOverAnyHost) {
  test_server server;
  server.add_html("/", "any host");
  server.add_html("/", "only a", "A.example");
  server.add_html("/only-b", "b page", "b.example");
  beast_client c(server.port());
  EXPECT_EQ(c.get("/", "a.example:8080").body(), "only a");
  EXPECT_EQ(c.get("/", "other.example").body(), "any host");
  EXPECT_EQ(c.get("/", "127.0.0.1:1").body(), "any host");
  EXPECT_EQ(c.get("/only-b", "B.Example").body(), "b page");
  EXPECT_EQ(c.get("/only-b", "a.example").result_int(), 404);

  EXPECT_EQ(server.hits("/"), 3);
  EXPECT_EQ(server.hits("/", "a.example"), 1);
  EXPECT_EQ(server.hits("/", "A.EXAMPLE"), 1);
  EXPECT_EQ(server.hits("/", "other.example"), 1);
  EXPECT_EQ(server.hits("/", "nobody.example"), 0);
  EXPECT_EQ(server.hits("/only-b"), 2);
  EXPECT_EQ(server.hits("/only-b", "b.example"), 1);
}

TEST(TestServer, ReplacingARouteTakesEffect) {
  test_server server;
  server.add_html("/r", "first");
  beast_client c(server.port());
  EXPECT_EQ(c.get("/r").body(), "first");
  server.add_html("/r", "second");
  EXPECT_EQ(c.get("/r").body(), "second");
}

TEST(TestServer, RedirectsCarryLocation) {
  test_server server;
  server.add_redirect("/old", "/new");
  server.add_redirect("/temp", "http://elsewhere.example/x", 307);
  beast_client c(server.port());
  const auto moved = c.get("/old");
  EXPECT_EQ(moved.result_int(), 301);
  EXPECT_EQ(header(moved, "Location"), "/new");
  EXPECT_EQ(moved.body(), "");
  const auto temp = c.get("/temp");
  EXPECT_EQ(temp.result_int(), 307);
  EXPECT_EQ(header(temp, "Location"), "http://elsewhere.example/x");
  EXPECT_EQ(server.hits("/old"), 1);
}

TEST(TestServer, SequenceAnswersInOrderThenRepeatsTheLast) {
  test_server server;
  response fail;
  fail.status = 503;
  fail.body = "busy";
  fail.headers = {{"Retry-After", "1"}};
  response ok;
  ok.body = "done";
  server.add_sequence("/flaky", {fail, fail, ok});
  beast_client c(server.port());
  EXPECT_EQ(c.get("/flaky").result_int(), 503);
  EXPECT_EQ(c.get("/flaky").result_int(), 503);
  const auto third = c.get("/flaky");
  EXPECT_EQ(third.result_int(), 200);
  EXPECT_EQ(third.body(), "done");
  EXPECT_EQ(c.get("/flaky").body(), "done");
  EXPECT_EQ(server.hits("/flaky"), 4);
  EXPECT_THROW(server.add_sequence("/empty", {}), std::invalid_argument);
}

TEST(TestServer, StatusWithoutBodyHasNoContentLength) {
  test_server server;
  response r;
  r.status = 304;
  r.body = "ignored";
  server.add_page("/nm", r);
  raw_client c(server.port());
  c.send("GET /nm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const raw_read got = c.read(5s);
  EXPECT_TRUE(got.bytes.starts_with("HTTP/1.1 304 Not Modified\r\n")) << got.bytes;
  EXPECT_EQ(got.bytes.find("Content-Length"), std::string::npos);
  EXPECT_TRUE(got.bytes.ends_with("\r\n\r\n"));
}

TEST(TestServer, KeepAliveServesManyRequestsOnOneConnectionAndLogsThem) {
  test_server server;
  server.add_html("/1", "one");
  server.add_html("/2", "two");
  {
    beast_client c(server.port());
    EXPECT_EQ(c.get("/1", "Example.COM:81").body(), "one");
    EXPECT_EQ(c.get("/2").body(), "two");
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  const auto log = server.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].method, "GET");
  EXPECT_EQ(log[0].target, "/1");
  EXPECT_EQ(log[0].host, "example.com");
  EXPECT_EQ(log[0].host_header, "Example.COM:81");
  EXPECT_EQ(log[0].user_agent, "self-test/1");
  EXPECT_EQ(log[0].accept_encoding, "gzip, br");
  EXPECT_EQ(log[0].connection_id, log[1].connection_id);
  EXPECT_EQ(log[1].host, "127.0.0.1");
  EXPECT_LE(log[0].at, log[1].at);
  bool saw_ua = false;
  for (const auto& [name, value] : log[0].headers)
    saw_ua = saw_ua || (name == "User-Agent" && value == "self-test/1");
  EXPECT_TRUE(saw_ua);

  {
    beast_client a(server.port());
    beast_client b(server.port());
    a.get("/1");
    b.get("/1");
  }
  EXPECT_EQ(server.connections_accepted(), 3u);
  const auto more = server.requests();
  ASSERT_EQ(more.size(), 4u);
  EXPECT_NE(more[2].connection_id, more[3].connection_id);
}

// `first_byte` is when the request reached the kernel, not when the server got round to reading
// it: a request sent while the server is still answering the one before on that connection
// waits unread in the socket, and only `at` shows the wait.
TEST(TestServer, FirstByteIsTheKernelsArrivalNotTheServersRead) {
  test_server server;
  response slow;
  slow.body = "slow";
  slow.delay = 400ms;
  server.add_page("/slow", slow);
  server.add_html("/fast", "fast");
  raw_client c(server.port());
  const auto t0 = std::chrono::steady_clock::now();
  c.get("/slow");
  std::this_thread::sleep_for(100ms);
  const auto t1 = std::chrono::steady_clock::now();
  c.get("/fast", "Connection: close\r\n");
  const auto t2 = std::chrono::steady_clock::now();
  const raw_read r = c.read(10s);
  EXPECT_EQ(r.end, ending::eof);
  const auto log = server.requests();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].target, "/fast");
  // Loopback delivers within the send call; a little slack for the clocks' conversion.
  EXPECT_GE(log[0].first_byte, t0 - 1ms);
  EXPECT_LE(log[0].first_byte, t1);
  EXPECT_GE(log[1].first_byte, t1 - 1ms);
  EXPECT_LE(log[1].first_byte, t2 + 1ms);
  // /fast was read only once /slow was answered, about 300 ms after it arrived.
  EXPECT_GE(log[1].at - log[1].first_byte, 200ms);
  EXPECT_GE(log[1].at, log[0].at + 300ms);
}

TEST(TestServer, ConnectionCloseIsHonoured) {
  test_server server;
  server.add_html("/c", "bye");
  raw_client c(server.port());
  c.send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_TRUE(r.bytes.ends_with("\r\n\r\nbye"));
}

TEST(TestServer, DelayAndMaxConcurrentRequests) {
  test_server server;
  response slow;
  slow.body = "slow";
  slow.delay = 300ms;
  server.add_page("/slow", slow);
  server.add_html("/fast", "fast");

  const auto start = clock_type::now();
  {
    raw_client a(server.port());
    raw_client b(server.port());
    raw_client c(server.port());
    a.send("GET /slow HTTP/1.1\r\nHost: one.example\r\nConnection: close\r\n\r\n");
    b.send("GET /slow HTTP/1.1\r\nHost: one.example\r\nConnection: close\r\n\r\n");
    c.send("GET /slow HTTP/1.1\r\nHost: two.example\r\nConnection: close\r\n\r\n");
    for (raw_client* x : {&a, &b, &c}) {
      const raw_read r = x->read(5s);
      EXPECT_EQ(r.end, ending::eof);
      EXPECT_TRUE(r.bytes.ends_with("\r\n\r\nslow"));
    }
  }
  const auto took = clock_type::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 900ms);  // the three waited together, not one after another
  EXPECT_EQ(server.max_concurrent_requests(), 3);
  EXPECT_EQ(server.max_concurrent_requests("one.example"), 2);
  EXPECT_EQ(server.max_concurrent_requests("two.example"), 1);
  EXPECT_EQ(server.max_concurrent_requests("nobody.example"), 0);

  server.reset_observations();
  EXPECT_EQ(server.max_concurrent_requests(), 0);
  EXPECT_EQ(server.hits("/slow"), 0);
  EXPECT_EQ(server.connections_accepted(), 0u);
  EXPECT_TRUE(server.requests().empty());
  beast_client d(server.port());
  d.get("/fast");
  d.get("/fast");
  EXPECT_EQ(server.max_concurrent_requests(), 1);
  EXPECT_EQ(server.hits("/fast"), 2);
}

// ---- TLS ------------------------------------------------------------------------------

TEST(TestPki, CertificatesHaveTheClaimedShape) {
  const auto& pki = trawler::testing::test_pki::instance();
  EXPECT_EQ(&pki, &trawler::testing::test_pki::instance());
  auto load = [](const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    return std::unique_ptr<X509, decltype(&X509_free)>(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  };
  const auto ca = load(pki.ca_cert_pem);
  const auto good = load(pki.good.cert_pem);
  const auto expired = load(pki.expired.cert_pem);
  const auto wrong = load(pki.wrong_host.cert_pem);
  const auto self = load(pki.self_signed.cert_pem);
  ASSERT_TRUE(ca && good && expired && wrong && self);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_EQ(X509_check_ca(good.get()), 0);
  EXPECT_EQ(X509_check_host(good.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(good.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(wrong.get(), "localhost", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_host(wrong.get(), "wrong.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_issued(ca.get(), good.get()), X509_V_OK);
  EXPECT_NE(X509_check_issued(ca.get(), self.get()), X509_V_OK);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(expired.get())), 0);
  EXPECT_GT(X509_cmp_current_time(X509_get0_notAfter(good.get())), 0);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(good.get())), 0);
  EXPECT_NE(pki.good.key_pem.find("PRIVATE KEY"), std::string::npos);

  const auto dir =
      std::filesystem::temp_directory_path() / ("trawler-pki-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = pki.write_ca_file(dir.string());
  EXPECT_EQ(path, (dir / "ca.pem").string());
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), pki.ca_cert_pem);
  std::filesystem::remove_all(dir);
}

TEST(TestServer, HttpsVerifiesAgainstTheRuntimeCa) {
  test_server server(test_server::options{.tls = true});
  server.add_html("/", "secure");
  EXPECT_EQ(server.base_url(), "https://localhost:" + std::to_string(server.port()));
  const auto& ca = trawler::testing::test_pki::instance().ca_cert_pem;
  const tls_outcome by_name = tls_get(server.port(), ca, "localhost");
  EXPECT_FALSE(by_name.ec) << by_name.ec.message();
  EXPECT_EQ(by_name.verify_result, X509_V_OK);
  EXPECT_EQ(by_name.body, "secure");
  const tls_outcome by_ip = tls_get(server.port(), ca, "127.0.0.1");
  EXPECT_FALSE(by_ip.ec) << by_ip.ec.message();
  EXPECT_EQ(by_ip.body, "secure");
  // Without the CA the same server is untrusted: the CA is what makes it verify.
  const tls_outcome untrusted = tls_get(server.port(), "", "localhost");
  EXPECT_TRUE(untrusted.ec);
  EXPECT_NE(untrusted.verify_result, X509_V_OK);
  EXPECT_EQ(server.hits("/"), 2);
}

TEST(TestServer, BadCertificatesFailVerification) {
  using cert = test_server::options::cert;
  const auto& ca = trawler::testing::test_pki::instance().ca_cert_pem;
  const std::pair<cert, long> cases[] = {
      {cert::expired, X509_V_ERR_CERT_HAS_EXPIRED},
      {cert::wrong_host, X509_V_ERR_HOSTNAME_MISMATCH},
      {cert::self_signed, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
  };
  for (const auto& [which, expected] : cases) {
    test_server server(test_server::options{.tls = true, .certificate = which});
    server.add_html("/", "should not be read");
    const tls_outcome out = tls_get(server.port(), ca, "localhost");
    EXPECT_TRUE(out.ec) << static_cast<int>(which);
    EXPECT_EQ(out.verify_result, expected) << X509_verify_cert_error_string(out.verify_result);
    EXPECT_EQ(server.hits("/"), 0);
  }
}

TEST(TestServer, HttpsKeepAliveAndMisbehaviourOverTls) {
  test_server server(test_server::options{.tls = true});
  server.add_html("/a", "A");
  server.add_misbehaviour("/g", misbehaviour::garbage_status);
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(trawler::testing::test_pki::instance().ca_cert_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> stream(ioc, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  SSL_set1_host(stream.native_handle(), "localhost");
  stream.next_layer().connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), server.port()));
  timeval tv{5, 0};
  ::setsockopt(stream.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  stream.handshake(ssl::stream_base::client);
  beast::flat_buffer buffer;
  for (const char* target : {"/a", "/a", "/g"}) {
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "localhost");
    http::write(stream, req);
    if (std::string_view(target) == "/g") break;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.body(), "A");
  }
  std::string raw(static_cast<const char*>(buffer.data().data()), buffer.size());
  beast::error_code ec;
  char chunk[1024];
  for (;;) {
    const std::size_t n = stream.read_some(asio::buffer(chunk), ec);
    raw.append(chunk, n);
    if (ec) break;
  }
  EXPECT_EQ(raw, "HTTP/1.1 abc nonsense\r\n\r\n");
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.hits("/a", "localhost"), 2);
  EXPECT_EQ(server.hits("/g"), 1);
}

// ---- misbehaviours ------------------------------------------------------------------------

TEST(Misbehaviour, GarbageStatus) {
  test_server server;
  server.add_misbehaviour("/g", misbehaviour::garbage_status);
  raw_client c(server.port());
  c.get("/g");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.bytes, "HTTP/1.1 abc nonsense\r\n\r\n");
  EXPECT_EQ(r.end, ending::eof);
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  EXPECT_TRUE(b.get_with_parser("/g", parser));
  EXPECT_EQ(server.hits("/g"), 2);
}

TEST(Misbehaviour, CloseMidBodySendsHalfThenFin) {
  test_server server;
  misbehaviour_params p;
  p.body = std::string(1000, 'x');
  server.add_misbehaviour("/m", misbehaviour::close_mid_body, p);
  raw_client c(server.port());
  c.get("/m");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_NE(r.bytes.find("Content-Length: 1000\r\n"), std::string::npos);
  const auto body_at = r.bytes.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  EXPECT_EQ(r.bytes.substr(body_at + 4), std::string(500, 'x'));

  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  EXPECT_EQ(b.get_with_parser("/m", parser), http::error::partial_message);
}

TEST(Misbehaviour, ResetMidBodyEndsInReset) {
  test_server server;
  misbehaviour_params p;
  p.body = std::string(1000, 'y');
  server.add_misbehaviour("/r", misbehaviour::reset_mid_body, p);
  raw_client c(server.port());
  c.get("/r");
  const raw_read r = c.read(5s);
  // The half body may or may not survive the RST in the receive queue; the RST must.
  EXPECT_EQ(r.end, ending::reset);
  EXPECT_LE(r.bytes.size(), 600u);
}

TEST(Misbehaviour, TrickleSendsAValidResponseSlowly) {
  test_server server;
  misbehaviour_params p;
  p.interval = 2ms;
  p.body = "abcdefghij";
  server.add_misbehaviour("/t", misbehaviour::trickle, p);
  server.add_html("/after", "after");
  beast_client b(server.port());
  const auto start = clock_type::now();
  const auto res = b.get("/t");
  const auto took = clock_type::now() - start;
  EXPECT_EQ(res.body(), "abcdefghij");
  // About 100 bytes, one every 2 ms.
  EXPECT_GE(took, 150ms);
  EXPECT_EQ(b.get("/after").body(), "after");  // still keep-alive afterwards

  raw_client c(server.port());
  c.get("/t");
  const raw_read first = c.read(30ms);
  EXPECT_EQ(first.end, ending::timeout);
  EXPECT_GE(first.bytes.size(), 1u);
  EXPECT_LT(first.bytes.size(), 30u);
}

TEST(Misbehaviour, ContentLengthShortLeavesGarbageOnTheConnection) {
  test_server server;
  misbehaviour_params p;
  p.body = "<p>exact</p>";
  server.add_misbehaviour("/s", misbehaviour::content_length_short, p);
  server.add_html("/next", "next");
  raw_client c(server.port());
  c.get("/s");
  const raw_read r = c.read(300ms);
  EXPECT_EQ(r.end, ending::timeout);  // the connection stays open
  EXPECT_NE(r.bytes.find("Content-Length: 12\r\n"), std::string::npos) << r.bytes;
  EXPECT_TRUE(
      r.bytes.ends_with("\r\n\r\n<p>exact</p>GARBAGE PAST CONTENT-LENGTH 0123456789abcdef\r\n\r\n"))
      << r.bytes;

  // A client reading by Content-Length gets the body, then garbage where the next
  // response should start.
  beast_client b(server.port());
  const auto first = b.get("/s");
  EXPECT_EQ(first.body(), "<p>exact</p>");
  http::response_parser<http::string_body> parser;
  EXPECT_TRUE(b.get_with_parser("/next", parser));
}

TEST(Misbehaviour, ContentLengthLongClosesEarly) {
  test_server server;
  misbehaviour_params p;
  p.body = "short";
  server.add_misbehaviour("/l", misbehaviour::content_length_long, p);
  raw_client c(server.port());
  c.get("/l");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_NE(r.bytes.find("Content-Length: 1005\r\n"), std::string::npos);
  EXPECT_TRUE(r.bytes.ends_with("\r\n\r\nshort"));
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  EXPECT_EQ(b.get_with_parser("/l", parser), http::error::partial_message);
}

// Inflates gzip data, counting output bytes and checking they are all zero.
std::pair<std::uint64_t, bool> inflate_zeros(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 16 + 15), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::vector<unsigned char> out(1 << 20);
  std::uint64_t total = 0;
  bool all_zero = true;
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = out.size() - z.avail_out;
    for (std::size_t i = 0; i < got && all_zero; ++i) all_zero = out[i] == 0;
    total += got;
  }
  EXPECT_EQ(rc, Z_STREAM_END);  // also verifies the CRC32 and ISIZE trailer
  EXPECT_EQ(z.avail_in, 0u);
  inflateEnd(&z);
  return {total, all_zero};
}

TEST(GzipBomb, InflatesToExactlyTheRequestedZeros) {
  for (const std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1} << 20,
                                   (std::uint64_t{3} << 20) + 5, std::uint64_t{64} << 20}) {
    const std::string gz = trawler::testing::make_gzip_zeros(size);
    const auto [total, zero] = inflate_zeros(gz);
    EXPECT_EQ(total, size);
    EXPECT_TRUE(zero);
    EXPECT_LT(gz.size(), size / 500 + 64);
  }
  const std::string gib = trawler::testing::make_gzip_zeros(std::uint64_t{1} << 30);
  EXPECT_LT(gib.size(), 1200u * 1024u);
  EXPECT_EQ(gib.substr(gib.size() - 4), std::string("\0\0\0\x40", 4));  // ISIZE 2^30, LE
}

TEST(Misbehaviour, GzipBombIsServedCompressed) {
  test_server server;
  misbehaviour_params p;
  p.size = (std::uint64_t{8} << 20) + 3;
  server.add_misbehaviour("/bomb", misbehaviour::gzip_bomb, p);
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  ASSERT_FALSE(b.get_with_parser("/bomb", parser));
  const auto& res = parser.get();
  EXPECT_EQ(header(res, "Content-Encoding"), "gzip");
  EXPECT_LT(res.body().size(), 20000u);
  const auto [total, zero] = inflate_zeros(res.body());
  EXPECT_EQ(total, p.size);
  EXPECT_TRUE(zero);
}

TEST(Misbehaviour, EndlessHeadersNeverEnd) {
  test_server server;
  server.add_misbehaviour("/e", misbehaviour::endless_headers);
  {
    raw_client c(server.port());
    c.get("/e");
    const raw_read r = c.read(10s, 2 << 20);
    EXPECT_EQ(r.end, ending::open);
    EXPECT_TRUE(r.bytes.starts_with("HTTP/1.1 200 OK\r\nX-Endless-0: "));
    EXPECT_EQ(r.bytes.find("\r\n\r\n"), std::string::npos);
  }  // closing mid-stream must not upset the server
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;  // Beast's default 8 KiB header limit
  EXPECT_EQ(b.get_with_parser("/e", parser), http::error::header_limit);
}

TEST(Misbehaviour, HugeHeaderIsOneLineOfTheGivenSize) {
  test_server server;
  misbehaviour_params p;
  p.size = 60000;  // Beast's fields cannot hold a value over 64 KiB
  p.body = "body after huge header";
  server.add_misbehaviour("/h", misbehaviour::huge_header, p);
  beast_client b(server.port());
  http::response_parser<http::string_body> big;
  big.header_limit(1 << 20);
  ASSERT_FALSE(b.get_with_parser("/h", big));
  const auto& res = big.get();
  EXPECT_EQ(res.body(), "body after huge header");
  EXPECT_EQ(header(res, "X-Huge").size() + std::string_view("X-Huge: \r\n").size(), 60000u);

  beast_client small(server.port());
  http::response_parser<http::string_body> limited;
  EXPECT_EQ(small.get_with_parser("/h", limited), http::error::header_limit);
}

TEST(Misbehaviour, NotHttpSendsNoise) {
  test_server server;
  server.add_misbehaviour("/n", misbehaviour::not_http);
  raw_client c(server.port());
  c.get("/n");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_EQ(r.bytes.size(), 4096u);
  EXPECT_FALSE(r.bytes.starts_with("HTTP"));
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  EXPECT_TRUE(b.get_with_parser("/n", parser));
}

TEST(Misbehaviour, BadChunkIsAParseError) {
  test_server server;
  server.add_misbehaviour("/c", misbehaviour::bad_chunk);
  raw_client c(server.port());
  c.get("/c");
  const raw_read r = c.read(5s);
  EXPECT_NE(r.bytes.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(r.bytes.find("5\r\nhello\r\nzz;not-hex\r\n"), std::string::npos);
  beast_client b(server.port());
  http::response_parser<http::string_body> parser;
  EXPECT_EQ(b.get_with_parser("/c", parser), http::error::bad_chunk);
}

TEST(Misbehaviour, CloseImmediatelySendsNothing) {
  test_server server;
  server.add_misbehaviour("/x", misbehaviour::close_immediately);
  raw_client c(server.port());
  c.get("/x");
  const raw_read r = c.read(5s);
  EXPECT_EQ(r.end, ending::eof);
  EXPECT_EQ(r.bytes, "");
  EXPECT_EQ(server.hits("/x"), 1);
}

TEST(Misbehaviour, NeverAnswerHoldsTheConnectionAndStopIsPrompt) {
  auto server = std::make_unique<test_server>();
  server->add_misbehaviour("/never", misbehaviour::never_answer);
  misbehaviour_params slow;
  slow.interval = 1s;
  server->add_misbehaviour("/trickle", misbehaviour::trickle, slow);
  raw_client c(server->port());
  c.get("/never");
  raw_client t(server->port());
  t.get("/trickle");
  const raw_read r = c.read(200ms);
  EXPECT_EQ(r.end, ending::timeout);
  EXPECT_EQ(r.bytes, "");
  EXPECT_EQ(server->hits("/never"), 1);
  EXPECT_EQ(server->max_concurrent_requests(), 2);

  const auto start = clock_type::now();
  server.reset();
  EXPECT_LT(clock_type::now() - start, 1s);
  const raw_read after = c.read(2s);
  EXPECT_NE(after.end, ending::timeout);  // the server's stop closed it
  EXPECT_EQ(after.bytes, "");
}

TEST(Misbehaviour, HostSpecificMisbehaviour) {
  test_server server;
  server.add_html("/p", "fine");
  server.add_misbehaviour("/p", misbehaviour::close_immediately, {}, "bad.example");
  beast_client good(server.port());
  EXPECT_EQ(good.get("/p", "good.example").body(), "fine");
  raw_client c(server.port());
  c.send("GET /p HTTP/1.1\r\nHost: bad.example\r\n\r\n");
  EXPECT_EQ(c.read(5s).bytes, "");
}

// ---- processes ------------------------------------------------------------------------------

using trawler::testing::run_process;
using trawler::testing::start_process;

TEST(Process, CapturesOutputErrorAndExitCode) {
  const auto r = run_process({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Process, PassesExtraEnvironmentAndSearchesPath) {
  const auto r = run_process({"sh", "-c", "echo \"$TRAWLER_X:$HOME_SET\""},
                             {{"TRAWLER_X", "one two"}, {"HOME_SET", "yes"}});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "one two:yes\n");
  const auto overridden = run_process({"sh", "-c", "echo \"$PATH\""}, {{"PATH", "/bin:/usr/bin"}});
  EXPECT_EQ(overridden.out, "/bin:/usr/bin\n");
}

TEST(Process, LargeOutputOnBothPipesDoesNotDeadlock) {
  const auto r = run_process(
      {"/bin/sh", "-c", "head -c 1000000 /dev/zero; head -c 300000 /dev/zero >&2; exit 0"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 1000000u);
  EXPECT_EQ(r.err.size(), 300000u);
}

TEST(Process, TimeoutKillsTheChildAndItsGroup) {
  const auto start = clock_type::now();
  const auto r = run_process({"/bin/sh", "-c", "echo started; sleep 30; echo never"}, {}, 1s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.exit_code, 128 + SIGKILL);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_LT(clock_type::now() - start, 5s);  // the orphaned sleep did not hold the pipe
}

TEST(Process, MissingProgramThrows) {
  EXPECT_THROW(run_process({"/nonexistent/trawler-nothing"}), std::system_error);
  EXPECT_THROW(run_process({}), std::invalid_argument);
}

TEST(Process, SignalReachesARunningProcess) {
  auto p = start_process(
      {"/bin/sh", "-c",
       "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"});
  EXPECT_GT(p.pid(), 0);
  ASSERT_TRUE(
      p.wait_for_output([](const std::string& out,
                           const std::string&) { return out.find("ready") != std::string::npos; },
                        10s));
  EXPECT_EQ(p.out_so_far(), "ready\n");
  p.signal(SIGTERM);
  const auto r = p.wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "ready\ngot-term\n");

  auto q = start_process({"/bin/sh", "-c", "echo up; while :; do sleep 0.05; done"});
  ASSERT_TRUE(q.wait_for_output(
      [](const std::string& out, const std::string&) { return !out.empty(); }, 10s));
  q.signal(SIGINT);
  const auto killed = q.wait(10s);
  EXPECT_EQ(killed.term_signal, SIGINT);
  EXPECT_EQ(killed.exit_code, 128 + SIGINT);
}

TEST(Process, DestructorReapsAnUnwaitedChild) {
  pid_t pid = 0;
  {
    auto p = start_process({"/bin/sh", "-c", "sleep 30"});
    pid = p.pid();
    auto moved = std::move(p);
    EXPECT_EQ(moved.pid(), pid);
  }
  // Reaped: the pid no longer names our child.
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// ---- demo site ------------------------------------------------------------------------------

using trawler::testing::all_paths;
using trawler::testing::page_path;
using trawler::testing::render_page;
using trawler::testing::site_options;

// RFC 3986 section 5.2.4, enough for the demo site's paths.
std::string remove_dot_segments(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path.substr(1));
  std::string seg;
  bool trailing_slash = path.ends_with("/");
  while (std::getline(in, seg, '/')) {
    if (seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  if (path.ends_with("/.") || path.ends_with("/..")) trailing_slash = true;
  std::string joined;
  for (const auto& s : out) joined += "/" + s;
  if (trailing_slash || joined.empty()) joined += "/";
  return joined;
}

// Resolves a demo-site href against the page at `base` ("" for links that leave the site).
std::string resolve(const std::string& origin, const std::string& base, std::string ref) {
  if (ref.starts_with("mailto:")) return "";
  ref = ref.substr(0, ref.find('#'));
  if (ref.empty()) return base;  // same-document reference
  if (!origin.empty() && ref.starts_with(origin + "/")) return ref.substr(origin.size());
  if (ref.find("://") != std::string::npos) return "<foreign:" + ref + ">";
  if (ref.starts_with("/")) return remove_dot_segments(ref);
  const std::string dir = base.substr(0, base.rfind('/') + 1);
  return remove_dot_segments(dir + ref);
}

TEST(DemoSite, ResolverSelfCheck) {
  EXPECT_EQ(resolve("", "/p/3.html", "7.html"), "/p/7.html");
  EXPECT_EQ(resolve("", "/p/3.html", "../"), "/");
  EXPECT_EQ(resolve("", "/", "../p/2.html"), "/p/2.html");
  EXPECT_EQ(resolve("", "/", "./"), "/");
  EXPECT_EQ(resolve("http://h:1", "/", "http://h:1/p/9.html#x"), "/p/9.html");
  EXPECT_EQ(resolve("", "/p/1.html", "#top"), "/p/1.html");
}

void check_site(const site_options& opt) {
  SCOPED_TRACE("pages=" + std::to_string(opt.pages) +
               " links=" + std::to_string(opt.links_per_page) + " origin=" + opt.origin);
  const std::vector<std::string> paths = all_paths(opt);
  ASSERT_EQ(paths.size(), static_cast<std::size_t>(opt.pages));
  const std::set<std::string> truth(paths.begin(), paths.end());
  ASSERT_EQ(truth.size(), paths.size());
  std::map<std::string, int> index;
  for (int i = 0; i < opt.pages; ++i) index[page_path(i)] = i;

  const std::regex href_re("href=\"([^\"]*)\"");
  std::set<std::string> seen{"/"};
  std::vector<std::string> queue{"/"};
  int mailto = 0;
  int fragments = 0;
  for (std::size_t q = 0; q < queue.size(); ++q) {
    const std::string current = queue[q];  // a copy: push_back below may reallocate
    const std::string html = render_page(opt, index.at(current));
    EXPECT_NE(html.find("<title>Page " + std::to_string(index.at(current)) + "</title>"),
              std::string::npos);
    for (std::sregex_iterator it(html.begin(), html.end(), href_re), end; it != end; ++it) {
      const std::string ref = (*it)[1];
      if (ref.starts_with("mailto:")) ++mailto;
      if (ref.find('#') != std::string::npos) ++fragments;
      const std::string target = resolve(opt.origin, current, ref);
      if (target.empty()) continue;
      EXPECT_TRUE(truth.contains(target)) << ref << " on " << current << " -> " << target;
      if (truth.contains(target) && seen.insert(target).second) queue.push_back(target);
    }
  }
  EXPECT_EQ(seen, truth);
  EXPECT_EQ(queue.size(), paths.size());
  EXPECT_GT(mailto, 0);
  EXPECT_GT(fragments, 0);
}

TEST(DemoSite, EveryPageIsReachableAndEveryLinkStaysOnTheSite) {
  check_site(site_options{});
  check_site(
      site_options{.pages = 1, .links_per_page = 8, .page_bytes = 500, .seed = 1, .origin = ""});
  check_site(
      site_options{.pages = 2, .links_per_page = 0, .page_bytes = 500, .seed = 2, .origin = ""});
  check_site(site_options{.pages = 700,
                          .links_per_page = 5,
                          .page_bytes = 1500,
                          .seed = 9,
                          .origin = "http://127.0.0.1:8080"});
}

TEST(DemoSite, DeterministicAndSized) {
  site_options opt;
  opt.origin = "http://h.example";
  EXPECT_EQ(page_path(0), "/");
  EXPECT_EQ(page_path(42), "/p/42.html");
  EXPECT_EQ(all_paths(opt).front(), "/");
  EXPECT_EQ(all_paths(opt).back(), "/p/49.html");
  for (int i = 0; i < opt.pages; ++i) {
    const std::string page = render_page(opt, i);
    EXPECT_EQ(page, render_page(opt, i));
    EXPECT_GE(page.size(), opt.page_bytes);
    EXPECT_LT(page.size(), opt.page_bytes + 200);
  }
  site_options other = opt;
  other.seed = 2;
  EXPECT_NE(render_page(opt, 3), render_page(other, 3));
  EXPECT_NE(render_page(opt, 0).find("http://h.example/p/"), std::string::npos);
}

TEST(DemoSite, BinaryServesTheGeneratedSiteUntilSigterm) {
  const std::string binary = std::string(TRAWLER_BINARY_DIR) + "/trawler-demo-site";
  auto p = start_process({binary, "--pages", "30", "--links", "4", "--page-bytes", "2000"});
  ASSERT_TRUE(
      p.wait_for_output([](const std::string& out,
                           const std::string&) { return out.find('\n') != std::string::npos; },
                        20s))
      << p.err_so_far();
  const std::string line = p.out_so_far();
  const std::regex url_re("http://127\\.0\\.0\\.1:([0-9]+)/\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, url_re)) << line;
  const auto port = static_cast<std::uint16_t>(std::stoi(m[1]));

  site_options opt;
  opt.pages = 30;
  opt.links_per_page = 4;
  opt.page_bytes = 2000;
  opt.origin = "http://127.0.0.1:" + m[1].str();
  beast_client c(port);
  EXPECT_EQ(c.get("/").body(), render_page(opt, 0));
  EXPECT_EQ(c.get("/p/29.html").body(), render_page(opt, 29));
  EXPECT_EQ(c.get("/p/30.html").result_int(), 404);

  p.signal(SIGTERM);
  const auto r = p.wait(10s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.err;

  const auto bad = run_process({binary, "--pages", "zero"}, {}, 10s);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--pages"), std::string::npos);
}

TEST(DemoSite, TestServerServesManyPagesWithKeepAlive) {
  site_options opt;
  opt.pages = 2000;
  test_server server(test_server::options{.log_requests = false});
  opt.origin = server.base_url();
  for (int i = 0; i < opt.pages; ++i) server.add_html(page_path(i), render_page(opt, i));
  beast_client c(server.port());
  for (int i = 0; i < opt.pages; ++i) ASSERT_EQ(c.get(page_path(i)).result_int(), 200);
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.hits("/p/1999.html"), 1);
  EXPECT_TRUE(server.requests().empty());  // logging off
}

}  // namespace
