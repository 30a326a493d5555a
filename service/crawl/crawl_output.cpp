#include "crawl/crawl_output.hpp"

#include "common/log.hpp"
#include "state/output_scan.hpp"

namespace trawler::crawl {

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
    out->resumed_ = out->store_->resumed();
    if (out->resumed_ && cfg.output.path != "-") {
      auto scan = state::scan_output(cfg.output.path, why);
      if (!why.empty()) {
        error = {"output.path", why};
        return nullptr;
      }
      out->store_->reconcile(scan.recorded);
      out->recorded_responses_ = scan.responses;
      if (scan.truncated_bytes > 0) {
        log::warn("output ended in a torn line; cut " + std::to_string(scan.truncated_bytes) +
                  " bytes before appending");
      }
    }
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
  if (store_) c.attach_state(*store_, recorded_responses_);
}

bool crawl_output::checkpoint() {
  if (store_) {
    std::string error;
    if (!store_->checkpoint(error)) log::error("state checkpoint failed: " + error);
    for (const auto& l : held_) sink_->write_line(l);
    held_.clear();
  }
  return sink_->flush();
}

bool crawl_output::finish(bool completed) {
  if (store_ && completed) store_->set_finished(true);
  return checkpoint();
}

}  // namespace trawler::crawl
