// Page requisites (SPEC additions "Page requisites", fetch.requisites): a crawl of a local site
// whose page uses an image, a srcset, a style sheet with a background url() and an @import, a
// script that changes the DOM and a favicon. Every requisite is recorded once and archived; the
// archive is read back with webrecorder's warcio (tests/warc/check-warc.mjs) and replayed with
// ReplayWeb.page in chromium (tests/browser/replay.mjs), which must show what the live page
// shows.
#include <gtest/gtest.h>
#include <zlib.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "crawl_harness.hpp"
#include "support/redis_server.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---- a tiny PNG writer (RGB, 8 bits, filter 0) ----------------------------------------------

void put32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((v >> s) & 0xff);
}

void chunk(std::string& out, const char* type, const std::string& data) {
  put32(out, static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                                              static_cast<uInt>(body.size()))));
}

using pixel = std::function<std::array<unsigned char, 3>(int x, int y)>;

std::string png(int w, int h, const pixel& at) {
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';
    for (int x = 0; x < w; ++x)
      for (unsigned char c : at(x, y)) raw += static_cast<char>(c);
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::string z(size, '\0');
  compress(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
           static_cast<uLong>(raw.size()));
  z.resize(size);
  std::string ihdr;
  put32(ihdr, static_cast<std::uint32_t>(w));
  put32(ihdr, static_cast<std::uint32_t>(h));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);
  std::string out = "\x89PNG\r\n\x1a\n";
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", "");
  return out;
}

pixel solid(unsigned char r, unsigned char g, unsigned char b) {
  return [=](int, int) { return std::array<unsigned char, 3>{r, g, b}; };
}

