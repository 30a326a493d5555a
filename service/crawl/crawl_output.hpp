#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/crawl_config.hpp"
#include "crawl/crawler.hpp"
#include "sink/jsonl_sink.hpp"
#include "sink/segment_sink.hpp"
#include "state/crawl_state.hpp"
#include "warc/warc_writer.hpp"

namespace trawler::crawl {

// Where one crawl's records go: the JSONL sink and, with state.dir, the crash-safe state.
// With state, a record reaches the output only after the state that produced it (its done
// flag, the links it admitted, the stats that count it) is committed, so a kill between the
// two fetches nothing recorded again; once written, the state is told so at the next
// checkpoint. On resume the state alone knows what was recorded, whatever path the new run
// writes to; the last checkpoint's records, unconfirmed at a kill, are looked up in the output
// they went to, or trusted when that was stdout (they may be with a collector).
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
  // Resumes the crawler from the state, if there is one (its frontier, and its stats carried
  // on), takes its stats at each checkpoint, and is the crawler's way to flush its records
  // (cluster mode marks them done crawl-wide after). Call before admitting seeds.
  void attach(crawler& c);
  // Commits the state, then writes and flushes the records it covers. False when the output
  // cannot be written any more (sink_error() says why). The owner calls it on a timer (4 a
  // second); with state and stdout it also runs on its own, from the writer, as soon as
  // held_limit bytes of records wait. A kill between its commit and its write loses the lines
  // not yet written (stdout cannot be read back on resume; see crawl_state): to stdout, at
  // most held_limit bytes plus the line that crossed it.
  bool checkpoint();
  static constexpr std::size_t held_limit = sink::jsonl_sink::buffer_capacity;
  // The crawl ended; `completed` marks the state finished (a resume then fetches nothing).
  bool finish(bool completed);

  bool resumed() const { return resumed_; }
  // The crawl's state (state.dir), or nullptr.
  state::crawl_state* state() { return store_.get(); }
  const std::string& sink_error() const;

 private:
  crawl_output() = default;
  bool checkpoint(bool final);
  void write_line(const std::string& line);
  bool flush_sink();

  // One of the two: a file (or stdout), or rotated segments in output.dir.
  std::optional<sink::jsonl_sink> sink_;
  std::optional<sink::segment_sink> segments_;
  std::optional<warc::warc_writer> archive_;  // output.warc
  std::unique_ptr<state::crawl_state> store_;
  std::vector<std::string> held_;
  std::size_t held_bytes_ = 0;
  // Where the lines cannot be read back (stdout): held lines past held_limit are checkpointed
  // at once; elsewhere the timer's checkpoints alone.
  std::size_t checkpoint_at_ = static_cast<std::size_t>(-1);
  bool resumed_ = false;
  crawler* crawler_ = nullptr;
  crawl_stats carried_;  // what the runs before this one counted
};

}  // namespace trawler::crawl
