#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_url.hpp"

// A Redis client on the crawl's io_context: one TCP connection, no thread of its own, no
// blocking call. hiredis does the protocol (its reply reader and command formatter work
// without its I/O), Asio owns the socket. Commands from any number of coroutines are
// pipelined on the one connection: each exec() appends its commands to the outgoing bytes at
// once and its replies come back in the same order, so N callers cost one round trip, not N.
namespace trawler::redis {

// One reply, copied out of hiredis' tree.
struct reply {
  enum class kind { string, array, integer, nil, status, error };
  kind type = kind::nil;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<reply> elements;  // array replies

  bool is_error() const noexcept { return type == kind::error; }
  bool is_nil() const noexcept { return type == kind::nil; }
  // The integer of an integer reply, or of a string reply holding one (EVAL results, INCR).
  std::optional<long long> as_integer() const;
};

using command = std::vector<std::string>;

// What exec() returns: the replies in order, or the failure of the connection (then no
// reply is given: the caller cannot know which commands ran and must be idempotent, or ask).
struct exec_result {
  boost::system::error_code ec;
  std::string message;  // for ec: names Redis and the address
  std::vector<reply> replies;
  bool ok() const noexcept { return !ec; }
};

struct client_options {
  // Connect (TCP, AUTH, SELECT) and each exec() must finish within this; past it the
  // connection is closed and every waiting exec() fails with timed_out.
  std::chrono::milliseconds timeout{5000};
};

class client {
 public:
  client(boost::asio::any_io_executor ex, endpoint ep, client_options opt = {});
  ~client();  // closes the connection; waiting exec()s fail with operation_aborted
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Runs the commands as one pipeline. Connects first (again, after a failure) when needed;
  // a Redis error reply is a reply (kind::error), not a failure of the exec.
  boost::asio::awaitable<exec_result> exec(std::vector<command> commands);
  // One command.
  boost::asio::awaitable<exec_result> exec1(command c);

  // Closes the connection now: waiting exec()s fail with operation_aborted; the next exec()
  // connects again.
  void close();

  bool connected() const noexcept;
  const endpoint& where() const noexcept;
  // Round trips and bytes so far (for the cost per page).
  std::uint64_t round_trips() const noexcept;
  std::uint64_t bytes_sent() const noexcept;
  std::uint64_t bytes_received() const noexcept;
  // Socket writes so far: fewer than exec() calls when callers were pipelined together.
  std::uint64_t socket_writes() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace trawler::redis