response typed(std::string body, std::string type) {
  response r;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

// ---- the site -----------------------------------------------------------------------------------

constexpr const char* cdn_host = "cdn.test";

// The page, its requisites on the site and on cdn.test, a page it links, an HTML requisite whose
// links must not be followed, and an excluded image. Returns the requisites' URLs.
std::set<std::string> add_site(test_server& s) {
  const std::string b = s.base_url();
  const std::string cdn = "http://" + std::string(cdn_host) + ":" + std::to_string(s.port());
  s.add_page("/robots.txt", typed("User-agent: *\nDisallow: /private/\n", "text/plain"));
  // clang-format off
  s.add_html("/", R"html(<!doctype html>
<html><head><meta charset="utf-8"><title>Requisites</title>
<link rel="icon" href="/favicon.png">
<link rel="stylesheet" href="/css/site.css">
<script src="/js/app.js" defer></script>
</head><body>
<h1 id="status">waiting for the script</h1>
<div class="row">
<img id="logo" src="/img/logo.png" width="64" height="64" alt="logo">
<img id="photo" src="/img/photo-1x.png" srcset="/img/photo-1x.png 1x, /img/photo-2x.png 2x" width="80" height="40" alt="photo">
<img id="cdn" src=")html" + cdn + R"html(/img/cdn.png" width="32" height="32" alt="cdn">
<span id="inline" style="display:inline-block;width:48px;height:48px;background-image:url('/img/inline.png')"></span>
</div>
<div class="box">box</div>
<img src="/img/excluded.png" style="display:none" alt="">
<img src="/private/secret.png" style="display:none" alt="">
<object data="/embed.html" type="text/html" style="display:none"></object>
<p><a href="/about">about</a> <a href=")html" + cdn + R"html(/page.html">a page on the CDN</a></p>
</body></html>
)html");
  // clang-format on
  s.add_html("/about", page("about", {"/"}, "<link rel=\"stylesheet\" href=\"/css/site.css\">") +
                           "<img src=\"/img/logo.png\">");
  s.add_page("/css/site.css", typed(R"(@import "extra.css";
/* url(/img/commented-out.png) */
body { margin: 0; padding: 16px; font: 16px/1.4 sans-serif; color: #223;
       background: #fdfdf8 url(../img/bg.png) repeat-x; }
.row img, .row span { vertical-align: top; margin-right: 8px; }
)",
                                    "text/css"));
  s.add_page("/css/extra.css",
             typed(".box { margin-top: 12px; width: 120px; height: 40px; line-height: 40px;"
                   " text-align: center; border: 6px solid rgb(200, 30, 90);"
                   " background: url(\"/img/box.png\"); }\n",
                   "text/css; charset=utf-8"));
  s.add_page("/js/app.js", typed(R"(document.getElementById("status").textContent = "script ran";
const p = document.createElement("p");
p.id = "added";
p.textContent = "added by the script";
document.body.appendChild(p);
)",
                                 "application/javascript"));
  s.add_page("/favicon.png", typed(png(16, 16, solid(250, 180, 0)), "image/png"));
  s.add_page("/img/logo.png", typed(png(64, 64,
                                        [](int x, int y) {
                                          return std::array<unsigned char, 3>{
                                              static_cast<unsigned char>(x * 4),
                                              static_cast<unsigned char>(y * 4), 160};
                                        }),
                                    "image/png"));
  s.add_page("/img/photo-1x.png", typed(png(80, 40, solid(40, 160, 60)), "image/png"));
  s.add_page("/img/photo-2x.png", typed(png(160, 80, solid(40, 60, 160)), "image/png"));
  s.add_page("/img/inline.png", typed(png(48, 48, solid(130, 40, 170)), "image/png"));
  s.add_page(
      "/img/bg.png",
      typed(
          png(8, 120,
              [](int, int y) {
                return std::array<unsigned char, 3>{static_cast<unsigned char>(150 + y), 210, 240};
              }),
          "image/png"));
  s.add_page("/img/box.png", typed(png(10, 10,
                                       [](int x, int y) {
                                         const bool on = ((x / 5) + (y / 5)) % 2 == 0;
                                         return std::array<unsigned char, 3>{
                                             static_cast<unsigned char>(on ? 255 : 220),
                                             static_cast<unsigned char>(on ? 240 : 200), 120};
                                       }),
                                   "image/png"));
  s.add_page("/img/excluded.png", typed(png(1, 1, solid(0, 0, 0)), "image/png"));
  s.add_page("/private/secret.png", typed(png(1, 1, solid(0, 0, 0)), "image/png"));
  s.add_page("/img/commented-out.png", typed(png(1, 1, solid(0, 0, 0)), "image/png"));
  // An HTML document fetched as a requisite: never parsed, so its link and image stay unfetched.
  s.add_html("/embed.html",
             page("embed", {"/from-embed"}, "") + "<img src=\"/img/from-embed.png\">");
  s.add_html("/from-embed", page("from embed", {}));
  s.add_page("/img/from-embed.png", typed(png(1, 1, solid(0, 0, 0)), "image/png"));
  response none = typed("no robots.txt here", "text/plain");
  none.status = 404;
  s.add_page("/robots.txt", none, cdn_host);
  s.add_page("/img/cdn.png", typed(png(32, 32, solid(240, 110, 20)), "image/png"), cdn_host);
  s.add_html("/page.html", page("cdn page", {}), cdn_host);
  return {b + "/favicon.png",      b + "/css/site.css",   b + "/css/extra.css",
          b + "/js/app.js",        b + "/img/logo.png",   b + "/img/photo-1x.png",
          b + "/img/photo-2x.png", b + "/img/inline.png", b + "/img/bg.png",
          b + "/img/box.png",      b + "/embed.html",     cdn + "/img/cdn.png"};
}

// warcio's view of the WARC files: {"files":[{"file","records":[...]}]}.
json read_with_warcio(const std::vector<std::string>& files) {
  const std::string checker = std::string(TRAWLER_SOURCE_DIR) + "/tests/warc/check-warc.mjs";
  if (!fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/warc/node_modules/warcio")) {
    ADD_FAILURE() << "warcio is not installed: run scripts/install-deps.sh";
    return json::object();
  }
  std::vector<std::string> argv{"node", checker};
  argv.insert(argv.end(), files.begin(), files.end());
  auto r = run_process(argv, {}, 120s);
  EXPECT_EQ(r.exit_code, 0) << "warcio rejects the archive: " << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out.substr(0, 300);
  return j.is_object() ? j : json::object();
}

