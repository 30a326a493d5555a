#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace trawler::state {

// Maps a URL hash to a value (the URL's admission number) and a 32-bit check (a second,
// independent hash of the URL) with open addressing and linear probing: 16 bytes a slot and no
// allocation per entry, because it holds every URL of a crawl. It knows hashes only; the
// owner resolves hash collisions (see crawl_state).
class url_index {
 public:
  struct entry {
    std::uint32_t value;
    std::uint32_t check;
  };
  static constexpr std::uint32_t none = ~std::uint32_t{0};  // marks an empty slot
  // Values above this are reserved for the owner's markers.
  static constexpr std::uint32_t max_value = none - 16;

  // The entry for `hash`, or nullptr. Valid until the next set() or reserve().
  const entry* find(std::uint64_t hash) const noexcept;
  // Stores the entry (value not `none`) for `hash`, replacing any it had.
  void set(std::uint64_t hash, entry e);
  void reserve(std::size_t entries);
  std::size_t size() const noexcept { return size_; }

 private:
  struct slot {
    std::uint64_t hash;
    entry e;
  };
  void rehash(std::size_t capacity);
  std::size_t home(std::uint64_t hash) const noexcept;

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace trawler::state
