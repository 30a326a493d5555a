#include "redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace {

using trawler::redis::parse_url;
using trawler::redis::parse_urls;

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

// Several seed nodes of a cluster: one URL or a comma list.
TEST(RedisUrl, ListOfOneOrSeveralSeeds) {
  auto one = parse_urls("redis://127.0.0.1:7000");
  ASSERT_TRUE(one.error.empty()) << one.error;
  ASSERT_EQ(one.values.size(), 1u);
  EXPECT_EQ(one.values[0].port, 7000);
  auto three = parse_urls(" redis://a:7000 ,redis://:pw@b:7001/0,\tredis://[::1]:7002 ");
  ASSERT_TRUE(three.error.empty()) << three.error;
  ASSERT_EQ(three.values.size(), 3u);
  EXPECT_EQ(three.values[0].host, "a");
  EXPECT_EQ(three.values[1].host, "b");
  EXPECT_EQ(three.values[1].password, "pw");
  EXPECT_EQ(three.values[2].host, "::1");
  EXPECT_EQ(three.values[2].port, 7002);
  // A comma in a password is percent-encoded.
  auto enc = parse_urls("redis://u:a%2Cb@h:1,redis://h:2");
  ASSERT_TRUE(enc.error.empty()) << enc.error;
  ASSERT_EQ(enc.values.size(), 2u);
  EXPECT_EQ(enc.values[0].password, "a,b");
}

TEST(RedisUrl, ListErrorsNameTheBadUrl) {
  auto bad = parse_urls("redis://a:7000, redis://b:0 ,redis://c:7002");
  EXPECT_TRUE(bad.values.empty());
  EXPECT_NE(bad.error.find("\"redis://b:0\""), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("port"), std::string::npos) << bad.error;
  auto scheme = parse_urls("redis://a:1,b:2");
  EXPECT_NE(scheme.error.find("\"b:2\""), std::string::npos) << scheme.error;
  EXPECT_NE(scheme.error.find("redis://"), std::string::npos) << scheme.error;
  // The password is never shown.
  auto secret = parse_urls("redis://a:1,redis://u:hunter2@h:99999");
  EXPECT_EQ(secret.error.find("hunter2"), std::string::npos) << secret.error;
  EXPECT_NE(secret.error.find("redis://u:***@h:99999"), std::string::npos) << secret.error;
  auto alone = parse_urls("redis://hunter2@h:0");
  EXPECT_EQ(alone.error.find("hunter2"), std::string::npos) << alone.error;
  // Empty items and empty lists.
  auto trailing = parse_urls("redis://a:1,");
  EXPECT_TRUE(trailing.values.empty());
  EXPECT_NE(trailing.error.find("URL 2"), std::string::npos) << trailing.error;
  EXPECT_NE(parse_urls("redis://a:1,,redis://b:2").error.find("URL 2"), std::string::npos);
  EXPECT_NE(parse_urls(",redis://a:1").error.find("URL 1"), std::string::npos);
  EXPECT_FALSE(parse_urls("").error.empty());
  EXPECT_FALSE(parse_urls("  ").error.empty());
  EXPECT_TRUE(parse_urls(" , ").values.empty());
}

}  // namespace