std::vector<std::string> warc_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(".warc.gz")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> crawl_args(const test_server& s, const std::string& warc,
                                    std::vector<std::string> more) {
  std::vector<std::string> args{"--warc", warc, "--exclude", "excluded"};
  args = concat(args, resolve_args(s, {cdn_host}));
  args = concat(args, more);
  args.push_back(s.base_url() + "/");
  return args;
}

}  // namespace

// The whole site: each requisite recorded once with requisite: true and archived, on the CDN
// host too (scope host does not stop it), the excluded one and robots.txt's refusal not fetched,
// nothing found in a requisite's body fetched, robots.txt archived, every record naming its
// file's warcinfo record.
TEST(Requisites, RecordedOnceArchivedAndNamedByTheirWarcinfo) {
  test_server s;
  const std::string b = s.base_url();
  const std::string cdn = "http://" + std::string(cdn_host) + ":" + std::to_string(s.port());
  const auto requisites = add_site(s);
  temp_dir dir;
  const std::string warc = dir.path() + "/warc";
  auto run = run_crawl(crawl_args(s, warc, {"--page-requisites"}));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");

  for (const auto& [url, n] : run.count_by_url) EXPECT_EQ(n, 1) << url << " recorded twice";
  for (const auto& url : requisites) {
    ASSERT_TRUE(run.has(url)) << url << " was not fetched";
    const json& r = run.at(url);
    EXPECT_EQ(r.at("status"), 200) << url;
    EXPECT_EQ(r.value("requisite", false), true) << r.dump();
    EXPECT_EQ(r.at("links"), json::array()) << "a requisite is never parsed for links: " << url;
    EXPECT_TRUE(r.contains("warc")) << url;
  }
  // Pages are no requisites; /about's logo and style sheet were fetched once, for the home page.
  for (const auto& url : {b + "/", b + "/about"}) {
    ASSERT_TRUE(run.has(url)) << url;
    EXPECT_FALSE(run.at(url).contains("requisite")) << run.at(url).dump();
  }
  EXPECT_EQ(s.hits("/img/logo.png"), 1);
  EXPECT_EQ(s.hits("/css/site.css"), 1);
  // Depths and referrers: the page's requisites one deeper, a style sheet's one more.
  EXPECT_EQ(run.at(b + "/img/logo.png").at("depth"), 1);
  EXPECT_EQ(run.at(b + "/img/logo.png").at("referrer"), b + "/");
  EXPECT_EQ(run.at(b + "/css/extra.css").at("depth"), 2);
  EXPECT_EQ(run.at(b + "/css/extra.css").at("referrer"), b + "/css/site.css");
  EXPECT_EQ(run.at(b + "/img/bg.png").at("referrer"), b + "/css/site.css");
  EXPECT_EQ(run.at(b + "/img/box.png").at("depth"), 3);
  EXPECT_EQ(run.at(b + "/img/box.png").at("referrer"), b + "/css/extra.css");
  // The home page's new_links count its requisites too (10 of its own were new, /about too).
  EXPECT_GE(run.at(b + "/").at("new_links").get<int>(), 8);
  // Scope: the CDN page is a link out of scope (mode host), the excluded image an explicit
  // exclude, the private one robots.txt's; a comment in CSS is no reference.
  EXPECT_FALSE(run.has(cdn + "/page.html"));
  EXPECT_EQ(s.hits("/page.html", cdn_host), 0);
  EXPECT_FALSE(run.has(b + "/img/excluded.png"));
  EXPECT_EQ(s.hits("/img/excluded.png"), 0);
  ASSERT_TRUE(run.has(b + "/private/secret.png"));
  EXPECT_EQ(run.at(b + "/private/secret.png").at("error").at("kind"), "robots");
  EXPECT_EQ(run.at(b + "/private/secret.png").value("requisite", false), true);
  EXPECT_EQ(s.hits("/private/secret.png"), 0);
  EXPECT_EQ(s.hits("/img/commented-out.png"), 0);
  // An HTML requisite's body is not followed.
  EXPECT_EQ(s.hits("/from-embed"), 0);
  EXPECT_EQ(s.hits("/img/from-embed.png"), 0);
  // Requisites are records with a response: the stats count them as pages.
  EXPECT_EQ(run.stats.at("pages"), requisites.size() + 2);

  // The archive, read by warcio.
  const auto files = warc_files(warc);
  ASSERT_EQ(files.size(), 1u);
  const json checked = read_with_warcio(files);
  ASSERT_TRUE(checked.contains("files"));
  std::map<std::string, json> response_of;  // target URI -> response record
  std::map<std::string, int> responses, requests;
  std::size_t records = 0;
  for (const auto& f : checked.at("files")) {
    const auto& recs = f.at("records");
    ASSERT_FALSE(recs.empty());
    ASSERT_EQ(recs.at(0).at("type"), "warcinfo");
    EXPECT_TRUE(recs.at(0).at("warcinfo_id").is_null()) << "WARC 1.1: not on warcinfo";
    const std::string info = recs.at(0).at("record_id");
    for (std::size_t k = 1; k < recs.size(); ++k) {
      const json& r = recs.at(k);
      ++records;
      EXPECT_EQ(r.at("warcinfo_id"), info) << r.dump();
      EXPECT_NE(r.at("block_digest_ok"), false) << r.dump();
      const std::string uri = r.at("target_uri");
      if (r.at("type") == "response") {
        ++responses[uri];
        EXPECT_EQ(r.at("payload_digest_ok"), true) << r.dump();
        response_of[uri] = r;
      } else if (r.at("type") == "request") {
        ++requests[uri];
      }
    }
  }
  EXPECT_GE(records, 2 * (requisites.size() + 4));
  for (const auto& url : requisites) {
    EXPECT_EQ(responses[url], 1) << url;
    EXPECT_EQ(requests[url], 1) << url;
    const auto& w = run.at(url).at("warc");
    ASSERT_TRUE(response_of.count(url)) << url;
    EXPECT_EQ(response_of[url].at("offset"), w.at("offset")) << url;
    EXPECT_EQ(response_of[url].at("length"), w.at("length")) << url;
  }
  EXPECT_EQ(response_of[b + "/img/logo.png"].at("http_content_type"), "image/png");
  EXPECT_EQ(response_of[b + "/css/site.css"].at("http_content_type"), "text/css");
  // robots.txt of both hosts, with its request; the CDN's is a 404, still a response.
  EXPECT_EQ(responses[b + "/robots.txt"], 1);
  EXPECT_EQ(requests[b + "/robots.txt"], 1);
  EXPECT_EQ(response_of[b + "/robots.txt"].at("http_status"), 200);
  EXPECT_EQ(responses[cdn + "/robots.txt"], 1);
  EXPECT_EQ(response_of[cdn + "/robots.txt"].at("http_status"), 404);
}

