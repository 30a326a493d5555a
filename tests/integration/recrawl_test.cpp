// Continuous crawling (SPEC additions "Recrawl"), black-box: the real binary against a local
// server whose pages change, answer conditional requests, disappear and come back.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crawl_harness.hpp"

using namespace trawler::testing;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string header_of(const request_entry& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Records of one URL, in order.
std::vector<json> of_url(const std::vector<json>& records, const std::string& url) {
  std::vector<json> out;
  for (const auto& r : records)
    if (r.value("url", "") == url) out.push_back(r);
  return out;
}

// A site whose pages are told what to answer by `phase` (0: the first crawl, 1: later).
struct changing_site {
  test_server server;
  std::atomic<int> phase{0};
  std::string base() const { return server.base_url(); }
  std::string url(const std::string& path) const { return base() + path; }

  changing_site() {
    server.add_handler("/", [this](const request_entry&) {
      std::vector<std::string> links = {"/same",  "/etag", "/lm",   "/lm850", "/changes",
                                        "/churn", "/g410", "/g404", "/moved", "/ignorer"};
      if (phase >= 1) links.push_back("/fresh");  // a new page appears on the hub
      response r;
      r.body = page("Home", links);
      return r;
    });
    server.add_html("/same", page("Same", {}));
    server.add_html("/fresh", page("Fresh", {}));
    server.add_html("/target", page("Target", {}));
    server.add_handler("/etag", [](const request_entry& req) {
      response r;
      r.headers = {{"ETag", "W/\"v1-x\""}};
      if (header_of(req, "if-none-match") == "W/\"v1-x\"") {
        r.status = 304;
        r.content_type.clear();
        return r;
      }
      r.body = page("ETag", {"/etag-link"});
      return r;
    });
    server.add_handler("/lm", [](const request_entry& req) {
      response r;
      r.headers = {{"Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"}};
      if (header_of(req, "if-modified-since") == "Wed, 21 Oct 2015 07:28:00 GMT") {
        r.status = 304;
        r.content_type.clear();
        return r;
      }
      r.body = page("LM", {});
      return r;
    });
    // Last-Modified in the obsolete RFC 850 form: it must come back as an IMF-fixdate.
    server.add_handler("/lm850", [](const request_entry& req) {
      response r;
      r.headers = {{"Last-Modified", "Wednesday, 21-Oct-15 07:28:00 GMT"}};
      if (header_of(req, "if-modified-since") == "Wed, 21 Oct 2015 07:28:00 GMT") {
        r.status = 304;
        r.content_type.clear();
        return r;
      }
      r.body = page("LM850", {});
      return r;
    });
    server.add_handler("/changes", [this](const request_entry&) {
      response r;
      r.body = page("Changes", {}, "<meta name=x content=y>") + "<p>version " +
               std::to_string(phase.load()) + "</p>";
      return r;
    });
    // Markup churn only: a nonce and an asset hash change, the visible text does not.
    server.add_handler("/churn", [this](const request_entry&) {
      static int n = 0;
      ++n;
      response r;
      r.body = "<html><head><title>Churn</title><script nonce=\"n" + std::to_string(n) +
               "\">var build='" + std::to_string(n * 7919) +
               "';</script></head><body><img src=\"/logo." + std::to_string(phase.load()) +
               ".png\"><p>Steady text</p></body></html>";
      return r;
    });
    server.add_handler("/g410", [this](const request_entry&) {
      response r;
      if (phase >= 1) {
        r.status = 410;
        r.body = "gone";
        r.content_type = "text/plain";
      } else {
        r.body = page("To be removed", {});
      }
      return r;
    });
    server.add_handler("/g404", [this](const request_entry&) {
      response r;
      if (phase >= 1) {
        r.status = 404;
        r.body = "not found";
        r.content_type = "text/plain";
      } else {
        r.body = page("To be lost", {});
      }
      return r;
    });
    server.add_handler("/moved", [this](const request_entry&) {
      response r;
      if (phase >= 1) {
        r.status = 301;
        r.headers = {{"Location", "/target"}};
        r.content_type.clear();
      } else {
        r.body = page("Moving", {});
      }
      return r;
    });
    // Sends an ETag but never answers 304.
    server.add_handler("/ignorer", [](const request_entry&) {
      response r;
      r.headers = {{"ETag", "\"same\""}};
      r.body = page("Ignorer", {});
      return r;
    });
    server.add_html("/etag-link", page("ETag link", {}));
  }
};

}  // namespace

