// SPEC's sentences as tests, each with inputs of its own rather than the ones the code was
// written against: several hosts and ports at once with varied delays (so the crawler's
// suspensions interleave), robots on and off, another output path on resume. Each test names
// the sentence it states. This suite also runs under ASan+UBSan and TSan in CI.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "crawl_harness.hpp"
#include "support/demo_site.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

response text(std::string body, std::chrono::milliseconds delay = 0ms) {
  response r;
  r.body = std::move(body);
  r.content_type = "text/plain";
  r.delay = delay;
  return r;
}

response html(std::string body, std::chrono::milliseconds delay = 0ms) {
  response r;
  r.body = std::move(body);
  r.delay = delay;
  return r;
}

std::map<std::string, int> urls_in(const std::vector<json>& records) {
  std::map<std::string, int> n;
  for (const auto& r : records) ++n[r.at("url").get<std::string>()];
  return n;
}

bool wait_for_lines(const std::string& path, std::size_t n, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    std::ifstream in(path);
    std::size_t lines = 0;
    std::string l;
    while (std::getline(in, l)) ++lines;
    if (lines >= n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A web of hosts on two servers (two ports): names h0..h{n-1} on the first, h0..h{m-1} again
// on the second. Every origin has its own robots.txt, answered after its own delay, which
// disallows /private; every page links to its origin's /private page and to the front pages
// of the next origins, so new origins keep appearing while robots.txt fetches of others are
// still waiting. Pages answer after varied delays too.
struct host_web {
  test_server a{test_server::options{.tls = false, .certificate = cert::good, .port = 0}};
  test_server b{test_server::options{.tls = false, .certificate = cert::good, .port = 0}};
  std::vector<std::string> origins;
  std::vector<std::string> names;

  host_web(int on_a, int on_b) {
    for (int i = 0; i < std::max(on_a, on_b); ++i)
      names.push_back("h" + std::to_string(i) + ".test");
    for (int i = 0; i < on_a; ++i) origins.push_back(origin(a, i));
    for (int i = 0; i < on_b; ++i) origins.push_back(origin(b, i));
    const std::size_t n = origins.size();
    for (std::size_t k = 0; k < n; ++k) {
      test_server& s = k < static_cast<std::size_t>(on_a) ? a : b;
      const std::string name = names[k < static_cast<std::size_t>(on_a) ? k : k - on_a];
      const auto robots_delay = std::chrono::milliseconds(5 + (k * 37) % 60);
      const auto page_delay = std::chrono::milliseconds((k * 13) % 25);
      s.add_page("/robots.txt", text("User-agent: *\nDisallow: /private\n", robots_delay), name);
      std::vector<std::string> links = {origins[k] + "/private/secret", origins[k] + "/public"};
      for (std::size_t step = 1; step <= 3; ++step) links.push_back(origins[(k + step) % n] + "/");
      s.add_page("/", html(page("front " + std::to_string(k), links), page_delay), name);
      s.add_page("/public", html(page("public", {origins[k] + "/private/other"}), page_delay),
                 name);
      s.add_page("/private/secret", html(page("secret", {})), name);
      s.add_page("/private/other", html(page("secret", {})), name);
    }
  }

  static std::string origin(const test_server& s, int i) {
    return "http://h" + std::to_string(i) + ".test:" + std::to_string(s.port());
  }

  std::vector<std::string> resolve() const {
    return concat(resolve_args(a, names), resolve_args(b, names));
  }

  int private_hits() const {
    int n = 0;
    for (const auto* s : {&a, &b}) {
      for (const auto& r : s->requests()) {
        if (r.target.rfind("/private", 0) == 0) ++n;
      }
    }
    return n;
  }
};

}  // namespace

// SPEC "Crawl semantics": robots.txt is fetched once per scheme+host+port and obeyed; "A URL
// refused by robots gets a record with error kind robots". Many origins (names on one server,
// the same names on a second port) start together; their robots.txt answers interleave with
// the registration of new hosts. Repeated, since an interleaving is a matter of chance.
TEST(Contract, RobotsHoldsForManyOriginsStartingTogether) {
  for (int round = 0; round < 4; ++round) {
    host_web web(8, 4);
    auto run = run_crawl(concat({web.origins[0] + "/", web.origins[8] + "/", "--scope", "any",
                                 "--concurrency", "24", "--per-host", "2"},
                                web.resolve()));
    ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
    EXPECT_EQ(web.private_hits(), 0) << "round " << round;
    for (const auto& o : web.origins) {
      const std::string name = o.substr(7, o.find(':', 7) - 7);
      const test_server& s =
          o.find(":" + std::to_string(web.a.port())) != std::string::npos ? web.a : web.b;
      EXPECT_EQ(s.hits("/robots.txt", name), 1) << o << " round " << round;
      ASSERT_TRUE(run.has(o + "/private/secret")) << o;
      EXPECT_EQ(run.at(o + "/private/secret").at("error").at("kind"), "robots") << o;
      EXPECT_EQ(run.at(o + "/private/secret").at("attempts"), 0) << o;
      EXPECT_EQ(run.at(o + "/public").at("status"), 200) << o;
    }
    for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url;
  }
}

// SPEC "Record fields": "URLs never tried (robots, blocked) have attempts: 0, elapsed_ms: 0 and
// the decision time as fetched_at (RFC 3339 UTC with Z)". With robots.txt off the address
// policy refuses the page itself, on several hosts and for a seed and its links alike.
TEST(Contract, BlockedAddressWithRobotsOffWasNeverTried) {
  test_server s;
  const std::string port = std::to_string(s.port());
  s.add_html("/", page("root", {}));
  temp_dir dir;
  const std::string out = dir.path() + "/blocked.jsonl";
  auto r = run_process({trawler_binary(), "crawl", "--no-progress", "--no-robots", "-o", out,
                        "--scope", "any", "--max-tries", "3", "http://127.0.0.1:" + port + "/",
                        "http://one.test:" + port + "/a", "http://two.test:" + port + "/b",
                        "--resolve", "one.test:" + port + ":127.0.0.1", "--resolve",
                        "two.test:" + port + ":127.0.0.2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto records = read_jsonl(out);
  ASSERT_EQ(records.size(), 3u);
  for (const auto& j : records) {
    EXPECT_EQ(j.at("error").at("kind"), "blocked_address") << j.dump();
    EXPECT_EQ(j.at("attempts"), 0) << j.dump();
    EXPECT_EQ(j.at("elapsed_ms"), 0) << j.dump();
    EXPECT_TRUE(j.at("status").is_null()) << j.dump();
    const std::string at = j.at("fetched_at");
    EXPECT_EQ(at.back(), 'Z') << at;
  }
  EXPECT_EQ(s.requests().size(), 0u);
}

// The same sentence for robots refusals: a seed disallowed by its robots.txt, with a slow
// robots.txt, has elapsed_ms 0 (the robots.txt fetch time is not the page's).
TEST(Contract, RobotsRefusalWasNeverTried) {
  test_server s;
  s.add_page("/robots.txt", text("User-agent: *\nDisallow: /no\n", 120ms));
  s.add_html("/no", page("no", {}));
  auto run = run_crawl({s.base_url() + "/no"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  const auto& j = run.at(s.base_url() + "/no");
  EXPECT_EQ(j.at("error").at("kind"), "robots");
  EXPECT_EQ(j.at("attempts"), 0);
  EXPECT_EQ(j.at("elapsed_ms"), 0);
  EXPECT_EQ(s.hits("/no"), 0);
}

// SPEC "Precise rules": "robots.txt fetches ... obey the host's politeness": the first page
// starts no sooner than delay_ms after the robots.txt request, on every host.
TEST(Contract, RobotsFetchObeysTheHostSpacing) {
  test_server s;
  const std::string port = std::to_string(s.port());
  std::vector<std::string> seeds;
  for (const char* name : {"p.test", "q.test"}) {
    s.add_page("/robots.txt", text("User-agent: *\nAllow: /\n"), name);
    s.add_html("/", page("x", {}), name);
    seeds.push_back("http://" + std::string(name) + ":" + port + "/");
  }
  auto run = run_crawl(concat(concat(seeds, {"--scope", "any", "--delay-ms", "300"}),
                              resolve_args(s, {"p.test", "q.test"})));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  for (const char* name : {"p.test", "q.test"}) {
    std::optional<std::chrono::steady_clock::time_point> robots, first;
    for (const auto& r : s.requests()) {
      if (r.host != name) continue;
      if (r.target == "/robots.txt") robots = r.started;
      if (r.target == "/") first = r.started;
    }
    ASSERT_TRUE(robots && first) << name;
    EXPECT_GE(*first - *robots, 290ms) << name;
  }
}

namespace {

struct resume_site {
  site_options opt;
  test_server server{test_server::options{
      .tls = false, .certificate = cert::good, .port = 0, .log_requests = false}};
  resume_site(int pages, std::chrono::milliseconds delay) {
    opt.pages = pages;
    opt.links_per_page = 6;
    opt.page_bytes = 1200;
    for (int i = 0; i < pages; ++i) {
      response r;
      r.body = render_page(opt, i);
      r.delay = delay;
      server.add_page(page_path(i), r);
    }
  }
  std::set<std::string> urls() const {
    std::set<std::string> all;
    for (const auto& p : all_paths(opt)) all.insert(server.base_url() + p);
    return all;
  }
};

std::vector<std::string> resume_args(const std::string& seed, const std::string& out,
                                     const std::string& state, const std::string& stats) {
  return {trawler_binary(),
          "crawl",
          "--allow-private",
          "--no-progress",
          "-q",
          "-o",
          out,
          "--state-dir",
          state,
          "--stats",
          stats,
          "--concurrency",
          "4",
          "--per-host",
          "4",
          seed};
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

}  // namespace

// SPEC "Crawl semantics": "a crawl killed even by SIGKILL and started again with the same state
// dir resumes: no URL already recorded is fetched again, except those in flight at the kill".
// Here each run writes to its own output (a new file per run, as a long-lived job does).
TEST(Contract, SigkillResumeToAnotherOutputRefetchesOnlyWhatWasInFlight) {
  resume_site s(240, 15ms);
  temp_dir dir;
  const std::string out1 = dir.path() + "/run1.jsonl";
  const std::string out2 = dir.path() + "/run2.jsonl";
  const std::string state = dir.path() + "/state";
  const std::string seed = s.server.base_url() + "/";
  auto first = start_process(resume_args(seed, out1, state, dir.path() + "/s1.json"));
  ASSERT_TRUE(wait_for_lines(out1, 60, 20s));
  first.signal(SIGKILL);
  EXPECT_EQ(first.wait(10s).term_signal, SIGKILL);
  int torn = 0;
  const auto before = urls_in(read_jsonl(out1, &torn));
  ASSERT_LT(before.size(), 240u) << "the crawl ended before the kill; make the site slower";

  auto second = run_process(resume_args(seed, out2, state, dir.path() + "/s2.json"), {}, 60s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto after = urls_in(read_jsonl(out2, &torn));
  std::set<std::string> all;
  std::size_t twice = 0;
  for (const auto& [url, n] : before) all.insert(url);
  for (const auto& [url, n] : after) {
    EXPECT_EQ(n, 1) << url;
    if (before.count(url)) ++twice;
    all.insert(url);
  }
  EXPECT_EQ(all, s.urls());
  // In flight at the kill: at most the crawl's concurrency (4). The last quarter second's
  // records are settled from the first output, which the state names.
  EXPECT_LE(twice, 4u) << twice << " URLs recorded in both runs";
}

// The same sentence after a graceful stop: nothing is recorded twice (cancelled records aside),
// and the stats are cumulative for the crawl (SPEC additions: "Stats across resumes").
TEST(Contract, SigtermResumeToAnotherOutputFetchesNothingTwiceAndStatsCarryOn) {
  resume_site s(160, 15ms);
  temp_dir dir;
  const std::string out1 = dir.path() + "/run1.jsonl";
  const std::string out2 = dir.path() + "/run2.jsonl";
  const std::string state = dir.path() + "/state";
  const std::string seed = s.server.base_url() + "/";
  auto first = start_process(resume_args(seed, out1, state, dir.path() + "/s1.json"));
  ASSERT_TRUE(wait_for_lines(out1, 40, 20s));
  first.signal(SIGTERM);
  ASSERT_EQ(first.wait(10s).exit_code, 0);
  const auto run1 = read_jsonl(out1);
  ASSERT_LT(run1.size(), 160u);
  const json stats1 = read_json(dir.path() + "/s1.json");

  auto second = run_process(resume_args(seed, out2, state, dir.path() + "/s2.json"), {}, 60s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto run2 = read_jsonl(out2);
  std::set<std::string> recorded1;
  std::uint64_t pages = 0, bytes = 0, records = 0;
  for (const auto& j : run1) {
    ++records;
    if (!j.at("status").is_null()) ++pages;
    bytes += j.at("size").get<std::uint64_t>();
    if (j.at("error").is_null()) recorded1.insert(j.at("url"));
  }
  std::set<std::string> all = recorded1;
  for (const auto& j : run2) {
    ++records;
    if (!j.at("status").is_null()) ++pages;
    bytes += j.at("size").get<std::uint64_t>();
    EXPECT_EQ(recorded1.count(j.at("url")), 0u) << j.at("url");
    all.insert(j.at("url"));
  }
  EXPECT_EQ(all, s.urls());
  const json stats2 = read_json(dir.path() + "/s2.json");
  EXPECT_EQ(stats2.at("pages"), pages);
  EXPECT_EQ(stats2.at("bytes"), bytes);
  EXPECT_EQ(stats2.at("status").at("2xx"), pages);
  EXPECT_GT(stats2.at("elapsed_s").get<double>(), stats1.at("elapsed_s").get<double>());
  EXPECT_EQ(stats2.at("seen"), 160);
}

// SPEC "Limits" and "State dir": max_pages bounds the records with a response of the whole
// crawl, resumes included, whatever output each run writes to.
TEST(Contract, MaxPagesHoldsAcrossResumesToOtherOutputs) {
  resume_site s(40, 0ms);
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  const std::string seed = s.server.base_url() + "/";
  auto a = resume_args(seed, dir.path() + "/a.jsonl", state, dir.path() + "/a.json");
  a.insert(a.end(), {"--max-pages", "3"});
  ASSERT_EQ(run_process(a, {}, 30s).exit_code, 0);
  auto b = resume_args(seed, dir.path() + "/b.jsonl", state, dir.path() + "/b.json");
  b.insert(b.end(), {"--max-pages", "5"});
  ASSERT_EQ(run_process(b, {}, 30s).exit_code, 0);
  const auto ra = urls_in(read_jsonl(dir.path() + "/a.jsonl"));
  const auto rb = urls_in(read_jsonl(dir.path() + "/b.jsonl"));
  EXPECT_EQ(ra.size(), 3u);
  EXPECT_EQ(rb.size(), 2u);  // 3 + 2, not 3 + 5
  for (const auto& [url, n] : rb) EXPECT_EQ(ra.count(url), 0u) << url;
  EXPECT_EQ(read_json(dir.path() + "/b.json").at("pages"), 5);

  // "a finished crawl resumed fetches nothing and exits 0", also into a third output.
  auto c = resume_args(seed, dir.path() + "/c.jsonl", state, dir.path() + "/c.json");
  const auto hits = s.server.hits("/");
  ASSERT_EQ(run_process(c, {}, 30s).exit_code, 0);
  EXPECT_EQ(s.server.hits("/"), hits);
  EXPECT_TRUE(read_jsonl(dir.path() + "/c.jsonl").size() + ra.size() + rb.size() <= 40u);
}

// SPEC "All strings are valid UTF-8. A crawl fetches each normalized URL at most once,
// redirect targets included": redirects that cross hosts and ports and loop back.
TEST(Contract, RedirectsAcrossOriginsFetchEachUrlOnce) {
  host_web web(3, 2);
  // Every origin's /hop redirects to the next origin's /hop; the last one back to the first.
  for (std::size_t k = 0; k < web.origins.size(); ++k) {
    const std::string next = web.origins[(k + 1) % web.origins.size()] + "/hop";
    test_server& s = k < 3 ? web.a : web.b;
    s.add_redirect("/hop", next, 302, web.names[k < 3 ? k : k - 3]);
  }
  auto run = run_crawl(concat({web.origins[0] + "/hop", web.origins[3] + "/hop", "--scope", "any",
                               "--no-robots", "--max-redirects", "20"},
                              web.resolve()));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url;
  for (const auto& o : web.origins) {
    ASSERT_TRUE(run.has(o + "/hop")) << o;
    EXPECT_EQ(run.at(o + "/hop").at("status"), 302) << o;
  }
  int hop_requests = 0;
  for (const auto* s : {&web.a, &web.b}) hop_requests += s->hits("/hop");
  EXPECT_EQ(hop_requests, static_cast<int>(web.origins.size()));
}
