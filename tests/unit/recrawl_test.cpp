// The revisit schedule and change rule (SPEC additions "Recrawl"), driven with a fake clock:
// every time is a number passed in, nothing sleeps.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "recrawl/visit.hpp"

namespace rc = trawler::recrawl;
using rc::millis;

namespace {

constexpr millis hour = 3600000;
constexpr millis day = 24 * hour;
constexpr millis t0 = 1780000000000;  // 2026-05-28

rc::policy no_jitter() {
  rc::policy p;  // defaults: 1 day, 1 hour .. 30 days, grow and shrink 0.5
  p.jitter = 0;
  return p;
}

rc::digest dg(std::uint8_t b) {
  rc::digest d{};
  d.fill(b);
  return d;
}

rc::outcome ok(std::uint8_t body, std::optional<std::uint8_t> text = std::nullopt) {
  rc::outcome o;
  o.what = rc::outcome::kind::ok;
  o.body = dg(body);
  if (text) o.text = dg(*text);
  return o;
}

rc::outcome of(rc::outcome::kind k) {
  rc::outcome o;
  o.what = k;
  return o;
}

}  // namespace

TEST(Recrawl, FirstTwoHundredIsNewAndDueAfterTheFirstInterval) {
  const auto p = no_jitter();
  auto d = rc::decide(std::nullopt, ok(1), t0, p, false, 7);
  EXPECT_EQ(d.what, rc::change::created);
  EXPECT_EQ(rc::change_name(d.what), "new");
  EXPECT_EQ(d.row.visits, 1u);
  EXPECT_EQ(d.row.interval, day);
  EXPECT_EQ(d.row.next_due, t0 + day);
  EXPECT_EQ(d.row.last_change, t0);
  EXPECT_TRUE(d.row.indexed);
}

TEST(Recrawl, UnchangedGrowsByAtMostGrowPerVisitUpToTheMaximum) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1), t0, p, false, 7).row;
  auto d = rc::decide(r, ok(1), t0 + day, p, false, 7);
  EXPECT_EQ(d.what, rc::change::unchanged);
  EXPECT_EQ(d.row.interval, day + day / 2);  // the estimate wants more; grow bounds the step
  EXPECT_EQ(d.row.next_due, t0 + day + day + day / 2);
  EXPECT_EQ(d.row.last_change, t0);  // no change seen since the first visit
  for (int i = 0; i < 30; ++i) {
    const millis before = d.row.interval;
    d = rc::decide(d.row, ok(1), d.row.next_due, p, false, 7);
    EXPECT_GE(d.row.interval, before);
    EXPECT_LE(d.row.interval, before + before / 2 + 1);
  }
  EXPECT_GE(d.row.interval, 10 * day);
  EXPECT_LE(d.row.interval, p.max_interval);
  // ... and stops at the maximum.
  auto small = p;
  small.max_interval = 5 * day;
  auto s5 = rc::decide(std::nullopt, ok(1), t0, small, false, 7);
  for (int i = 0; i < 20; ++i) s5 = rc::decide(s5.row, ok(1), s5.row.next_due, small, false, 7);
  EXPECT_EQ(s5.row.interval, small.max_interval);
}

namespace {

// Visits a page `n` times at its due times; it changed before a visit when changes(i) says so.
rc::visit_row visit_series(int n, const std::function<bool(int)>& changes) {
  const auto p = no_jitter();
  auto row = rc::decide(std::nullopt, ok(0), t0, p, false, 7).row;
  std::uint8_t version = 0;
  for (int i = 0; i < n; ++i) {
    if (changes(i)) ++version;
    row = rc::decide(row, ok(version), row.next_due, p, false, 7).row;
  }
  return row;
}

}  // namespace

TEST(Recrawl, TheIntervalFollowsTheEstimatedChangeRate) {
  const auto p = no_jitter();
  const auto often = visit_series(12, [](int i) { return i % 2 == 0; });
  const auto seldom = visit_series(12, [](int i) { return i % 6 == 0; });
  const auto never = visit_series(12, [](int) { return false; });
  EXPECT_EQ(often.checks, 12u);
  EXPECT_EQ(often.changes, 6u);
  EXPECT_EQ(seldom.changes, 2u);
  EXPECT_LT(often.interval, seldom.interval);
  EXPECT_LT(seldom.interval, never.interval);
  for (const auto* r : {&often, &seldom, &never}) {
    EXPECT_GE(r->interval, p.min_interval);
    EXPECT_LE(r->interval, p.max_interval);
  }
}

