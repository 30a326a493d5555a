#include "state/url_index.hpp"

namespace trawler::state {

namespace {

// Callers may hand in weak hashes (std::hash of an integer is the identity; tests use
// deliberately bad ones), so the slot comes from a finalizer mix (MurmurHash3 fmix64).
std::uint64_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Grow past 70 % load: linear probing degrades quickly beyond that.
bool over_load(std::size_t entries, std::size_t capacity) noexcept {
  return entries * 10 > capacity * 7;
}

}  // namespace

std::size_t url_index::home(std::uint64_t hash) const noexcept {
  return static_cast<std::size_t>(mix(hash)) & (slots_.size() - 1);
}

std::uint64_t url_index::find(std::uint64_t hash) const noexcept {
  if (slots_.empty()) return none;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(hash);; i = (i + 1) & mask) {
    const slot& s = slots_[i];
    if (s.value == none) return none;
    if (s.hash == hash) return s.value;
  }
}

void url_index::set(std::uint64_t hash, std::uint64_t value) {
  if (slots_.empty() || over_load(size_ + 1, slots_.size())) {
    rehash(slots_.empty() ? 1024 : slots_.size() * 2);
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(hash);; i = (i + 1) & mask) {
    slot& s = slots_[i];
    if (s.value == none) {
      s = slot{hash, value};
      ++size_;
      return;
    }
    if (s.hash == hash) {
      s.value = value;
      return;
    }
  }
}

void url_index::reserve(std::size_t entries) {
  std::size_t capacity = slots_.empty() ? 1024 : slots_.size();
  while (over_load(entries, capacity)) capacity *= 2;
  if (capacity > slots_.size()) rehash(capacity);
}

void url_index::rehash(std::size_t capacity) {
  std::vector<slot> old(capacity, slot{0, none});
  old.swap(slots_);
  const std::size_t mask = capacity - 1;
  for (const slot& s : old) {
    if (s.value == none) continue;
    std::size_t i = home(s.hash);
    while (slots_[i].value != none) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace trawler::state
