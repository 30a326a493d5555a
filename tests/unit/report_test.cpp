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
