#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/crawl_config.hpp"
#include "crawl/crawl_stats.hpp"
#include "frontier/crawl_frontier.hpp"
#include "frontier/frontier.hpp"
#include "record/record.hpp"
#include "recrawl/visit.hpp"

namespace re2 {
class RE2;
}

namespace trawler::state {
class crawl_state;
}

// Recrawl's memory of visits (SPEC additions "Recrawl"): each URL's visit row in the state, the
// validators a revisit sends, the record's change facts, and the URL's next visit in the
// schedule. The rule itself is recrawl::decide (pure); this noun only feeds it and keeps what it
// returns. With recrawl off every call is a no-op.
namespace trawler::crawl {

class visit_keeper {
 public:
  visit_keeper(const config::crawl_config& cfg, frontier::frontier& schedule);
  ~visit_keeper();
  visit_keeper(const visit_keeper&) = delete;
  visit_keeper& operator=(const visit_keeper&) = delete;

  bool on() const { return mode_ != mode::off; }
  void attach(state::crawl_state* store) { store_ = store; }
  // A fleet keeps the visits with its frontier (in Redis, beside each host's queue): rows come
  // with the revisits it hands over (hold()) and go back with the records (keep_visit).
  void keep_in(frontier::crawl_frontier* fleet) { fleet_ = fleet; }
  // A fleet's revisit came due with its row: held until its visit ends. Sets the entry's visit
  // stamp; returns when it came due.
  std::chrono::steady_clock::time_point hold(frontier::url_entry& e, std::string row);
  // Such a revisit went back to the fleet unvisited.
  void drop(const std::string& url) { held_.erase(url); }

  // Puts every URL the state holds a record of into the schedule as a revisit: at its due time
  // (continuous), or now (pass: every known URL once). URLs recorded by a run without recrawl
  // have no row: due now, and their first visit is `new`.
  void resume();

  // The validators for a request of `e` (If-None-Match, If-Modified-Since), empty when none.
  std::vector<std::pair<std::string, std::string>> validators_for(const frontier::url_entry& e);
  // The hex SHA-256 prefix (32 digits) of the URL's last 2xx body: a body with it is unchanged
  // and needs no parse.
  std::optional<std::string> known_body(const frontier::url_entry& e) const;

  // The URL's last full WARC capture, while its copy is indexed (a revisit record refers to it).
  std::optional<recrawl::capture> archived_capture(const frontier::url_entry& e) const;

  // A visit ended with a record: decide, fill the record's visit facts (and omit its content
  // when unchanged), save the row, and schedule the next visit (continuous).
  void visited(const frontier::url_entry& e, record::fetch_record& r, recrawl::outcome o);
  // A record of a URL never requested (robots.txt refused it, its address is blocked...).
  void untried(const frontier::url_entry& e, record::fetch_record& r);
  // A visit cancelled by a stop: fetched again at the next start; the row is kept as it was.
  void cancelled(const frontier::url_entry& e, record::fetch_record& r);

  // Counts for the stats; `waiting`/`due` filled from the schedule.
  recrawl_counts counts() const;
  void note_parse_skipped() { ++counts_.parses_skipped; }
  // Continuous mode: a sitemap lists `url` (known) with this <lastmod> (Unix ms). When it is
  // newer than the URL's last visit, the URL comes due no sooner than min_interval_ms after
  // that visit (sitemaps.lastmod: ignore never, auto while the host's lastmod visits keep
  // finding changes).
  void lastmod_hint(const std::string& url, std::int64_t lastmod_ms);
  // A revisit scheduled before the URL's last visit (it waited twice): to be dropped.
  bool stale(const frontier::url_entry& e) const;

  // A revisit started this long after it came due.
  void started_late(std::chrono::steady_clock::duration lag) {
    counts_.observe_lag(std::chrono::duration<double>(lag).count());
  }

 private:
  enum class mode { off, continuous, pass };
  struct rule;

  recrawl::policy policy_for(const std::string& url) const;
  std::optional<recrawl::visit_row> row_of(const std::string& url) const;

  mode mode_;
  recrawl::policy base_;
  std::vector<rule> rules_;
  frontier::frontier& schedule_;
  state::crawl_state* store_ = nullptr;
  frontier::crawl_frontier* fleet_ = nullptr;
  std::unordered_map<std::string, std::string> held_;  // a fleet's rows of revisits here
  recrawl_counts counts_;
  std::string lastmod_mode_;
  struct lastmod_record {
    std::uint32_t visits = 0;   // visits a lastmod brought forward
    std::uint32_t changed = 0;  // of those, the ones that found a change
  };
  std::unordered_map<frontier::host_id, lastmod_record> lastmod_hosts_;
  bool lastmod_trusted(frontier::host_id h) const;
  // revisits_due() is linear in the revisits: the stats read it at most once a second.
  mutable std::optional<std::chrono::steady_clock::time_point> due_counted_at_;
  mutable std::uint64_t due_ = 0;
};

}  // namespace trawler::crawl
