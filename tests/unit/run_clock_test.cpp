// A crawl's own time (elapsed_s, pages per second) leaves paused intervals out; and why a crawl
// ended reads as a sentence naming what became of its queued URLs.
#include "crawl/run_clock.hpp"
#include "crawl/end_reason.hpp"

#include <gtest/gtest.h>

namespace {

using trawler::crawl::end_facts;
using trawler::crawl::end_message;
using trawler::crawl::end_reason;
using trawler::crawl::run_clock;
using namespace std::chrono_literals;

// A fake clock: a time point moved by hand.
struct fake_time {
  run_clock::time_point now{};
  run_clock::time_point operator()(std::chrono::milliseconds d) { return now += d; }
};

double seconds(run_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(RunClock, CountsFromStartToStop) {
  fake_time t;
  run_clock c;
  EXPECT_EQ(c.elapsed(t.now), run_clock::duration{0});
  c.start(t(1000ms));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(2500ms))), 2.5);
  c.stop(t(500ms));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(60s))), 3.0) << "a stopped clock stands still";
}

TEST(RunClock, PausedIntervalsAreLeftOut) {
  fake_time t;
  run_clock c;
  c.start(t.now);
  t(10s);
  c.pause(t.now);
  EXPECT_TRUE(c.paused());
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(120s))), 10.0) << "two paused minutes do not count";
  c.pause(t(5s));  // pausing again changes nothing
  c.resume(t(5s));
  EXPECT_FALSE(c.paused());
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(4s))), 14.0);
  c.resume(t(1s));  // resuming a running clock changes nothing
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t.now)), 15.0);
  c.pause(t(1s));
  c.resume(t(30s));
  c.pause(t(2s));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(1h))), 18.0);
  c.stop(t(1s));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(1h))), 18.0) << "stopped while paused";
}

TEST(RunClock, PausedBeforeItStartsCountsOnlyFromTheResume) {
  // A crawl that comes back paused after a restart: paused before run() starts it.
  fake_time t;
  run_clock c;
  c.pause(t.now);
  c.start(t(1s));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(30s))), 0.0);
  c.resume(t.now);
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(2s))), 2.0);
}

TEST(RunClock, ResumedBeforeItStartsCountsFromTheStart) {
  fake_time t;
  run_clock c;
  c.pause(t.now);
  c.resume(t(5s));
  c.start(t(5s));
  EXPECT_DOUBLE_EQ(seconds(c.elapsed(t(3s))), 3.0);
}

TEST(EndReason, NamesRoundTrip) {
  for (auto r :
       {end_reason::frontier_empty, end_reason::max_pages, end_reason::max_pages_per_host,
        end_reason::cancelled, end_reason::stopped, end_reason::service_stopped,
        end_reason::output_failed, end_reason::redis_unreachable, end_reason::internal_error}) {
    EXPECT_EQ(trawler::crawl::end_reason_from_string(trawler::crawl::to_string(r)), r);
  }
  EXPECT_EQ(trawler::crawl::end_reason_from_string("completed"), std::nullopt);
  EXPECT_TRUE(trawler::crawl::is_failure(end_reason::output_failed));
  EXPECT_FALSE(trawler::crawl::is_failure(end_reason::max_pages));
}

TEST(EndReason, SentencesSayWhyQueuedUrlsWereNotFetched) {
  end_facts f;
  f.pages = 100;
  f.queued = 243;
  f.max_pages = 100;
  EXPECT_EQ(end_message(end_reason::max_pages, f),
            "Stopped at scope.max_pages (100 pages with a response): 243 URLs stay queued, not "
            "fetched.");
  f.queued = 1623;
  f.max_pages = 1000;
  EXPECT_EQ(end_message(end_reason::max_pages, f),
            "Stopped at scope.max_pages (1,000 pages with a response): 1,623 URLs stay queued, "
            "not fetched.");
  f.queued = 1;
  f.max_pages_per_host = 20;
  EXPECT_EQ(end_message(end_reason::max_pages_per_host, f),
            "Every host with URLs left has spent scope.max_pages_per_host (20 pages): 1 URL stays "
            "queued, not fetched.");
  f.queued = 22;
  EXPECT_EQ(end_message(end_reason::cancelled, f),
            "Cancelled through the API: 22 URLs stay queued, not fetched.");
  f.queued = 0;
  EXPECT_EQ(end_message(end_reason::cancelled, f), "Cancelled through the API.");
  EXPECT_EQ(end_message(end_reason::frontier_empty, f),
            "Nothing was left to fetch: every URL found was fetched or ruled out.");
  f.queued = 5;
  f.resumable = true;
  EXPECT_EQ(end_message(end_reason::stopped, f),
            "Stopped by a signal (SIGINT or SIGTERM): 5 URLs stay queued, not fetched; run it "
            "again with the same state.dir to go on.");
  EXPECT_EQ(end_message(end_reason::service_stopped, f),
            "The service stopped while the crawl ran: 5 URLs stay queued; it goes on when the "
            "service starts again.");
  f.detail = "No space left on device";
  EXPECT_EQ(end_message(end_reason::output_failed, f),
            "Stopped because the records could not be written (No space left on device): 5 URLs "
            "stay queued, not fetched.");
}

}  // namespace