TEST(Recrawl, NeedsAStateDirOnTheCommandLine) {
  temp_dir dir;
  auto run = run_crawl({"--recrawl", "continuous", "http://127.0.0.1:1/"});
  EXPECT_EQ(run.proc.exit_code, 2);
  EXPECT_NE(run.proc.err.find("recrawl.mode"), std::string::npos) << run.proc.err;
  EXPECT_NE(run.proc.err.find("state.dir"), std::string::npos) << run.proc.err;
  auto bad =
      run_crawl({"--recrawl", "weekly", "--state-dir", dir.path() + "/s", "http://127.0.0.1:1/"});
  EXPECT_EQ(bad.proc.exit_code, 2);
  EXPECT_NE(bad.proc.err.find("--recrawl"), std::string::npos) << bad.proc.err;
}

// The cron workflow: `--recrawl pass` twice on one state dir. The second pass revisits every
// known URL once, conditionally, tells the indexer what changed, admits what is new, and exits.
TEST(Recrawl, PassRevisitsEveryKnownUrlOnceAndSaysWhatChanged) {
  changing_site site;
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto first = run_crawl({"--recrawl", "pass", "--state-dir", state, site.url("/")});
  ASSERT_EQ(first.proc.exit_code, 0) << first.proc.err;
  for (const auto& r : first.records) {
    SCOPED_TRACE(r.dump());
    ASSERT_TRUE(r.contains("change"));
    EXPECT_EQ(r["visit"], 1);
    if (r["status"] == 200) {
      EXPECT_EQ(r["change"], "new");
      EXPECT_TRUE(r.contains("links"));
      EXPECT_TRUE(r["last_changed_at"].is_string());
    }
    EXPECT_TRUE(r["next_visit_at"].is_string());
  }
  EXPECT_EQ(first.records.size(), 12u);  // the hub, its 10 links, /etag-link
  EXPECT_EQ(validate_records_against_schema(first.output_path), "");

  site.phase = 1;
  site.server.reset_observations();
  auto second = run_crawl({"--recrawl", "pass", "--state-dir", state, site.url("/")});
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;
  EXPECT_EQ(validate_records_against_schema(second.output_path), "");
  // Every known URL once, and the two new ones (/fresh on the hub, /target of the redirect).
  for (const auto& [url, n] : second.count_by_url) EXPECT_EQ(n, 1) << url;
  EXPECT_EQ(second.records.size(), 14u);
  auto change = [&](const std::string& path) {
    return second.at(site.url(path)).value("change", "");
  };
  EXPECT_EQ(change("/"), "changed");  // the hub gained a link
  EXPECT_EQ(change("/same"), "unchanged");
  EXPECT_EQ(change("/etag"), "not_modified");
  EXPECT_EQ(change("/lm"), "not_modified");
  EXPECT_EQ(change("/lm850"), "not_modified");
  EXPECT_EQ(change("/changes"), "changed");
  EXPECT_EQ(change("/churn"), "unchanged");
  EXPECT_EQ(change("/g410"), "gone");
  EXPECT_EQ(second.at(site.url("/g410"))["gone_reason"], "410");
  EXPECT_EQ(change("/g404"), "failed");  // one 404 is not a deletion
  EXPECT_FALSE(second.at(site.url("/g404")).contains("gone_reason"));
  EXPECT_EQ(change("/moved"), "gone");
  EXPECT_EQ(second.at(site.url("/moved"))["gone_reason"], "redirect");
  EXPECT_EQ(change("/target"), "new");
  EXPECT_EQ(change("/fresh"), "new");
  EXPECT_EQ(change("/ignorer"), "unchanged");
  for (const auto& r : second.records) EXPECT_EQ(r["visit"], r["change"] == "new" ? 1 : 2) << r;

  // Unchanged and 304 records leave the page's content out: absent, not empty.
  for (const std::string p : {"/same", "/etag", "/churn"}) {
    const auto& r = second.at(site.url(p));
    EXPECT_FALSE(r.contains("links")) << p;
    EXPECT_FALSE(r.contains("title")) << p;
  }
  const auto& nm = second.at(site.url("/etag"));
  EXPECT_EQ(nm["status"], 304);
  EXPECT_EQ(nm["size"], 0);
  EXPECT_TRUE(nm["sha256"].is_null());
  EXPECT_TRUE(second.at(site.url("/changes")).contains("links"));

  // The validators went out verbatim, Last-Modified as an IMF-fixdate, only where stored.
  std::map<std::string, request_entry> by_target;
  for (const auto& r : site.server.requests()) by_target[r.target] = r;
  EXPECT_EQ(header_of(by_target["/etag"], "if-none-match"), "W/\"v1-x\"");
  EXPECT_EQ(header_of(by_target["/lm"], "if-modified-since"), "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(header_of(by_target["/lm850"], "if-modified-since"), "Wed, 21 Oct 2015 07:28:00 GMT");
  EXPECT_EQ(header_of(by_target["/same"], "if-none-match"), "");
  EXPECT_EQ(header_of(by_target["/same"], "if-modified-since"), "");
  EXPECT_EQ(header_of(by_target["/fresh"], "if-none-match"), "");

  // Counted: 304s, the bytes they saved, the host that ignores validators, skipped parses.
  const json& rs = second.stats.at("recrawl");
  EXPECT_EQ(rs["changes"]["not_modified"], 3);
  EXPECT_EQ(rs["changes"]["gone"], 2);
  EXPECT_EQ(rs["validators_ignored"], 1);
  EXPECT_GT(rs["bytes_saved"].get<int>(), 0);
  EXPECT_GE(rs["parses_skipped"].get<int>(), 5);  // 3 x 304, /same, /ignorer
  // Stats are cumulative across the runs of one state.
  EXPECT_EQ(rs["changes"]["new"], 12 + 2);

  // trawler explain tells the visits, the last change and the next one.
  auto ex =
      run_process({trawler_binary(), "explain", site.url("/etag"), "--state-dir", state, "--json"});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  const json answer = json::parse(ex.out);
  ASSERT_TRUE(answer.contains("visits")) << answer;
  EXPECT_EQ(answer["visits"]["visits"], 2);
  EXPECT_EQ(answer["visits"]["indexed"], true);
  EXPECT_EQ(answer["visits"]["etag"], "W/\"v1-x\"");
  EXPECT_EQ(answer["visits"]["next_visit_at"], second.at(site.url("/etag"))["next_visit_at"]);
  EXPECT_NE(answer["explanation"].get<std::string>().find("Recrawl: visited 2 times"),
            std::string::npos)
      << answer["explanation"];
  auto gone = run_process({trawler_binary(), "explain", site.url("/g410"), "--state-dir", state});
  EXPECT_NE(gone.out.find("it is gone (410)"), std::string::npos) << gone.out;

  // trawler report has a freshness section: changes, deletions by reason, 304 share per host.
  const std::string html = second.output_path + ".html";
  auto rep = run_process({trawler_binary(), "report", second.output_path, "-o", html});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  std::ifstream in(html);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("<h2>Freshness</h2>"), std::string::npos);
  const std::string open_tag = "<script type=\"application/json\" id=\"trawler-report\">";
  const auto from = text.find(open_tag);
  ASSERT_NE(from, std::string::npos);
  const auto to = text.find("</script>", from);
  const json summary =
      json::parse(text.substr(from + open_tag.size(), to - from - open_tag.size()));
  const json& fr = summary.at("freshness");
  EXPECT_EQ(fr["changes"]["not_modified"], 3);
  EXPECT_EQ(fr["changes"]["new"], 2);
  EXPECT_EQ(fr["gone_reasons"]["410"]["count"], 1);
  EXPECT_EQ(fr["gone_reasons"]["redirect"]["examples"][0], site.url("/moved"));
  ASSERT_EQ(fr["hosts"].size(), 1u);
  EXPECT_NEAR(fr["hosts"][0]["not_modified_share"].get<double>(), 3.0 / 12.0, 1e-9);
}

