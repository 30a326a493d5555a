#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace trawler::metrics {

// A Prometheus histogram of fetch durations in seconds, with fixed buckets from 5 ms to 30 s
// (the client libraries' defaults, stretched to the default request timeout). Fixed bounds
// keep observe() allocation-free and every crawl's series comparable. Not thread-safe: one
// owner, the I/O thread.
class histogram {
 public:
  // Upper bounds, ascending; the implicit last bucket is +Inf.
  static constexpr std::array<double, 12> upper_bounds{0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                       0.5,   1.0,  2.5,   5.0,  10.0, 30.0};

  // A NaN is ignored (it would poison the sum); anything else lands in the first bucket whose
  // bound is >= seconds, or in +Inf.
  void observe(double seconds) noexcept;

  // Observations <= upper_bounds[i]; i == upper_bounds.size() is +Inf, i.e. count().
  std::uint64_t cumulative(std::size_t i) const noexcept;
  std::uint64_t count() const noexcept { return count_; }
  double sum() const noexcept { return sum_; }

  // The per-bucket counts (not cumulative; the last is +Inf), and the histogram rebuilt from
  // them: how a crawl's histogram is carried across a resume. assign() is false, and changes
  // nothing, when `counts` does not have one count per bucket or `sum` is not a number >= 0.
  std::span<const std::uint64_t> bucket_counts() const noexcept { return buckets_; }
  bool assign(std::span<const std::uint64_t> counts, double sum) noexcept;

  bool operator==(const histogram&) const = default;

 private:
  std::array<std::uint64_t, upper_bounds.size() + 1> buckets_{};  // not cumulative
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace trawler::metrics
