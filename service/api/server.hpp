#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/router.hpp"

namespace trawler::api {

struct server_options {
  std::size_t body_limit = 1024 * 1024;  // a crawl config is a few KiB
  std::uint32_t header_limit = 16 * 1024;
  // A connection waiting for its next request is closed after this.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Reading one request (after its first byte) or writing one response.
  std::chrono::milliseconds io_timeout{std::chrono::seconds(30)};
  std::size_t max_connections = 512;
};

// The control API's HTTP/1.1 server (Boost.Beast): one coroutine per connection owning its
// stream, buffer and parser; keep-alive; a deadline on every read and write; header and body
// limits; requests handed to the router on the executor's thread.
class server {
 public:
  server(boost::asio::any_io_executor ex, router& r, server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and listens on a numeric IPv4 or IPv6 address; port 0 picks a free port. Returns
  // "" or why it failed ("127.0.0.1:80: Permission denied").
  std::string listen(const std::string& address, std::uint16_t port);
  // The bound port (the real one when 0 was asked).
  std::uint16_t port() const;

  // Starts accepting.
  void start();
  // Stops accepting and closes idle connections; a request being answered is finished
  // first (and its connection then closed).
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace trawler::api