TEST(Recrawl, ACrawlWithoutRecrawlIsContinuedWithIt) {
  changing_site site;
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto plain = run_crawl({"--state-dir", state, site.url("/")});
  ASSERT_EQ(plain.proc.exit_code, 0) << plain.proc.err;
  EXPECT_FALSE(plain.records.at(0).contains("change"));
  const std::size_t known = plain.records.size();
  auto pass = run_crawl({"--recrawl", "pass", "--state-dir", state, site.url("/")});
  ASSERT_EQ(pass.proc.exit_code, 0) << pass.proc.err;
  // No history yet: every URL is visited once more, and what answers 200 is new to the index.
  EXPECT_EQ(pass.records.size(), known);
  for (const auto& r : pass.records) {
    EXPECT_EQ(r["visit"], 1) << r;
    if (r["status"] == 200) {
      EXPECT_EQ(r["change"], "new") << r;
    }
  }
}

TEST(Recrawl, APassDoesNotCountRevisitsAgainstMaxPages) {
  changing_site site;
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto first =
      run_crawl({"--recrawl", "pass", "--state-dir", state, "--max-pages", "4", site.url("/")});
  ASSERT_EQ(first.proc.exit_code, 0) << first.proc.err;
  EXPECT_EQ(first.records.size(), 4u);
  // The budget is spent: the second pass revisits the 4 pages and admits nothing new.
  auto second =
      run_crawl({"--recrawl", "pass", "--state-dir", state, "--max-pages", "4", site.url("/")});
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;
  EXPECT_EQ(second.records.size(), 4u);
  std::set<std::string> a, b;
  for (const auto& r : first.records) a.insert(r["url"]);
  for (const auto& r : second.records) b.insert(r["url"]);
  EXPECT_EQ(a, b);
}

