#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

// The benchmark's delay line (bench/README.md, "latency-proxy"): a TCP proxy that forwards
// every accepted connection to one upstream and releases each chunk of bytes, in each
// direction, a fixed time after it arrived. Chunks are pipelined (a 28 KB response costs one
// delay, not one per chunk) and kept in order per direction; the bandwidth is not limited.
// A request/response round trip through it costs twice the one-way delay, as netem's delay
// on both ends of a link would; a new connection's first request costs one round trip more,
// the TCP handshake's (options::handshake). Half-closes are forwarded after the same delay (a FIN
// is a chunk too), a reset after the delay as a reset (SO_LINGER 0). Runs on one executor; not
// thread-safe.
namespace trawler::benchsite {

struct proxy_stats {
  static constexpr std::size_t lateness_buckets = 1000;  // 0.1 ms each: 0 .. 100 ms

  std::uint64_t connections = 0;  // accepted
  std::uint64_t open = 0;         // now
  std::uint64_t peak_open = 0;
  std::uint64_t upstream_failures = 0;         // connect to the upstream failed or timed out
  std::uint64_t resets = 0;                    // connections ended by a reset or an I/O error
  std::uint64_t timeouts = 0;                  // idle or connect deadline
  std::array<std::uint64_t, 2> bytes{};        // [0] client to upstream, [1] upstream to client
  std::array<std::uint64_t, 2> chunks{};       // reads that returned data
  std::array<std::uint64_t, 2> writes{};       // gathered writes (several due chunks at once)
  std::array<std::uint64_t, 2> half_closes{};  // FINs forwarded
  std::array<std::uint64_t, 2> paused{};       // reads held back by a full queue
  // How late chunks were released after their due time (arrival + delay): the delay line's
  // own accuracy, which suffers when it waits for a core.
  std::array<std::uint64_t, lateness_buckets + 1> lateness{};
  double lateness_max_ms = 0;

  // Lateness percentile in ms (bucket upper bound), 0 when nothing was released.
  double lateness_ms(double quantile) const;
  // {"connections", ..., "bytes_up", "bytes_down", ..., "lateness_p50_ms", ...}
  std::string to_json() const;
};

class delay_proxy {
 public:
  struct options {
    boost::asio::ip::tcp::endpoint upstream;
    std::chrono::microseconds one_way{25000};  // each direction
    // The kernel answers a client's SYN at once, so its connect() returns without the round
    // trip a real link's handshake costs: the client's bytes are held as if they had been
    // sent no earlier than this after the accept (netem: 2 x one_way; 0 to turn it off).
    std::chrono::microseconds handshake{50000};
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds idle_timeout{300000};  // above the site's 60 s
    std::size_t read_size = 64 * 1024;
    std::size_t max_queued = 4 * 1024 * 1024;  // bytes per direction before reads pause
  };

  delay_proxy(boost::asio::any_io_executor ex, options opt);
  ~delay_proxy();
  delay_proxy(const delay_proxy&) = delete;
  delay_proxy& operator=(const delay_proxy&) = delete;

  // Binds and listens (port 0: any free port); returns the port. Call once per listening
  // address; each accepts after start().
  std::uint16_t listen(const std::string& address, std::uint16_t port,
                       boost::system::error_code& ec);
  void start();
  // Stops accepting and closes every connection at once.
  void stop();

  const proxy_stats& stats() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  // shared with the connection coroutines
};

}  // namespace trawler::benchsite
