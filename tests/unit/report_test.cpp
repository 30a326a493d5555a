#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "report/crawl_report.hpp"

using nlohmann::json;
using trawler::report::crawl_report;
using trawler::report::log_histogram;

namespace {

json record(const std::string& url, std::optional<int> status, const std::string& kind = "",
            double elapsed = 10, const std::string& at = "2026-12-04T10:00:00.000Z", int depth = 1,
            std::uint64_t size = 1000, const std::string& type = "text/html") {
  json r = {{"url", url},
            {"status", status ? json(*status) : json(nullptr)},
            {"error", kind.empty() ? json(nullptr) : json({{"kind", kind}, {"message", "m"}})},
            {"depth", depth},
            {"fetched_at", at},
            {"elapsed_ms", elapsed},
            {"size", status ? size : 0},
            {"content_type", status ? json(type) : json(nullptr)}};
  return r;
}

std::string embedded_json(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"trawler-report\">";
  const auto a = html.find(open);
  const auto b = html.find("</script>", a);
  if (a == std::string::npos || b == std::string::npos) return "";
  return html.substr(a + open.size(), b - a - open.size());
}

}  // namespace

TEST(LogHistogram, QuantilesAreWithinTenPercent) {
  log_histogram h;
  for (int i = 1; i <= 1000; ++i) h.add(i);
  EXPECT_NEAR(*h.quantile(0.5), 500, 50);
  EXPECT_NEAR(*h.quantile(0.95), 950, 95);
  EXPECT_NEAR(*h.quantile(0.99), 990, 99);
  EXPECT_FALSE(log_histogram{}.quantile(0.5));
  for (double v : {0.0, 0.3, 7.0, 123.0, 9999.0, 1e9}) {
    const int b = log_histogram::bucket_of(v);
    if (b + 1 < log_histogram::buckets) {
      EXPECT_LE(log_histogram::lower_bound(b), v) << v;
      EXPECT_LT(v, log_histogram::upper_bound(b)) << v;
    }
  }
}

TEST(Report, TimesAndHosts) {
  EXPECT_EQ(trawler::report::parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), 1500);
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 27;
  tm.tm_hour = 13;
  tm.tm_min = 19;
  tm.tm_sec = 54;
  EXPECT_EQ(trawler::report::parse_rfc3339_ms("2026-11-27T13:19:54.123Z"),
            static_cast<std::int64_t>(timegm(&tm)) * 1000 + 123);
  EXPECT_FALSE(trawler::report::parse_rfc3339_ms("2026-11-27 13:19:54"));
  EXPECT_FALSE(trawler::report::parse_rfc3339_ms("yesterday"));
  EXPECT_EQ(trawler::report::host_of("https://a.test:8443/x?y#z"), "https://a.test:8443");
  EXPECT_EQ(trawler::report::host_of("http://b.test"), "http://b.test");
  EXPECT_EQ(trawler::report::host_of("nonsense"), "");
}

