// End-to-end crawls: the real `trawler` binary against the in-process test server.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include "crawl_harness.hpp"
#include "support/demo_site.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;

TEST(Crawl, FollowsLinksRecordsEachPageOnceAnd404IsARecord) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Home", {"/a", "/b", "/missing", "/a#frag", b + "/b"}));
  s.add_html("/a", page("A", {"/", "/b"}));  // cycle back to the seed
  s.add_html("/b", page("B", {"/a"}));
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 4u) << run.proc.err;
  for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url;
  EXPECT_EQ(run.at(b + "/").at("status"), 200);
  EXPECT_EQ(run.at(b + "/").at("title"), "Home");
  EXPECT_EQ(run.at(b + "/").at("links"), json({b + "/a", b + "/b", b + "/missing"}));
  EXPECT_EQ(run.at(b + "/").at("new_links"), 3);
  EXPECT_EQ(run.at(b + "/missing").at("status"), 404);
  EXPECT_EQ(run.at(b + "/missing").at("depth"), 1);
  EXPECT_EQ(run.at(b + "/missing").at("referrer"), b + "/");
  EXPECT_EQ(run.at(b + "/a").at("new_links"), 0);
  EXPECT_EQ(s.hits("/a"), 1);
  EXPECT_EQ(s.hits("/robots.txt"), 1);
  EXPECT_EQ(run.stats.at("pages"), 4);
  EXPECT_EQ(run.stats.at("status").at("2xx"), 3);
  EXPECT_EQ(run.stats.at("status").at("4xx"), 1);
  EXPECT_EQ(run.stats.at("seen"), 4);
  EXPECT_EQ(run.stats.at("queued"), 0);
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");
}

TEST(Crawl, ProhibitedHostIsNotFetchedAndCountsAsFiltered) {
  test_server s;
  std::string port = std::to_string(s.port());
  std::string site = "http://site.test:" + port;
  s.add_html("/", page("Site", {"http://other.test:" + port + "/x", "/in"}), "site.test");
  s.add_html("/in", page("In", {}), "site.test");
  s.add_html("/x", page("Other", {}), "other.test");
  auto run = run_crawl(concat({site + "/"}, resolve_args(s, {"site.test", "other.test"})));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_TRUE(run.has(site + "/in"));
  EXPECT_FALSE(run.has("http://other.test:" + port + "/x"));
  EXPECT_EQ(s.hits("/x", "other.test"), 0);
  EXPECT_EQ(run.stats.at("filtered"), 1);
  // Out-of-scope links are still listed on the page.
  EXPECT_EQ(run.at(site + "/").at("links").size(), 2u);
}

TEST(Crawl, HostScopeDropsWwwButDomainScopeTakesSubdomains) {
  test_server s;
  std::string port = std::to_string(s.port());
  auto u = [&](const std::string& host, const std::string& path) {
    return "http://" + host + ":" + port + path;
  };
  s.add_html("/",
             page("Root",
                  {u("www.shop.test", "/w"), u("blog.shop.test", "/b"), u("elsewhere.test", "/e")}),
             "shop.test");
  s.add_html("/w", page("W", {}), "www.shop.test");
  s.add_html("/b", page("B", {}), "blog.shop.test");
  s.add_html("/e", page("E", {}), "elsewhere.test");
  auto hosts = resolve_args(s, {"shop.test", "www.shop.test", "blog.shop.test", "elsewhere.test"});

  auto host_run = run_crawl(concat({u("shop.test", "/"), "--scope", "host"}, hosts));
  ASSERT_EQ(host_run.proc.exit_code, 0) << host_run.proc.err;
  EXPECT_TRUE(host_run.has(u("www.shop.test", "/w")));
  EXPECT_FALSE(host_run.has(u("blog.shop.test", "/b")));
  EXPECT_FALSE(host_run.has(u("elsewhere.test", "/e")));

  auto domain_run = run_crawl(concat({u("shop.test", "/"), "--scope", "domain"}, hosts));
  ASSERT_EQ(domain_run.proc.exit_code, 0) << domain_run.proc.err;
  EXPECT_TRUE(domain_run.has(u("www.shop.test", "/w")));
  EXPECT_TRUE(domain_run.has(u("blog.shop.test", "/b")));
  EXPECT_FALSE(domain_run.has(u("elsewhere.test", "/e")));

  auto any_run = run_crawl(concat({u("shop.test", "/"), "--scope", "any"}, hosts));
  ASSERT_EQ(any_run.proc.exit_code, 0) << any_run.proc.err;
  EXPECT_TRUE(any_run.has(u("elsewhere.test", "/e")));
}

