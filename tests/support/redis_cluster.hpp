#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace trawler::testing {

// A real Redis Cluster (Debian's redis-server and redis-cli) on free 127.0.0.1 ports, started
// by the test and killed at the end: `masters` masters with `replicas` replicas each, no
// persistence, a short cluster-node-timeout so that a failover takes a few seconds. The
// constructor returns once every node says cluster_state:ok, knows every other node and every
// replica is in sync. available() is false, with why(), only when the cluster cannot start
// here (no redis-server or redis-cli, or the create failed); tests then skip with that message.
// Every helper drives the cluster with redis-cli, as an operator would.
class redis_cluster {
 public:
  struct options {
    int masters = 3;
    int replicas = 0;  // per master
    int node_timeout_ms = 1000;
  };
  explicit redis_cluster(options opt);
  redis_cluster() : redis_cluster(options{}) {}
  ~redis_cluster();
  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  bool available() const { return ok_; }
  const std::string& why() const { return why_; }

  // Every node, in start order, and its URL (redis://127.0.0.1:PORT).
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  std::string url(std::uint16_t port) const;
  // Every node's URL, separated by commas (what --redis takes).
  std::string urls() const;
  // The masters as created, in slot order: master 0 serves slot 0.
  const std::vector<std::uint16_t>& initial_masters() const { return masters_; }

  // redis-cli -p PORT ARGS...: its output (raw: one line per element, no quotes), trimmed.
  std::string cli(std::uint16_t port, const std::vector<std::string>& args) const;
  std::string node_id(std::uint16_t port) const;
  // The master serving `slot` in the view of node `ask` (any live node when 0); 0: none.
  std::uint16_t master_of_slot(std::uint16_t slot, std::uint16_t ask = 0) const;
  // The masters serving slots now (live ones), sorted by port.
  std::vector<std::uint16_t> serving_masters() const;

  // SIGKILL of the node on `port`; the others carry on.
  void kill(std::uint16_t port);
  // SIGKILL of master i of initial_masters(); its port.
  std::uint16_t kill_master(std::size_t i);
  // Waits until the slots of the killed master `port` are served by another live node (a
  // replica promoted) and every live node says cluster_state:ok. The new master's port, or 0
  // after the timeout.
  std::uint16_t wait_failover(std::uint16_t port, std::chrono::milliseconds timeout);
  // Waits until every live node says cluster_state:ok and they all agree on who serves which
  // slot.
  bool wait_settled(std::chrono::milliseconds timeout) const;

  // Moves `count` slots from master `from` to master `to` with redis-cli --cluster reshard
  // (keys included), then waits until every node agrees. The slots moved (empty: it failed).
  std::vector<std::uint16_t> migrate_slots(std::uint16_t from, std::uint16_t to, int count);

  // One slot by hand, as a resharding does it, in steps a test can stop between (ASK):
  // IMPORTING on `to`, MIGRATING on `from`...
  bool begin_migration(std::uint16_t slot, std::uint16_t from, std::uint16_t to);
  // ...MIGRATE of these keys only...
  bool migrate_keys(std::uint16_t from, std::uint16_t to, const std::vector<std::string>& keys);
  // ...the slot's other keys, then SETSLOT NODE on every master, and wait until all agree.
  bool finish_migration(std::uint16_t slot, std::uint16_t from, std::uint16_t to);

 private:
  struct node {
    std::uint16_t port = 0;
    std::uint16_t bus_port = 0;
    std::string dir;
    std::unique_ptr<running_process> proc;
  };
  bool start(const options& opt);
  bool start_node(node& n, const options& opt);
  bool alive(std::uint16_t port) const;
  std::vector<std::uint16_t> live_ports() const;
  // "port:ranges ..." of the masters serving slots, in the view of `port` (for agreement).
  std::string slot_view(std::uint16_t port) const;

  bool ok_ = false;
  std::string why_;
  std::string dir_;
  std::vector<node> nodes_;
  std::vector<std::uint16_t> ports_;
  std::vector<std::uint16_t> masters_;
  std::map<std::uint16_t, std::uint16_t> first_slot_;  // initial master -> its first slot
};

// Skips the test, with the reason, where no Redis Cluster could be started.
#define NEED_REDIS_CLUSTER(cluster)                              \
  do {                                                           \
    if (!(cluster).available()) GTEST_SKIP() << (cluster).why(); \
  } while (0)

}  // namespace trawler::testing
