#include "crawl/crawl_output.hpp"

#include <boost/asio/post.hpp>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/log.hpp"
#include "state/output_scan.hpp"

namespace trawler::crawl {

namespace {

// Meta keys of the state: the output the records went to, and the stats that count them (as of
// the last confirmed checkpoint, and as of the last checkpoint).
constexpr const char* output_key = "output.path";
constexpr const char* stats_key = "stats";
constexpr const char* next_stats_key = "stats.next";
// With segments: the serial the last checkpoint's records started in.
constexpr const char* segment_key = "output.segment";
constexpr const char* outputs_key = "outputs";
constexpr const char* config_key = "config";

// Adds `path` to the state's list of outputs (kept from this version on; a store from before
// starts its list with the output it named).
void list_output(state::crawl_state& store, const std::string& path) {
  auto outputs = nlohmann::json::array();
  if (auto text = store.get_meta(outputs_key)) {
    outputs = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!outputs.is_array()) outputs = nlohmann::json::array();
  } else if (auto previous = store.get_meta(output_key)) {
    outputs.push_back(*previous);
  }
  for (const auto& o : outputs) {
    if (o.is_string() && o.get<std::string>() == path) return;
  }
  outputs.push_back(path);
  store.put_meta(outputs_key, outputs.dump());
}

std::string absolute_output(const std::string& path) {
  if (path == "-") return path;
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

std::optional<crawl_stats> stats_meta(const state::crawl_state& st, const char* key) {
  auto text = st.get_meta(key);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  return crawl_stats::from_carried_json(j);
}

// The records of the segments in `dir` from `from_serial` on, added to `out`.
bool scan_segments(const std::string& dir, std::uint64_t from_serial, state::output_scan& out,
                   std::string& error) {
  for (const auto& f : sink::list_segments(dir)) {
    if (f.serial < from_serial || f.open) continue;
    std::string content;
    if (!sink::read_segment(f, content, error)) return false;
    state::scan_lines(content, out);
  }
  return true;
}

}  // namespace

std::unique_ptr<crawl_output> crawl_output::open(const config::crawl_config& cfg, bool append,
                                                 open_error& error) {
  std::unique_ptr<crawl_output> out(new crawl_output());
  const bool to_dir = !cfg.output.dir.empty();
  std::string why;
  if (to_dir) {
    // Opened first: it completes a crash's leftover segment, which the scan below then reads.
    sink::segment_settings seg;
    seg.dir = cfg.output.dir;
    seg.rotate_bytes = static_cast<std::uint64_t>(cfg.output.rotate_bytes);
    seg.rotate_seconds = std::chrono::seconds(cfg.output.rotate_seconds);
    seg.compress = sink::compression_named(cfg.output.compress).value_or(sink::compression::none);
    out->segments_ = sink::segment_sink::open(std::move(seg), why);
    if (!out->segments_) {
      error = {"output.dir", why};
      return nullptr;
    }
  }
  if (!cfg.output.warc.empty()) {
    // Also opened before the state: a crash's leftover WARC file is completed first, so the
    // records that point into it find it under its final name.
    warc::warc_writer::settings ws;
    ws.dir = cfg.output.warc;
    ws.rotate_bytes = static_cast<std::uint64_t>(cfg.output.warc_rotate_bytes);
    ws.info = {{"robots", cfg.robots.obey ? "obey" : "ignore"},
               {"http-header-user-agent", cfg.robots.user_agent}};
    if (!cfg.cluster.redis.empty()) ws.info.emplace_back("isPartOf", cfg.cluster.name);
    out->archive_ = warc::warc_writer::open(std::move(ws), why);
    if (!out->archive_) {
      error = {"output.warc", why};
      return nullptr;
    }
  }
  if (!cfg.state.dir.empty()) {
    out->store_ = state::crawl_state::open(cfg.state.dir, why);
    if (!out->store_) {
      error = {"state.dir", why};
      return nullptr;
    }
    auto& store = *out->store_;
    out->resumed_ = store.resumed();
    const std::string current =
        to_dir ? absolute_output(cfg.output.dir) : absolute_output(cfg.output.path);
    if (out->resumed_) {
      // The outputs the last checkpoint's records may be in: this run's (a file is appended
      // to, so a torn last line is cut), and the previous run's when it wrote elsewhere (only
      // read). In a folder they are in the segments from the one open at that checkpoint on.
      state::output_scan found;
      bool scanned = false;
      const auto previous = store.get_meta(output_key);
      std::uint64_t from_serial = 0;
      if (auto serial = store.get_meta(segment_key)) {
        from_serial = std::strtoull(serial->c_str(), nullptr, 10);
      }
      std::error_code ec;
      if (to_dir) {
        if (!previous || *previous == current) {
          if (!scan_segments(current, from_serial, found, why)) {
            error = {"output.dir", why};
            return nullptr;
          }
          scanned = true;
        }
      } else if (current != "-") {
        found = state::scan_output(cfg.output.path, why);
        if (!why.empty()) {
          error = {"output.path", why};
          return nullptr;
        }
        if (found.truncated_bytes > 0) {
          log::warn("output ended in a torn line; cut " + std::to_string(found.truncated_bytes) +
                    " bytes before appending");
        }
        scanned = true;
      }
      if (previous && *previous != "-" && *previous != current) {
        if (std::filesystem::is_directory(*previous, ec)) {
          if (scan_segments(*previous, from_serial, found, why)) {
            scanned = true;
          } else {
            log::warn("cannot read the previous output: " + why);
            why.clear();
          }
        } else if (std::filesystem::is_regular_file(*previous, ec)) {
          auto scan = state::scan_output(*previous, why, /*cut_torn_line=*/false);
          if (why.empty()) {
            found.recorded.insert(found.recorded.end(),
                                  std::make_move_iterator(scan.recorded.begin()),
                                  std::make_move_iterator(scan.recorded.end()));
            found.responses += scan.responses;
            scanned = true;
          } else {
            log::warn("cannot read the previous output: " + why);
            why.clear();
          }
        }
      }
      // The last run wrote to stdout: its last checkpoint's lines may have reached a collector
      // and cannot be looked up, so their done flags, committed before the lines were written,
      // are trusted (a kill between the two loses those lines rather than fetch them again).
      const bool to_stdout = (previous ? *previous : current) == "-";
      if (scanned || !store.legacy()) {
        const auto r = store.reconcile(
            found.recorded, to_stdout ? state::crawl_state::unconfirmed_records::unreadable
                                      : state::crawl_state::unconfirmed_records::scanned);
        // The last checkpoint's stats hold once all its records are found written (or trusted).
        auto stats = r.confirmed_by_output + r.trusted == r.unconfirmed
                         ? stats_meta(store, next_stats_key)
                         : std::nullopt;
        if (!stats) stats = stats_meta(store, stats_key);
        if (stats) {
          out->carried_ = *stats;
        } else {
          // A store from before stats were kept: the outputs count what they hold.
          out->carried_.pages = found.responses;
          out->carried_.records = found.recorded.size();
        }
      }
    }
    // Every output a run of this crawl wrote to, oldest first: where `trawler explain` looks.
    list_output(store, current);
    store.put_meta(output_key, current);
    // The rules this run applies, so that `trawler explain` can judge a URL never seen.
    store.put_meta(config_key, config::to_json(cfg).dump());
  }
  if (!to_dir) {
    auto mode = append || out->resumed_ ? sink::open_mode::append : sink::open_mode::truncate;
    out->sink_ = sink::jsonl_sink::open(cfg.output.path, mode, why);
    if (!out->sink_) {
      error = {"output.path", why};
      return nullptr;
    }
    if (out->store_ && cfg.output.path == "-") out->checkpoint_at_ = held_limit;
  }
  return out;
}

void crawl_output::write_line(const std::string& line) {
  if (segments_) {
    segments_->write_line(line);
  } else {
    sink_->write_line(line);
  }
}

bool crawl_output::flush_sink() {
  // The archive is written through as each page is recorded; one that failed stops the crawl
  // like an output that failed.
  if (archive_ && !archive_->flush()) return false;
  return segments_ ? segments_->flush() : sink_->flush();
}

const std::string& crawl_output::sink_error() const {
  if (archive_ && archive_->failed()) return archive_->error();
  return segments_ ? segments_->error() : sink_->error();
}

crawler::line_writer crawl_output::writer() {
  return [this](std::string&& line) {
    if (store_) {
      held_bytes_ += line.size();
      held_.push_back(std::move(line));
      if (held_bytes_ >= checkpoint_at_ && crawler_) {
        // Here and now, not posted: the handlers queued before a posted one could hold
        // back any number of records (a robots refusal of a whole host is one handler), and
        // the bound a SIGKILL costs on stdout would be gone. The state is consistent at every
        // record: its done flag, the links its page admitted and the stats that count it are
        // in the state before its line comes here.
        // A failed output is seen by the owner's next checkpoint, which stops the crawl.
        checkpoint();
      }
    } else {
      write_line(line);
    }
  };
}

void crawl_output::attach(crawler& c) {
  crawler_ = &c;
  if (store_) c.attach_state(*store_, carried_);
  if (archive_) c.set_archive(*archive_);
  c.set_output_flush([this] { return checkpoint(); });
}

bool crawl_output::checkpoint() {
  return checkpoint(/*final=*/false);
}

bool crawl_output::checkpoint(bool final) {
  if (!store_) return flush_sink();
  std::string stats_json;
  // Taken with new records (and at the end): an idle or paused crawl writes no state.
  if (crawler_ && (!held_.empty() || final)) {
    stats_json = crawler_->stats().carried_json().dump();
    store_->put_meta(next_stats_key, stats_json);
    if (segments_) store_->put_meta(segment_key, std::to_string(segments_->next_serial()));
  }
  std::string error;
  const bool committed = store_->checkpoint(error);
  if (!committed) log::error("state checkpoint failed: " + error);
  for (const auto& l : held_) write_line(l);
  held_.clear();
  held_bytes_ = 0;
  const bool flushed = flush_sink();
  // Confirmed only when both hold: the marks are in the state and their lines in the output.
  if (committed && flushed) {
    store_->output_written();
    if (!stats_json.empty()) store_->put_meta(stats_key, stats_json);
  }
  return flushed;
}

bool crawl_output::finish(bool completed) {
  if (store_ && completed) store_->set_finished(true);
  bool ok = checkpoint(/*final=*/true);
  // The open segment is published: a collector takes it now, not at the next run.
  if (segments_ && !segments_->close()) ok = false;
  if (archive_ && !archive_->close()) ok = false;
  if (store_) {
    // The confirmation of the records just written, so a resume trusts all of them.
    std::string error;
    if (!store_->checkpoint(error)) log::error("state checkpoint failed: " + error);
  }
  return ok;
}

}  // namespace trawler::crawl