namespace {

// A continuous crawl with intervals in milliseconds, stopped by SIGTERM after `run_for`.
struct continuous_run {
  process_result proc;
  std::vector<json> records;
};

std::string fast_config(const std::string& dir, const std::string& extra = "") {
  const std::string path = dir + "/recrawl.yaml";
  write_file(path,
             "recrawl:\n"
             "  mode: continuous\n"
             "  interval_ms: 300\n"
             "  min_interval_ms: 200\n"
             "  max_interval_ms: 2000\n"
             "  error_interval_ms: 200\n"
             "  jitter: 0\n" +
                 extra);
  return path;
}

}  // namespace

TEST(Recrawl, ContinuousNeverEndsOnAnEmptyFrontierAndRevisitsOnItsSchedule) {
  test_server s;
  std::atomic<int> version{0};
  std::atomic<int> flaps{0};
  s.add_html("/", page("Hub", {"/p", "/steady", "/dies", "/flap"}));
  s.add_handler("/p", [&](const request_entry&) {
    response r;
    r.body = page("P", {}) + "<p>v" + std::to_string(++version) + "</p>";
    return r;
  });
  s.add_html("/steady", page("Steady", {}));
  response alive;
  alive.body = page("Dies", {});
  response dead;
  dead.status = 404;
  dead.body = "no";
  dead.content_type = "text/plain";
  s.add_sequence("/dies", {alive, dead});
  // A 404 every other visit: never two in a row, never a deletion.
  s.add_handler("/flap", [&](const request_entry&) {
    response r;
    if (++flaps % 2 == 0) {
      r.status = 404;
      r.body = "flap";
      r.content_type = "text/plain";
    } else {
      r.body = page("Flap", {});
    }
    return r;
  });
  temp_dir dir;
  const std::string out = dir.path() + "/out.jsonl";
  auto proc = start_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-c",
                             fast_config(dir.path()), "--state-dir", dir.path() + "/state", "-o",
                             out, "--stats", dir.path() + "/stats.json", s.base_url() + "/"});
  std::this_thread::sleep_for(3500ms);
  // Still running: an empty frontier is no end in continuous mode (the stats file is written
  // at the end).
  ASSERT_FALSE(std::ifstream(dir.path() + "/stats.json").good());
  proc.signal(SIGTERM);
  auto result = proc.wait(20s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_FALSE(result.timed_out);
  const auto records = read_jsonl(out);
  const std::string base = s.base_url();

  // The hub at the minimum (200 ms): many visits in 3.5 s.
  EXPECT_GE(of_url(records, base + "/").size(), 6u);
  // A page that changes every visit: new, then changed each time.
  auto p = of_url(records, base + "/p");
  ASSERT_GE(p.size(), 4u);
  EXPECT_EQ(p[0]["change"], "new");
  for (std::size_t i = 1; i < p.size(); ++i) {
    EXPECT_EQ(p[i]["change"], "changed");
    EXPECT_EQ(p[i]["visit"], i + 1);
  }
  // Unchanged: the interval grows (300, 450, 675...), so it is visited less often than /p.
  auto steady = of_url(records, base + "/steady");
  ASSERT_GE(steady.size(), 2u);
  EXPECT_LT(steady.size(), p.size());
  for (std::size_t i = 1; i < steady.size(); ++i) EXPECT_EQ(steady[i]["change"], "unchanged");
  // 200, then 404s: gone after the second 404 (gone_after 2), at least the minimum apart.
  auto dies = of_url(records, base + "/dies");
  ASSERT_GE(dies.size(), 3u);
  EXPECT_EQ(dies[0]["change"], "new");
  EXPECT_EQ(dies[1]["change"], "failed");
  EXPECT_EQ(dies[2]["change"], "gone");
  EXPECT_EQ(dies[2]["gone_reason"], "404");
  // Gone URLs are checked at the maximum (2 s) from then on.
  // A 404 every other visit is never gone.
  for (const auto& r : of_url(records, base + "/flap")) EXPECT_NE(r["change"], "gone") << r;
  // Visits are spaced by the schedule: next_visit_at of one visit is when the next one started.
  for (const auto& list : {p, steady}) {
    for (std::size_t i = 1; i < list.size(); ++i) {
      EXPECT_LE(list[i - 1]["next_visit_at"].get<std::string>(),
                list[i]["fetched_at"].get<std::string>());
    }
  }
}

