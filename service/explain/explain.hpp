#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"
#include "state/crawl_state.hpp"

// "Why was this URL not fetched?" (SPEC "Explain"): what a crawl's outputs, its state and (in
// service mode) the live crawl know of one URL, gathered into `evidence`, and one answer made
// of it: a fate, a paragraph for people and the same facts as JSON.
namespace trawler::explain {

// A page whose `links` hold the URL.
struct linking_page {
  std::string url;
  int depth = 0;
  bool nofollow = false;
  bool sitemap = false;  // a sitemap file: its links are <loc> values
};

struct evidence {
  std::string asked;  // as given
  std::string url;    // normalized; empty when it is not an http(s) URL

  // From the outputs (read_outputs).
  bool outputs_read = false;
  std::vector<std::string> files;         // the files read
  std::vector<nlohmann::json> records;    // its records, in the order read
  std::vector<std::string> record_files;  // the file of each record
  std::vector<linking_page> linked_from;  // the first few pages linking it
  std::size_t linked_from_total = 0;

  // From the state (read_state).
  bool state_read = false;
  std::optional<state::url_info> admitted;
  std::optional<state::drop> dropped;
  std::size_t host_position = 0;  // admitted, not done: URLs of its host queued before it
  std::size_t host_pending = 0;   // all not-done URLs of its host
  bool finished = false;          // the crawl ran to its end
  std::optional<std::uint64_t> pages_recorded;  // the stats' pages, as of the last checkpoint

  // The crawl's rules: from the state's meta, a --config file or the service.
  std::optional<config::crawl_config> config;

  // Recrawl: the URL's visit row from the state (recrawl::encode's bytes), when it has one.
  std::optional<std::string> visit_row;

  // In service mode: crawler::live_view() of the running or paused crawl.
  std::optional<nlohmann::json> live;
};

// Fills `url` from `asked` (normalization as for seeds: a missing scheme gets http://).
evidence evidence_for(const std::string& asked);

// Reads every record of `files` (plain or compressed JSONL) for the URL's records and the pages
// that link it; stops keeping linking pages after a few (and counts the rest). A cheap text
// search skips the lines that cannot mention it, so this reads at disk speed.
bool read_outputs(const std::vector<std::string>& files, evidence& ev, std::string& error);

// What the state holds: admitted (depth, referrer, done, place in its host's queue), dropped
// (why), finished, the config and the outputs it names (returned: for read_outputs).
std::vector<std::string> read_state(const state::crawl_state& st, evidence& ev);

// The output files the state lists (each run's output.path or output.dir), open .part segments
// included: what read_state returns.
std::vector<std::string> state_outputs(const state::crawl_state& st);

struct answer {
  std::string fate;  // see SPEC "Explain": fetched, failed, robots, blocked_address, filtered,
                     // not_followed, queued, in_flight, cancelled, never_seen, not_a_url
  std::string text;  // one paragraph
  nlohmann::json json;
};

answer explain(const evidence& ev);
// The fate alone, without recrawl's visit history (explain() adds it).
answer explain_fate(const evidence& ev);

}  // namespace trawler::explain
