#pragma once

#include <cstdint>
#include <string_view>

// The Redis Cluster key slot, pure (no Asio): the unit tests and the fuzz project link it
// without the client. redis/cluster_client.hpp declares the same function beside the router.
namespace trawler::redis {

// CRC16 as Redis Cluster uses it (XMODEM: polynomial 0x1021, initial 0, no reflection, no final
// xor); crc16("123456789") is 0x31C3.
std::uint16_t crc16(std::string_view data) noexcept;

// The cluster slot of a key: CRC16 of its hash tag, the part between the first '{' and the next
// '}' when that part is not empty, else of the whole key; mod 16384.
std::uint16_t key_slot(std::string_view key);

}  // namespace trawler::redis
