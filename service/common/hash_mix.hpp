#pragma once

#include <cstdint>

namespace trawler {

// MurmurHash3's 64-bit finalizer (fmix64): every input bit flips each output bit with about
// even odds. Spreads weak hashes over a table's slots and turns counters into jitter.
constexpr std::uint64_t mix64(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace trawler
