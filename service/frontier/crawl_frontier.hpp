#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/fleet_counts.hpp"
#include "frontier/frontier.hpp"

// The frontier a crawler drives, whoever keeps it: this process alone (local_frontier) or a
// fleet of workers sharing one crawl through Redis (cluster::redis_frontier). Either way the
// URLs this process may fetch now are in schedule(), the pure per-host schedule; what differs
// is where admitted URLs go, who else may fetch them, how scope.max_pages is counted and when
// the crawl is over. The crawler does not know which one it has.
namespace trawler::frontier {

// A URL the crawler admits: normalized, in scope, and marked seen in the schedule.
struct admitted_url {
  std::string url;
  std::string host_key;  // scheme://host:port
  int depth = 0;
  int redirects_left = 0;
  bool sitemap = false;
  shared_text referrer;
  bool requisite = false;  // a page requisite (url_entry::requisite)
};

// A host's robots.txt as one process settled it, for the others: "rules" (body holds
// robots.txt), "allow_all", "disallow_all" or "failure" (an error kind and its message).
struct robots_verdict {
  std::string outcome;
  std::string body;
  std::string failure_kind;
  std::string failure_message;

  bool operator==(const robots_verdict&) const = default;
};

// The crawl-wide counts where several processes share the crawl, as last seen.
using crawl_wide_counts = fleet_counts;

// What a frontier needs of the crawl that drives it. Called on the crawl's executor only.
class frontier_owner {
 public:
  // An entry for the schedule, through the robots gate (a URL its host's known robots.txt
  // refuses is recorded at once instead).
  virtual void enqueue(url_entry e) = 0;
  // The dispatcher has something to decide (work arrived, the budget changed, the end).
  virtual void wake() = 0;
  // Requests open or pages being parsed in this process.
  virtual bool busy() const = 0;
  virtual bool stopping() const = 0;
  virtual bool paused() const = 0;
  // Recrawl in a fleet: a URL visited before came due, with its visit row (recrawl::encode).
  virtual void revisit(url_entry e, std::string row) = 0;
  // Such a revisit left this process unvisited (its host went back to the fleet).
  virtual void revisit_dropped(const std::string& url) = 0;
  // Another process settled the host's robots.txt: this one uses the verdict.
  virtual void learn_robots(host_id h, const robots_verdict& v) = 0;
  // A seed host of the crawl (scope.mode host and domain are relative to the seeds).
  virtual void learn_seed_host(const std::string& host) = 0;
  // Writes the records handed to the writer so far; false when the output failed.
  virtual bool flush_output() = 0;
  // The frontier cannot go on (its store is unreachable): the crawl stops at once.
  virtual void fail(const std::string& why) = 0;

 protected:
  ~frontier_owner() = default;
};

class crawl_frontier {
 public:
  explicit crawl_frontier(options opt) : schedule_(opt) {}
  virtual ~crawl_frontier() = default;
  crawl_frontier(const crawl_frontier&) = delete;
  crawl_frontier& operator=(const crawl_frontier&) = delete;

  // The URLs this process may fetch, per host: next_ready(), finish(), retry()...
  frontier& schedule() { return schedule_; }
  const frontier& schedule() const { return schedule_; }

  // A seed, normalized and in scope, not marked seen yet (the crawl decides whether it is
  // new). Seeds may come at any time (the API adds some to a running crawl).
  virtual void seed(admitted_url u) = 0;
  // A URL newly seen here. True when it is new to the crawl and queued now; false when the
  // crawl-wide answer comes from settle().
  virtual bool admit(admitted_url u) = 0;
  // Sends what admit() took since the last call where it goes elsewhere, and returns how many
  // of those URLs were new to the crawl; nullopt when admit() already said. Call it right after
  // one synchronous stretch of admissions (one page's links), so it counts only those.
  virtual boost::asio::awaitable<std::optional<int>> settle() = 0;
  // The record of a URL of the schedule reached the writer (a cancelled one excepted).
  virtual void recorded(std::string_view url) = 0;
  // A URL cancelled by a stop: kept to be crawled later (a resume, or another worker).
  virtual void cancelled(const url_entry& e) = 0;
  // Recrawl, where the visits are kept with the frontier (a fleet): the URL's visit `row`
  // (recrawl::encode) and its next visit, `next` due at `due_ms` (Unix ms), kept with the
  // URL's record (called before recorded()). A local frontier's visits live in the state.
  virtual void keep_visit(const url_entry& next, std::string row, std::int64_t due_ms) {
    (void)next;
    (void)row;
    (void)due_ms;
  }
  // Whether keep_visit() keeps visits (the visit rows are not in a local state).
  virtual bool keeps_visits() const { return false; }
  // This process settled a host's robots.txt.
  virtual boost::asio::awaitable<void> share_robots(host_id h, robots_verdict v) = 0;

  // scope.max_pages. A page request may start; it started; it ended, with a response to
  // record or not (a failure, a retry, a refused address: its page is not spent).
  virtual bool page_budget_left() const = 0;
  virtual void page_started() = 0;
  virtual void page_ended(bool answered) = 0;
  // Every page of the budget has its response: nothing more will start.
  virtual bool budget_spent() const = 0;
  // Pages answered in runs before a resume (they count against the budget).
  virtual void carry_pages(std::uint64_t n) = 0;

  // With nothing busy in this process: nullopt while the crawl goes on, else whether it
  // completed (nothing is left to fetch anywhere) rather than stopped short (the budget).
  virtual std::optional<bool> ended() const = 0;
  // No call of its own (to another process) in progress.
  virtual bool quiet() const = 0;
  // Its own work beside the dispatcher (none for a local frontier); returns after the
  // dispatcher is done (dispatcher_done()), with what this process held handed back.
  virtual boost::asio::awaitable<void> run() = 0;
  virtual void dispatcher_done() = 0;

  virtual std::optional<crawl_wide_counts> counts() const = 0;
  // Who else shares the crawl, for the log ("as worker W at Redis HOST:PORT"); empty when
  // nobody does.
  virtual std::string sharing() const = 0;
  // Why the crawl failed (the store was unreachable for too long); empty otherwise.
  virtual const std::string& failure() const = 0;

 private:
  frontier schedule_;
};

// The frontier of a crawl that this process alone runs.
class local_frontier final : public crawl_frontier {
 public:
  local_frontier(options opt, frontier_owner& owner, std::int64_t max_pages);

  void seed(admitted_url u) override;
  bool admit(admitted_url u) override;
  boost::asio::awaitable<std::optional<int>> settle() override;
  void recorded(std::string_view) override {}
  void cancelled(const url_entry&) override {}
  boost::asio::awaitable<void> share_robots(host_id, robots_verdict) override;

  bool page_budget_left() const override;
  void page_started() override { ++open_pages_; }
  void page_ended(bool answered) override;
  bool budget_spent() const override;
  void carry_pages(std::uint64_t n) override { answered_ += n; }

  std::optional<bool> ended() const override;
  bool quiet() const override { return true; }
  boost::asio::awaitable<void> run() override;
  void dispatcher_done() override {}
  std::optional<crawl_wide_counts> counts() const override { return std::nullopt; }
  std::string sharing() const override { return {}; }
  const std::string& failure() const override { return no_failure_; }

 private:
  url_entry entry_of(admitted_url u);

  frontier_owner& owner_;
  std::int64_t max_pages_;
  std::uint64_t answered_ = 0;    // page requests that got a response to record
  std::uint64_t open_pages_ = 0;  // page requests open
  std::string no_failure_;
};

}  // namespace trawler::frontier
