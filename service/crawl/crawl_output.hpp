#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/crawl_config.hpp"
#include "crawl/crawler.hpp"
#include "sink/jsonl_sink.hpp"
#include "state/crawl_state.hpp"

namespace trawler::crawl {

// Where one crawl's records go: the JSONL sink and, with state.dir, the crash-safe state.
// With state, a record reaches the output only after the state that produced it (the links
// it admitted) is committed, so a kill between the two loses nothing: on resume the output is
// the truth of what was recorded and the state of what was admitted.
class crawl_output {
 public:
  struct open_error {
    std::string key;  // "state.dir" or "output.path"
    std::string message;
  };

  // Opens the state (resuming when it holds a crawl: the output is scanned, a torn last line
  // cut, and appended to) and the output (truncated unless resuming or `append`).
  static std::unique_ptr<crawl_output> open(const config::crawl_config& cfg, bool append,
                                            open_error& error);

  // The line writer to give the crawler.
  crawler::line_writer writer();
  // Resumes the crawler from the state, if there is one. Call before admitting seeds.
  void attach(crawler& c);
  // Commits the state, then writes and flushes the records it covers. False when the output
  // cannot be written any more (sink_error() says why).
  bool checkpoint();
  // The crawl ended; `completed` marks the state finished (a resume then fetches nothing).
  bool finish(bool completed);

  bool resumed() const { return resumed_; }
  const std::string& sink_error() const { return sink_->error(); }

 private:
  crawl_output() = default;

  std::optional<sink::jsonl_sink> sink_;
  std::unique_ptr<state::crawl_state> store_;
  std::vector<std::string> held_;
  bool resumed_ = false;
  std::uint64_t recorded_responses_ = 0;  // in the output before a resume
};

}  // namespace trawler::crawl
