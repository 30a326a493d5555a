#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/redis_url.hpp"

// Redis Cluster routing on top of redis::client: a slot map learned from the cluster, one
// connection per master, redirections followed. The same class drives a single Redis (no
// cluster mode): every slot is then served by that one node, so callers write one code path.
namespace trawler::redis {

constexpr std::uint16_t slot_count = 16384;

// The cluster slot of a key: CRC16 (XMODEM) of its hash tag, the part between the first '{'
// and the next '}' when that part is not empty, else of the whole key; mod 16384.
std::uint16_t key_slot(std::string_view key);

struct cluster_options {
  client_options connection;  // per node
  // How long redirections, TRYAGAIN and CLUSTERDOWN are retried (with backoff) before the
  // command's error reply is handed to the caller as it is.
  std::chrono::milliseconds retry_for{10000};
};

// Counts since construction (for the cost per page and the tests).
struct cluster_counts {
  std::uint64_t round_trips = 0;  // pipelines sent, summed over nodes
  std::uint64_t commands = 0;     // commands sent, redirected ones counted again
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t moved = 0;      // MOVED replies followed
  std::uint64_t asked = 0;      // ASK replies followed
  std::uint64_t retried = 0;    // TRYAGAIN / CLUSTERDOWN replies waited out
  std::uint64_t refreshes = 0;  // slot map reloads
};

class cluster_client {
 public:
  // `seeds`: any nodes of the cluster (or the one Redis); the rest are learned from them.
  cluster_client(boost::asio::any_io_executor ex, std::vector<endpoint> seeds,
                 cluster_options opt = {});
  ~cluster_client();
  cluster_client(const cluster_client&) = delete;
  cluster_client& operator=(const cluster_client&) = delete;

  // Runs `commands`, whose keys all hash to `slot` (a command without keys, such as SCRIPT
  // LOAD, goes with them), as one pipeline on the master serving the slot; the slot map is
  // loaded first when there is none. A MOVED reply reloads the map and sends the command again
  // to the new owner; ASK sends ASKING and the command once to the named node (the map is kept);
  // TRYAGAIN and CLUSTERDOWN are retried with backoff for retry_for. Replies come back in the
  // order of `commands`. A connection failure is the result's ec (the caller cannot know what
  // ran); the map is then reloaded before the next exec, so a failover is followed.
  boost::asio::awaitable<exec_result> exec(std::uint16_t slot, std::vector<command> commands);

  // Several pipelines at once (each as exec() above), grouped by the master serving each slot:
  // one socket write per master, all masters concurrently. Results in the order given.
  boost::asio::awaitable<std::vector<exec_result>> exec_each(
      std::vector<std::pair<std::uint16_t, std::vector<command>>> batches);

  // Loads the slot map now (exec does it when needed). On a Redis without cluster mode
  // (CLUSTER SLOTS answers "cluster support disabled") the one node serves every slot.
  boost::asio::awaitable<boost::system::error_code> refresh();

  bool is_cluster() const noexcept;
  // Masters in the current map (1 on a single Redis; 0 before the first load), and which of
  // them serves a slot: stable indexes until the map changes, for grouping work per shard.
  std::size_t masters() const noexcept;
  std::size_t master_of(std::uint16_t slot) const noexcept;
  // host:port of master `i` (for INFO per shard, and log lines).
  std::string master_address(std::size_t i) const;
  // Runs commands without keys (INFO, SCRIPT LOAD, PING) on master `i` of the current map.
  boost::asio::awaitable<exec_result> exec_on_master(std::size_t i, std::vector<command> commands);

  // The seeds as the user gave them, host:port separated by commas (never a password).
  std::string address() const;
  cluster_counts counts() const noexcept;

  // Closes every connection; waiting execs fail with operation_aborted.
  void close();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace trawler::redis