TEST(Recrawl, AChangeComesDownAtMostShrinkOfTheWayToTheMinimum) {
  const auto p = no_jitter();
  auto row = visit_series(6, [](int) { return false; });
  const millis before = row.interval;
  auto d = rc::decide(row, ok(9), row.next_due, p, false, 7);
  EXPECT_EQ(d.what, rc::change::changed);
  EXPECT_LE(d.row.interval, before);
  EXPECT_GE(d.row.interval, before - (before - p.min_interval) / 2 - 1);
  EXPECT_EQ(d.row.changes, 1u);
  EXPECT_EQ(d.row.last_change, row.next_due);
}

TEST(Recrawl, APageChangingFasterThanItCanBeFollowedIsNotChased) {
  // Found changed at every visit, however short the interval: its estimated rate passes what
  // the budget (interval_ms) can follow, and it goes back to the first interval instead of
  // taking a fetch every min_interval_ms.
  const auto p = no_jitter();
  const auto racing = visit_series(80, [](int) { return true; });
  EXPECT_EQ(racing.interval, p.interval);
  auto shorter = visit_series(3, [](int) { return true; });
  EXPECT_LT(shorter.interval, p.interval);  // early on, a change shortens it
}

TEST(Recrawl, CountsHalveBeforeTheySaturate) {
  auto row = visit_series(300, [](int i) { return i % 3 == 0; });
  EXPECT_LT(row.checks, 256u);
  EXPECT_GE(row.checks, 128u);
  EXPECT_NEAR(static_cast<double>(row.changes) / row.checks, 1.0 / 3, 0.05);
}

TEST(Recrawl, SameVisibleTextIsUnchangedThoughTheBytesDiffer) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1, 9), t0, p, false, 1).row;
  // Markup churn: a nonce changes the bytes, not the text.
  auto d = rc::decide(r, ok(2, 9), t0 + day, p, false, 1);
  EXPECT_EQ(d.what, rc::change::unchanged);
  d = rc::decide(d.row, ok(3, 10), t0 + 3 * day, p, false, 1);
  EXPECT_EQ(d.what, rc::change::changed);
}

TEST(Recrawl, NotModifiedGrowsAndKeepsTheDigests) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(5), t0, p, false, 1).row;
  auto o = of(rc::outcome::kind::not_modified);
  o.validators_sent = true;
  auto d = rc::decide(r, o, t0 + day, p, false, 1);
  EXPECT_EQ(d.what, rc::change::not_modified);
  EXPECT_EQ(d.row.body, r.body);
  EXPECT_EQ(d.row.interval, day + day / 2);
  EXPECT_EQ(d.row.last_full, t0);  // a 304 is no full download
}

TEST(Recrawl, HubsStayAtTheMinimum) {
  const auto p = no_jitter();
  auto d = rc::decide(std::nullopt, ok(1), t0, p, /*hub=*/true, 1);
  EXPECT_EQ(d.row.interval, p.min_interval);
  d = rc::decide(d.row, ok(1), d.row.next_due, p, false, 1);  // hub is remembered
  EXPECT_EQ(d.what, rc::change::unchanged);
  EXPECT_EQ(d.row.interval, p.min_interval);
}

TEST(Recrawl, Gone410AtOnceAnd404OnlyAfterGoneAfterSpacedByTheMinimum) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1), t0, p, false, 1).row;
  auto d = rc::decide(r, of(rc::outcome::kind::removed), t0 + day, p, false, 1);
  EXPECT_EQ(d.what, rc::change::gone);
  EXPECT_EQ(rc::gone_reason_name(d.reason), "410");
  EXPECT_EQ(d.row.next_due, t0 + day + p.max_interval);

  // 404, 404 ten minutes later (a flap does not count), then 404 an hour after the first.
  auto n = rc::decide(r, of(rc::outcome::kind::not_found), t0 + day, p, false, 1);
  EXPECT_EQ(n.what, rc::change::failed);
  EXPECT_EQ(n.row.next_due, t0 + day + std::max(p.min_interval, p.error_interval));
  n = rc::decide(n.row, of(rc::outcome::kind::not_found), t0 + day + 600000, p, false, 1);
  EXPECT_EQ(n.what, rc::change::failed);
  n = rc::decide(n.row, of(rc::outcome::kind::not_found), t0 + day + hour, p, false, 1);
  EXPECT_EQ(n.what, rc::change::gone);
  EXPECT_EQ(rc::gone_reason_name(n.reason), "404");
  // A 404 then a 200: the count starts over.
  auto f = rc::decide(r, of(rc::outcome::kind::not_found), t0 + day, p, false, 1);
  f = rc::decide(f.row, ok(1), t0 + day + hour, p, false, 1);
  EXPECT_EQ(f.what, rc::change::unchanged);
  f = rc::decide(f.row, of(rc::outcome::kind::not_found), t0 + 3 * day, p, false, 1);
  EXPECT_EQ(f.what, rc::change::failed);
}