// kill -9 twice in continuous mode: no schedule reset (visit numbers go on), no visit recorded
// twice beyond the ones in flight at each kill.
TEST(Recrawl, KilledTwiceInContinuousModeLosesNoScheduleAndRepeatsNothing) {
  test_server s;
  std::vector<std::string> links;
  for (int i = 0; i < 20; ++i) {
    links.push_back("/p" + std::to_string(i));
    s.add_html("/p" + std::to_string(i), page("P" + std::to_string(i), {}));
  }
  s.add_html("/", page("Hub", links));
  temp_dir dir;
  const std::string cfg = fast_config(dir.path());
  const std::string state = dir.path() + "/state";
  std::vector<json> all;
  for (int round = 0; round < 3; ++round) {
    const std::string out = dir.path() + "/out" + std::to_string(round) + ".jsonl";
    auto proc = start_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-c",
                               cfg, "--state-dir", state, "-o", out, s.base_url() + "/"});
    std::this_thread::sleep_for(1500ms);
    if (round < 2) {
      proc.signal(SIGKILL);
    } else {
      proc.signal(SIGTERM);
    }
    auto r = proc.wait(20s);
    if (round == 2) {
      EXPECT_EQ(r.exit_code, 0) << r.err;
    }
    int torn = 0;
    auto lines = read_jsonl(out, &torn);
    ASSERT_FALSE(lines.empty()) << "round " << round;
    if (round > 0) {
      // The first record of a restarted run goes on from the saved visit numbers.
      EXPECT_GT(lines.front()["visit"].get<int>(), 1) << lines.front();
    }
    all.insert(all.end(), lines.begin(), lines.end());
  }
  // Each (URL, visit) once, except what was in flight at a kill (per_host 2: 2 per kill).
  std::map<std::pair<std::string, int>, int> seen;
  for (const auto& r : all) ++seen[{r["url"], r["visit"].get<int>()}];
  int repeats = 0;
  for (const auto& [k, n] : seen) repeats += n - 1;
  EXPECT_LE(repeats, 4);
  // Visit numbers of one URL never go back after a restart.
  std::map<std::string, int> last;
  for (const auto& r : all) {
    const std::string url = r["url"];
    EXPECT_GE(r["visit"].get<int>(), last[url]) << r;
    last[url] = std::max(last[url], r["visit"].get<int>());
  }
}

