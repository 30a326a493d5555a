#include "crawl/crawl_stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace trawler::crawl {

void loop_lag::observe(double ms) noexcept {
  if (!(ms >= 0)) ms = 0;  // a timer cannot run early; NaN counts as on time
  const double slot = ms / bucket_ms;
  const std::size_t i =
      slot >= static_cast<double>(buckets) ? buckets : static_cast<std::size_t>(slot);
  ++counts_[i];
  ++samples_;
  if (ms > max_ms_) max_ms_ = ms;
}

double loop_lag::quantile_ms(double q) const noexcept {
  if (samples_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(samples_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < std::max<std::uint64_t>(rank, 1)) continue;
    if (i == buckets) return max_ms_;  // past the buckets: the maximum bounds it
    return std::min(max_ms_, static_cast<double>(i + 1) * bucket_ms);
  }
  return max_ms_;
}

std::uint64_t crawl_stats::error_total() const {
  std::uint64_t n = 0;
  for (auto e : errors) n += e;
  return n;
}

nlohmann::json crawl_stats::to_json() const {
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] != 0) errs[std::string(to_string(all_error_kinds[i]))] = errors[i];
  }
  return {
      {"pages", pages},
      {"status",
       {{"2xx", status_classes[0]},
        {"3xx", status_classes[1]},
        {"4xx", status_classes[2]},
        {"5xx", status_classes[3]}}},
      {"errors", errs},
      {"bytes", bytes},
      {"seen", seen},
      {"queued", queued},
      {"in_flight", in_flight},
      {"filtered", filtered},
      {"robots_fetches", robots_fetches},
      {"elapsed_s", elapsed_s},
      {"pages_per_s", pages_per_s()},
      {"loop_lag_ms",
       {{"p50", lag.quantile_ms(0.50)},
        {"p99", lag.quantile_ms(0.99)},
        {"max", lag.max_ms()},
        {"samples", lag.samples()}}},
  };
}

std::string crawl_stats::report() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%llu pages in %.2f s (%.1f pages/s), %llu bytes\n",
                static_cast<unsigned long long>(pages), elapsed_s, pages_per_s(),
                static_cast<unsigned long long>(bytes));
  out += line;
  const char* names[] = {"2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 4; ++i) {
    if (status_classes[i] == 0) continue;
    std::snprintf(line, sizeof line, "  %-16s %llu\n", names[i],
                  static_cast<unsigned long long>(status_classes[i]));
    out += line;
  }
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] == 0) continue;
    std::snprintf(line, sizeof line, "  error %-10s %llu\n",
                  std::string(to_string(all_error_kinds[i])).c_str(),
                  static_cast<unsigned long long>(errors[i]));
    out += line;
  }
  std::snprintf(
      line, sizeof line, "  seen %llu, filtered %llu, still queued %llu, robots.txt fetches %llu\n",
      static_cast<unsigned long long>(seen), static_cast<unsigned long long>(filtered),
      static_cast<unsigned long long>(queued), static_cast<unsigned long long>(robots_fetches));
  out += line;
  if (lag.samples() > 0) {
    std::snprintf(line, sizeof line, "  event-loop lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                  lag.quantile_ms(0.50), lag.quantile_ms(0.99), lag.max_ms());
    out += line;
  }
  return out;
}

std::string crawl_stats::progress_line() const {
  char line[256];
  std::snprintf(line, sizeof line,
                "pages %llu  %.1f/s  queued %llu  in flight %llu  errors %llu  %.0f s",
                static_cast<unsigned long long>(pages), pages_per_s(),
                static_cast<unsigned long long>(queued), static_cast<unsigned long long>(in_flight),
                static_cast<unsigned long long>(error_total()), elapsed_s);
  return line;
}

}  // namespace trawler::crawl
