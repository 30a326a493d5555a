// A crawl's history: a sample a second, thinned so that any crawl keeps at most `capacity`,
// always ending at the latest counts, written and read back as the service's history.json.
#include "api/crawl_history.hpp"

#include <gtest/gtest.h>

namespace {

using trawler::api::crawl_history;
using trawler::api::history_sample;

history_sample at(double elapsed, std::uint64_t pages) {
  history_sample s;
  s.at_ms = 1'780'000'000'000 + static_cast<std::int64_t>(elapsed * 1000);
  s.elapsed_s = elapsed;
  s.pages = pages;
  s.queued = 1000 - pages;
  return s;
}

TEST(CrawlHistory, KeepsASampleASecond) {
  crawl_history h;
  for (int i = 1; i <= 10; ++i)
    h.add(at(i * 1.0 + 0.001 * (i % 3), static_cast<std::uint64_t>(i * 7)));
  ASSERT_EQ(h.samples().size(), 10u);
  EXPECT_EQ(h.step_s(), 1.0);
  EXPECT_EQ(h.samples().back().pages, 70u);
}

TEST(CrawlHistory, StaysBoundedAndEvenlySpacedHoweverLongTheCrawl) {
  crawl_history h;
  // Ten hours of samples a second.
  const int n = 10 * 3600;
  std::size_t most = 0;
  for (int i = 1; i <= n; ++i) {
    h.add(at(i, static_cast<std::uint64_t>(i) * 3));
    most = std::max(most, h.samples().size());
  }
  EXPECT_LE(most, crawl_history::capacity + 1) << "the grid, and the latest sample beside it";
  // 36,000 s over at most 720 samples: the step doubled six times, to 64 s.
  EXPECT_EQ(h.step_s(), 64.0);
  const auto& s = h.samples();
  EXPECT_GE(s.size(), crawl_history::capacity / 2);
  EXPECT_EQ(s.front().elapsed_s, 1.0) << "the first sample stays";
  for (std::size_t i = 1; i + 1 < s.size(); ++i)
    EXPECT_DOUBLE_EQ(s[i].elapsed_s - s[i - 1].elapsed_s, 64.0) << i;
  // The series ends at the crawl's latest counts, whatever the step.
  EXPECT_EQ(s.back().elapsed_s, static_cast<double>(n));
  EXPECT_EQ(s.back().pages, static_cast<std::uint64_t>(n) * 3);
  // Counters are cumulative: the rate between kept samples is the true average (3 pages/s).
  for (std::size_t i = 1; i < s.size(); ++i)
    EXPECT_DOUBLE_EQ(
        static_cast<double>(s[i].pages - s[i - 1].pages) / (s[i].elapsed_s - s[i - 1].elapsed_s),
        3.0);
}

TEST(CrawlHistory, PausedSamplesDoNotPileUp) {
  // A paused crawl's clock stands still: each sample replaces the latest one.
  crawl_history h;
  h.add(at(1, 5));
  h.add(at(2, 9));
  for (int i = 0; i < 100; ++i) h.add(at(2.2, 10));
  ASSERT_EQ(h.samples().size(), 3u);
  EXPECT_EQ(h.samples().back().pages, 10u);
  h.add(at(3.1, 12));
  ASSERT_EQ(h.samples().size(), 3u);
  EXPECT_EQ(h.samples().back().elapsed_s, 3.1);
  // Nothing moved (a paused crawl's clock and counts): not a sample, even a second later.
  auto same = h.samples().back();
  same.at_ms += 1000;
  h.add(same);
  h.add(same);
  EXPECT_EQ(h.samples().size(), 3u);
  EXPECT_EQ(h.samples().back().at_ms, same.at_ms - 1000);
}

TEST(CrawlHistory, ASampleFromEarlierCrawlTimeDropsTheLaterOnes) {
  // A resume after a kill goes on from the state's last checkpoint, a little before the
  // history's last sample.
  crawl_history h;
  for (int i = 1; i <= 10; ++i) h.add(at(i, static_cast<std::uint64_t>(i)));
  h.add(at(8.5, 8));
  ASSERT_EQ(h.samples().size(), 9u);
  EXPECT_EQ(h.samples().back().elapsed_s, 8.5);
}

TEST(CrawlHistory, JsonRoundTripsAndLastSecondsCut) {
  crawl_history h;
  for (int i = 1; i <= 1200; ++i) h.add(at(i, static_cast<std::uint64_t>(i)));
  const auto j = h.to_json();
  EXPECT_EQ(j["capacity"], crawl_history::capacity);
  EXPECT_EQ(j["step_s"], 2.0);
  ASSERT_EQ(j["samples"].size(), h.samples().size());
  EXPECT_EQ(j["samples"][0]["at"], "2026-05-28T20:26:41.000Z");
  EXPECT_EQ(j["samples"][0]["elapsed_s"], 1.0);
  auto back = crawl_history::from_json(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->samples(), h.samples());
  EXPECT_EQ(back->step_s(), 2.0);
  // Sampling goes on where it was.
  back->add(at(1201, 1201));
  EXPECT_EQ(back->samples().back().pages, 1201u);
  // The last 10 s of crawl time only.
  const auto tail = h.to_json(10.0)["samples"];
  ASSERT_FALSE(tail.empty());
  EXPECT_GE(tail[0]["elapsed_s"].get<double>(), 1190.0);
  EXPECT_LE(tail.size(), 7u);
  // Not a history: refused.
  EXPECT_FALSE(crawl_history::from_json(nlohmann::json::object()).has_value());
  EXPECT_FALSE(crawl_history::from_json({{"step_s", 1}, {"samples", {{{"elapsed_s", 1}}}}}));
}

}  // namespace