namespace {

// warcio's view of every WARC file in `dir` (tests/warc/check-warc.mjs), records by file and
// offset.
std::map<std::pair<std::string, std::uint64_t>, json> warc_records(const std::string& dir) {
  std::map<std::pair<std::string, std::uint64_t>, json> out;
  const std::string checker = std::string(TRAWLER_SOURCE_DIR) + "/tests/warc/check-warc.mjs";
  std::vector<std::string> argv{"node", checker};
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(".warc.gz")) argv.push_back(e.path().string());
  }
  std::sort(argv.begin() + 2, argv.end());
  auto r = run_process(argv, {}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << "warcio rejects the archive: " << r.err;
  auto j = json::parse(r.out, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& f : j["files"]) {
    for (const auto& rec : f["records"])
      out[{f["file"].get<std::string>(), rec["offset"].get<std::uint64_t>()}] = rec;
  }
  return out;
}

const json& at_pointer(const std::map<std::pair<std::string, std::uint64_t>, json>& recs,
                       const json& record) {
  static const json none;
  if (!record.contains("warc")) return none;
  auto it = recs.find(
      {record["warc"]["file"].get<std::string>(), record["warc"]["offset"].get<std::uint64_t>()});
  return it == recs.end() ? none : it->second;
}

}  // namespace

// WARC 1.1 6.7.2: a 304 is a server-not-modified revisit, an identical payload an
// identical-payload-digest revisit, each naming the capture it repeats, read by warcio.
TEST(Recrawl, RevisitRecordsInTheArchiveReferToTheLastCapture) {
  changing_site site;
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  const std::string warc = dir.path() + "/warc";
  auto first =
      run_crawl({"--recrawl", "pass", "--state-dir", state, "--warc", warc, site.url("/")});
  ASSERT_EQ(first.proc.exit_code, 0) << first.proc.err;
  site.phase = 1;
  auto second =
      run_crawl({"--recrawl", "pass", "--state-dir", state, "--warc", warc, site.url("/")});
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;
  const auto recs = warc_records(warc);
  ASSERT_FALSE(recs.empty());

  const json& etag_first = at_pointer(recs, first.at(site.url("/etag")));
  const json& etag_second = at_pointer(recs, second.at(site.url("/etag")));
  ASSERT_EQ(etag_first.value("type", ""), "response");
  ASSERT_EQ(etag_second.value("type", ""), "revisit") << etag_second;
  EXPECT_EQ(etag_second["profile"], "http://netpreserve.org/warc/1.1/revisit/server-not-modified");
  EXPECT_EQ(etag_second["http_status"], 304);
  EXPECT_EQ(etag_second["refers_to"], etag_first["record_id"]);
  EXPECT_EQ(etag_second["refers_to_target_uri"], site.url("/etag"));
  EXPECT_EQ(etag_second["refers_to_date"], etag_first["date"]);
  // The carried payload digest, not the digest of the 304's empty body.
  EXPECT_EQ(etag_second["payload_digest"], etag_first["payload_digest"]);
  EXPECT_EQ(etag_second["block_digest_ok"], true);

  const json& same_first = at_pointer(recs, first.at(site.url("/same")));
  const json& same_second = at_pointer(recs, second.at(site.url("/same")));
  ASSERT_EQ(same_second.value("type", ""), "revisit") << same_second;
  EXPECT_EQ(same_second["profile"],
            "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest");
  EXPECT_EQ(same_second["http_status"], 200);
  EXPECT_EQ(same_second["truncated"], "length");
  EXPECT_EQ(same_second["refers_to"], same_first["record_id"]);
  EXPECT_EQ(same_second["payload_digest"], same_first["payload_digest"]);

  // What changed is archived whole.
  EXPECT_EQ(at_pointer(recs, second.at(site.url("/changes"))).value("type", ""), "response");
}

