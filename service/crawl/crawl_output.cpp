#include "crawl/crawl_output.hpp"

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

}  // namespace

std::unique_ptr<crawl_output> crawl_output::open(const config::crawl_config& cfg, bool append,
                                                 open_error& error) {
  std::unique_ptr<crawl_output> out(new crawl_output());
  if (!cfg.state.dir.empty()) {
    std::string why;
    out->store_ = state::crawl_state::open(cfg.state.dir, why);
    if (!out->store_) {
      error = {"state.dir", why};
      return nullptr;
    }
    auto& store = *out->store_;
    out->resumed_ = store.resumed();
    const std::string current = absolute_output(cfg.output.path);
    if (out->resumed_) {
      // The outputs the last records may be in: this run's (appended to, so a torn last line
      // is cut), and the previous run's when it wrote elsewhere (only read).
      std::vector<std::string> recorded;
      std::uint64_t responses = 0;
      bool scanned = false;
      if (current != "-") {
        auto scan = state::scan_output(cfg.output.path, why);
        if (!why.empty()) {
          error = {"output.path", why};
          return nullptr;
        }
        if (scan.truncated_bytes > 0) {
          log::warn("output ended in a torn line; cut " + std::to_string(scan.truncated_bytes) +
                    " bytes before appending");
        }
        recorded = std::move(scan.recorded);
        responses = scan.responses;
        scanned = true;
      }
      const auto previous = store.get_meta(output_key);
      std::error_code ec;
      if (previous && *previous != "-" && *previous != current &&
          std::filesystem::is_regular_file(*previous, ec)) {
        auto scan = state::scan_output(*previous, why, /*cut_torn_line=*/false);
        if (why.empty()) {
          recorded.insert(recorded.end(), std::make_move_iterator(scan.recorded.begin()),
                          std::make_move_iterator(scan.recorded.end()));
          responses += scan.responses;
          scanned = true;
        } else {
          log::warn("cannot read the previous output: " + why);
          why.clear();
        }
      }
      if (scanned || !store.legacy()) {
        const auto r = store.reconcile(recorded);
        // The last checkpoint's stats hold once all its records are found written.
        auto stats = r.confirmed_by_output == r.unconfirmed ? stats_meta(store, next_stats_key)
                                                            : std::nullopt;
        if (!stats) stats = stats_meta(store, stats_key);
        if (stats) {
          out->carried_ = *stats;
        } else {
          // A store from before stats were kept: the outputs count what they hold.
          out->carried_.pages = responses;
          out->carried_.records = recorded.size();
        }
      }
    }
    store.put_meta(output_key, current);
  }
  std::string why;
  auto mode = append || out->resumed_ ? sink::open_mode::append : sink::open_mode::truncate;
  out->sink_ = sink::jsonl_sink::open(cfg.output.path, mode, why);
  if (!out->sink_) {
    error = {"output.path", why};
    return nullptr;
  }
  return out;
}

crawler::line_writer crawl_output::writer() {
  return [this](std::string&& line) {
    if (store_) {
      held_.push_back(std::move(line));
    } else {
      sink_->write_line(line);
    }
  };
}

void crawl_output::attach(crawler& c) {
  crawler_ = &c;
  if (store_) c.attach_state(*store_, carried_);
  c.set_output_flush([this] { return checkpoint(); });
}

bool crawl_output::checkpoint() {
  return checkpoint(/*final=*/false);
}

bool crawl_output::checkpoint(bool final) {
  if (!store_) return sink_->flush();
  std::string stats_json;
  // Taken with new records (and at the end): an idle or paused crawl writes no state.
  if (crawler_ && (!held_.empty() || final)) {
    stats_json = crawler_->stats().carried_json().dump();
    store_->put_meta(next_stats_key, stats_json);
  }
  std::string error;
  const bool committed = store_->checkpoint(error);
  if (!committed) log::error("state checkpoint failed: " + error);
  for (const auto& l : held_) sink_->write_line(l);
  held_.clear();
  const bool flushed = sink_->flush();
  // Confirmed only when both hold: the marks are in the state and their lines in the output.
  if (committed && flushed) {
    store_->output_written();
    if (!stats_json.empty()) store_->put_meta(stats_key, stats_json);
  }
  return flushed;
}

bool crawl_output::finish(bool completed) {
  if (store_ && completed) store_->set_finished(true);
  const bool ok = checkpoint(/*final=*/true);
  if (store_) {
    // The confirmation of the records just written, so a resume trusts all of them.
    std::string error;
    if (!store_->checkpoint(error)) log::error("state checkpoint failed: " + error);
  }
  return ok;
}

}  // namespace trawler::crawl