TEST(Recrawl, GoneComesBackAsNew) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1), t0, p, false, 1).row;
  auto d = rc::decide(r, of(rc::outcome::kind::removed), t0 + day, p, false, 1);
  d = rc::decide(d.row, of(rc::outcome::kind::removed), d.row.next_due, p, false, 1);
  EXPECT_EQ(d.what, rc::change::gone);  // still gone: said again, harmless to a delete
  d = rc::decide(d.row, ok(1), d.row.next_due, p, false, 1);
  EXPECT_EQ(d.what, rc::change::created);
  EXPECT_EQ(d.row.interval, p.interval);
}

TEST(Recrawl, RedirectRobotsNoindexAndUnreachableOfAnIndexedUrlAreGone) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1), t0, p, false, 1).row;
  EXPECT_EQ(rc::gone_reason_name(
                rc::decide(r, of(rc::outcome::kind::redirect), t0 + day, p, false, 1).reason),
            "redirect");
  EXPECT_EQ(rc::gone_reason_name(
                rc::decide(r, of(rc::outcome::kind::robots), t0 + day, p, false, 1).reason),
            "robots");
  auto noindex = ok(2);
  noindex.noindex = true;
  EXPECT_EQ(rc::gone_reason_name(rc::decide(r, noindex, t0 + day, p, false, 1).reason), "noindex");
  // Failing: failed (keep the copy), every error_interval, until unreachable_ms have passed.
  auto d = rc::decide(r, of(rc::outcome::kind::failed), t0 + day, p, false, 1);
  EXPECT_EQ(d.what, rc::change::failed);
  EXPECT_EQ(d.row.next_due, t0 + day + p.error_interval);
  EXPECT_TRUE(d.row.indexed);
  d = rc::decide(d.row, of(rc::outcome::kind::failed), t0 + day + p.unreachable - 1, p, false, 1);
  EXPECT_EQ(d.what, rc::change::failed);
  d = rc::decide(d.row, of(rc::outcome::kind::failed), t0 + day + p.unreachable, p, false, 1);
  EXPECT_EQ(d.what, rc::change::gone);
  EXPECT_EQ(rc::gone_reason_name(d.reason), "unreachable");
  // A redirect of a URL never indexed is nothing to delete.
  EXPECT_EQ(rc::decide(std::nullopt, of(rc::outcome::kind::redirect), t0, p, false, 1).what,
            rc::change::failed);
}

TEST(Recrawl, JitterSpreadsDueTimesWithinItsBoundsAndIsReproducible) {
  rc::policy p;  // jitter 0.1
  std::set<millis> dues;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    auto d = rc::decide(std::nullopt, ok(1), t0, p, false, seed);
    EXPECT_GE(d.row.next_due, t0 + day - day / 10);
    EXPECT_LE(d.row.next_due, t0 + day + day / 10);
    EXPECT_EQ(d.row.next_due, rc::decide(std::nullopt, ok(1), t0, p, false, seed).row.next_due);
    dues.insert(d.row.next_due);
  }
  EXPECT_GT(dues.size(), 190u);  // pages of one site do not come due together
}

TEST(Recrawl, ValidatorsOnlyFromAWholeTwoHundredYoungerThanTheMaximum) {
  const auto p = no_jitter();
  auto o = ok(1);
  o.etag = "W/\"abc\"";
  o.last_modified = "Tue, 15 Nov 1994 12:45:26 GMT";
  auto r = rc::decide(std::nullopt, o, t0, p, false, 1).row;
  auto v = rc::validators_for(r, t0 + day, p);
  EXPECT_EQ(v.if_none_match, "W/\"abc\"");  // verbatim
  EXPECT_EQ(v.if_modified_since, "Tue, 15 Nov 1994 12:45:26 GMT");
  // Past the maximum interval since the last full download: unconditional.
  EXPECT_FALSE(rc::validators_for(r, t0 + p.max_interval, p).any());
  // 304s do not refresh last_full, so a server whose Last-Modified never moves is still
  // downloaded in full once per maximum interval.
  auto nm = of(rc::outcome::kind::not_modified);
  nm.validators_sent = true;
  auto r2 = rc::decide(r, nm, t0 + day, p, false, 1).row;
  EXPECT_FALSE(rc::validators_for(r2, t0 + p.max_interval + 1, p).any());
  // A truncated body keeps none.
  auto cut = o;
  cut.truncated = true;
  EXPECT_FALSE(
      rc::validators_for(rc::decide(std::nullopt, cut, t0, p, false, 1).row, t0 + 1, p).any());
  // Nor does a failed visit's row of a URL never indexed.
  EXPECT_FALSE(
      rc::validators_for(
          rc::decide(std::nullopt, of(rc::outcome::kind::failed), t0, p, false, 1).row, t0 + 1, p)
          .any());
}

