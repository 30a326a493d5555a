// The benchmark site's change model (service/benchsite/site.hpp): a pure function of (page,
// simulated time), so every rule is checked here without a server and without sleeping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "benchsite/site.hpp"

using namespace trawler::benchsite;

namespace {

constexpr sim_ms hour = sim_day / 24;
constexpr sim_ms minute = hour / 60;

std::string joined(const std::array<std::string_view, 4>& pieces) {
  std::string out;
  for (const auto p : pieces) out += p;
  return out;
}

std::uint64_t fnv(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The bytes of every page and URL of a site without the change model, hashed.
std::uint64_t static_site_hash(const site_options& o) {
  const site s(o);
  std::uint64_t h = 1469598103934665603ull;
  for (int i = 0; i < s.pages(); ++i) {
    for (const auto piece : s.body(i)) h = fnv(piece, h);
    h = fnv(s.url(i), h);
  }
  return h;
}

site_options changing(int pages, int hosts = 5) {
  site_options o;
  o.pages = pages;
  o.hosts = hosts;
  o.page_bytes = 2000;
  o.links = 8;
  o.port = 8080;
  o.changes.enabled = true;
  return o;
}

// Text outside <script> elements: what a crawler's visible-text signature sees changing.
std::string without_scripts(std::string html) {
  for (auto at = html.find("<script"); at != std::string::npos; at = html.find("<script")) {
    const auto end = html.find("</script>", at);
    html.erase(at, end + 9 - at);
  }
  return html;
}

}  // namespace

TEST(BenchSite, StaticSiteIsUnchangedByTheChangeModel) {
  // Hashes of the site as it was before the change model existed: its bytes must not move.
  site_options a;
  a.pages = 50;
  a.hosts = 3;
  a.page_bytes = 3000;
  a.links = 12;
  a.seed = 7;
  a.port = 8080;
  EXPECT_EQ(static_site_hash(a), 6592541698436268462ull);
  site_options b;
  b.pages = 200;
  EXPECT_EQ(static_site_hash(b), 1269865108467694568ull);

  const site s(a);
  EXPECT_FALSE(s.changing());
  EXPECT_EQ(s.total_pages(), s.pages());
  std::string scratch;
  for (int p = 0; p < s.pages(); ++p) {
    EXPECT_EQ(joined(s.body_at(p, 0, 1, scratch)), s.body_string(p));
    EXPECT_EQ(s.state_at(p, 1000 * sim_day), page_state::live);
    EXPECT_EQ(s.version_at(p, 1000 * sim_day), 0u);
  }
}

TEST(BenchSite, ChangeModelIsDeterministicPerSeed) {
  const site a(changing(300)), b(changing(300));
  auto other = changing(300);
  other.seed = 2;
  const site c(other);
  int same_class = 0;
  for (int p = 0; p < 300; ++p) {
    EXPECT_EQ(a.class_of(p), b.class_of(p));
    EXPECT_EQ(a.changes(p), b.changes(p));
    EXPECT_EQ(a.flaps(p), b.flaps(p));
    EXPECT_EQ(a.deleted_at(p), b.deleted_at(p));
    same_class += a.class_of(p) == c.class_of(p);
  }
  EXPECT_LT(same_class, 250);  // another seed, other classes
}

TEST(BenchSite, ClassSharesAndPoissonRates) {
  auto o = changing(4000, 4);
  o.changes.horizon_days = 30;
  const site s(o);
  std::map<page_class, int> count;
  std::map<page_class, double> changes;
  for (int p = 0; p < s.total_pages(); ++p) {
    ++count[s.class_of(p)];
    if (s.deleted_at(p) == sim_never) changes[s.class_of(p)] += s.changes(p).size();
  }
  EXPECT_EQ(count[page_class::hub], 4);  // the front pages
  const double n = 3996;
  EXPECT_NEAR(count[page_class::hourly] / n, 0.05, 0.015);
  EXPECT_NEAR(count[page_class::daily] / n, 0.20, 0.03);
  EXPECT_NEAR(count[page_class::weekly] / n, 0.45, 0.03);
  EXPECT_NEAR(count[page_class::churn] / n, 0.10, 0.02);
  EXPECT_NEAR(count[page_class::never] / n, 0.20, 0.03);
  // Mean changes per page over 30 days: 720 hourly (a few merge into one simulated second),
  // 30 daily, 30/7 weekly, none for the rest.
  EXPECT_NEAR(changes[page_class::hourly] / count[page_class::hourly], 720, 20);
  EXPECT_NEAR(changes[page_class::daily] / count[page_class::daily], 30, 1.5);
  EXPECT_NEAR(changes[page_class::weekly] / count[page_class::weekly], 30.0 / 7, 0.4);
  EXPECT_EQ(changes[page_class::never], 0);
  EXPECT_EQ(changes[page_class::churn], 0);
}

TEST(BenchSite, VersionsCountChangesAtWholeSeconds) {
  const site s(changing(200));
  int checked = 0;
  for (int p = 0; p < s.total_pages(); ++p) {
    const auto& ch = s.changes(p);
    for (std::size_t k = 0; k < ch.size(); ++k) {
      ASSERT_EQ(ch[k] % 1000, 0);
      if (k) {
        ASSERT_GT(ch[k], ch[k - 1]);
      }
      EXPECT_EQ(s.version_at(p, ch[k] - 1), k);
      EXPECT_EQ(s.version_at(p, ch[k]), k + 1);
      EXPECT_EQ(s.version_start(p, static_cast<std::uint32_t>(k + 1)), ch[k]);
      ++checked;
    }
    EXPECT_EQ(s.version_at(p, 0), 0u);
  }
  EXPECT_GT(checked, 1000);
}

TEST(BenchSite, BodyIsAFunctionOfTheVersion) {
  const site s(changing(200));
  std::string a, b;
  int pages_changed = 0, churn = 0;
  for (int p = 5; p < s.total_pages(); ++p) {
    const std::string v0 = joined(s.body_at(p, 0, 1, a));
    const std::string v0again = joined(s.body_at(p, 0, 2, b));
    const std::string v1 = joined(s.body_at(p, 1, 1, b));
    EXPECT_NE(v0, v1);  // a new version has new text
    EXPECT_NE(without_scripts(v0), without_scripts(v1));
    if (s.class_of(p) == page_class::churn) {
      // Markup churn: every response differs, in a script only.
      EXPECT_NE(v0, v0again);
      EXPECT_EQ(without_scripts(v0), without_scripts(v0again));
      ++churn;
    } else {
      EXPECT_EQ(v0, v0again);
    }
    if (!s.changes(p).empty()) ++pages_changed;
  }
  EXPECT_GT(churn, 5);
  EXPECT_GT(pages_changed, 50);
}

TEST(BenchSite, NewPagesAppearOnTheirHostsFrontPage) {
  auto o = changing(100, 4);
  o.changes.new_pages = 40;
  o.changes.horizon_days = 10;
  const site s(o);
  ASSERT_EQ(s.total_pages(), 140);
  EXPECT_EQ(s.ground_truth().size(), 100u);
  std::string scratch;
  sim_ms last = 0;
  for (int p = 100; p < 140; ++p) {
    const sim_ms born = s.born(p);
    EXPECT_GT(born, last);  // in index order, a second apart at least
    EXPECT_LE(born, 10 * sim_day + 40000);
    last = born;
    EXPECT_EQ(s.state_at(p, born - 1), page_state::unborn);
    EXPECT_EQ(s.respond(p, born - 1, "", "").status, 404);
    EXPECT_NE(s.state_at(p, born), page_state::unborn);
    EXPECT_EQ(s.find(s.host_of(p), s.target(p)), p);
    // The host's front page lists it from its birth on, not before.
    const int hub = s.host_of(p);
    EXPECT_EQ(s.class_of(hub), page_class::hub);
    const std::string before = joined(s.body_at(hub, s.version_at(hub, born - 1), 0, scratch));
    const std::string after = joined(s.body_at(hub, s.version_at(hub, born), 0, scratch));
    EXPECT_EQ(s.version_at(hub, born), s.version_at(hub, born - 1) + 1);
    const std::string link = s.target(p).substr(1);  // relative from "/"
    EXPECT_EQ(before.find(link), std::string::npos) << link;
    EXPECT_NE(after.find(link), std::string::npos) << link;
  }
  // The initial pages never link a new page (it is not there yet).
  for (int p = 0; p < 100; ++p) EXPECT_EQ(s.body_string(p).find("/news/"), std::string::npos);
}

TEST(BenchSite, DeletionsAnswer404Or410AndFlapsComeBack) {
  auto o = changing(3000);
  o.changes.deleted = 0.1;
  o.changes.flapping = 0.1;
  o.changes.horizon_days = 20;
  const site s(o);
  std::set<int> statuses;
  int flapping = 0;
  for (int p = 0; p < s.total_pages(); ++p) {
    const sim_ms d = s.deleted_at(p);
    if (d != sim_never) {
      EXPECT_EQ(s.class_of(p) == page_class::hub, false);
      EXPECT_EQ(s.state_at(p, d - 1) == page_state::deleted, false);
      EXPECT_EQ(s.state_at(p, d), page_state::deleted);
      EXPECT_EQ(s.respond(p, d + sim_day, "", "").status, s.deleted_status(p));
      statuses.insert(s.deleted_status(p));
      for (const sim_ms c : s.changes(p)) EXPECT_LT(c, d);
    }
    for (const auto& [from, to] : s.flaps(p)) {
      ++flapping;
      EXPECT_LT(from, to);
      if (to < d) {
        EXPECT_GE(to - from, 5 * minute);
      }
      EXPECT_LE(to - from, 30 * minute + 1000);
      EXPECT_EQ(s.state_at(p, from), page_state::flapping);
      EXPECT_EQ(s.state_at(p, to - 1), page_state::flapping);
      EXPECT_EQ(s.respond(p, from, "", "").status, 404);
      if (to < d) {
        EXPECT_EQ(s.state_at(p, to), page_state::live);
        EXPECT_EQ(s.respond(p, to, "", "").status, 200);
      }
      EXPECT_EQ(s.state_at(p, from - 1) == page_state::flapping, false);
    }
  }
  EXPECT_EQ(statuses, (std::set<int>{404, 410}));
  EXPECT_GT(flapping, 500);  // 300 pages, a flap every 2 days over 20 days
}

TEST(BenchSite, ChangeModelOptionsAreChecked) {
  auto o = changing(10);
  o.changes.hourly = 0.6;
  o.changes.daily = 0.6;
  EXPECT_THROW(site{o}, std::invalid_argument);
  o = changing(10);
  o.changes.horizon_days = 0;
  EXPECT_THROW(site{o}, std::invalid_argument);
  o = changing(10);
  o.changes.flap_min_minutes = 10;
  o.changes.flap_max_minutes = 5;
  EXPECT_THROW(site{o}, std::invalid_argument);
  o = changing(10);
  o.changes.hosts.clear();
  EXPECT_THROW(site{o}, std::invalid_argument);
}

TEST(BenchSite, HttpDates) {
  // RFC 9110 5.6.7's three forms of one instant.
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), 784111777);
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(1767225600), "Thu, 01 Jan 2026 00:00:00 GMT");
  for (const std::int64_t t : {0ll, 951782400ll, 1767225599ll, 4102444800ll}) {
    EXPECT_EQ(parse_http_date(http_date(t)), t) << t;
  }
  EXPECT_FALSE(parse_http_date(""));
  EXPECT_FALSE(parse_http_date("yesterday"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 25:49:37 GMT"));
  EXPECT_FALSE(parse_http_date("1994-11-06T08:49:37Z"));
}

TEST(BenchSite, IfNoneMatchUsesTheWeakComparison) {
  EXPECT_TRUE(if_none_match_matches("\"a\"", "\"a\""));
  EXPECT_TRUE(if_none_match_matches("W/\"a\"", "\"a\""));
  EXPECT_TRUE(if_none_match_matches("\"a\"", "W/\"a\""));
  EXPECT_TRUE(if_none_match_matches("\"x\", W/\"y\" ,\"a\"", "\"a\""));
  EXPECT_TRUE(if_none_match_matches(" * ", "\"a\""));
  EXPECT_TRUE(if_none_match_matches("*", ""));  // any current representation
  EXPECT_FALSE(if_none_match_matches("\"b\"", "\"a\""));
  EXPECT_FALSE(if_none_match_matches("\"a", "\"a\""));
  EXPECT_FALSE(if_none_match_matches("a", "\"a\""));
  EXPECT_FALSE(if_none_match_matches("\"a\"", ""));
  EXPECT_FALSE(if_none_match_matches("", "\"a\""));
}

TEST(BenchSite, ConditionalRequestsPerHost) {
  // Hosts 0..4: both, etag, last-modified, none, ignore (the default cycle).
  auto o = changing(400);
  o.changes.hourly = 0;
  o.changes.daily = 1;
  o.changes.weekly = 0;
  o.changes.churn = 0;
  o.changes.deleted = 0;
  o.changes.flapping = 0;
  const site s(o);
  for (int host = 0; host < 5; ++host) {
    // A daily page of this host with a change on day 2 or later.
    int p = -1;
    for (int q = 5 + host; q < s.total_pages(); q += 5) {
      if (!s.changes(q).empty() && s.changes(q).front() > sim_day) {
        p = q;
        break;
      }
    }
    ASSERT_GE(p, 0);
    const sim_ms t = s.changes(p).front() - hour;  // version 0
    const sim_ms later = s.changes(p).front();     // version 1
    const answer a = s.respond(p, t, "", "");
    ASSERT_EQ(a.status, 200);
    EXPECT_EQ(a.version, 0u);
    const validator_mode mode = s.validators_of(host);
    const std::string etag = s.etag(p, 0);
    const std::string lm = s.last_modified(p, 0);
    EXPECT_EQ(a.etag,
              mode == validator_mode::last_modified || mode == validator_mode::none ? "" : etag);
    EXPECT_EQ(a.last_modified,
              mode == validator_mode::etag || mode == validator_mode::none ? "" : lm);
    const bool tags = mode == validator_mode::both || mode == validator_mode::etag;
    const bool dates = mode == validator_mode::both || mode == validator_mode::last_modified;
    const std::string lm_later = http_date(*parse_http_date(lm) + 3600);
    const std::string lm_earlier = http_date(*parse_http_date(lm) - 1);
    SCOPED_TRACE(std::string(validator_mode_name(mode)));
    EXPECT_EQ(s.respond(p, t, etag, "").status, tags ? 304 : 200);
    EXPECT_EQ(s.respond(p, t, "W/" + etag, "").status, tags ? 304 : 200);
    EXPECT_EQ(s.respond(p, t, "\"other\", " + etag, "").status, tags ? 304 : 200);
    EXPECT_EQ(s.respond(p, t, "*", "").status,
              mode == validator_mode::none || mode == validator_mode::ignore ? 200 : 304);
    EXPECT_EQ(s.respond(p, t, "", lm).status, dates ? 304 : 200);
    EXPECT_EQ(s.respond(p, t, "", lm_later).status, dates ? 304 : 200);
    EXPECT_EQ(s.respond(p, t, "", lm_earlier).status, 200);
    EXPECT_EQ(s.respond(p, t, "", "not a date").status, 200);
    // If-None-Match decides alone when present (RFC 9110 13.2.2).
    EXPECT_EQ(s.respond(p, t, "\"other\"", lm).status, 200);
    // After the change the old validators no longer match.
    EXPECT_EQ(s.respond(p, later, etag, "").status, 200);
    EXPECT_EQ(s.respond(p, later, "", lm).status, 200);
    EXPECT_EQ(s.respond(p, later, "", "").version, 1u);
    // A 304 carries the ETag, and the Last-Modified only without one.
    const answer nm = s.respond(p, t, tags ? etag : "", dates ? lm : "");
    if (tags || dates) {
      EXPECT_EQ(nm.status, 304);
      EXPECT_EQ(nm.etag, tags ? etag : "");
      EXPECT_EQ(nm.last_modified, tags ? "" : lm);
    }
  }
  // Churn pages have weak ETags: their bytes differ between responses.
  auto c = changing(200);
  c.changes.churn = 1;
  c.changes.hourly = c.changes.daily = c.changes.weekly = 0;
  const site churn(c);
  EXPECT_EQ(churn.etag(5, 0), "W/\"p5v0\"");
  EXPECT_EQ(churn.respond(5, hour, "W/\"p5v0\"", "").status, 304);
  EXPECT_EQ(s.etag(5, 3), "\"p5v3\"");
}

TEST(BenchSite, LastModifiedIsOnTheSimulatedCalendar) {
  const site s(changing(100));
  for (int p = 0; p < s.total_pages(); ++p) {
    const auto& ch = s.changes(p);
    for (std::size_t k = 0; k < ch.size(); ++k) {
      const auto v = static_cast<std::uint32_t>(k + 1);
      EXPECT_EQ(*parse_http_date(s.last_modified(p, v)) * 1000,
                site::sim_epoch_unix_ms + s.version_start(p, v));
      // Versions a second apart at least: a date tells them apart.
      EXPECT_LT(*parse_http_date(s.last_modified(p, v - 1)),
                *parse_http_date(s.last_modified(p, v)));
    }
  }
}
