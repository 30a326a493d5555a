#include "redis/slot.hpp"

#include <array>

namespace trawler::redis {

namespace {

// The table of the Redis Cluster specification (crc16.c), computed: entry n is the CRC of the
// byte n shifted in from the top.
constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned n = 0; n < 256; ++n) {
    unsigned crc = n << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1;
    t[n] = static_cast<std::uint16_t>(crc);
  }
  return t;
}

constexpr auto crc_table = make_table();
static_assert(crc_table[1] == 0x1021 && crc_table[255] == 0x1ef0, "the spec's table");

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    crc = static_cast<std::uint16_t>((crc << 8) ^ crc_table[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) {
  if (const auto open = key.find('{'); open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<std::uint16_t>(crc16(key) & 16383);
}

}  // namespace trawler::redis