TEST(Recrawl, ValidatorsIgnoredIsCounted) {
  const auto p = no_jitter();
  auto r = rc::decide(std::nullopt, ok(1), t0, p, false, 1).row;
  auto o = ok(1);
  o.validators_sent = true;
  EXPECT_TRUE(rc::decide(r, o, t0 + day, p, false, 1).validators_ignored);
  o.validators_sent = false;
  EXPECT_FALSE(rc::decide(r, o, t0 + day, p, false, 1).validators_ignored);
}

TEST(Recrawl, RowsRoundTripCompactly) {
  const auto p = no_jitter();
  auto o = ok(1, 2);
  o.etag = "\"5f3a-1b2c3d4e\"";
  o.last_modified = "Sun, 06 Nov 1994 08:49:37 GMT";
  auto r = rc::decide(std::nullopt, o, t0, p, true, 1).row;
  r = rc::decide(r, of(rc::outcome::kind::not_found), t0 + hour, p, false, 1).row;
  const std::string bytes = rc::encode(r);
  auto back = rc::decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  // Without the ETag's 16 bytes: two digests (32) and about 40 of times and counters.
  EXPECT_LE(bytes.size() - r.etag.size(), 75u);
  EXPECT_FALSE(rc::decode(bytes.substr(0, bytes.size() - 1)));
  EXPECT_FALSE(rc::decode(bytes + "x"));
  EXPECT_FALSE(rc::decode(""));
  rc::visit_row empty;
  EXPECT_EQ(*rc::decode(rc::encode(empty)), empty);
}

TEST(Recrawl, HttpDatesInAllThreeForms) {
  const millis expect = 784111777000;  // 1994-11-06 08:49:37 UTC
  EXPECT_EQ(rc::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expect);
  EXPECT_EQ(rc::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expect);
  EXPECT_EQ(rc::parse_http_date("Sun Nov  6 08:49:37 1994"), expect);
  EXPECT_EQ(rc::imf_fixdate(expect), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_FALSE(rc::parse_http_date("2026-11-06T08:49:37Z"));
  EXPECT_FALSE(rc::parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(rc::parse_http_date(""));
}

TEST(Recrawl, DigestOfHex) {
  auto d = rc::digest_of_hex("000102030405060708090a0b0c0d0e0fffff");
  ASSERT_TRUE(d);
  EXPECT_EQ((*d)[15], 0x0f);
  EXPECT_FALSE(rc::digest_of_hex("00"));
  EXPECT_FALSE(rc::digest_of_hex("zz0102030405060708090a0b0c0d0e0f"));
}

TEST(Recrawl, AnArchivedCaptureRoundTripsIn36Bytes) {
  const auto p = no_jitter();
  auto o = ok(1, 2);
  o.archived = rc::capture{"<urn:uuid:4b7be933-b0d5-466a-9c2f-36f8727274e7>", t0 * 1000 - 5123,
                           "sha1:2WAXX5NUWNNCS2BDKCO5OVDQBJVNKIVV"};
  auto r = rc::decide(std::nullopt, o, t0, p, false, 1).row;
  ASSERT_TRUE(r.archived);
  const std::string with = rc::encode(r);
  auto back = rc::decode(with);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, r);
  r.archived.reset();
  EXPECT_LE(with.size() - rc::encode(r).size(), 2u + 16u + 20u + 4u);
  // A 304 keeps the capture a revisit record refers to.
  auto nm = of(rc::outcome::kind::not_modified);
  nm.validators_sent = true;
  auto kept = rc::decide(*back, nm, t0 + day, p, false, 1).row;
  EXPECT_EQ(kept.archived, back->archived);
  // Other forms are kept as text.
  o.archived = rc::capture{"<urn:other:1>", t0 * 1000, "md5:abc"};
  auto odd = rc::decide(std::nullopt, o, t0, p, false, 1).row;
  EXPECT_EQ(*rc::decode(rc::encode(odd)), odd);
}
