#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/shared_frontier.hpp"
#include "frontier/crawl_frontier.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_url.hpp"

// The frontier of a crawl shared by a fleet of workers through Redis (shared_frontier). This
// worker fetches only the hosts it holds a lease on: its schedule() holds the claimed entries
// of those hosts; admitted links go to Redis and come back through a claim or a refill of their
// host, here or on another worker. A periodic tick (run()) marks records done, renews leases,
// refills hosts running low, claims more hosts while there are free request slots, reserves
// pages of the crawl-wide budget, and sees when the crawl is over everywhere.
namespace trawler::cluster {

struct fleet_settings {
  redis::endpoint redis;
  std::string crawl_name;
  std::string worker;  // unique in the fleet: worker_name() by default
  std::chrono::milliseconds lease{15000};
  int per_host = 2;
  int concurrency = 16;
  std::int64_t max_pages = 0;  // crawl-wide; 0: no budget
  std::chrono::milliseconds robots_ttl{86400000};
};

// A worker's name in the fleet: host name, pid and a random tail, readable in Redis and unique
// across machines and restarts.
std::string worker_name();

class redis_frontier final : public frontier::crawl_frontier {
 public:
  redis_frontier(boost::asio::any_io_executor ex, frontier::options opt,
                 frontier::frontier_owner& owner, fleet_settings settings);
  ~redis_frontier() override;

  const std::string& worker() const { return shared_.worker(); }
  const std::string& address() const { return address_; }

  void seed(frontier::admitted_url u) override;
  bool admit(frontier::admitted_url u) override;
  boost::asio::awaitable<std::optional<int>> settle() override;
  void recorded(std::string_view url) override;
  void cancelled(const frontier::url_entry& e) override;
  boost::asio::awaitable<void> share_robots(frontier::host_id h,
                                            frontier::robots_verdict v) override;

  bool page_budget_left() const override;
  void page_started() override;
  void page_ended(bool answered) override;
  bool budget_spent() const override;
  void carry_pages(std::uint64_t) override {}  // the budget is counted in Redis

  std::optional<bool> ended() const override;
  bool quiet() const override { return busy_ == 0; }
  boost::asio::awaitable<void> run() override;
  void dispatcher_done() override;
  std::optional<frontier::crawl_wide_counts> counts() const override;
  std::string sharing() const override;
  const std::string& failure() const override { return failure_; }

 private:
  std::chrono::milliseconds give_up() const;
  void fail(const std::string& why);
  // One call to Redis, retried with backoff while Redis is unreachable, for a bounded time;
  // then the crawl fails (nullopt). `op` makes the call again for each try.
  template <class T, class Op>
  boost::asio::awaitable<std::optional<T>> call(Op op);

  shared_entry to_shared(const frontier::url_entry& e) const;
  bool locally_idle() const;
  void install(claimed_host& c);
  void install_entries(frontier::host_id h, std::vector<shared_entry>& entries);
  std::chrono::milliseconds wait_left(frontier::host_id h) const;
  boost::asio::awaitable<void> release_host(frontier::host_id h);
  boost::asio::awaitable<void> sync_seed_hosts(std::vector<std::string> mine);
  boost::asio::awaitable<void> publish_seeds();
  boost::asio::awaitable<void> flush(bool force);
  boost::asio::awaitable<void> tick();
  boost::asio::awaitable<void> hand_back();

  boost::asio::any_io_executor ex_;
  frontier::frontier_owner& owner_;
  fleet_settings settings_;
  std::string address_;
  redis::client redis_;
  shared_frontier shared_;

  std::unordered_map<frontier::host_id, std::string> owned_;  // leased hosts
  std::vector<shared_entry> outbox_;                          // admitted since the last settle()
  std::vector<std::string> done_;        // fingerprints of records handed to the writer
  std::vector<shared_entry> give_back_;  // cancelled at a stop: queued again
  std::vector<shared_entry> seeds_;      // not offered to the fleet yet
  std::vector<std::string> seed_hosts_;  // their hosts, not told to the fleet yet
  std::int64_t page_tokens_ = 0;         // scope.max_pages reserved crawl-wide, not yet used
  std::int64_t open_pages_ = 0;
  bool budget_exhausted_ = false;
  bool finished_ = false;  // the fleet's crawl is over
  bool handed_back_ = false;
  bool dispatcher_done_ = false;
  std::string failure_;
  int busy_ = 0;  // calls to Redis on behalf of pages in progress
  std::optional<crawl_status> status_;
  std::chrono::steady_clock::time_point next_flush_{}, next_renew_{}, next_reap_{}, next_seeds_{},
      next_status_{};
  boost::asio::steady_timer timer_;
};

}  // namespace trawler::cluster
