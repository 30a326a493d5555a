#include "crawl/recorder.hpp"

#include "state/crawl_state.hpp"

namespace trawler::crawl {

recorder::recorder(line_writer write, record::output_fields fields, frontier::crawl_frontier& front)
    : write_(std::move(write)), fields_(fields), front_(front) {}

void recorder::emit(record::fetch_record& r) {
  if (r.status) {
    ++counters_.pages;
    int cls = *r.status / 100;
    if (cls >= 2 && cls <= 5) {
      ++counters_.status_classes[cls - 2];
    } else {
      ++counters_.other_status;
    }
  }
  if (r.error) ++counters_.errors[static_cast<std::size_t>(*r.error)];
  counters_.bytes += r.size;
  ++counters_.records;
  // A cancelled URL is fetched again on resume (SPEC "More edges").
  const bool done = r.error != error_kind::cancelled;
  if (store_ && done) store_->recorded(r.url);
  write_(record::to_json_line(r, fields_));
  if (done) front_.recorded(r.url);
}

void recorder::untried(const frontier::url_entry& e, error_kind kind, std::string message) {
  record::fetch_record r;
  r.url = e.url;
  r.error = kind;
  r.error_message = std::move(message);
  r.depth = e.depth;
  r.requisite = e.requisite;
  if (e.referrer) r.referrer = *e.referrer;
  r.fetched_at = std::chrono::system_clock::now();
  if (on_untried_) on_untried_(e, r);
  emit(r);
}

}  // namespace trawler::crawl
