#include "api/crawl_history.hpp"

#include <chrono>
#include <cmath>

#include "record/record.hpp"
#include "report/crawl_report.hpp"

namespace trawler::api {

using nlohmann::json;

namespace {

// Samples come about a second apart: one counts as a step when it is at least this much of
// a step past the last kept.
constexpr double step_slack_s = 0.25;

}  // namespace

void crawl_history::add(const history_sample& s) {
  if (!(s.elapsed_s >= 0)) return;
  // A paused crawl whose counters stand still: nothing new (its clock stands still too).
  if (!samples_.empty()) {
    const auto& last = samples_.back();
    if (std::abs(s.elapsed_s - last.elapsed_s) < 0.001 && s.pages == last.pages &&
        s.http_errors == last.http_errors && s.errors == last.errors && s.bytes == last.bytes &&
        s.queued == last.queued && s.in_flight == last.in_flight) {
      return;
    }
  }
  if (has_latest_) {
    samples_.pop_back();
    has_latest_ = false;
  }
  while (!samples_.empty() && samples_.back().elapsed_s > s.elapsed_s) samples_.pop_back();
  if (samples_.empty() || s.elapsed_s - samples_.back().elapsed_s >= step_s_ - step_slack_s) {
    samples_.push_back(s);
    if (samples_.size() > capacity) thin();
  } else {
    samples_.push_back(s);
    has_latest_ = true;
  }
}

void crawl_history::thin() {
  // Keeps the first sample and every other one after it.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < samples_.size(); i += 2) samples_[kept++] = samples_[i];
  samples_.resize(kept);
  step_s_ *= 2;
}

json crawl_history::to_json(std::optional<double> last_s) const {
  json list = json::array();
  const double from = last_s && !samples_.empty() ? samples_.back().elapsed_s - *last_s : -1;
  for (const auto& s : samples_) {
    if (s.elapsed_s < from) continue;
    list.push_back({{"at", record::rfc3339_utc(std::chrono::system_clock::time_point(
                               std::chrono::milliseconds(s.at_ms)))},
                    {"elapsed_s", std::round(s.elapsed_s * 1000) / 1000},
                    {"pages", s.pages},
                    {"http_errors", s.http_errors},
                    {"errors", s.errors},
                    {"bytes", s.bytes},
                    {"queued", s.queued},
                    {"in_flight", s.in_flight}});
  }
  return {{"step_s", step_s_}, {"capacity", capacity}, {"samples", std::move(list)}};
}

std::optional<crawl_history> crawl_history::from_json(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const auto step = j.find("step_s");
  const auto list = j.find("samples");
  if (step == j.end() || !step->is_number() || !(step->get<double>() >= 1) || list == j.end() ||
      !list->is_array() || list->size() > capacity + 1) {
    return std::nullopt;
  }
  crawl_history h;
  h.step_s_ = step->get<double>();
  for (const auto& item : *list) {
    if (!item.is_object()) return std::nullopt;
    history_sample s;
    const auto el = item.find("elapsed_s");
    const auto at = item.find("at");
    if (el == item.end() || !el->is_number() || at == item.end() || !at->is_string())
      return std::nullopt;
    s.elapsed_s = el->get<double>();
    const auto when = report::parse_rfc3339_ms(at->get<std::string>());
    if (!when) return std::nullopt;
    s.at_ms = *when;
    for (auto [key, into] :
         {std::pair{"pages", &s.pages}, std::pair{"http_errors", &s.http_errors},
          std::pair{"errors", &s.errors}, std::pair{"bytes", &s.bytes},
          std::pair{"queued", &s.queued}, std::pair{"in_flight", &s.in_flight}}) {
      const auto v = item.find(key);
      if (v == item.end() || !v->is_number_unsigned()) return std::nullopt;
      *into = v->get<std::uint64_t>();
    }
    if (!h.samples_.empty() && s.elapsed_s < h.samples_.back().elapsed_s) return std::nullopt;
    h.samples_.push_back(s);
  }
  // The last sample may have been the latest, off the grid: taken as on it.
  while (h.samples_.size() > capacity) h.thin();
  return h;
}

}  // namespace trawler::api
