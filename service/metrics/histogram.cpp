#include "metrics/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace trawler::metrics {

void histogram::observe(double seconds) noexcept {
  if (std::isnan(seconds)) return;
  // lower_bound: a value equal to a bound belongs to that bucket (le = "less or equal").
  auto it = std::lower_bound(upper_bounds.begin(), upper_bounds.end(), seconds);
  ++buckets_[static_cast<std::size_t>(it - upper_bounds.begin())];
  ++count_;
  sum_ += seconds;
}

std::uint64_t histogram::cumulative(std::size_t i) const noexcept {
  std::uint64_t n = 0;
  std::size_t last = std::min(i, buckets_.size() - 1);
  for (std::size_t b = 0; b <= last; ++b) n += buckets_[b];
  return n;
}

bool histogram::assign(std::span<const std::uint64_t> counts, double sum) noexcept {
  if (counts.size() != buckets_.size() || !(sum >= 0)) return false;
  std::copy(counts.begin(), counts.end(), buckets_.begin());
  count_ = 0;
  for (auto n : buckets_) count_ += n;
  sum_ = sum;
  return true;
}

}  // namespace trawler::metrics