TEST(Report, CountsWhatTheRecordsSay) {
  crawl_report r;
  r.add(record("http://a.test/", 200, "", 10, "2026-12-04T10:00:00.100Z", 0));
  r.add(record("http://a.test/x", 404, "", 30, "2026-12-04T10:00:01.100Z"));
  r.add(record("http://a.test/big", 200, "too_large", 50, "2026-12-04T10:00:01.900Z", 2, 5000,
               "application/pdf"));
  for (int i = 0; i < 7; ++i) {
    r.add(record("http://b.test/r" + std::to_string(i), std::nullopt, "robots", 0,
                 "2026-12-04T10:00:03.000Z", 70));
  }
  r.add(record("http://c.test/", std::nullopt, "connect", 0, "2026-12-04T10:00:04.000Z"));
  EXPECT_TRUE(r.add_line(R"({"url":"http://c.test/5","status":503,"error":null,"depth":1})"));
  EXPECT_FALSE(r.add_line("not json"));
  EXPECT_FALSE(r.add_line(R"({"status":200})"));
  EXPECT_TRUE(r.add_line("  "));

  EXPECT_EQ(r.records(), 12u);
  EXPECT_EQ(r.invalid(), 2u);
  EXPECT_EQ(r.pages(), 4u);
  EXPECT_EQ(r.errors(), 9u);
  EXPECT_EQ(r.bytes(), 7000u);
  EXPECT_EQ(r.status_classes()[0], 2u);  // 2xx
  EXPECT_EQ(r.status_classes()[2], 1u);  // 4xx
  EXPECT_EQ(r.status_classes()[3], 1u);  // 5xx
  EXPECT_EQ(r.status_classes()[5], 8u);  // no response
  ASSERT_TRUE(r.error_kinds().count("robots"));
  EXPECT_EQ(r.error_kinds().at("robots").count, 7u);
  EXPECT_EQ(r.error_kinds().at("robots").examples.size(), crawl_report::examples_per_kind);
  EXPECT_EQ(r.error_kinds().at("robots").examples[0], "http://b.test/r0");
  EXPECT_EQ(r.content_types().at("application/pdf").bytes, 5000u);
  EXPECT_EQ(r.content_types().at("(none)").count, 1u);  // the 503 without a type
  ASSERT_EQ(r.depths().size(), 65u);                    // depth 70 counts in the last row
  EXPECT_EQ(r.depths()[64], 7u);
  EXPECT_EQ(r.depths()[0], 1u);

  const auto& a = r.hosts().at("http://a.test");
  EXPECT_EQ(a.pages, 3u);
  EXPECT_EQ(a.errors, 1u);
  EXPECT_EQ(r.hosts().at("http://b.test").robots, 7u);
  EXPECT_EQ(r.hosts().at("http://b.test").errors, 0u);
  EXPECT_NEAR(*a.response_ms.quantile(0.5), 30, 3);

  // Per second of fetched_at: 10:00:01 holds two pages.
  const auto& secs = r.per_second();
  ASSERT_EQ(secs.size(), 4u);
  EXPECT_EQ(std::next(secs.begin())->second.pages, 2u);
  EXPECT_EQ(*r.last_ms() - *r.first_ms(), 3900);

  const json s = r.summary();
  EXPECT_EQ(s["hosts"][0]["host"], "http://a.test");  // busiest first
  EXPECT_EQ(s["status"]["none"], 8);
  EXPECT_NEAR(s["duration_s"].get<double>(), 3.9, 1e-9);
}

TEST(Report, ContentTypesAreCappedIntoOther) {
  crawl_report r;
  for (std::size_t i = 0; i < crawl_report::max_content_types + 10; ++i) {
    r.add(record("http://a.test/" + std::to_string(i), 200, "", 1, "2026-12-04T10:00:00Z", 1, 1,
                 "type/" + std::to_string(i)));
  }
  EXPECT_EQ(r.content_types().size(), crawl_report::max_content_types + 1);
  EXPECT_EQ(r.content_types().at("(other)").count, 10u);
}

TEST(Report, HtmlIsSelfContainedEscapedAndCarriesItsData) {
  crawl_report r;
  r.add(record("http://a.test/</script><script>alert(1)</script>", std::nullopt, "other"));
  r.add(record("http://a.test/ok", 200));
  const std::string html = trawler::report::render_html(r, {"out/<dir>"});
  // Nothing to fetch: no external script, style, image, font or frame.
  for (const std::regex& bad :
       {std::regex(R"(<script[^>]*\bsrc=)", std::regex::icase),
        std::regex("<link", std::regex::icase), std::regex(R"(url\()", std::regex::icase),
        std::regex("@import", std::regex::icase), std::regex("<img", std::regex::icase),
        std::regex("<iframe", std::regex::icase)}) {
    EXPECT_FALSE(std::regex_search(html, bad));
  }
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos) << "record text is escaped";
  EXPECT_NE(html.find("out/&lt;dir&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);
  const json data = json::parse(embedded_json(html), nullptr, false);
  ASSERT_TRUE(data.is_object());
  EXPECT_EQ(data, r.summary());
}

// ---- broken links ---------------------------------------------------------------------------

namespace {

using trawler::report::broken_links;

json page_linking(const std::string& url, std::vector<std::string> links,
                  const std::string& referrer = "") {
  json r = record(url, 200);
  r["links"] = links;
  r["referrer"] = referrer.empty() ? json(nullptr) : json(referrer);
  return r;
}

json broken(const std::string& url, int status, const std::string& referrer) {
  json r = record(url, status);
  r["links"] = json::array();
  r["referrer"] = referrer;
  return r;
}

// Both passes over the same lines, as `trawler report` makes them.
void two_passes(crawl_report& r, const std::vector<json>& records) {
  for (const auto& x : records) ASSERT_TRUE(r.add_line(x.dump()));
  for (const auto& x : records) r.broken_links().scan_line(x.dump());
}

}  // namespace

// The table lists the URLs that answered 4xx/5xx, most linked first, each with every distinct
// page linking it: by its links (before and after its own record), a redirect to it, and the
// page it was found on; a URL fixed by a later record is not listed.
TEST(BrokenLinks, ListTheLinkingPagesOfEvery4xxAnd5xx) {
  crawl_report r;
  json redirect = record("http://a.test/old", 301);
  redirect["redirect"] = "http://a.test/missing";
  json fixed_later = broken("http://a.test/flaky", 503, "http://a.test/");
  json fixed = record("http://a.test/flaky", 200);
  two_passes(r, {page_linking("http://a.test/", {"http://a.test/missing", "http://a.test/boom",
                                                 "http://a.test/ok", "http://a.test/flaky"}),
                 page_linking("http://a.test/b", {"http://a.test/missing", "http://a.test/missing"},
                              "http://a.test/"),
                 broken("http://a.test/missing", 404, "http://a.test/"),
                 broken("http://a.test/boom", 500, "http://a.test/"),
                 record("http://a.test/ok", 200), fixed_later, fixed,
                 // A page recorded after the broken URL, and one recorded twice (a recrawl).
                 page_linking("http://a.test/c", {"http://a.test/missing"}),
                 page_linking("http://a.test/c", {"http://a.test/missing"}), redirect});
  const auto rows = r.broken_links().rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].url, "http://a.test/missing");
  EXPECT_EQ(rows[0].status, 404);
  EXPECT_EQ(rows[0].linked_from_count, 4u);
  EXPECT_EQ(rows[0].linked_from,
            (std::vector<std::string>{"http://a.test/", "http://a.test/b", "http://a.test/c",
                                      "http://a.test/old"}));
  EXPECT_EQ(rows[1].url, "http://a.test/boom");
  EXPECT_EQ(rows[1].status, 500);
  EXPECT_EQ(rows[1].linked_from_count, 1u);

  const json s = r.summary();
  EXPECT_EQ(s["http_errors"], 3);  // the 503 was a response too
  EXPECT_EQ(s["errors"], 0);
  EXPECT_EQ(s["broken_links"]["listed"], 2);
  EXPECT_EQ(s["broken_links"]["rows"][0]["linked_from_count"], 4);
  EXPECT_EQ(s["broken_links"]["rows"][1]["linked_from"], json({"http://a.test/"}));

  const std::string html = trawler::report::render_html(r, {"out.jsonl"});
  EXPECT_NE(html.find("<h2 id=\"broken-links\">Broken links</h2>"), std::string::npos);
  EXPECT_TRUE(std::regex_search(
      html, std::regex(R"(<tr><td class="url">http://a\.test/missing</td><td class="n" )"
                       R"(data-v="404">404</td><td class="n" data-v="4">4</td>)"
                       R"(<td class="examples">http://a\.test/<br>http://a\.test/b<br>)")))
      << html;
  EXPECT_NE(html.find("4xx/5xx responses"), std::string::npos);
}

TEST(BrokenLinks, NoneIsSaidSo) {
  crawl_report r;
  two_passes(r,
             {page_linking("http://a.test/", {"http://a.test/x"}), record("http://a.test/x", 200),
              record("http://a.test/y", std::nullopt, "timeout")});
  EXPECT_TRUE(r.broken_links().rows().empty());
  EXPECT_FALSE(r.broken_links().wants_links());
  EXPECT_NE(trawler::report::render_html(r, {}).find("No URL answered 4xx or 5xx."),
            std::string::npos);
}

// For a spreadsheet: RFC 4180 (CRLF, a field with a comma, quote or line break quoted, quotes
// doubled), the linking pages in one field separated by spaces.
TEST(BrokenLinks, CsvIsRfc4180) {
  std::vector<broken_links::row> rows = {
      {"http://a.test/a,b", 404, 2, {"http://a.test/", "http://a.test/\"q\""}},
      {"http://a.test/x", 500, 0, {}}};
  EXPECT_EQ(trawler::report::to_csv(rows),
            "url,status,linked_from_count,linked_from\r\n"
            "\"http://a.test/a,b\",404,2,\"http://a.test/ http://a.test/\"\"q\"\"\"\r\n"
            "http://a.test/x,500,0,\r\n");
  EXPECT_EQ(trawler::report::to_csv({}), "url,status,linked_from_count,linked_from\r\n");
}

// Pass 2 parses only the lines that name a broken URL, also when the line escapes it.
TEST(BrokenLinks, LinesNamingABrokenUrlAreFoundEscapedOrNot) {
  broken_links b;
  b.add(broken("http://a.test/m/x", 404, "http://a.test/"));
  EXPECT_TRUE(b.names_a_broken_url(R"({"url":"http://a.test/p","links":["http://a.test/m/x"]})"));
  EXPECT_TRUE(
      b.names_a_broken_url(R"({"url":"http://a.test/p","links":["http:\/\/a.test\/m\/x"]})"));
  EXPECT_FALSE(b.names_a_broken_url(R"({"url":"http://a.test/p","links":["http://a.test/m/x2"]})"));
  EXPECT_FALSE(b.names_a_broken_url(R"({"url":"http://a.test/p","links":["http://a.test/m/x)"));
  b.scan_line(R"({"url":"http://a.test/p","links":["http:\/\/a.test\/m\/x"]})");
  ASSERT_EQ(b.rows().size(), 1u);
  EXPECT_EQ(b.rows()[0].linked_from,
            (std::vector<std::string>{"http://a.test/", "http://a.test/p"}));
}

// Bounded: past max_urls broken URLs, more are counted, not listed; a linked URL keeps its
// first pages_kept linking pages and counts the rest.
TEST(BrokenLinks, MemoryIsBounded) {
  broken_links b;
  for (std::size_t i = 0; i < broken_links::max_urls + 3; ++i)
    b.add(broken("http://a.test/" + std::to_string(i), 404, "http://a.test/"));
  EXPECT_EQ(b.listed(), broken_links::max_urls);
  EXPECT_EQ(b.unlisted(), 3u);
  for (int p = 0; p < 500; ++p) {
    b.add_links(page_linking("http://a.test/p" + std::to_string(p), {"http://a.test/7"}));
  }
  const auto rows = b.rows();
  EXPECT_EQ(rows[0].url, "http://a.test/7");
  EXPECT_EQ(rows[0].linked_from_count, 501u);
  EXPECT_EQ(rows[0].linked_from.size(), broken_links::pages_kept);
}
