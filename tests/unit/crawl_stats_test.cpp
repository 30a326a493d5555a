#include "crawl/crawl_stats.hpp"

#include <gtest/gtest.h>

namespace {

using trawler::crawl::crawl_stats;
using trawler::crawl::loop_lag;

TEST(LoopLag, EmptyReportsZero) {
  loop_lag l;
  EXPECT_EQ(l.samples(), 0u);
  EXPECT_EQ(l.quantile_ms(0.5), 0.0);
  EXPECT_EQ(l.quantile_ms(0.99), 0.0);
  EXPECT_EQ(l.max_ms(), 0.0);
}

TEST(LoopLag, QuantilesAreBucketUpperEdgesCappedByTheMaximum) {
  loop_lag l;
  for (int i = 0; i < 98; ++i) l.observe(0.03);  // bucket [0, 0.1)
  l.observe(2.345);                              // bucket [2.3, 2.4)
  l.observe(7.0);
  EXPECT_EQ(l.samples(), 100u);
  EXPECT_DOUBLE_EQ(l.quantile_ms(0.50), 0.1);
  EXPECT_NEAR(l.quantile_ms(0.99), 2.4, 1e-9);
  EXPECT_DOUBLE_EQ(l.quantile_ms(1.0), 7.0);
  EXPECT_DOUBLE_EQ(l.max_ms(), 7.0);
}

TEST(LoopLag, LateSamplesBeyondTheBucketsKeepTheirMaximum) {
  loop_lag l;
  l.observe(-1);  // clamped: a timer cannot fire early
  l.observe(120.5);
  l.observe(80);
  EXPECT_DOUBLE_EQ(l.quantile_ms(0.99), 120.5);
  EXPECT_DOUBLE_EQ(l.quantile_ms(0.3), 0.1);
  EXPECT_DOUBLE_EQ(l.quantile_ms(0.5), 120.5);  // past the buckets: only the maximum is known
  EXPECT_DOUBLE_EQ(l.max_ms(), 120.5);
}

TEST(LoopLag, InTheStatsObject) {
  crawl_stats s;
  s.lag.observe(1.25);
  const auto j = s.to_json();
  ASSERT_TRUE(j.contains("loop_lag_ms"));
  EXPECT_EQ(j["loop_lag_ms"]["samples"], 1);
  EXPECT_DOUBLE_EQ(j["loop_lag_ms"]["max"].get<double>(), 1.25);
  EXPECT_DOUBLE_EQ(j["loop_lag_ms"]["p99"].get<double>(), 1.25);
  EXPECT_NE(s.report().find("event-loop lag"), std::string::npos);
  EXPECT_EQ(crawl_stats{}.report().find("event-loop lag"), std::string::npos);
}

}  // namespace
