// robots.txt outcomes, politeness spacing and sitemaps, measured at the test server.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>

#include "crawl_harness.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

response text(std::string body, int status = 200) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = "text/plain";
  return r;
}

// A loopback port with nothing listening on it.
std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(static_cast<uLong>(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<std::chrono::steady_clock::time_point> times_for(const test_server& s,
                                                             const std::string& host,
                                                             const std::string& prefix) {
  std::vector<std::chrono::steady_clock::time_point> t;
  for (const auto& r : s.requests()) {
    if ((host.empty() || r.host == host) && r.target.rfind(prefix, 0) == 0) t.push_back(r.started);
  }
  return t;
}

}  // namespace

TEST(Robots, NotFoundMeansAllAllowedAndIsFetchedOncePerHost) {
  test_server s;
  std::string port = std::to_string(s.port());
  std::vector<std::string> links;
  for (int i = 0; i < 10; ++i) {
    links.push_back("http://b.test:" + port + "/" + std::to_string(i));
    s.add_html("/" + std::to_string(i), page("b", {}), "b.test");
  }
  s.add_html("/", page("a", links), "a.test");
  auto run = run_crawl(concat({"http://a.test:" + port + "/", "--scope", "any", "--per-host", "4"},
                              resolve_args(s, {"a.test", "b.test"})));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 11u);
  EXPECT_EQ(s.hits("/robots.txt", "a.test"), 1);
  EXPECT_EQ(s.hits("/robots.txt", "b.test"), 1);
  EXPECT_EQ(run.stats.at("robots_fetches"), 2);
  // robots.txt fetches produce no record.
  for (const auto& r : run.records) {
    EXPECT_EQ(r.at("url").get<std::string>().find("robots.txt"), std::string::npos);
  }
}

