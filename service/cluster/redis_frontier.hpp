#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cluster/shared_frontier.hpp"
#include "frontier/crawl_frontier.hpp"
#include "redis/cluster_client.hpp"
#include "redis/redis_url.hpp"

// The frontier of a crawl shared by a fleet of workers through Redis (shared_frontier). This
// worker owns a share of the crawl's host buckets (assign_buckets over the live workers) and
// fetches only hosts of its buckets: its schedule() holds the claimed entries of the hosts it
// took. Admitted links go to their bucket in Redis and come back through a take of their host,
// here or on the bucket's owner, whose doorbell is rung when a host of its bucket becomes ready.
// A periodic tick (run()) marks records done, beats the heartbeat and follows the registry
// (taking the buckets that became this worker's, draining and giving up the others), answers
// the doorbell, takes hosts from due buckets while request slots are free, reserves pages of the
// crawl-wide budget, and sees when the crawl is over everywhere. Calls that come back empty back
// off, so an idle worker costs Redis about one command a second.
namespace trawler::cluster {

struct fleet_settings {
  std::vector<redis::endpoint> redis;  // one node, or seeds of a Redis Cluster
  std::string crawl_name;
  std::string worker;  // unique in the fleet: worker_name() by default
  std::chrono::milliseconds lease{15000};
  int per_host = 2;
  int concurrency = 16;
  std::int64_t max_pages = 0;  // crawl-wide; 0: no budget
  std::chrono::milliseconds robots_ttl{86400000};
  int buckets = default_buckets;  // the crawl's first worker fixes the count
  // recrawl.mode continuous: visits are kept in the host's bucket, due revisits come with the
  // takes, and the crawl never ends on an empty frontier.
  bool recrawl = false;
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
  // Buckets this worker owns now (for the tests of fair shares).
  std::size_t buckets_owned() const;
  // What this worker sent Redis so far (commands, round trips, bytes): the cost per page.
  redis::cluster_counts redis_counts() const { return redis_.counts(); }

  void seed(frontier::admitted_url u) override;
  bool admit(frontier::admitted_url u) override;
  boost::asio::awaitable<std::optional<int>> settle() override;
  void recorded(std::string_view url) override;
  void cancelled(const frontier::url_entry& e) override;
  void keep_visit(const frontier::url_entry& next, std::string row, std::int64_t due_ms) override;
  bool keeps_visits() const override { return settings_.recrawl; }
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
  // What this worker knows of a bucket it owns (or is taking over, or handing over).
  struct bucket_state {
    bool owned = false;
    bool leaving = false;  // another worker is its owner-to-be: drain, then give it up
    std::chrono::steady_clock::time_point leaving_since{};
    std::chrono::steady_clock::time_point next_check{};  // when to look for ready hosts
    std::chrono::milliseconds backoff{0};
    bucket_counts counts;
    std::vector<frontier::host_id> held;
  };

  std::chrono::milliseconds give_up_after() const;
  void fail(const std::string& why);
  // One call to Redis, retried with backoff while Redis is unreachable, for a bounded time;
  // then the crawl fails (nullopt). `op` makes the call again for each try.
  template <class T, class Op>
  boost::asio::awaitable<std::optional<T>> call(Op op);

  shared_entry to_shared(const frontier::url_entry& e) const;
  bool locally_idle() const;
  bool idle_everywhere_here() const;
  // A held host's URLs here: queued or open, and (recrawl) revisits taken and not started.
  std::size_t work_on(frontier::host_id h) const;
  std::size_t waiting_on(frontier::host_id h) const;
  // Entries leaving this worker's schedule for Redis again.
  std::vector<frontier::url_entry> remove_all(frontier::host_id h);
  void install(int bucket, claimed_host& c);
  void install_entries(int bucket, frontier::host_id h, std::vector<shared_entry>& entries);
  void drop_host(frontier::host_id h);
  std::chrono::milliseconds wait_left(frontier::host_id h) const;
  void schedule_check(int bucket, const bucket_counts& c);
  bool seen_recently(std::uint64_t fp) const;
  void remember_seen(std::uint64_t fp);
  boost::asio::awaitable<std::optional<std::vector<bool>>> admit_entries(
      std::vector<shared_entry> entries);
  boost::asio::awaitable<void> send_round();
  void end_round();
  boost::asio::awaitable<void> release_host(frontier::host_id h);
  boost::asio::awaitable<void> publish_seeds();
  boost::asio::awaitable<void> flush(bool force);
  boost::asio::awaitable<void> membership(bool force);
  boost::asio::awaitable<void> answer_bell();
  boost::asio::awaitable<void> tell_the_others();
  boost::asio::awaitable<void> hand_over();
  boost::asio::awaitable<void> take();
  boost::asio::awaitable<void> check_end();
  boost::asio::awaitable<void> reconcile();
  boost::asio::awaitable<void> watch_masters();
  boost::asio::awaitable<void> tick();
  boost::asio::awaitable<void> hand_back();

