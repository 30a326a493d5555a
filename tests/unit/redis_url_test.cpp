#include "redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace {

using trawler::redis::parse_url;

TEST(RedisUrl, HostPortDbAndDefaults) {
  auto a = parse_url("redis://127.0.0.1:6380/2");
  ASSERT_TRUE(a.value) << a.error;
  EXPECT_EQ(a.value->host, "127.0.0.1");
  EXPECT_EQ(a.value->port, 6380);
  EXPECT_EQ(a.value->db, 2);
  EXPECT_TRUE(a.value->password.empty());
  auto b = parse_url("redis://cache.internal");
  ASSERT_TRUE(b.value) << b.error;
  EXPECT_EQ(b.value->host, "cache.internal");
  EXPECT_EQ(b.value->port, 6379);
  EXPECT_EQ(b.value->db, 0);
  EXPECT_EQ(b.value->address(), "cache.internal:6379");
  auto c = parse_url("redis://h:1/");
  ASSERT_TRUE(c.value) << c.error;
  EXPECT_EQ(c.value->db, 0);
}

TEST(RedisUrl, CredentialsUserAndPasswordOrPasswordAlone) {
  auto a = parse_url("redis://crawler:s3cret@10.0.0.5:6379/1");
  ASSERT_TRUE(a.value) << a.error;
  EXPECT_EQ(a.value->user, "crawler");
  EXPECT_EQ(a.value->password, "s3cret");
  auto b = parse_url("redis://:onlypw@h:6379");
  ASSERT_TRUE(b.value) << b.error;
  EXPECT_EQ(b.value->user, "");
  EXPECT_EQ(b.value->password, "onlypw");
  auto c = parse_url("redis://onlypw@h");
  ASSERT_TRUE(c.value) << c.error;
  EXPECT_EQ(c.value->user, "");
  EXPECT_EQ(c.value->password, "onlypw");
  // Percent-encoded, and a raw '@' inside the password (the last '@' ends the credentials).
  auto d = parse_url("redis://u%3Ax:p%40ss@h:7000");
  ASSERT_TRUE(d.value) << d.error;
  EXPECT_EQ(d.value->user, "u:x");
  EXPECT_EQ(d.value->password, "p@ss");
  auto e = parse_url("redis://u:p@ss@h:7000");
  ASSERT_TRUE(e.value) << e.error;
  EXPECT_EQ(e.value->password, "p@ss");
  // The address never shows the password.
  EXPECT_EQ(a.value->address(), "10.0.0.5:6379");
}

TEST(RedisUrl, Ipv6InBrackets) {
  auto a = parse_url("redis://[::1]:6390/3");
  ASSERT_TRUE(a.value) << a.error;
  EXPECT_EQ(a.value->host, "::1");
  EXPECT_EQ(a.value->port, 6390);
  EXPECT_EQ(a.value->address(), "[::1]:6390");
  auto b = parse_url("redis://[::1]");
  ASSERT_TRUE(b.value) << b.error;
  EXPECT_EQ(b.value->port, 6379);
}

TEST(RedisUrl, ErrorsSayWhatIsWrong) {
  EXPECT_NE(parse_url("http://h:6379").error.find("redis://"), std::string::npos);
  EXPECT_NE(parse_url("h:6379").error.find("redis://"), std::string::npos);
  EXPECT_NE(parse_url("redis://h:0").error.find("port"), std::string::npos);
  EXPECT_NE(parse_url("redis://h:70000").error.find("port"), std::string::npos);
  EXPECT_NE(parse_url("redis://h:abc").error.find("port"), std::string::npos);
  EXPECT_NE(parse_url("redis://h:").error.find("port"), std::string::npos);
  EXPECT_NE(parse_url("redis://h/x").error.find("database"), std::string::npos);
  EXPECT_NE(parse_url("redis://h/-1").error.find("database"), std::string::npos);
  EXPECT_NE(parse_url("redis://").error.find("host"), std::string::npos);
  EXPECT_NE(parse_url("redis://:pw@").error.find("host"), std::string::npos);
  EXPECT_NE(parse_url("redis://[::1").error.find("["), std::string::npos);
  EXPECT_NE(parse_url("redis://u:%zz@h").error.find("percent"), std::string::npos);
  EXPECT_NE(parse_url("redis://u:%4@h").error.find("percent"), std::string::npos);
  EXPECT_NE(parse_url("redis://h?x=1").error.find("query"), std::string::npos);
  EXPECT_FALSE(parse_url("redis://h h:1").value);
}

}  // namespace
