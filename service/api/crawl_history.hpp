#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

// A crawl's counters over its own time, for the dashboard's charts (GET /v1/crawls/{id}/history):
// one sample a second while the crawl runs, thinned as it grows so that a crawl of any length
// keeps at most `capacity` samples. Pure: the crawl manager feeds it.
namespace trawler::api {

struct history_sample {
  std::int64_t at_ms = 0;  // when it was taken, Unix time in milliseconds
  double elapsed_s = 0;    // the crawl's elapsed_s then (paused time left out)
  std::uint64_t pages = 0;
  std::uint64_t http_errors = 0;  // responses 4xx/5xx
  std::uint64_t errors = 0;       // fetches without a usable response
  std::uint64_t bytes = 0;
  std::uint64_t queued = 0;
  std::uint64_t in_flight = 0;
  bool operator==(const history_sample&) const = default;
};

class crawl_history {
 public:
  // 720 samples: 12 minutes a second apart; a longer crawl's samples are twice as far apart
  // each time it doubles (24 min at 2 s, 48 min at 4 s...). About 64 bytes a sample: at most
  // 46 KB per crawl in memory, about 80 KB as JSON.
  static constexpr std::size_t capacity = 720;

  // A sample taken now (the manager takes one a second). It is kept on the grid when it is a
  // step of crawl time past the last sample kept; otherwise it stands as the latest sample
  // (replaced by the next one), so the series always ends at the crawl's last counts. When the
  // grid outgrows `capacity`, every other sample goes and the step doubles: counters are
  // cumulative, so the rate between two kept samples is still exact. A sample older (in crawl
  // time) than the last kept drops the samples after it (a resume after a kill goes on from
  // its state's last checkpoint). A sample with the last one's crawl time and counts (a
  // paused crawl) is not added.
  void add(const history_sample& s);

  const std::vector<history_sample>& samples() const noexcept { return samples_; }
  double step_s() const noexcept { return step_s_; }
  bool empty() const noexcept { return samples_.empty(); }

  // {"step_s", "capacity", "samples": [{"at", "elapsed_s", "pages", "http_errors", "errors",
  //  "bytes", "queued", "in_flight"}]}; "at" is RFC 3339 UTC. `last_s`: only the samples of the
  // last that many seconds of crawl time.
  nlohmann::json to_json(std::optional<double> last_s = std::nullopt) const;
  // What to_json() wrote (the crawl's history.json); nullopt when it is not that.
  static std::optional<crawl_history> from_json(const nlohmann::json& j);

 private:
  void thin();

  std::vector<history_sample> samples_;
  double step_s_ = 1;
  bool has_latest_ = false;  // samples_.back() is off the grid (the latest, replaced next)
};

}  // namespace trawler::api