TEST(Robots, UnreachableRobotsGivesTheNetworkKindWithoutAttempts) {
  auto port = std::to_string(closed_port());
  auto run = run_crawl({"http://127.0.0.1:" + port + "/", "--max-tries", "2"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  ASSERT_EQ(run.records.size(), 1u);
  const auto& r = run.records[0];
  EXPECT_EQ(r.at("error").at("kind"), "connect");
  EXPECT_EQ(r.at("attempts"), 0);
  EXPECT_TRUE(r.at("status").is_null());
  EXPECT_EQ(run.stats.at("robots_fetches"), 2);  // retried like any fetch
}

TEST(Robots, FiveHundredThenSuccessIsNotCachedAsAFailure) {
  test_server s;
  std::string b = s.base_url();
  s.add_sequence("/robots.txt", {text("", 503), text("User-agent: *\nDisallow: /no\n")});
  s.add_html("/", page("root", {"/no", "/yes"}));
  s.add_html("/yes", page("yes", {}));
  s.add_html("/no", page("no", {}));
  auto run = run_crawl({b + "/", "--max-tries", "3"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(s.hits("/robots.txt"), 2);
  EXPECT_EQ(run.at(b + "/yes").at("status"), 200);
  EXPECT_EQ(run.at(b + "/no").at("error").at("kind"), "robots");
}

TEST(Politeness, CrawlDelaySpacesRequestStarts) {
  test_server s;
  std::string b = s.base_url();
  s.add_page("/robots.txt", text("User-agent: *\nCrawl-delay: 0.3\n"));
  std::vector<std::string> links;
  for (int i = 0; i < 4; ++i) {
    links.push_back("/p" + std::to_string(i));
    s.add_html("/p" + std::to_string(i), page("p", {}));
  }
  s.add_html("/", page("root", links));
  auto run = run_crawl({b + "/", "--per-host", "4"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  auto t = times_for(s, "", "/");
  ASSERT_EQ(t.size(), 6u);  // robots.txt, /, 4 pages
  for (std::size_t i = 2; i < t.size(); ++i) EXPECT_GE(t[i] - t[i - 1], 290ms) << i;

  // Crawl-delay is clamped to robots.max_crawl_delay_ms.
  test_server s2;
  s2.add_page("/robots.txt", text("User-agent: *\nCrawl-delay: 3600\n"));
  s2.add_html("/", page("root", {"/a"}));
  s2.add_html("/a", page("a", {}));
  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "robots:\n  max_crawl_delay_ms: 200\n";
  auto t0 = std::chrono::steady_clock::now();
  auto run2 = run_crawl({s2.base_url() + "/", "-c", cfg});
  ASSERT_EQ(run2.proc.exit_code, 0) << run2.proc.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  auto t2 = times_for(s2, "", "/");
  ASSERT_EQ(t2.size(), 3u);
  EXPECT_GE(t2[2] - t2[1], 190ms);
}

TEST(Politeness, SlowHostDoesNotHoldBackFastHosts) {
  test_server s;
  std::string port = std::to_string(s.port());
  std::vector<std::string> links;
  for (int i = 0; i < 6; ++i) {
    std::string p = "/s" + std::to_string(i);
    links.push_back("http://slow.test:" + port + p);
    response r;
    r.body = page("slow", {});
    r.delay = 1500ms;
    s.add_page(p, r, "slow.test");
  }
  for (int i = 0; i < 30; ++i) {
    std::string p = "/f" + std::to_string(i);
    links.push_back("http://fast.test:" + port + p);
    s.add_html(p, page("fast", {}), "fast.test");
  }
  s.add_html("/", page("root", links), "root.test");
  auto run = run_crawl(concat(
      {"http://root.test:" + port + "/", "--scope", "any", "--concurrency", "4", "--per-host", "2"},
      resolve_args(s, {"root.test", "slow.test", "fast.test"})));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 37u);
  auto fast = times_for(s, "fast.test", "/f");
  auto slow = times_for(s, "slow.test", "/s");
  ASSERT_EQ(fast.size(), 30u);
  ASSERT_EQ(slow.size(), 6u);
  // With 4 workers and the slow host capped at 2, the fast host finishes while the slow one
  // is still on its first pair of pages.
  EXPECT_LT(*std::max_element(fast.begin(), fast.end()), slow.front() + 1400ms);
  EXPECT_LE(s.max_concurrent_requests("slow.test"), 2);
}

TEST(Politeness, AdaptiveSpacingFollowsResponseTime) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 5; ++i) {
    std::string p = "/p" + std::to_string(i);
    links.push_back(p);
    response r;
    r.body = page("p", {});
    r.delay = 300ms;
    s.add_page(p, r);
  }
  response root;
  root.body = page("root", links);
  root.delay = 300ms;
  s.add_page("/", root);
  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "limits:\n  adaptive: true\n  per_host: 2\n";
  auto run = run_crawl({b + "/", "-c", cfg, "--no-robots"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  auto t = times_for(s, "", "/p");
  ASSERT_EQ(t.size(), 5u);
  std::sort(t.begin(), t.end());
  // latency 300 ms / per_host 2 = ~150 ms between starts (without adaptive: 2 at once).
  for (std::size_t i = 1; i < t.size(); ++i) EXPECT_GE(t[i] - t[i - 1], 120ms) << i;
}

TEST(Politeness, PerHostPageBudgetBoundsATrap) {
  test_server s;
  std::string b = s.base_url();
  // An endless calendar: every page links to the next.
  for (int i = 0; i < 60; ++i) {
    s.add_html("/cal/" + std::to_string(i), page("day", {"/cal/" + std::to_string(i + 1)}));
  }
  s.add_html("/", page("root", {"/cal/0"}));
  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "scope:\n  max_pages_per_host: 10\n  max_depth: 1000\n";
  auto run = run_crawl({b + "/", "-c", cfg});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 10u);
  EXPECT_EQ(run.stats.at("pages"), 10);
  EXPECT_EQ(run.stats.at("queued"), 1);
}

TEST(Sitemaps, RobotsSitemapIndexAndGzippedSitemapFeedTheFrontier) {
  test_server s;
  std::string b = s.base_url();
  s.add_page("/robots.txt",
             text("User-agent: *\nDisallow: /blocked\nSitemap: " + b + "/index.xml\n"));
  response index;
  index.content_type = "application/xml";
  index.body =
      "<?xml version=\"1.0\"?><sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
      "<sitemap><loc>" +
      b + "/pages.xml.gz</loc></sitemap></sitemapindex>";
  s.add_page("/index.xml", index);
  response gz;
  gz.content_type = "application/x-gzip";
  gz.body = gzip(
      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
      "<url><loc>" +
      b +
      "/hidden?a=1&amp;b=2</loc></url>"
      "<url><loc>" +
      b +
      "/blocked</loc></url>"
      "<url><loc>http://elsewhere.test/x</loc></url></urlset>");
  s.add_page("/pages.xml.gz", gz);
  s.add_html("/", page("root", {}));
  s.add_html("/hidden?a=1&b=2", page("hidden", {}));
  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "sitemaps:\n  enabled: true\n";
  auto run = run_crawl({b + "/", "-c", cfg});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/hidden?a=1&b=2").at("status"), 200);
  EXPECT_EQ(run.at(b + "/hidden?a=1&b=2").at("referrer"), b + "/pages.xml.gz");
  EXPECT_EQ(run.at(b + "/blocked").at("error").at("kind"), "robots");
  EXPECT_EQ(run.at(b + "/pages.xml.gz").at("links").size(), 3u);
  EXPECT_EQ(run.at(b + "/index.xml").at("new_links"), 1);
  EXPECT_EQ(s.hits("/sitemap.xml"), 0);    // robots.txt named its sitemaps
  EXPECT_EQ(run.stats.at("filtered"), 1);  // elsewhere.test is out of scope

  // Off by default.
  s.reset_observations();
  auto off = run_crawl({b + "/"});
  EXPECT_EQ(s.hits("/index.xml"), 0);
  EXPECT_FALSE(off.has(b + "/hidden?a=1&b=2"));
}

TEST(Directives, XRobotsTagAndMetaRobotsAreHonouredAndRecorded) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("root", {"/header-nofollow", "/meta-nofollow", "/noindex", "/rel"}));
  response hn;
  hn.body = page("hn", {"/from-header-nofollow"});
  hn.headers = {{"X-Robots-Tag", "trawler: nofollow"}, {"X-Robots-Tag", "otherbot: noindex"}};
  s.add_page("/header-nofollow", hn);
  s.add_html("/meta-nofollow",
             "<html><head><meta name=\"robots\" content=\"NoFollow\"></head><body>"
             "<a href=\"/from-meta-nofollow\">x</a></body></html>");
  response ni;
  ni.body = page("ni", {"/from-noindex"});
  ni.headers = {{"X-Robots-Tag", "noindex"}};
  s.add_page("/noindex", ni);
  s.add_html("/rel", "<html><body><a rel=\"nofollow\" href=\"/from-rel\">x</a></body></html>");
  for (auto p : {"/from-header-nofollow", "/from-meta-nofollow", "/from-noindex", "/from-rel"}) {
    s.add_html(p, page("leaf", {}));
  }
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/header-nofollow").at("nofollow"), true);
  EXPECT_EQ(run.at(b + "/header-nofollow").at("noindex"), false);  // scoped to another bot
  EXPECT_EQ(run.at(b + "/header-nofollow").at("links"), json({b + "/from-header-nofollow"}));
  EXPECT_FALSE(run.has(b + "/from-header-nofollow"));
  EXPECT_EQ(run.at(b + "/meta-nofollow").at("nofollow"), true);
  EXPECT_FALSE(run.has(b + "/from-meta-nofollow"));
  EXPECT_EQ(run.at(b + "/noindex").at("noindex"), true);
  EXPECT_TRUE(run.has(b + "/from-noindex"));
  EXPECT_FALSE(run.has(b + "/from-rel"));
  EXPECT_EQ(run.at(b + "/").at("noindex"), false);
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");

  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "fetch:\n  follow_nofollow: true\n";
  auto all = run_crawl({b + "/", "-c", cfg});
  ASSERT_EQ(all.proc.exit_code, 0) << all.proc.err;
  EXPECT_TRUE(all.has(b + "/from-header-nofollow"));
  EXPECT_TRUE(all.has(b + "/from-meta-nofollow"));
  EXPECT_TRUE(all.has(b + "/from-rel"));
  EXPECT_EQ(all.at(b + "/meta-nofollow").at("nofollow"), true);  // still reported
}

TEST(Robots, CachedCopyIsFetchedAgainAfterItsTtl) {
  test_server s;
  std::string b = s.base_url();
  s.add_sequence("/robots.txt", {text("User-agent: *\nDisallow: /late-b\n"),
                                 text("User-agent: *\nDisallow: /late-a\n")});
  // A slow chain keeps the crawl going past the TTL: /0 -> /1 -> ... -> /7, 300 ms each.
  for (int i = 0; i < 8; ++i) {
    response r;
    r.body = page("c", {"/" + std::to_string(i + 1)});
    r.delay = 300ms;
    s.add_page("/" + std::to_string(i), r);
  }
  response last;
  last.body = page("last", {"/late-a", "/late-b"});
  s.add_page("/8", last);
  s.add_html("/late-a", page("a", {}));
  s.add_html("/late-b", page("b", {}));
  temp_dir dir;
  std::string cfg = dir.path() + "/c.yaml";
  std::ofstream(cfg) << "robots:\n  cache_ttl_ms: 1000\n";
  auto run = run_crawl({b + "/0", "-c", cfg});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_GE(s.hits("/robots.txt"), 2);
  // The later copy decides: /late-a is refused, /late-b (refused by the first copy) is not.
  EXPECT_EQ(run.at(b + "/late-a").at("error").at("kind"), "robots");
  EXPECT_EQ(run.at(b + "/late-b").at("status"), 200);
}