// wget -p: the requisites of a page at scope.max_depth are fetched (and a style sheet's), its
// links are not. Without fetch.requisites nothing is a requisite.
TEST(Requisites, FetchedForPagesAtTheDepthLimitAndOffByDefault) {
  test_server s;
  const std::string b = s.base_url();
  const auto requisites = add_site(s);
  temp_dir dir;
  auto run =
      run_crawl(crawl_args(s, dir.path() + "/w1", {"--page-requisites", "--max-depth", "0"}));
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  for (const auto& url : requisites) {
    ASSERT_TRUE(run.has(url)) << url;
    EXPECT_EQ(run.at(url).value("requisite", false), true) << url;
  }
  EXPECT_EQ(run.at(b + "/img/box.png").at("depth"), 3);  // max_depth 0 + 3
  EXPECT_FALSE(run.has(b + "/about"));
  EXPECT_EQ(run.records.size(), requisites.size() + 2);  // and the private image's refusal

  auto off = run_crawl(crawl_args(s, dir.path() + "/w2", {"--max-depth", "0"}));
  ASSERT_EQ(off.proc.exit_code, 0) << off.proc.err;
  ASSERT_EQ(off.records.size(), 1u);
  EXPECT_FALSE(off.records[0].contains("requisite"));
}

// The archive replays whole: ReplayWeb.page, loaded from a loopback server with the WARC, shows
// the page as chromium shows the live site (screenshots compared pixel by pixel), with its image
// decoded, its style sheets' background applied and its script run. A crawl without requisites
// does not replay the same.
TEST(Requisites, ArchiveReplaysLikeTheLivePage) {
  const std::string driver = std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/replay.mjs";
  ASSERT_TRUE(
      fs::exists(std::string(TRAWLER_SOURCE_DIR) + "/tests/browser/node_modules/playwright-core"))
      << "playwright-core is not installed: run scripts/install-deps.sh";
  ASSERT_TRUE(fs::exists(std::string(TRAWLER_SOURCE_DIR) +
                         "/tests/replay/node_modules/replaywebpage/sw.js"))
      << "replaywebpage is not installed: run scripts/install-deps.sh";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium"))
      << "chromium is not installed: run scripts/install-deps.sh";
  test_server s;
  add_site(s);
  temp_dir dir;
  const std::string artifacts = std::string(TRAWLER_BINARY_DIR) + "/test-artifacts/replay";
  fs::create_directories(artifacts);

  auto replay = [&](const std::string& name, const std::vector<std::string>& more) -> json {
    const std::string warc = dir.path() + "/" + name;
    auto run = run_crawl(crawl_args(s, warc, more));
    EXPECT_EQ(run.proc.exit_code, 0) << run.proc.err;
    const auto files = warc_files(warc);
    EXPECT_EQ(files.size(), 1u);
    if (files.size() != 1) return json::object();
    const std::string prefix = artifacts + "/" + name;
    s.reset_observations();
    auto r = run_process({"node", driver, s.base_url() + "/", files[0], prefix,
                          std::string(cdn_host) + "=127.0.0.1"},
                         {}, 180s);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto out = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(out.is_object()) << r.out << r.err;
    // The live page was loaded once, by the live visit: the replay asked the site for nothing.
    EXPECT_EQ(s.hits("/"), 1) << name;
    EXPECT_EQ(s.hits("/img/logo.png"), 1) << name;
    if (out.is_object() && out.contains("diff"))
      std::cout << name << ": replay vs live " << out["diff"].dump()
                << (out.value("reloaded", false) ? " (the replay was loaded twice)" : "")
                << "; screenshots " << prefix << "-{live,replay}.png\n";
    return out.is_object() ? out : json::object();
  };

  const json whole = replay("requisites", {"--page-requisites"});
  ASSERT_TRUE(whole.contains("diff")) << whole.dump();
  // The live page as a reference: its script ran, its images decoded.
  EXPECT_EQ(whole.at("live").at("status"), "script ran") << whole.dump();
  EXPECT_GT(whole.at("live").at("logo_width").get<int>(), 0);
  // The replay: the same checks inside the replayed frame.
  const json& r = whole.at("replay");
  EXPECT_EQ(r.at("status"), "script ran") << whole.dump();
  EXPECT_EQ(r.at("added"), "added by the script");
  EXPECT_EQ(r.at("logo_width"), 64);
  EXPECT_EQ(r.at("photo_width"), 80) << "the 1x srcset candidate";
  EXPECT_EQ(r.at("cdn_width"), 32);
  EXPECT_NE(r.at("body_background").get<std::string>().find("bg.png"), std::string::npos);
  EXPECT_EQ(r.at("box_border"), "rgb(200, 30, 90)") << "the @import'ed sheet applied";
  EXPECT_TRUE(r.at("sheets_loaded").get<bool>());
  // Pixel by pixel: the screenshots (saved beside the test binary) are the same page.
  EXPECT_EQ(whole.at("diff").at("width"), whole.at("diff").at("live_width"));
  EXPECT_LT(whole.at("diff").at("ratio").get<double>(), 0.005) << whole.dump();

  // Without requisites the archive holds the page alone: the replay differs.
  const json bare = replay("page-only", {});
  ASSERT_TRUE(bare.contains("diff")) << bare.dump();
  EXPECT_EQ(bare.at("replay").at("logo_width"), 0);
  EXPECT_GT(bare.at("diff").at("ratio").get<double>(), 0.05) << bare.dump();
}

