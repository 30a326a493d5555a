#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace trawler {

// Decodes the UTF-8 sequence at s[i] and advances i past it. nullopt (i unchanged) for a
// truncated sequence, a bad continuation byte, an overlong form, a surrogate or a value past
// U+10FFFF: none of those are UTF-8 (RFC 3629).
inline std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  static constexpr char32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    ++i;
    return c;
  }
  std::size_t len = 0;
  char32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min_for_length[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  i += len;
  return cp;
}

}  // namespace trawler
