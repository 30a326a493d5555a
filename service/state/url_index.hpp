#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trawler::state {

// Maps a URL hash to a value (the URL's admission number) with open addressing and linear
// probing: 16 bytes a slot and no allocation per entry, because it holds every URL of a crawl.
// It knows hashes only; the owner resolves hash collisions (see crawl_state).
class url_index {
 public:
  static constexpr std::uint64_t none = ~std::uint64_t{0};
  // Values at or above this are reserved for the owner's markers.
  static constexpr std::uint64_t max_value = none - 16;

  // The value stored for `hash`, or `none`.
  std::uint64_t find(std::uint64_t hash) const noexcept;
  // Stores `value` (not `none`) for `hash`, replacing any value it had.
  void set(std::uint64_t hash, std::uint64_t value);
  void reserve(std::size_t entries);
  std::size_t size() const noexcept { return size_; }

 private:
  struct slot {
    std::uint64_t hash;
    std::uint64_t value;  // `none`: empty
  };
  void rehash(std::size_t capacity);
  std::size_t home(std::uint64_t hash) const noexcept;

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace trawler::state
