#include "frontier/frontier.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace trawler::frontier;
using namespace std::chrono_literals;

namespace {

url_entry entry(frontier& f, const std::string& host, const std::string& url, int depth = 0) {
  url_entry e;
  e.url = url;
  e.host = f.host_for(host);
  e.depth = depth;
  return e;
}

void add(frontier& f, const std::string& host, const std::string& url) {
  ASSERT_TRUE(f.mark_seen(url));
  f.push(entry(f, host, url));
}

const time_point t0 = time_point{} + 1000s;

}  // namespace

TEST(Frontier, SeenSetRefusesRepeats) {
  frontier f({});
  EXPECT_TRUE(f.mark_seen("http://a/1"));
  EXPECT_FALSE(f.mark_seen("http://a/1"));
  EXPECT_TRUE(f.was_seen("http://a/1"));
  EXPECT_FALSE(f.was_seen("http://a/2"));
  EXPECT_EQ(f.seen(), 1u);
}

TEST(Frontier, RobotsLeaseComesFirstAndGatesTheHost) {
  frontier f({.per_host = 2, .delay = 0s, .robots_gate = true});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://a:80", "http://a/2");
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->kind, lease_kind::robots);
  // While robots.txt is fetched nothing else of the host starts, even with per_host 2.
  EXPECT_FALSE(f.next_ready(t0));
  f.robots_ready(l->host);
  f.finish(l->host);
  auto p = f.next_ready(t0);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, lease_kind::page);
  EXPECT_EQ(p->entry.url, "http://a/1");
}

TEST(Frontier, PerHostLimitHolds) {
  frontier f({.per_host = 2, .delay = 0s, .robots_gate = false});
  for (int i = 0; i < 5; ++i) add(f, "http://a:80", "http://a/" + std::to_string(i));
  EXPECT_TRUE(f.next_ready(t0));
  auto second = f.next_ready(t0);
  EXPECT_TRUE(second);
  EXPECT_FALSE(f.next_ready(t0));
  EXPECT_EQ(f.in_flight(), 2u);
  f.finish(second->host);
  EXPECT_TRUE(f.next_ready(t0));
  EXPECT_EQ(f.queued(), 2u);
}

