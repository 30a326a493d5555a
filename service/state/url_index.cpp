#include "state/url_index.hpp"

#include "common/hash_mix.hpp"

namespace trawler::state {

namespace {

// Grow past 70 % load: linear probing degrades quickly beyond that.
bool over_load(std::size_t entries, std::size_t capacity) noexcept {
  return entries * 10 > capacity * 7;
}

}  // namespace

std::size_t url_index::home(std::uint64_t hash) const noexcept {
  // Callers may hand in weak hashes (tests use deliberately bad ones): the slot comes from a
  // finalizer mix.
  return static_cast<std::size_t>(mix64(hash)) & (slots_.size() - 1);
}

const url_index::entry* url_index::find(std::uint64_t hash) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(hash);; i = (i + 1) & mask) {
    const slot& s = slots_[i];
    if (s.e.value == none) return nullptr;
    if (s.hash == hash) return &s.e;
  }
}

void url_index::set(std::uint64_t hash, entry e) {
  if (slots_.empty() || over_load(size_ + 1, slots_.size())) {
    rehash(slots_.empty() ? 1024 : slots_.size() * 2);
  }
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home(hash);; i = (i + 1) & mask) {
    slot& s = slots_[i];
    if (s.e.value == none) {
      s = slot{hash, e};
      ++size_;
      return;
    }
    if (s.hash == hash) {
      s.e = e;
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
  std::vector<slot> old(capacity, slot{0, entry{none, 0}});
  old.swap(slots_);
  const std::size_t mask = capacity - 1;
  for (const slot& s : old) {
    if (s.e.value == none) continue;
    std::size_t i = home(s.hash);
    while (slots_[i].e.value != none) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace trawler::state
