#include "record/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace trawler::record {

namespace {

// Skips the leading run of ASCII bytes eight at a time: most text on the web is ASCII.
const unsigned char* skip_ascii(const unsigned char* p, const unsigned char* end) noexcept {
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    if (word & 0x8080808080808080ULL) break;
    p += 8;
  }
  while (p < end && *p < 0x80) ++p;
  return p;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  const auto end = p + s.size();
  while (p < end) {
    p = skip_ascii(p, end);
    if (p == end) break;
    std::size_t bad = 0;
    const std::size_t n = utf8_sequence_length(p, end, bad);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

void append_repaired_utf8(std::string& out, std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  const auto end = p + s.size();
  auto run = p;  // start of the well-formed bytes not yet copied
  while (p < end) {
    p = skip_ascii(p, end);
    if (p == end) break;
    std::size_t bad = 0;
    const std::size_t n = utf8_sequence_length(p, end, bad);
    if (n != 0) {
      p += n;
      continue;
    }
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    out.append(replacement_character);
    p += bad;
    run = p;
  }
  out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(end - run));
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_repaired_utf8(out, s);
  return out;
}

}  // namespace trawler::record