// Cluster mode: requisites travel through the fleet's Redis queues like any URL, and whichever
// worker fetches one still records it as a requisite.
TEST(Requisites, StayRequisitesThroughTheFleetsQueues) {
  redis_server redis;
  NEED_REDIS(redis);
  test_server s;
  const auto requisites = add_site(s);
  temp_dir dir;
  std::vector<running_process> workers;
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> args{trawler_binary(),
                                  "crawl",
                                  "--allow-private",
                                  "--no-progress",
                                  "--redis",
                                  redis.url(),
                                  "--crawl-name",
                                  "requisites",
                                  "-o",
                                  dir.path() + "/w" + std::to_string(i) + ".jsonl",
                                  "--page-requisites",
                                  "--exclude",
                                  "excluded"};
    args = concat(args, resolve_args(s, {cdn_host}));
    args.push_back(s.base_url() + "/");
    workers.push_back(start_process(args));
  }
  std::map<std::string, json> got;
  std::map<std::string, int> count;
  for (int i = 0; i < 2; ++i) {
    auto r = workers[static_cast<std::size_t>(i)].wait(60s);
    EXPECT_EQ(r.exit_code, 0) << "worker " << i << ": " << r.err;
    for (auto& rec : read_jsonl(dir.path() + "/w" + std::to_string(i) + ".jsonl")) {
      const std::string url = rec.at("url");
      ++count[url];
      got[url] = std::move(rec);
    }
  }
  for (const auto& [url, n] : count) EXPECT_EQ(n, 1) << url;
  for (const auto& url : requisites) {
    ASSERT_TRUE(got.count(url)) << url << " was not fetched";
    EXPECT_EQ(got[url].value("requisite", false), true) << got[url].dump();
  }
  EXPECT_FALSE(got.at(s.base_url() + "/").contains("requisite"));
  EXPECT_EQ(got.at(s.base_url() + "/img/box.png").at("depth"), 3);
}

