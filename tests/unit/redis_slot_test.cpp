// The Redis Cluster key slot: CRC16 (XMODEM) and hash tags, checked against the spec's test
// vector and against what `redis-cli cluster keyslot` answers on Redis 7.0.
#include "redis/slot.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using trawler::redis::crc16;
using trawler::redis::key_slot;

TEST(RedisSlot, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the cluster spec's test vector
  EXPECT_EQ(crc16(""), 0);
  EXPECT_EQ(crc16(std::string(1, '\0')), 0);
  EXPECT_EQ(crc16("A"), 0x58E5);
}

TEST(RedisSlot, KnownSlotsFromRedis) {
  // `redis-cli cluster keyslot KEY` on Redis 7.0.15.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
  EXPECT_EQ(key_slot("trawler:{fleet}:seen"), 14574);
  EXPECT_EQ(key_slot("trawler:{fleet}:q:example.com"), 14574);
  EXPECT_EQ(key_slot("trawler:{fleet:b17}:q:example.com"), 15839);
  EXPECT_EQ(key_slot("trawler:{fleet:b18}:seen"), 3120);
  EXPECT_EQ(key_slot("{fleet:b18}"), 3120);
  EXPECT_EQ(key_slot("fleet:b18"), 3120);
}

TEST(RedisSlot, HashTags) {
  // The part between the first '{' and the next '}' when it is not empty.
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("a{x}b{y}c"), key_slot("x"));
  // Empty tag: the whole key is hashed.
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
  EXPECT_NE(key_slot("foo{}{bar}"), key_slot("bar"));
  // The tag ends at the first '}' after the first '{'.
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  // No closing brace, or only one of them: the whole key.
  EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % 16384);
  EXPECT_EQ(key_slot("foo}bar{"), crc16("foo}bar{") % 16384);
  EXPECT_EQ(key_slot("{}"), crc16("{}") % 16384);
}

TEST(RedisSlot, EverySlotIsReachedAndBinaryKeysWork) {
  std::vector<bool> seen(16384);
  std::size_t distinct = 0;
  for (int i = 0; i < 400000 && distinct < seen.size(); ++i) {
    const auto s = key_slot("k" + std::to_string(i));
    ASSERT_LT(s, 16384);
    if (!seen[s]) {
      seen[s] = true;
      ++distinct;
    }
  }
  EXPECT_EQ(distinct, 16384u);
  const std::string binary("\0\xff{\x01}", 5);
  EXPECT_EQ(key_slot(binary), crc16(std::string("\x01")) % 16384);
}

}  // namespace