TEST(Frontier, DelaySpacesStartsOnOneHostOnly) {
  frontier f({.per_host = 4, .delay = 500ms, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://a:80", "http://a/2");
  add(f, "http://b:80", "http://b/1");
  auto first = f.next_ready(t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->entry.url, "http://a/1");
  // Host b is not held back by host a's spacing.
  auto other = f.next_ready(t0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->entry.url, "http://b/1");
  EXPECT_FALSE(f.next_ready(t0 + 499ms));
  ASSERT_TRUE(f.next_wakeup());
  EXPECT_EQ(*f.next_wakeup(), t0 + 500ms);
  auto later = f.next_ready(t0 + 500ms);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->entry.url, "http://a/2");
}

// A request that goes out later than its lease (a connect, a busy loop) spaces the next start
// from when it went out; one reported early never shortens the spacing.
TEST(Frontier, SpacingCountsFromWhenTheRequestWentOut) {
  frontier f({.per_host = 4, .delay = 500ms, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://a:80", "http://a/2");
  add(f, "http://a:80", "http://a/3");
  auto first = f.next_ready(t0);
  ASSERT_TRUE(first);
  f.sent(first->entry.host, t0 + 30ms);
  EXPECT_FALSE(f.next_ready(t0 + 529ms));
  EXPECT_EQ(f.host_eligible_at(first->entry.host), t0 + 530ms);
  auto second = f.next_ready(t0 + 530ms);
  ASSERT_TRUE(second);
  f.sent(second->entry.host, t0 + 100ms);  // earlier than its lease: no change
  EXPECT_EQ(f.host_eligible_at(second->entry.host), t0 + 1030ms);
}

TEST(Frontier, HostDelayTakesTheLargerOfCrawlDelayAndGlobal) {
  frontier f({.per_host = 4, .delay = 200ms, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://a:80", "http://a/2");
  f.set_host_delay(f.host_for("http://a:80"), 50ms);
  ASSERT_TRUE(f.next_ready(t0));
  EXPECT_FALSE(f.next_ready(t0 + 199ms));
  EXPECT_TRUE(f.next_ready(t0 + 200ms));

  frontier g({.per_host = 4, .delay = 200ms, .robots_gate = false});
  add(g, "http://a:80", "http://a/1");
  add(g, "http://a:80", "http://a/2");
  g.set_host_delay(g.host_for("http://a:80"), 1s);
  ASSERT_TRUE(g.next_ready(t0));
  EXPECT_FALSE(g.next_ready(t0 + 999ms));
  EXPECT_TRUE(g.next_ready(t0 + 1s));
}

TEST(Frontier, RetryWaitsUntilItsTimeAndKeepsAttempts) {
  frontier f({.per_host = 1, .delay = 0s, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  l->entry.attempts = 1;
  f.finish(l->host);
  f.retry(std::move(l->entry), t0 + 2s);
  EXPECT_EQ(f.queued(), 1u);
  EXPECT_FALSE(f.idle());
  EXPECT_FALSE(f.next_ready(t0 + 1s));
  EXPECT_EQ(*f.next_wakeup(), t0 + 2s);
  auto again = f.next_ready(t0 + 2s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->entry.attempts, 1);
  f.finish(again->host);
  EXPECT_TRUE(f.idle());
}

TEST(Frontier, BlockedHostWaitsOthersFlow) {
  frontier f({.per_host = 2, .delay = 0s, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://b:80", "http://b/1");
  f.block_host_until(f.host_for("http://a:80"), t0 + 30s);
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->entry.url, "http://b/1");
  EXPECT_FALSE(f.next_ready(t0 + 29s));
  EXPECT_TRUE(f.next_ready(t0 + 30s));
}

TEST(Frontier, RemoveIfTakesQueuedAndWaitingEntries) {
  frontier f({.per_host = 1, .delay = 0s, .robots_gate = false});
  add(f, "http://a:80", "http://a/keep");
  add(f, "http://a:80", "http://a/drop1");
  add(f, "http://b:80", "http://b/drop-other-host");
  auto r = entry(f, "http://a:80", "http://a/drop2");
  f.mark_seen(r.url);
  f.retry(r, t0 + 5s);
  auto removed = f.remove_if(f.host_for("http://a:80"), [](const url_entry& e) {
    return e.url.find("drop") != std::string::npos;
  });
  std::set<std::string> urls;
  for (auto& e : removed) urls.insert(e.url);
  EXPECT_EQ(urls, (std::set<std::string>{"http://a/drop1", "http://a/drop2"}));
  EXPECT_EQ(f.queued(), 2u);
}

TEST(Frontier, ManyHostsRoundRobinByNextStart) {
  frontier f({.per_host = 1, .delay = 1s, .robots_gate = false});
  for (int h = 0; h < 3; ++h) {
    for (int i = 0; i < 2; ++i) {
      add(f, "http://h" + std::to_string(h) + ":80",
          "http://h" + std::to_string(h) + "/" + std::to_string(i));
    }
  }
  std::vector<std::string> order;
  for (int i = 0; i < 3; ++i) {
    auto l = f.next_ready(t0);
    ASSERT_TRUE(l);
    order.push_back(l->entry.url);
    f.finish(l->host);
  }
  EXPECT_FALSE(f.next_ready(t0 + 500ms));
  EXPECT_EQ(order, (std::vector<std::string>{"http://h0/0", "http://h1/0", "http://h2/0"}));
  EXPECT_EQ(f.next_ready(t0 + 1s)->entry.url, "http://h0/1");
}

TEST(Frontier, UrlHashIsStable) {
  EXPECT_EQ(url_hash("http://example.com/"), url_hash("http://example.com/"));
  EXPECT_NE(url_hash("http://example.com/a"), url_hash("http://example.com/b"));
}

TEST(Frontier, ParkedHostKeepsItsQueueAndStopsScheduling) {
  frontier f({.per_host = 2, .delay = 0s, .robots_gate = false});
  add(f, "http://a:80", "http://a/1");
  add(f, "http://a:80", "http://a/2");
  add(f, "http://b:80", "http://b/1");
  f.park_host(f.host_for("http://a:80"));
  EXPECT_TRUE(f.parked(f.host_for("http://a:80")));
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->entry.url, "http://b/1");
  f.finish(l->host);
  EXPECT_FALSE(f.next_ready(t0 + 1h));
  // Nothing can become ready: the crawl may end with the parked URLs still queued.
  EXPECT_FALSE(f.next_wakeup());
  EXPECT_EQ(f.queued(), 2u);
}

TEST(UrlEntry, TargetIsThePathAndQueryOfTheUrl) {
  url_entry e;
  e.url = "http://a.test/x/y?q=1";
  EXPECT_EQ(e.target(), "/x/y?q=1");
  e.url = "https://a.test:8443/";
  EXPECT_EQ(e.target(), "/");
  e.url = "http://user@a.test/p#frag";
  EXPECT_EQ(e.target(), "/p");
  e.url = "http://a.test";  // not normalized: the request line still has a target
  EXPECT_EQ(e.target(), "/");
}

TEST(UrlEntry, EntriesShareOneReferrerString) {
  options o;
  o.robots_gate = false;
  frontier f(o);
  auto page = std::make_shared<const std::string>("http://a.test/page");
  for (int i = 0; i < 3; ++i) {
    url_entry e = entry(f, "http://a.test:80", "http://a.test/" + std::to_string(i));
    e.referrer = page;
    f.push(std::move(e));
  }
  EXPECT_EQ(page.use_count(), 4);  // one string for the page and its three queued links
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->kind, lease_kind::page);
  EXPECT_EQ(l->entry.referrer_view(), "http://a.test/page");
  EXPECT_EQ(url_entry{}.referrer_view(), "");
}

TEST(HashSet, InsertsOnceAndFindsAcrossGrowth) {
  hash_set s;
  EXPECT_FALSE(s.contains(42));
  for (std::uint64_t i = 0; i < 100000; ++i) ASSERT_TRUE(s.insert(i * 0x9e3779b97f4a7c15ull));
  EXPECT_EQ(s.size(), 100000u);
  for (std::uint64_t i = 0; i < 100000; ++i) {
    ASSERT_TRUE(s.contains(i * 0x9e3779b97f4a7c15ull));
    ASSERT_FALSE(s.insert(i * 0x9e3779b97f4a7c15ull));
  }
  EXPECT_FALSE(s.contains(12345));
  // At most 70% full after growing, and never more than twice the room that needs.
  EXPECT_LE(s.size() * 10, s.capacity() * 7);
  EXPECT_GT(s.size() * 100, s.capacity() * 35);
}

TEST(HashSet, ZeroIsAValue) {
  hash_set s;
  EXPECT_FALSE(s.contains(0));
  EXPECT_TRUE(s.insert(0));
  EXPECT_TRUE(s.contains(0));
  EXPECT_FALSE(s.insert(0));
}

TEST(UrlHash, SimilarUrlsDoNotCollide) {
  hash_set s;
  std::string u;
  for (int i = 0; i < 300000; ++i) {
    u = "https://www.example.com/catalog/items?page=" + std::to_string(i);
    ASSERT_TRUE(s.insert(url_hash(u))) << u;
    u.push_back('/');  // differs only in the length and the tail
    ASSERT_TRUE(s.insert(url_hash(u))) << u;
  }
  EXPECT_EQ(url_hash("http://a.test/x"), url_hash(std::string("http://a.test/x")));
  EXPECT_NE(url_hash(""), url_hash(std::string(1, '\0')));
}

TEST(Frontier, BusiestHostsCountQueuedAndOpenWorkAndTheWait) {
  frontier f({.per_host = 1, .delay = 500ms, .robots_gate = false});
  for (int i = 0; i < 3; ++i) add(f, "http://a:80", "http://a/" + std::to_string(i));
  for (int i = 0; i < 5; ++i) add(f, "http://b:80", "http://b/" + std::to_string(i));
  add(f, "http://c:80", "http://c/0");
  // One host now has a request open, whichever the schedule picked.
  auto first = f.next_ready(t0);
  ASSERT_TRUE(first);
  const auto open_host = first->host;
  const auto views = f.busiest_hosts(2, t0 + 100ms);
  ASSERT_EQ(views.size(), 2u);
  EXPECT_EQ(views[0].key, "http://b:80");
  EXPECT_EQ(views[0].queued + static_cast<std::size_t>(views[0].open), 5u);
  EXPECT_EQ(views[1].key, "http://a:80");
  for (const auto& v : f.busiest_hosts(10, t0 + 100ms)) {
    if (v.id == open_host) {
      EXPECT_EQ(v.open, 1);
      EXPECT_EQ(v.wait, 400ms) << "spaced 500 ms from its start at t0";
    } else {
      EXPECT_EQ(v.open, 0);
    }
  }
  EXPECT_EQ(f.busiest_hosts(10, t0).size(), 3u);
  // A host with nothing left is not listed.
  f.finish(open_host);
  frontier g({});
  EXPECT_TRUE(g.busiest_hosts(10, t0).empty());
}

// ---- recrawl: revisits beside new URLs (SPEC additions "Recrawl") ---------------------------

namespace {

frontier recrawl_frontier(double share) {
  options o;
  o.per_host = 1;
  o.delay = 0s;
  o.robots_gate = false;
  o.revisit_share = share;
  return frontier(o);
}

void revisit(frontier& f, const std::string& url, time_point due) {
  f.push_revisit(entry(f, "http://a:80", url), due);
}

// Takes and finishes the next lease at `now`; its URL, or "" when none may start.
std::string take(frontier& f, time_point now) {
  auto l = f.next_ready(now);
  if (!l) return "";
  f.finish(l->host);
  return l->entry.url;
}

}  // namespace

TEST(FrontierRecrawl, RevisitsWaitUntilDueAndTheMostOverdueGoesFirst) {
  frontier f = recrawl_frontier(0.5);
  revisit(f, "http://a/late", t0 + 10s);
  revisit(f, "http://a/overdue", t0 - 20s);
  revisit(f, "http://a/due", t0 - 5s);
  EXPECT_EQ(f.revisits(), 3u);
  EXPECT_EQ(f.revisits_due(t0), 2u);
  EXPECT_FALSE(f.idle());
  EXPECT_EQ(take(f, t0), "http://a/overdue");
  EXPECT_EQ(take(f, t0), "http://a/due");
  EXPECT_EQ(take(f, t0), "");  // the last one is not due
  ASSERT_TRUE(f.next_wakeup());
  EXPECT_EQ(*f.next_wakeup(), t0 + 10s);
  auto l = f.next_ready(t0 + 10s);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->entry.revisit);
  f.finish(l->host);
  EXPECT_TRUE(f.idle());
}

TEST(FrontierRecrawl, RevisitShareSplitsTheStartsWhileBothWaitAndAnUnusedShareGoesToTheOther) {
  for (double share : {0.5, 0.25, 0.0, 1.0}) {
    SCOPED_TRACE(share);
    frontier f = recrawl_frontier(share);
    for (int i = 0; i < 40; ++i) {
      add(f, "http://a:80", "http://a/new" + std::to_string(i));
      revisit(f, "http://a/old" + std::to_string(i), t0 - 1s);
    }
    int revisits = 0;
    for (int i = 0; i < 40; ++i) revisits += take(f, t0).starts_with("http://a/old") ? 1 : 0;
    EXPECT_NEAR(revisits, 40 * share, 1.0);
    // The rest drains whichever side is left: no start is lost to an unused share.
    int rest = 0;
    while (!take(f, t0).empty()) ++rest;
    EXPECT_EQ(rest, 40);
    EXPECT_TRUE(f.idle());
  }
}

TEST(FrontierRecrawl, HeldNewUrlsWaitWhileRevisitsGoOn) {
  frontier f = recrawl_frontier(0.5);
  add(f, "http://a:80", "http://a/new");
  revisit(f, "http://a/old", t0 - 1s);
  f.hold_new(true);
  EXPECT_EQ(take(f, t0), "http://a/old");
  EXPECT_EQ(take(f, t0), "");
  EXPECT_FALSE(f.next_wakeup());  // nothing can start until new URLs are let go
  f.hold_new(false);
  EXPECT_EQ(take(f, t0), "http://a/new");
}

TEST(FrontierRecrawl, ARetriedRevisitComesBackAsARevisitNotHeldWithNewUrls) {
  frontier f = recrawl_frontier(0.5);
  revisit(f, "http://a/old", t0);
  auto l = f.next_ready(t0);
  ASSERT_TRUE(l);
  f.finish(l->host);
  f.retry(std::move(l->entry), t0 + 1s);
  f.hold_new(true);
  EXPECT_EQ(take(f, t0 + 1s), "http://a/old");
  EXPECT_TRUE(f.idle());
}

TEST(FrontierRecrawl, PolitenessHoldsForRevisitsToo) {
  options o;
  o.per_host = 1;
  o.delay = 10s;
  o.robots_gate = false;
  frontier f(o);
  f.push_revisit(entry(f, "http://a:80", "http://a/1"), t0);
  f.push_revisit(entry(f, "http://a:80", "http://a/2"), t0);
  EXPECT_EQ(take(f, t0), "http://a/1");
  EXPECT_EQ(take(f, t0 + 5s), "");
  EXPECT_EQ(take(f, t0 + 10s), "http://a/2");
}

TEST(FrontierRecrawl, ARobotsVerdictTakesRevisitsToo) {
  frontier f = recrawl_frontier(0.5);
  add(f, "http://a:80", "http://a/new");
  revisit(f, "http://a/private/x", t0 + 100s);
  auto removed = f.remove_if(f.host_for("http://a:80"), [](const url_entry& e) {
    return e.url.find("/private/") != std::string::npos;
  });
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_TRUE(removed[0].revisit);
  EXPECT_EQ(f.revisits(), 0u);
  EXPECT_EQ(f.queued(), 1u);
}

TEST(FrontierRecrawl, AHostWithOnlyRevisitsIsInTheBusiestHostsUntilItsFirstIsDue) {
  frontier f = recrawl_frontier(0.5);
  revisit(f, "http://a/1", t0 + 30s);
  revisit(f, "http://a/2", t0 + 60s);
  const auto views = f.busiest_hosts(10, t0);
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].queued, 0u);
  EXPECT_EQ(views[0].revisits, 2u);
  EXPECT_EQ(views[0].wait, 30s);
  EXPECT_EQ(f.view_of(views[0].id, t0).revisits, 2u);
}