TEST(Crawl, ExcludeAndIncludeRegexes) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/docs/1", "/docs/private/2", "/blog/3"}));
  s.add_html("/docs/1", page("1", {}));
  s.add_html("/docs/private/2", page("2", {}));
  s.add_html("/blog/3", page("3", {}));
  auto run = run_crawl({b + "/", "--include", "/docs/", "--exclude", "private"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_TRUE(run.has(b + "/"));  // seeds bypass include/exclude
  EXPECT_TRUE(run.has(b + "/docs/1"));
  EXPECT_FALSE(run.has(b + "/docs/private/2"));
  EXPECT_FALSE(run.has(b + "/blog/3"));
  EXPECT_EQ(s.hits("/blog/3"), 0);
  EXPECT_EQ(run.stats.at("filtered"), 2);
}

TEST(Crawl, SeveralRootsAndDepthLimit) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/r1", page("R1", {"/d1"}));
  s.add_html("/r2", page("R2", {"/e1"}));
  s.add_html("/d1", page("D1", {"/d2"}));
  s.add_html("/d2", page("D2", {}));
  s.add_html("/e1", page("E1", {}));
  auto run = run_crawl({b + "/r1", b + "/r2", "--max-depth", "1"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_TRUE(run.has(b + "/r1"));
  EXPECT_TRUE(run.has(b + "/r2"));
  EXPECT_TRUE(run.has(b + "/d1"));
  EXPECT_TRUE(run.has(b + "/e1"));
  EXPECT_FALSE(run.has(b + "/d2"));
  EXPECT_EQ(run.at(b + "/e1").at("depth"), 1);
}

TEST(Crawl, RedirectChainIsRecordedHopByHop) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/r1"}));
  s.add_redirect("/r1", "/r2", 301);
  s.add_redirect("/r2", b + "/r3", 302);
  s.add_redirect("/r3", "/final", 307);
  s.add_html("/final", page("Final", {}));
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/r1").at("status"), 301);
  EXPECT_EQ(run.at(b + "/r1").at("redirect"), b + "/r2");
  EXPECT_EQ(run.at(b + "/r2").at("redirect"), b + "/r3");
  EXPECT_EQ(run.at(b + "/r2").at("referrer"), b + "/r1");
  EXPECT_EQ(run.at(b + "/r3").at("redirect"), b + "/final");
  EXPECT_EQ(run.at(b + "/final").at("status"), 200);
  // A redirect target keeps its source's depth.
  EXPECT_EQ(run.at(b + "/final").at("depth"), 1);
  EXPECT_TRUE(run.at(b + "/r1").at("error").is_null());
}

TEST(Crawl, RedirectLimitEndsTheChainWithAnError) {
  test_server s;
  std::string b = s.base_url();
  s.add_redirect("/", "/h1");
  s.add_redirect("/h1", "/h2");
  s.add_redirect("/h2", "/h3");
  s.add_html("/h3", page("never", {}));
  auto run = run_crawl({b + "/", "--max-redirects", "2"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_TRUE(run.at(b + "/").at("error").is_null());
  EXPECT_TRUE(run.at(b + "/h1").at("error").is_null());
  const auto& last = run.at(b + "/h2");
  EXPECT_EQ(last.at("redirect"), b + "/h3");
  EXPECT_EQ(last.at("error").at("kind"), "redirect_limit");
  EXPECT_FALSE(run.has(b + "/h3"));
  EXPECT_EQ(s.hits("/h3"), 0);
}

TEST(Crawl, RedirectCycleAndRedirectToSeenUrlEnd) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/loop1", "/to-root"}));
  s.add_redirect("/loop1", "/loop2");
  s.add_redirect("/loop2", "/loop1");
  s.add_redirect("/to-root", "/");
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(s.hits("/loop1"), 1);
  EXPECT_EQ(s.hits("/loop2"), 1);
  EXPECT_EQ(s.hits("/"), 1);
  EXPECT_EQ(run.at(b + "/to-root").at("redirect"), b + "/");
  EXPECT_EQ(run.at(b + "/loop2").at("redirect"), b + "/loop1");
  for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url;
}

TEST(Crawl, ConcurrencyCapIsHeldAtTheServer) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 24; ++i) {
    std::string p = "/slow/" + std::to_string(i);
    links.push_back(p);
    response r;
    r.body = page("slow", {});
    r.delay = 60ms;
    s.add_page(p, r);
  }
  s.add_html("/", page("Root", links));
  auto run = run_crawl({b + "/", "--concurrency", "3", "--per-host", "8"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 25u);
  EXPECT_LE(s.max_concurrent_requests(), 3);
  EXPECT_GE(s.max_concurrent_requests(), 2);

  s.reset_observations();
  auto per_host = run_crawl({b + "/", "--concurrency", "10", "--per-host", "2"});
  ASSERT_EQ(per_host.proc.exit_code, 0) << per_host.proc.err;
  EXPECT_LE(s.max_concurrent_requests(), 2);
}

TEST(Crawl, DelaySpacesRequestStartsOnAHost) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/1", "/2", "/3"}));
  for (auto p : {"/1", "/2", "/3"}) s.add_html(p, page("x", {}));
  auto run = run_crawl({b + "/", "--delay-ms", "150", "--per-host", "4", "--no-robots"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 4u);
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    EXPECT_GE(reqs[i].at - reqs[i - 1].at, 140ms) << i;
  }
}

