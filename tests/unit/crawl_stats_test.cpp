#include "crawl/crawl_stats.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST(LoopLag, BucketEdgesAreTheShortestDecimals) {
  // The stats object is JSON for people: 4.1, never 4.1000000000000005.
  loop_lag l;
  l.observe(4.05);
  l.observe(9.0);
  EXPECT_EQ(l.quantile_ms(0.5), 4.1);
  EXPECT_EQ(nlohmann::json(l.quantile_ms(0.5)).dump(), "4.1");
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

// 4xx and 5xx responses are counted apart from fetch errors, and shown beside them: a crawl full
// of 404s does not read "errors 0" only.
TEST(CrawlStatsHttpErrors, CountedApartFromFetchErrorsEverywhere) {
  crawl_stats s;
  s.pages = 10;
  s.status_classes = {6, 1, 2, 1};
  s.errors[static_cast<std::size_t>(trawler::error_kind::dns)] = 4;
  const auto j = s.to_json();
  ASSERT_TRUE(j.contains("http_errors")) << j.dump();
  EXPECT_EQ(j["http_errors"], 3);
  EXPECT_EQ(j["errors"], nlohmann::json({{"dns", 4}}));
  EXPECT_NE(s.progress_line().find("4xx/5xx 3  errors 4"), std::string::npos) << s.progress_line();
  EXPECT_NE(s.report().find("4xx/5xx responses 3, fetch errors 4"), std::string::npos)
      << s.report();
  EXPECT_EQ(crawl_stats{}.to_json()["http_errors"], 0);
  EXPECT_EQ(crawl_stats{}.report().find("4xx/5xx"), std::string::npos);
}

// Stats are cumulative across resumes: what a run counted is carried in the state and added
// to the next run's counters.
TEST(CarriedStats, RoundTripAndAddUp) {
  crawl_stats a;
  a.pages = 12;
  a.status_classes = {10, 1, 1, 0};
  a.other_status = 0;
  a.errors[static_cast<std::size_t>(trawler::error_kind::timeout)] = 3;
  a.bytes = 4096;
  a.filtered = 5;
  a.robots_fetches = 2;
  a.records = 15;
  a.elapsed_s = 1.5;
  a.fetch_duration.observe(0.004);
  a.fetch_duration.observe(0.2);
  a.seen = 99;  // live values are not carried
  a.lag.observe(3.0);

  const auto back = crawl_stats::from_carried_json(nlohmann::json::parse(a.carried_json().dump()));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->pages, 12u);
  EXPECT_EQ(back->status_classes, a.status_classes);
  EXPECT_EQ(back->errors, a.errors);
  EXPECT_EQ(back->bytes, 4096u);
  EXPECT_EQ(back->filtered, 5u);
  EXPECT_EQ(back->robots_fetches, 2u);
  EXPECT_EQ(back->records, 15u);
  EXPECT_DOUBLE_EQ(back->elapsed_s, 1.5);
  EXPECT_EQ(back->fetch_duration, a.fetch_duration);
  EXPECT_EQ(back->seen, 0u);
  EXPECT_EQ(back->lag.samples(), 0u);

  crawl_stats run;  // the resumed run's own counters
  run.pages = 3;
  run.status_classes = {3, 0, 0, 0};
  run.bytes = 100;
  run.elapsed_s = 0.5;
  run.seen = 40;
  run.fetch_duration.observe(0.3);
  run.carry_from(*back);
  EXPECT_EQ(run.pages, 15u);
  EXPECT_EQ(run.status_classes[0], 13u);
  EXPECT_EQ(run.errors[static_cast<std::size_t>(trawler::error_kind::timeout)], 3u);
  EXPECT_EQ(run.bytes, 4196u);
  EXPECT_DOUBLE_EQ(run.elapsed_s, 2.0);
  EXPECT_EQ(run.seen, 40u);
  EXPECT_EQ(run.fetch_duration.count(), 3u);
  EXPECT_NEAR(run.fetch_duration.sum(), 0.504, 1e-9);
  EXPECT_EQ(run.to_json().at("pages"), 15);
}

TEST(CarriedStats, DamagedSnapshotIsRefused) {
  EXPECT_FALSE(crawl_stats::from_carried_json(nlohmann::json::parse("{}")));
  auto j = crawl_stats{}.carried_json();
  EXPECT_TRUE(crawl_stats::from_carried_json(j));
  j["pages"] = -1;
  EXPECT_FALSE(crawl_stats::from_carried_json(j));
  j = crawl_stats{}.carried_json();
  j["fetch_duration"]["buckets"] = {1, 2};
  EXPECT_FALSE(crawl_stats::from_carried_json(j));
  j = crawl_stats{}.carried_json();
  j["errors"] = {{"no_such_kind", 1}};
  EXPECT_FALSE(crawl_stats::from_carried_json(j));
  EXPECT_FALSE(crawl_stats::from_carried_json(nlohmann::json("text")));
}

}  // namespace

// Recrawl's lag: buckets of the due-to-start lag, quantiles as bucket bounds, carried across a
// resume with the other recrawl counts.
TEST(CrawlStatsRecrawl, LagQuantilesAndCarry) {
  trawler::crawl::recrawl_counts r;
  EXPECT_EQ(r.lag_quantile(0.5), 0.0);
  for (int i = 0; i < 90; ++i) r.observe_lag(0.05);
  for (int i = 0; i < 10; ++i) r.observe_lag(500);
  EXPECT_EQ(r.lag_quantile(0.5), 0.1);
  EXPECT_EQ(r.lag_quantile(0.95), 600);
  r.observe_lag(1e9);
  EXPECT_EQ(r.lag_counts.back(), 1u);
  trawler::crawl::crawl_stats s;
  s.recrawl = r;
  s.recrawl->changes = {1, 2, 3, 4, 5, 6};
  auto back = trawler::crawl::crawl_stats::from_carried_json(s.carried_json());
  ASSERT_TRUE(back);
  ASSERT_TRUE(back->recrawl);
  EXPECT_EQ(back->recrawl->lag_counts, r.lag_counts);
  EXPECT_EQ(back->recrawl->changes, s.recrawl->changes);
  trawler::crawl::crawl_stats twice = *back;
  twice.carry_from(*back);
  EXPECT_EQ(twice.recrawl->lag_counts[0], 2 * r.lag_counts[0]);
  const auto j = s.to_json().at("recrawl");
  EXPECT_EQ(j.at("lag_p95_s"), 600);
}
