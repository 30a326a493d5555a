#pragma once

#include <cstddef>
#include <string>
#include <string_view>

// UTF-8 validation and repair. Every string that reaches a record may come from a server, and
// the record promises valid UTF-8 (SPEC "The JSONL record").
namespace trawler::record {

// Length of the well-formed UTF-8 sequence starting at p (1 to 4), or 0 when ill-formed; then
// `bad` is the length of its maximal subpart (Unicode 15 section 3.9, "U+FFFD substitution of
// maximal subparts", as the WHATWG decoder does), so that one U+FFFD replaces it.
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end,
                                        std::size_t& bad) noexcept {
  const unsigned lead = p[0];
  if (lead < 0x80) return 1;
  std::size_t trail = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    trail = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    trail = 2;
    if (lead == 0xE0)
      lo = 0xA0;  // overlong
    else if (lead == 0xED)
      hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    trail = 3;
    if (lead == 0xF0)
      lo = 0x90;  // overlong
    else if (lead == 0xF4)
      hi = 0x8F;  // above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (std::size_t i = 1; i <= trail; ++i) {
    if (p + i >= end || p[i] < lo || p[i] > hi) {
      bad = i;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return trail + 1;
}

inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

bool is_valid_utf8(std::string_view s) noexcept;

// Each maximal ill-formed subpart becomes U+FFFD; everything else is kept byte for byte.
std::string repair_utf8(std::string_view s);

// As repair_utf8, appending to out (no temporary when the caller already has a buffer).
void append_repaired_utf8(std::string& out, std::string_view s);

}  // namespace trawler::record