// A page robots.txt now disallows, and one that now says noindex, are gone with that reason;
// the disallowed one is not requested.
TEST(Recrawl, RobotsAndNoindexMakeAnIndexedPageGone) {
  test_server s;
  std::atomic<int> phase{0};
  s.add_html("/", page("Home", {"/private/p", "/tagged"}));
  s.add_handler("/robots.txt", [&](const request_entry&) {
    response r;
    r.content_type = "text/plain";
    r.body = phase >= 1 ? "User-agent: *\nDisallow: /private/\n" : "User-agent: *\nAllow: /\n";
    return r;
  });
  s.add_html("/private/p", page("Private", {}));
  s.add_handler("/tagged", [&](const request_entry&) {
    response r;
    r.body =
        phase >= 1 ? page("Tagged", {}, "<meta name=robots content=noindex>") : page("Tagged", {});
    return r;
  });
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto first = run_crawl({"--recrawl", "pass", "--state-dir", state, s.base_url() + "/"});
  ASSERT_EQ(first.proc.exit_code, 0) << first.proc.err;
  EXPECT_EQ(first.at(s.base_url() + "/private/p")["change"], "new");
  phase = 1;
  s.reset_observations();
  auto second = run_crawl({"--recrawl", "pass", "--state-dir", state, s.base_url() + "/"});
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;
  const auto& priv = second.at(s.base_url() + "/private/p");
  EXPECT_EQ(priv["change"], "gone") << priv;
  EXPECT_EQ(priv["gone_reason"], "robots");
  EXPECT_EQ(priv["error"]["kind"], "robots");
  EXPECT_EQ(s.hits("/private/p"), 0);
  const auto& tagged = second.at(s.base_url() + "/tagged");
  EXPECT_EQ(tagged["change"], "gone") << tagged;
  EXPECT_EQ(tagged["gone_reason"], "noindex");
  EXPECT_EQ(tagged["noindex"], true);
}

namespace {

std::string w3c_now_plus(std::chrono::seconds ahead) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + ahead);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A continuous crawl whose only page /a waits a minute between visits, and whose sitemap (read
// again at the minimum interval) says /a changed once `changed` is set. Returns /a's records.
std::vector<json> lastmod_run(const std::string& mode) {
  // What the handlers read is declared before the server, so it outlives the server's thread.
  std::mutex m;
  std::string lastmod = "2020-01-01";
  std::string base;
  test_server s;
  base = s.base_url();
  s.add_handler("/robots.txt", [&](const request_entry&) {
    response r;
    r.content_type = "text/plain";
    r.body = "User-agent: *\nAllow: /\nSitemap: " + base + "/sitemap.xml\n";
    return r;
  });
  s.add_html("/", page("Home", {}));
  s.add_html("/a", page("A", {}));
  s.add_handler("/sitemap.xml", [&](const request_entry&) {
    response r;
    r.content_type = "application/xml";
    std::lock_guard lock(m);
    r.body = "<?xml version=\"1.0\"?><urlset><url><loc>" + base + "/a</loc><lastmod>" + lastmod +
             "</lastmod></url></urlset>";
    return r;
  });
  temp_dir dir;
  const std::string cfg = fast_config(dir.path(),
                                      "  rules:\n    - {match: \"/a$\", interval_ms: 60000, "
                                      "min_interval_ms: 200, max_interval_ms: 60000}\n"
                                      "sitemaps:\n  enabled: true\n  lastmod: " +
                                          mode + "\n");
  const std::string out = dir.path() + "/out.jsonl";
  auto proc =
      start_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-c", cfg,
                     "--state-dir", dir.path() + "/state", "-o", out, s.base_url() + "/"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (of_url(read_jsonl(out), s.base_url() + "/a").empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  {
    std::lock_guard lock(m);
    lastmod = w3c_now_plus(1s);  // newer than /a's visit
  }
  std::this_thread::sleep_for(2500ms);
  proc.signal(SIGTERM);
  auto r = proc.wait(20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return of_url(read_jsonl(out), s.base_url() + "/a");
}

}  // namespace

// sitemaps.lastmod (recrawl continuous): a sitemap entry newer than the URL's last visit brings
// the visit forward; with `ignore` it waits for its own due time.
TEST(Recrawl, ASitemapLastmodNewerThanTheLastVisitBringsItForward) {
  const auto trusted = lastmod_run("trust");
  ASSERT_GE(trusted.size(), 2u);
  EXPECT_EQ(trusted[0]["change"], "new");
  EXPECT_EQ(trusted[1]["visit"], 2);
  EXPECT_EQ(trusted[1]["change"], "unchanged");
  const auto ignored = lastmod_run("ignore");
  EXPECT_EQ(ignored.size(), 1u);
}