  boost::asio::any_io_executor ex_;
  frontier::frontier_owner& owner_;
  fleet_settings settings_;
  std::string address_;
  redis::cluster_client redis_;
  shared_frontier shared_;

  std::map<int, bucket_state> buckets_;                       // owned, or being handed over
  std::unordered_map<frontier::host_id, std::string> owned_;  // held hosts
  std::unordered_map<frontier::host_id, bool> dry_;      // held hosts whose queue came back empty
  std::unordered_map<std::uint64_t, int> claimed_here_;  // claimed, not recorded: fp -> bucket
  // Hosts of buckets being handed over: their queued URLs, waiting for the release.
  std::unordered_map<frontier::host_id, std::vector<shared_entry>> set_aside_;
  std::vector<shared_entry> outbox_;  // admitted since the last round was sent
  // The pages waiting for the round being collected: the entries of outbox_ and, once sent,
  // which of them were new (settle() counts its page's).
  struct admission_round {
    boost::asio::steady_timer done;  // cancelled when the answer is in
    std::vector<bool> added;
    bool over = false;
    explicit admission_round(const boost::asio::any_io_executor& ex)
        : done(ex, std::chrono::steady_clock::time_point::max()) {}
  };
  std::shared_ptr<admission_round> round_;
  std::size_t settled_ = 0;                       // outbox_ entries already counted by a settle()
  std::map<int, std::vector<fingerprint>> done_;  // records handed to the writer, per bucket
  // Recrawl: the visits of URLs being recorded (by fingerprint), then of the records handed to
  // the writer (per bucket): sent with their done marks.
  std::unordered_map<std::uint64_t, kept_visit> visiting_;
  std::map<int, std::vector<kept_visit>> visits_done_;
  // Visits kept lately, replayed after an outage (a failover may have lost them).
  std::deque<std::tuple<std::chrono::steady_clock::time_point, int, kept_visit>> recent_visits_;
  std::vector<shared_entry> give_back_;    // cancelled at a stop: queued again
  std::vector<shared_entry> seeds_;        // not offered to the fleet yet
  std::vector<std::string> seed_hosts_;    // their hosts, not told to the fleet yet
  std::vector<std::uint64_t> seen_cache_;  // URLs the fleet has seen, direct-mapped
  std::vector<std::string> alive_;         // live workers, sorted
  registry registry_;
  bool registered_ = false;
  std::uint64_t idle_generation_ = 0;
  std::string idle_state_ = "busy";
  std::int64_t page_tokens_ = 0;  // scope.max_pages reserved crawl-wide, not yet used
  std::int64_t open_pages_ = 0;
  bool budget_exhausted_ = false;
  bool finished_ = false;  // the fleet's crawl is over
  bool handed_back_ = false;
  bool dispatcher_done_ = false;
  std::string failure_;
  int busy_ = 0;  // calls to Redis on behalf of pages in progress
  std::chrono::steady_clock::time_point next_flush_{}, next_beat_{}, next_bell_{}, next_seeds_{},
      idle_since_{}, next_census_{};
  int unowned_share_ = 0;  // buckets assigned to this worker that another still owns
  std::optional<std::chrono::steady_clock::time_point> reconcile_at_;
  std::int64_t repaired_hosts_ = 0, repaired_entries_ = 0;  // what lost writes left behind
  std::int64_t lost_admissions_ = 0;                        // URLs a failover lost, admitted again
  // Admissions acknowledged lately (bucket and entries), for a replay after an outage.
  std::deque<
      std::pair<std::chrono::steady_clock::time_point, std::pair<int, std::vector<shared_entry>>>>
      recent_;
  std::optional<std::chrono::steady_clock::time_point> outage_began_;
  // Records marked done lately (when, bucket, fingerprint), for reconcile().
  std::deque<std::tuple<std::chrono::steady_clock::time_point, int, fingerprint>> recent_done_;
  std::vector<std::string> masters_;  // a Redis Cluster's masters at the last heartbeat
  std::chrono::steady_clock::time_point last_map_check_{};
  std::chrono::milliseconds seeds_backoff_{2000};
  boost::asio::steady_timer timer_;
};

}  // namespace trawler::cluster
