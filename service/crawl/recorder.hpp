#pragma once

#include <functional>
#include <string>

#include "crawl/crawl_stats.hpp"
#include "frontier/crawl_frontier.hpp"
#include "record/record.hpp"

namespace trawler::state {
class crawl_state;
}

namespace trawler::crawl {

// The end of a page's way: its record is counted, noted in the state (a resume does not fetch
// it again), written as one JSONL line, and reported done to the frontier.
class recorder {
 public:
  using line_writer = std::function<void(std::string&& line)>;

  recorder(line_writer write, record::output_fields fields, frontier::crawl_frontier& front);

  void attach(state::crawl_state* store) { store_ = store; }
  // Called with every untried() record before it is written (recrawl's visit facts).
  using untried_hook = std::function<void(const frontier::url_entry&, record::fetch_record&)>;
  void on_untried(untried_hook hook) { on_untried_ = std::move(hook); }
  const record::output_fields& fields() const { return fields_; }
  // This run's counters (the runs before a resume are carried by the crawler).
  crawl_stats& counters() { return counters_; }
  const crawl_stats& counters() const { return counters_; }

  void emit(record::fetch_record& r);
  // A URL never tried (robots.txt refused it, the address policy blocked its host): attempts 0,
  // elapsed_ms 0 (SPEC "Precise rules").
  void untried(const frontier::url_entry& e, error_kind kind, std::string message);

 private:
  line_writer write_;
  record::output_fields fields_;
  frontier::crawl_frontier& front_;
  state::crawl_state* store_ = nullptr;
  crawl_stats counters_;
  untried_hook on_untried_;
};

}  // namespace trawler::crawl
