#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "benchsite/site.hpp"

// The benchmark's web server: serves a `site` from memory over HTTP/1.1 with keep-alive,
// optionally after a fixed delay per response (latency without netem), and counts what every
// client fetched so a crawl can be checked against the ground truth without trusting the
// client's own output. Runs on one executor; not thread-safe.
namespace trawler::benchsite {

struct server_stats {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::uint64_t page_responses = 0;  // 200s for pages of the site
  std::uint64_t not_modified = 0;    // 304s to conditional requests (options::validators)
  std::uint64_t robots = 0;          // /robots.txt requests
  std::uint64_t not_found = 0;       // targets that are no page: wrong URLs
  std::uint64_t body_bytes = 0;
  std::vector<std::uint32_t> hits;             // per page: times served
  std::vector<std::string> not_found_samples;  // the first few wrong targets

  std::uint64_t distinct_pages() const;
  // Fetches beyond one per page.
  std::uint64_t duplicate_fetches() const;
  // {"pages", "distinct_pages", "missing", "duplicate_fetches", "page_responses",
  //  "not_modified", ...}
  std::string to_json() const;
};

class site_server {
 public:
  struct options {
    std::chrono::milliseconds delay{0};  // before every response
    std::chrono::seconds idle_timeout{60};
    // Pages carry an ETag and a Last-Modified; a request whose If-None-Match names the ETag (or,
    // without one, whose If-Modified-Since equals the Last-Modified) gets a 304 without a body.
    bool validators = false;
  };

  site_server(boost::asio::any_io_executor ex, options opt);
  ~site_server();
  site_server(const site_server&) = delete;
  site_server& operator=(const site_server&) = delete;

  // Binds and listens (port 0: any free port); returns the port. Throws system_error.
  std::uint16_t listen(const std::string& address, std::uint16_t port);
  // Starts accepting. The site must outlive every connection (keep it alive until the
  // executor's context has stopped).
  void serve(const site& s);
  // Stops accepting and closes every connection.
  void stop();

  const server_stats& stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the connection coroutines
};

}  // namespace trawler::benchsite