TEST(Crawl, RetriesThatSucceedAndThatGiveUp) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/flaky", "/down", "/gone"}));
  response fail;
  fail.status = 503;
  fail.body = "busy";
  fail.content_type = "text/plain";
  response ok;
  ok.body = page("Flaky", {});
  s.add_sequence("/flaky", {fail, fail, ok});
  response broken;
  broken.status = 500;
  broken.body = "oops";
  s.add_sequence("/down", {broken});
  response gone;
  gone.status = 410;
  s.add_sequence("/gone", {gone});
  auto run = run_crawl({b + "/", "--max-tries", "3"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/flaky").at("status"), 200);
  EXPECT_EQ(run.at(b + "/flaky").at("attempts"), 3);
  EXPECT_EQ(run.at(b + "/down").at("status"), 500);
  EXPECT_EQ(run.at(b + "/down").at("attempts"), 3);
  EXPECT_EQ(s.hits("/down"), 3);
  EXPECT_EQ(run.at(b + "/gone").at("attempts"), 1);  // other 4xx are final
  EXPECT_EQ(s.hits("/gone"), 1);
  EXPECT_EQ(run.count_by_url[b + "/flaky"], 1);
}

TEST(Crawl, RetryAfterIsHonoured) {
  test_server s;
  std::string b = s.base_url();
  response limited;
  limited.status = 429;
  limited.headers = {{"Retry-After", "1"}};
  response ok;
  ok.body = page("ok", {});
  s.add_sequence("/", {limited, ok});
  auto run = run_crawl({b + "/", "--no-robots"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/").at("status"), 200);
  auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_GE(reqs[1].at - reqs[0].at, 950ms);

  // A Retry-After beyond limits.max_retry_after_ms ends the tries.
  test_server s2;
  response far;
  far.status = 503;
  far.headers = {{"Retry-After", "3600"}};
  s2.add_sequence("/", {far, ok});
  auto run2 = run_crawl({s2.base_url() + "/", "--no-robots"});
  EXPECT_EQ(run2.at(s2.base_url() + "/").at("status"), 503);
  EXPECT_EQ(run2.at(s2.base_url() + "/").at("attempts"), 1);
}

TEST(Crawl, CharsetsAreDecodedToUtf8) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/latin", "/meta", "/bad-utf8"}));
  response latin;
  latin.content_type = "text/html; charset=ISO-8859-1";
  latin.body = "<html><head><title>Caf\xe9 cr\xe8me</title></head><body></body></html>";
  s.add_page("/latin", latin);
  response meta;
  meta.content_type = "text/html";
  meta.body =
      "<html><head><meta charset=\"windows-1252\"><title>\x93quoted\x94</title></head></html>";
  s.add_page("/meta", meta);
  response bad;
  bad.body = "<html><head><title>bad \xff\xfe bytes</title></head></html>";
  s.add_page("/bad-utf8", bad);
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/latin").at("title"), "Caf\u00e9 cr\u00e8me");
  EXPECT_EQ(run.at(b + "/latin").at("charset"), "windows-1252");
  EXPECT_EQ(run.at(b + "/meta").at("title"), "\u201cquoted\u201d");
  EXPECT_EQ(run.at(b + "/bad-utf8").at("charset"), "utf-8");
  EXPECT_EQ(run.at(b + "/bad-utf8").at("title"), "bad \ufffd\ufffd bytes");
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");
}

TEST(Crawl, ContentTypesAndNonHtml) {
  test_server s;
  std::string b = s.base_url();
  s.add_html("/", page("Root", {"/data.json", "/img.png", "/odd", "/none"}));
  response j;
  j.content_type = "Application/JSON; charset=utf-8";
  j.body = "{\"href\": \"<a href='/never'>\"}";
  s.add_page("/data.json", j);
  response png;
  png.content_type = "image/png";
  png.body = std::string("\x89PNG\r\n\x1a\n", 8);
  s.add_page("/img.png", png);
  response odd;
  odd.content_type = "foo";
  odd.body = "<a href=/never2>x</a>";
  s.add_page("/odd", odd);
  response none;
  none.content_type = "";
  none.body = "<a href=/never3>x</a>";
  s.add_page("/none", none);
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/data.json").at("content_type"), "application/json");
  EXPECT_EQ(run.at(b + "/data.json").at("links"), json::array());
  EXPECT_EQ(run.at(b + "/img.png").at("content_type"), "image/png");
  EXPECT_EQ(run.at(b + "/img.png").at("size"), 8);
  EXPECT_EQ(run.at(b + "/odd").at("content_type"), "foo");
  EXPECT_TRUE(run.at(b + "/none").at("content_type").is_null());
  EXPECT_TRUE(run.at(b + "/none").at("title").is_null());
  EXPECT_EQ(s.hits("/never") + s.hits("/never2") + s.hits("/never3"), 0);
  EXPECT_EQ(run.at(b + "/").at("content_type"), "text/html");
  EXPECT_EQ(run.at(b + "/").at("sha256").get<std::string>().size(), 64u);
}

TEST(Crawl, CompressedBodiesAreDecoded) {
  test_server s;
  std::string b = s.base_url();
  s.add_misbehaviour("/", misbehaviour::gzip_bomb, {.interval = 1000ms, .size = 50 << 20});
  auto run = run_crawl({b + "/", "--no-robots"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  const auto& r = run.at(b + "/");
  EXPECT_EQ(r.at("status"), 200);
  EXPECT_EQ(r.at("truncated"), true);
  EXPECT_EQ(r.at("size"), 10485760);
  EXPECT_TRUE(r.at("error").is_null());
  EXPECT_EQ(s.requests().at(0).accept_encoding, "gzip, deflate, br");
}

TEST(Crawl, MisbehavingServersYieldOneErrorRecordEachAndTheCrawlGoesOn) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::pair<std::string, misbehaviour>> cases = {
      {"/close-mid-body", misbehaviour::close_mid_body},
      {"/reset", misbehaviour::reset_mid_body},
      {"/short", misbehaviour::content_length_short},
      {"/long", misbehaviour::content_length_long},
      {"/endless-headers", misbehaviour::endless_headers},
      {"/huge-header", misbehaviour::huge_header},
      {"/garbage", misbehaviour::garbage_status},
      {"/not-http", misbehaviour::not_http},
      {"/bad-chunk", misbehaviour::bad_chunk},
      {"/never", misbehaviour::never_answer},
      {"/trickle", misbehaviour::trickle},
      {"/closed", misbehaviour::close_immediately},
  };
  std::vector<std::string> links;
  for (const auto& [path, m] : cases) {
    misbehaviour_params p;
    p.size = 1 << 20;
    p.interval = 100ms;
    s.add_misbehaviour(path, m, p);
    links.push_back(path);
  }
  links.push_back("/fine");
  s.add_html("/fine", page("Fine", {}));
  s.add_html("/", page("Root", links));
  auto run = run_crawl({b + "/", "--timeout-ms", "1500", "--max-tries", "2", "--concurrency", "16",
                        "--per-host", "16"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/fine").at("status"), 200);
  for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url;
  auto kind = [&](const std::string& path) -> std::string {
    const auto& e = run.at(b + path).at("error");
    return e.is_null() ? "none" : e.at("kind").get<std::string>();
  };
  EXPECT_EQ(kind("/close-mid-body"), "protocol");
  EXPECT_EQ(kind("/reset"), "protocol");
  EXPECT_EQ(kind("/long"), "protocol");
  EXPECT_EQ(kind("/endless-headers"), "too_large");
  EXPECT_EQ(kind("/huge-header"), "too_large");
  EXPECT_EQ(kind("/garbage"), "protocol");
  EXPECT_EQ(kind("/not-http"), "protocol");
  EXPECT_EQ(kind("/bad-chunk"), "protocol");
  EXPECT_EQ(kind("/never"), "timeout");
  EXPECT_EQ(kind("/trickle"), "timeout");
  EXPECT_EQ(kind("/closed"), "protocol");
  // Bytes past Content-Length are not part of the body.
  EXPECT_EQ(kind("/short"), "none");
  EXPECT_EQ(run.at(b + "/short").at("status"), 200);
  // too_large is final; a protocol error is retried.
  EXPECT_EQ(run.at(b + "/endless-headers").at("attempts"), 1);
  EXPECT_EQ(run.at(b + "/garbage").at("attempts"), 2);
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");
}

TEST(Crawl, HttpsWithTheTestCaVerifiesAndBadCertificatesFail) {
  temp_dir dir;
  std::string ca = test_pki::instance().write_ca_file(dir.path());
  environment env{{"SSL_CERT_FILE", ca}};
  test_server good({.tls = true});
  good.add_html("/", page("Secure", {"/next"}));
  good.add_html("/next", page("Next", {}));
  auto run = run_crawl({good.base_url() + "/"}, env);
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(good.base_url() + "/").at("status"), 200);
  EXPECT_EQ(run.at(good.base_url() + "/next").at("title"), "Next");

  for (auto which : {cert::expired, cert::wrong_host, cert::self_signed}) {
    test_server bad({.tls = true, .certificate = which});
    bad.add_html("/", page("Bad", {}));
    auto r = run_crawl({bad.base_url() + "/", "--no-robots"}, env);
    ASSERT_EQ(r.proc.exit_code, 0) << r.proc.err;
    const auto& rec = r.at(bad.base_url() + "/");
    EXPECT_EQ(rec.at("error").at("kind"), "tls") << static_cast<int>(which);
    EXPECT_TRUE(rec.at("status").is_null());
    EXPECT_EQ(rec.at("attempts"), 1);  // tls errors are not retried
  }
}

TEST(Crawl, RobotsTxtIsObeyed) {
  test_server s;
  std::string b = s.base_url();
  response robots;
  robots.content_type = "text/plain";
  robots.body = "User-agent: *\nDisallow: /private\n\nUser-agent: trawler\nDisallow: /secret\n";
  s.add_page("/robots.txt", robots);
  s.add_html("/", page("Root", {"/private/x", "/secret/y", "/open"}));
  s.add_html("/open", page("Open", {}));
  s.add_html("/secret/y", page("Secret", {}));
  s.add_html("/private/x", page("Private", {}));
  auto run = run_crawl({b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  // Our own group applies, not the * group.
  EXPECT_EQ(run.at(b + "/secret/y").at("error").at("kind"), "robots");
  EXPECT_EQ(run.at(b + "/secret/y").at("attempts"), 0);
  EXPECT_EQ(run.at(b + "/secret/y").at("elapsed_ms"), 0);
  EXPECT_EQ(s.hits("/secret/y"), 0);
  EXPECT_EQ(run.at(b + "/private/x").at("status"), 200);
  EXPECT_EQ(s.hits("/robots.txt"), 1);
  EXPECT_EQ(run.stats.at("robots_fetches"), 1);
  EXPECT_EQ(run.stats.at("errors").at("robots"), 1);
  EXPECT_EQ(s.requests().at(0).user_agent.rfind("trawler/", 0), 0u);

  auto ignoring = run_crawl({b + "/", "--no-robots"});
  EXPECT_EQ(ignoring.at(b + "/secret/y").at("status"), 200);
}

TEST(Crawl, RobotsServerErrorDisallowsTheHost) {
  test_server s;
  std::string b = s.base_url();
  response err;
  err.status = 503;
  s.add_sequence("/robots.txt", {err});
  s.add_html("/", page("Root", {}));
  auto run = run_crawl({b + "/", "--max-tries", "2"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.at(b + "/").at("error").at("kind"), "robots");
  EXPECT_EQ(s.hits("/robots.txt"), 2);
  EXPECT_EQ(s.hits("/"), 0);
}

TEST(Crawl, PrivateAddressesAreRefusedByDefault) {
  test_server s;
  s.add_html("/", page("Root", {}));
  std::string out_dir;
  temp_dir dir;
  std::string out = dir.path() + "/out.jsonl";
  auto r = run_process({trawler_binary(), "crawl", "--no-progress", "-o", out, s.base_url() + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto rec = json::parse(line);
  EXPECT_EQ(rec.at("error").at("kind"), "blocked_address");
  EXPECT_EQ(rec.at("attempts"), 0);
  EXPECT_EQ(s.hits("/"), 0);
  EXPECT_EQ(s.hits("/robots.txt"), 0);
}

TEST(Crawl, MaxPagesStopsStartingRequests) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 30; ++i) {
    links.push_back("/p" + std::to_string(i));
    s.add_html("/p" + std::to_string(i), page("p", {}));
  }
  s.add_html("/", page("Root", links));
  auto run = run_crawl({b + "/", "--max-pages", "5"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(run.records.size(), 5u);
  EXPECT_EQ(run.stats.at("pages"), 5);
  EXPECT_EQ(run.stats.at("queued"), 26);
  // Why it ended, and why 26 URLs stayed queued: in --stats and the summary.
  EXPECT_EQ(run.stats.at("end_reason"), "max_pages");
  const std::string why =
      "Stopped at scope.max_pages (5 pages with a response): 26 URLs stay queued, not fetched.";
  EXPECT_EQ(run.stats.at("end_message"), why);
  EXPECT_NE(run.proc.err.find("  ended: " + why + "\n"), std::string::npos) << run.proc.err;
}

TEST(Crawl, EndReasonSaysTheFrontierRanOutOrTheHostBudgetsWereSpent) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 6; ++i) {
    links.push_back("/p" + std::to_string(i));
    s.add_html("/p" + std::to_string(i), page("p", {}));
  }
  s.add_html("/", page("Root", links));
  auto all = run_crawl({b + "/"});
  ASSERT_EQ(all.proc.exit_code, 0) << all.proc.err;
  EXPECT_EQ(all.stats.at("end_reason"), "frontier_empty");
  EXPECT_NE(all.proc.err.find("ended: Nothing was left to fetch"), std::string::npos)
      << all.proc.err;
  temp_dir dir;
  const std::string cfg = dir.path() + "/host-budget.yaml";
  std::ofstream(cfg) << "scope:\n  max_pages_per_host: 3\n";
  auto capped = run_crawl({"-c", cfg, b + "/"});
  ASSERT_EQ(capped.proc.exit_code, 0) << capped.proc.err;
  EXPECT_EQ(capped.stats.at("pages"), 3);
  EXPECT_EQ(capped.stats.at("end_reason"), "max_pages_per_host");
  EXPECT_EQ(capped.stats.at("end_message"),
            "Every host with URLs left has spent scope.max_pages_per_host (3 pages): 4 URLs stay "
            "queued, not fetched.");
}

TEST(Crawl, UsageAndConfigErrorsExitTwo) {
  auto no_seed = run_process({trawler_binary(), "crawl"});
  EXPECT_EQ(no_seed.exit_code, 2);
  EXPECT_NE(no_seed.err.find("seed"), std::string::npos) << no_seed.err;
  auto bad_flag = run_process({trawler_binary(), "crawl", "--frobnicate", "http://x/"});
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.err.find("--frobnicate"), std::string::npos) << bad_flag.err;
  auto bad_value = run_process({trawler_binary(), "crawl", "--concurrency", "0", "http://x/"});
  EXPECT_EQ(bad_value.exit_code, 2);
  EXPECT_NE(bad_value.err.find("concurrency: must be an integer from 1 to 100000"),
            std::string::npos)
      << bad_value.err;
  auto bad_seed = run_process({trawler_binary(), "crawl", "ftp://x/"});
  EXPECT_EQ(bad_seed.exit_code, 2);
  auto bad_sub = run_process({trawler_binary(), "fly"});
  EXPECT_EQ(bad_sub.exit_code, 2);
  auto missing_config =
      run_process({trawler_binary(), "crawl", "-c", "/nonexistent.yaml", "http://x/"});
  EXPECT_EQ(missing_config.exit_code, 2);
  auto unwritable =
      run_process({trawler_binary(), "crawl", "-o", "/nonexistent/dir/out.jsonl", "http://x/"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.err.find("output"), std::string::npos) << unwritable.err;

  temp_dir dir;
  std::string bad_cfg = dir.path() + "/bad.yaml";
  std::ofstream(bad_cfg) << "limits:\n  concurrency: fast\n";
  auto v = run_process({trawler_binary(), "validate", bad_cfg});
  EXPECT_EQ(v.exit_code, 2);
  EXPECT_NE(v.err.find("limits.concurrency"), std::string::npos) << v.err;
  std::string good_cfg = dir.path() + "/good.yaml";
  std::ofstream(good_cfg) << "seeds: [\"http://example.com/\"]\nlimits:\n  concurrency: 8\n";
  auto ok = run_process({trawler_binary(), "validate", good_cfg});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "ok\n");
  auto version = run_process({trawler_binary(), "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("trawler ", 0), 0u);
}

TEST(Crawl, SigtermStopsGracefullyWithWholeLines) {
  test_server s;
  std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 200; ++i) {
    std::string p = "/slow/" + std::to_string(i);
    links.push_back(p);
    response r;
    r.body = page("slow", {});
    r.delay = 200ms;
    s.add_page(p, r);
  }
  s.add_html("/", page("Root", links));
  temp_dir dir;
  std::string out = dir.path() + "/out.jsonl";
  auto proc = start_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-o",
                             out, "--per-host", "4", b + "/"});
  std::this_thread::sleep_for(800ms);
  auto t0 = std::chrono::steady_clock::now();
  proc.signal(SIGTERM);
  auto r = proc.wait(std::chrono::seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("pages"), std::string::npos);  // the report
  // Which says the signal ended it, and that the rest was not kept (no state.dir).
  EXPECT_NE(r.err.find("ended: Stopped by a signal (SIGINT or SIGTERM): "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(without state.dir they are not kept)."), std::string::npos) << r.err;
  std::ifstream in(out);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
    ++n;
  }
  EXPECT_GT(n, 1);
  EXPECT_LT(n, 201);
}

TEST(Crawl, GeneratedSiteOf5000PagesAtConcurrency64) {
  site_options opt;
  opt.pages = 5000;
  opt.links_per_page = 8;
  opt.page_bytes = 3000;
  test_server s({.tls = false, .certificate = cert::good, .log_requests = false});
  for (int i = 0; i < opt.pages; ++i) s.add_html(page_path(i), render_page(opt, i));
  std::string b = s.base_url();
  auto run = run_crawl({b + "/", "--concurrency", "64", "--per-host", "64", "--max-depth", "1000"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  std::set<std::string> expected;
  for (const auto& p : all_paths(opt)) expected.insert(b + p);
  std::set<std::string> got;
  for (const auto& [url, n] : run.count_by_url) {
    EXPECT_EQ(n, 1) << url;
    got.insert(url);
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(run.stats.at("status").at("2xx"), 5000);
  // The event loop was sampled all along (a 10 ms timer; the crawl takes far longer).
  const auto& lag = run.stats.at("loop_lag_ms");
  EXPECT_GT(lag.at("samples").get<int>(), 10);
  EXPECT_LE(lag.at("p50").get<double>(), lag.at("p99").get<double>());
  EXPECT_LE(lag.at("p99").get<double>(), lag.at("max").get<double>());
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");
  std::cerr << "5000-page crawl: " << run.stats.dump() << "\n";
}
