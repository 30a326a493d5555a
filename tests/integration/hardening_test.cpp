// Hostile input at scale and the SSRF address policy.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "crawl_harness.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {}  // namespace

TEST(Ssrf, PrivateAddressSpellingsAreRefusedWithoutConnecting) {
  test_server s;
  s.add_html("/", page("root", {}));
  std::string port = std::to_string(s.port());
  temp_dir dir;
  std::string out = dir.path() + "/out.jsonl";
  // Decimal, hex and octal spellings of 127.0.0.1, the IPv4-mapped IPv6 form, and a name that
  // resolves (here: is pinned) to loopback.
  auto r = run_process(
      {trawler_binary(), "crawl", "--no-progress", "-o", out, "--scope", "any",
       "http://2130706433:" + port + "/", "http://0x7f.0.0.1:" + port + "/a",
       "http://0177.0.0.1:" + port + "/b", "http://[::ffff:127.0.0.1]:" + port + "/c",
       "http://inside.test:" + port + "/d", "--resolve", "inside.test:" + port + ":127.0.0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  std::string line;
  std::set<std::string> urls;
  while (std::getline(in, line)) {
    auto j = json::parse(line);
    EXPECT_EQ(j.at("error").at("kind"), "blocked_address") << line;
    EXPECT_EQ(j.at("attempts"), 0);
    urls.insert(j.at("url"));
  }
  EXPECT_EQ(urls.size(), 5u);
  EXPECT_TRUE(urls.count("http://127.0.0.1:" + port + "/"));
  EXPECT_TRUE(urls.count("http://[::ffff:7f00:1]:" + port + "/c") ||
              urls.count("http://[::ffff:127.0.0.1]:" + port + "/c"));
  EXPECT_EQ(s.requests().size(), 0u);
}

TEST(Hostile, TenThousandRedirectsAndAHundredThousandLinks) {
  test_server s;
  std::string b = s.base_url();
  for (int i = 0; i < 10000; ++i) {
    s.add_redirect("/r/" + std::to_string(i), "/r/" + std::to_string(i + 1), 302);
  }
  std::string many = "<html><body>";
  for (int i = 0; i < 100000; ++i) many += "<a href=\"/l/" + std::to_string(i) + "\">x</a>";
  many += "</body></html>";
  s.add_html("/many", many);
  std::string deep = "<html><body>";
  for (int i = 0; i < 100000; ++i) deep += "<div>";
  deep += "<a href=\"/deep-link\">x</a><title>t</title></body></html>";
  s.add_html("/deep", deep);
  s.add_html("/", page("root", {"/r/0", "/many", "/deep"}));
  auto run = run_crawl({b + "/", "--max-depth", "1", "--concurrency", "8", "--per-host", "8"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  // A link starts with max_redirects (10) hops: r/0 -> ... -> r/10 are followed, and r/10,
  // whose target would need an 11th, carries redirect_limit.
  EXPECT_TRUE(run.at(b + "/r/9").at("error").is_null());
  EXPECT_EQ(run.at(b + "/r/10").at("error").at("kind"), "redirect_limit");
  EXPECT_EQ(run.at(b + "/r/10").at("redirect"), b + "/r/11");
  EXPECT_FALSE(run.has(b + "/r/11"));
  EXPECT_EQ(run.at(b + "/many").at("links").size(), 100000u);
  EXPECT_EQ(run.at(b + "/deep").at("status"), 200);
  // Links of depth 2 are out of scope: only the 100k links' records would be depth 2.
  EXPECT_LT(run.records.size(), 100u);
}
