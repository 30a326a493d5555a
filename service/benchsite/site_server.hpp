#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <iosfwd>
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
  std::uint64_t page_responses = 0;   // 200s for pages of the site
  std::uint64_t not_modified = 0;     // 304s to conditional requests (validators, change model)
  std::uint64_t robots = 0;           // /robots.txt requests
  std::uint64_t not_found = 0;        // targets that are no page: wrong URLs
  std::uint64_t model_not_found = 0;  // change model: 404s of pages not born, deleted, flapping
  std::uint64_t model_gone = 0;       // change model: 410s of deleted pages
  std::uint64_t body_bytes = 0;
  std::vector<std::uint32_t> hits;             // per page: times served
  std::vector<std::string> not_found_samples;  // the first few wrong targets

  std::uint64_t distinct_pages() const;
  // Fetches beyond one per page.
  std::uint64_t duplicate_fetches() const;
  // {"pages", "distinct_pages", "missing", "duplicate_fetches", "page_responses",
  //  "not_modified", ...}; with the change model also "model_not_found", "model_gone"
  std::string to_json() const;
};

// One answer to a request for a page of a site whose change model is on.
struct served {
  std::int64_t at_us = 0;  // wall clock (Unix microseconds) when the answer was made
  std::int32_t page = 0;
  std::uint16_t status = 0;  // 200, 304, 404, 410
  std::uint32_t version = 0;
  std::uint64_t bytes = 0;        // body bytes sent (0 for a 304, a HEAD)
  std::uint64_t would_bytes = 0;  // for a 304: the body a 200 would have carried
};

class site_server {
 public:
  struct options {
    std::chrono::milliseconds delay{0};  // before every response
    std::chrono::seconds idle_timeout{60};
    // Pages carry an ETag and a Last-Modified; a request whose If-None-Match names the ETag (or,
    // without one, whose If-Modified-Since equals the Last-Modified) gets a 304 without a body.
    // (A site with the change model has validators per host instead: change_options::hosts.)
    bool validators = false;
    // With the change model: how long a simulated day lasts on the wall clock (the default:
    // real time). Simulated time 0 is when serve() is called.
    std::int64_t day_ms = sim_day;
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

  // With the change model. The wall clock of serve() (Unix microseconds), the simulated time at
  // a wall time, and every page answer so far, in order.
  std::int64_t started_unix_us() const;
  sim_ms simulated(std::int64_t unix_us) const;
  const std::vector<served>& served_log() const;
  // The ground truth, JSON Lines: {"type":"site", ...} (start and stop on the wall clock,
  // day_ms, the options), one {"type":"page", ...} per page (URL, class, validators, born,
  // deleted, flaps and the start of every version up to now, as Unix ms of the wall clock), then
  // one {"type":"serve", ...} per page answer (served_log()). bench/README.md "Live freshness".
  void write_truth(std::ostream& out) const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the connection coroutines
};

}  // namespace trawler::benchsite
