// `trawler explain URL` (SPEC additions "Explain") on real crawls: every fate a URL can have,
// told from the state dir, from the outputs alone, and across a resume into another output.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "crawl_harness.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Every answer is also checked against proto-free-api/explanation.schema.json.
std::string schema_problems(const std::string& answer) {
  const std::string script =
      "import json,sys,jsonschema\n"
      "v=jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))\n"
      "errs=[e.message for e in v.iter_errors(json.loads(sys.argv[2]))]\n"
      "print('\\n'.join(errs[:5]))\n"
      "sys.exit(1 if errs else 0)\n";
  auto r = run_process({"python3", "-c", script,
                        std::string(TRAWLER_SOURCE_DIR) + "/proto-free-api/explanation.schema.json",
                        answer});
  return r.exit_code == 0 ? "" : r.out + r.err;
}

json explain_json(const std::vector<std::string>& args) {
  std::vector<std::string> argv{trawler_binary(), "explain"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  auto r = run_process(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(schema_problems(r.out), "") << r.out;
  return j;
}

std::string explain_text(const std::vector<std::string>& args) {
  std::vector<std::string> argv{trawler_binary(), "explain"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

response text_file(std::string body) {
  response r;
  r.body = std::move(body);
  r.content_type = "text/plain";
  return r;
}

// A site with one URL for each fate: robots.txt refuses /private/ for trawler's own group (the
// "*" group allows it), the home page links an excluded URL, another host, a rel=nofollow link,
// a chain deeper than max_depth, a 404 and a redirect.
struct fate_site {
  test_server server;
  std::string b = server.base_url();
  fate_site() {
    server.add_page("/robots.txt", text_file("# comment line\n"
                                             "User-agent: *\n"
                                             "Allow: /\n"
                                             "\n"
                                             "User-agent: othercrawler\n"
                                             "User-agent: trawler\n"
                                             "Disallow: /private/\n"));
    server.add_html("/",
                    "<html><body><a href=\"/ok\">ok</a><a href=\"/private/x\">p</a>"
                    "<a href=\"/list?sort=1\">s</a><a href=\"http://elsewhere.test/\">e</a>"
                    "<a rel=\"nofollow\" href=\"/nf\">nf</a><a href=\"/d1\">d</a>"
                    "<a href=\"/gone\">g</a><a href=\"/moved\">m</a></body></html>");
    server.add_html("/ok", page("ok", {}));
    server.add_html("/private/x", page("private", {}));
    server.add_html("/nf", page("nf", {}));
    server.add_html("/d1", page("d1", {"/d2"}));
    server.add_html("/d2", page("d2", {}));
    server.add_html("/target", page("target", {}));
    server.add_redirect("/moved", "/target");
    response gone;
    gone.status = 404;
    gone.body = "gone";
    server.add_page("/gone", gone);
  }
};

}  // namespace

TEST(Explain, NamesEachFateFromTheStateDir) {
  fate_site site;
  const std::string& b = site.b;
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto run = run_crawl({b + "/", "--state-dir", state, "--exclude", "\\?sort=", "--max-depth", "1",
                        "-o", dir.path() + "/records.jsonl"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;

  json ok = explain_json({b + "/ok", "--state-dir", state});
  EXPECT_EQ(ok["fate"], "fetched") << ok.dump();
  EXPECT_EQ(ok["record"]["status"], 200);
  EXPECT_EQ(ok["record_file"], dir.path() + "/records.jsonl");
  EXPECT_NE(ok["explanation"].get<std::string>().find("found at depth 1 on " + b + "/"),
            std::string::npos)
      << ok.dump();

  // robots.txt: the line and the group that matched, counted in the file as served.
  json priv = explain_json({b + "/private/x", "--state-dir", state});
  EXPECT_EQ(priv["fate"], "robots") << priv.dump();
  const std::string why = priv["explanation"];
  EXPECT_NE(why.find("line 7 \"Disallow: /private/\""), std::string::npos) << why;
  EXPECT_NE(why.find("group \"User-agent: trawler\" at line 6"), std::string::npos) << why;

  json excluded = explain_json({b + "/list?sort=1", "--state-dir", state});
  EXPECT_EQ(excluded["fate"], "filtered") << excluded.dump();
  EXPECT_EQ(excluded["rule"]["key"], "scope.exclude[0]");
  EXPECT_EQ(excluded["rule"]["value"], "\\?sort=");
  EXPECT_EQ(excluded["referrer"], b + "/");

  json other = explain_json({"http://elsewhere.test/", "--state-dir", state});
  EXPECT_EQ(other["fate"], "filtered") << other.dump();
  EXPECT_EQ(other["rule"]["reason"], "out_of_scope");
  EXPECT_EQ(other["rule"]["key"], "scope.mode");

  json deep = explain_json({b + "/d2", "--state-dir", state});
  EXPECT_EQ(deep["fate"], "filtered") << deep.dump();
  EXPECT_EQ(deep["rule"]["key"], "scope.max_depth");
  EXPECT_EQ(deep["rule"]["value"], 1);
  EXPECT_EQ(deep["depth"], 2);
  EXPECT_EQ(deep["referrer"], b + "/d1");

  json nf = explain_json({b + "/nf", "--state-dir", state});
  EXPECT_EQ(nf["fate"], "not_followed") << nf.dump();
  EXPECT_EQ(nf["rule"]["key"], "fetch.follow_nofollow");

  json gone = explain_json({b + "/gone", "--state-dir", state});
  EXPECT_EQ(gone["fate"], "fetched") << gone.dump();
  EXPECT_EQ(gone["record"]["status"], 404);

  json moved = explain_json({b + "/moved", "--state-dir", state});
  EXPECT_EQ(moved["fate"], "fetched") << moved.dump();
  EXPECT_NE(moved["explanation"].get<std::string>().find("redirects to " + b + "/target"),
            std::string::npos)
      << moved.dump();
  json target = explain_json({b + "/target", "--state-dir", state});
  EXPECT_EQ(target["fate"], "fetched") << target.dump();

  // Never linked: the config the state keeps says what the scope would do with it.
  json never = explain_json({b + "/nowhere", "--state-dir", state});
  EXPECT_EQ(never["fate"], "never_seen") << never.dump();
  EXPECT_EQ(never["linked_from_total"], 0);
  EXPECT_NE(never["explanation"].get<std::string>().find("would admit"), std::string::npos);
  json never_excluded = explain_json({b + "/other?sort=2", "--state-dir", state});
  EXPECT_EQ(never_excluded["fate"], "never_seen") << never_excluded.dump();
  EXPECT_EQ(never_excluded["rule"]["key"], "scope.exclude[0]");

  // The URL as a user types it: normalized first.
  json typed = explain_json({b + "/./ok#top", "--state-dir", state});
  EXPECT_EQ(typed["normalized"], b + "/ok");
  EXPECT_EQ(typed["fate"], "fetched");

  json bad = explain_json({"ftp://x/", "--state-dir", state});
  EXPECT_EQ(bad["fate"], "not_a_url");

  // The paragraph form says the same in one line.
  const std::string text = explain_text({b + "/list?sort=1", "--state-dir", state});
  EXPECT_NE(text.find("scope.exclude[0] \"\\?sort=\" matches it"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

// The same site with robots off: the URL robots.txt refused above is fetched, and the other
// rules still hold; told from the outputs alone (no state dir), in rotated gzip segments.
TEST(Explain, FromRotatedSegmentsWithoutStateAndRobotsOff) {
  fate_site site;
  const std::string& b = site.b;
  temp_dir dir;
  const std::string out = dir.path() + "/segments";
  const std::string cfg = dir.path() + "/crawl.json";
  std::ofstream(cfg)
      << json{{"seeds", {b + "/"}},
              {"scope", {{"exclude", {"\\?sort="}}, {"max_depth", 1}}},
              {"robots", {{"obey", false}}},
              {"network", {{"allow_private", true}}},
              {"output",
               {{"path", "-"}, {"dir", out}, {"compress", "gzip"}, {"rotate_bytes", 600}}}}
             .dump();
  auto r = run_process({trawler_binary(), "crawl", "-c", cfg, "-q", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::size_t segments = 0;
  for (const auto& e : fs::directory_iterator(out)) segments += e.path().extension() == ".gz";
  ASSERT_GE(segments, 2u) << "the test needs several segments";

  json priv = explain_json({b + "/private/x", out});
  EXPECT_EQ(priv["fate"], "fetched") << priv.dump();
  EXPECT_EQ(priv["sources"]["state"], false);
  EXPECT_EQ(priv["sources"]["outputs"].size(), segments);

  // Without a state the reason is judged from the config given, at the linking page's depth.
  json excluded = explain_json({b + "/list?sort=1", out, "-c", cfg});
  EXPECT_EQ(excluded["fate"], "filtered") << excluded.dump();
  EXPECT_EQ(excluded["rule"]["key"], "scope.exclude[0]");
  EXPECT_EQ(excluded["linked_from"][0]["url"], b + "/");
  json deep = explain_json({b + "/d2", out, "-c", cfg});
  EXPECT_EQ(deep["fate"], "filtered") << deep.dump();
  EXPECT_EQ(deep["rule"]["key"], "scope.max_depth");
  EXPECT_EQ(deep["linked_from"][0]["url"], b + "/d1");
  // Without the config, the outputs only tell who links it.
  json unknown = explain_json({b + "/list?sort=1", out});
  EXPECT_EQ(unknown["fate"], "never_seen") << unknown.dump();
  EXPECT_EQ(unknown["linked_from_total"], 1);
}

// Queued when max_pages ends the first run (its place in its host's queue), then fetched by a
// resume that writes to another file: the state names both outputs, and explain reads both.
TEST(Explain, QueuedThenFetchedAfterAResumeIntoAnotherOutput) {
  test_server s;
  const std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 6; ++i) links.push_back("/p" + std::to_string(i));
  s.add_html("/", page("home", links));
  for (int i = 0; i < 6; ++i) s.add_html("/p" + std::to_string(i), page("p", {}));
  temp_dir dir;
  const std::string state = dir.path() + "/state";
  auto first = run_crawl({b + "/", "--state-dir", state, "--max-pages", "2", "--concurrency", "1",
                          "-o", dir.path() + "/run1.jsonl"});
  ASSERT_EQ(first.proc.exit_code, 0) << first.proc.err;
  const auto run1 = read_jsonl(dir.path() + "/run1.jsonl");
  ASSERT_EQ(run1.size(), 2u);
  ASSERT_EQ(run1[1]["url"], b + "/p0");

  json q = explain_json({b + "/p4", "--state-dir", state});
  EXPECT_EQ(q["fate"], "queued") << q.dump();
  EXPECT_EQ(q["queue"]["of"], 5);        // p1..p5 wait
  EXPECT_EQ(q["queue"]["position"], 3);  // p1, p2, p3 before it
  EXPECT_EQ(q["referrer"], b + "/");
  EXPECT_NE(q["explanation"].get<std::string>().find("scope.max_pages (2)"), std::string::npos)
      << q.dump();

  auto second = run_crawl({b + "/", "--state-dir", state, "-o", dir.path() + "/run2.jsonl"});
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;
  json now = explain_json({b + "/p4", "--state-dir", state});
  EXPECT_EQ(now["fate"], "fetched") << now.dump();
  EXPECT_EQ(now["record_file"], dir.path() + "/run2.jsonl");
  json earlier = explain_json({b + "/p0", "--state-dir", state});
  EXPECT_EQ(earlier["fate"], "fetched") << earlier.dump();
  EXPECT_EQ(earlier["record_file"], dir.path() + "/run1.jsonl");
  EXPECT_EQ(earlier["sources"]["outputs"].size(), 2u);
}

TEST(Explain, UsageErrorsNameWhatIsMissing) {
  auto no_url = run_process({trawler_binary(), "explain"});
  EXPECT_EQ(no_url.exit_code, 2);
  EXPECT_NE(no_url.err.find("missing URL"), std::string::npos) << no_url.err;
  auto nothing = run_process({trawler_binary(), "explain", "http://a/"});
  EXPECT_EQ(nothing.exit_code, 2);
  EXPECT_NE(nothing.err.find("--state-dir"), std::string::npos) << nothing.err;
  temp_dir dir;
  auto no_state =
      run_process({trawler_binary(), "explain", "http://a/", "--state-dir", dir.path()});
  EXPECT_EQ(no_state.exit_code, 2);
  EXPECT_NE(no_state.err.find("holds no crawl state"), std::string::npos) << no_state.err;
  auto no_file = run_process({trawler_binary(), "explain", "http://a/", dir.path() + "/x.jsonl"});
  EXPECT_EQ(no_file.exit_code, 2);
  EXPECT_NE(no_file.err.find("No such file"), std::string::npos) << no_file.err;
}