// Crash-safe state: a crawl killed (SIGKILL) with requisites still queued resumes from its state
// dir and still fetches them as requisites.
TEST(Requisites, QueuedRequisitesStayRequisitesAcrossAKill) {
  test_server s;
  const std::string b = s.base_url();
  const auto requisites = add_site(s);
  temp_dir dir;
  const std::string out1 = dir.path() + "/1.jsonl", out2 = dir.path() + "/2.jsonl";
  auto args = [&](const std::string& out, std::vector<std::string> more) {
    std::vector<std::string> a{trawler_binary(),      "crawl",     "--allow-private",
                               "--no-progress",       "-q",        "--state-dir",
                               dir.path() + "/state", "-o",        out,
                               "--page-requisites",   "--exclude", "excluded"};
    a = concat(a, resolve_args(s, {cdn_host}));
    a = concat(a, more);
    a.push_back(b + "/");
    return a;
  };
  // Slow enough that the page's requisites wait in the queue when it is killed.
  auto first = start_process(args(out1, {"--per-host", "1", "--delay-ms", "400"}));
  bool page_recorded = false;
  for (int i = 0; i < 1000 && !page_recorded; ++i) {
    for (const auto& r : read_jsonl(out1)) page_recorded = page_recorded || r.at("url") == b + "/";
    if (!page_recorded) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(page_recorded);
  first.signal(SIGKILL);
  first.wait(10s);
  std::set<std::string> before;
  for (const auto& r : read_jsonl(out1)) before.insert(r.at("url").get<std::string>());

  auto second = run_process(args(out2, {}), {}, 60s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  std::map<std::string, int> count;
  std::size_t resumed_requisites = 0;
  for (const auto& r : read_jsonl(out2)) {
    const std::string url = r.at("url");
    ++count[url];
    if (!requisites.count(url)) continue;
    EXPECT_EQ(r.value("requisite", false), true) << r.dump();
    EXPECT_FALSE(before.count(url)) << url << " recorded before the kill, fetched again";
    ++resumed_requisites;
  }
  for (const auto& url : requisites) EXPECT_TRUE(before.count(url) || count.count(url)) << url;
  EXPECT_GE(resumed_requisites, 5u) << "the kill came after most requisites were fetched";
}
