// The explain core (SPEC additions "Explain"): one answer from the evidence, for every fate, and
// the output reader that gathers records and linking pages.
#include "explain/explain.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace {

using nlohmann::json;
using trawler::explain::evidence;
using trawler::explain::evidence_for;
using trawler::explain::explain;
using trawler::explain::read_outputs;
using trawler::state::drop;
using trawler::state::drop_reason;
using trawler::state::url_info;

json record(const std::string& url, json status, json error = nullptr) {
  return {{"url", url},
          {"status", status},
          {"error", error},
          {"redirect", nullptr},
          {"depth", 1},
          {"referrer", "http://a/"},
          {"fetched_at", "2026-12-04T00:00:00Z"},
          {"elapsed_ms", 12},
          {"attempts", 1},
          {"content_type", "text/html"},
          {"size", 10},
          {"links", json::array()}};
}

evidence with_record(json r) {
  auto ev = evidence_for(r["url"].get<std::string>());
  ev.outputs_read = true;
  ev.records.push_back(std::move(r));
  ev.record_files.push_back("/out/records.jsonl");
  return ev;
}

trawler::config::crawl_config config_with(std::vector<std::string> exclude, int max_depth) {
  trawler::config::crawl_config c;
  c.seeds = {"http://a/"};
  c.scope.exclude = std::move(exclude);
  c.scope.max_depth = max_depth;
  return c;
}

TEST(Explain, RecordsDecideFirstEachKindItsFate) {
  auto a = explain(with_record(record("http://a/x", 200)));
  EXPECT_EQ(a.fate, "fetched");
  EXPECT_NE(a.text.find("200 text/html, 10 bytes in 12 ms"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("found at depth 1 on http://a/"), std::string::npos) << a.text;
  EXPECT_EQ(a.json["record_file"], "/out/records.jsonl");

  a = explain(
      with_record(record("http://a/p", nullptr,
                         {{"kind", "robots"}, {"message", "disallowed by robots.txt line 3"}})));
  EXPECT_EQ(a.fate, "robots");
  EXPECT_NE(a.text.find("line 3"), std::string::npos) << a.text;
  a = explain(
      with_record(record("http://a/p", nullptr, {{"kind", "blocked_address"}, {"message", "m"}})));
  EXPECT_EQ(a.fate, "blocked_address");
  a = explain(
      with_record(record("http://a/p", nullptr, {{"kind", "timeout"}, {"message", "slow"}})));
  EXPECT_EQ(a.fate, "failed");
  EXPECT_NE(a.text.find("timeout, slow"), std::string::npos) << a.text;
  a = explain(
      with_record(record("http://a/p", nullptr, {{"kind", "cancelled"}, {"message", "stop"}})));
  EXPECT_EQ(a.fate, "cancelled");
}

// A 404 or 500 was fetched, but it is no page: explain names the status as a broken link and
// the pages that link it, instead of the words it has for a 200.
TEST(Explain, A4xxOr5xxIsABrokenLinkNamingItsLinkingPages) {
  auto ev = with_record(record("http://a/missing", 404));
  ev.linked_from = {{"http://a/", 0, false, false}, {"http://a/b", 1, false, false}};
  ev.linked_from_total = 7;
  auto a = explain(ev);
  EXPECT_EQ(a.fate, "fetched");
  EXPECT_NE(a.text.find("was fetched: 404 Not Found \u2014 a broken link (text/html, 10 bytes"),
            std::string::npos)
      << a.text;
  EXPECT_NE(a.text.find("7 pages of the outputs link it: http://a/, http://a/b and 5 more."),
            std::string::npos)
      << a.text;
  EXPECT_EQ(a.json["broken"], true);

  a = explain(with_record(record("http://a/boom", 500)));
  EXPECT_NE(a.text.find("500 Internal Server Error \u2014 a broken link"), std::string::npos)
      << a.text;
  EXPECT_NE(a.text.find("No page of the outputs read links it."), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("found at depth 1 on http://a/"), std::string::npos) << a.text;

  a = explain(with_record(record("http://a/odd", 599)));
  EXPECT_NE(a.text.find("fetched: 599 \u2014 a broken link"), std::string::npos) << a.text;

  // A 200 keeps its words, and is no broken link.
  a = explain(with_record(record("http://a/x", 200)));
  EXPECT_EQ(a.text.find("broken"), std::string::npos) << a.text;
  EXPECT_EQ(a.json["broken"], false);
}

TEST(Explain, ACancelledRecordOfAUrlQueuedAgainIsQueued) {
  auto ev =
      with_record(record("http://a/p", nullptr, {{"kind", "cancelled"}, {"message", "stop"}}));
  ev.state_read = true;
  ev.admitted = url_info{4, 1, "http://a/", false, false};
  ev.host_position = 0;
  ev.host_pending = 3;
  const auto a = explain(ev);
  EXPECT_EQ(a.fate, "queued");
  EXPECT_NE(a.text.find("earlier run recorded it as cancelled"), std::string::npos) << a.text;
}

TEST(Explain, LiveQueueNamesItsPlaceAndTheHostsWait) {
  auto ev = evidence_for("http://a/p");
  ev.state_read = true;
  ev.admitted = url_info{4, 2, "http://a/q", false, false};
  ev.live = json{{"seen", true},
                 {"queued", {{"position", 3}, {"of", 9}, {"retry", false}, {"retry_in_ms", 0}}},
                 {"host",
                  {{"host", "http://a:80"},
                   {"open", 1},
                   {"wait_ms", 1200},
                   {"parked", false},
                   {"robots_known", true},
                   {"consecutive_failures", 0},
                   {"delay_ms", 2000}}},
                 {"paused", true},
                 {"stopping", false},
                 {"per_host", 1},
                 {"open_requests", 1},
                 {"concurrency", 8}};
  auto a = explain(ev);
  EXPECT_EQ(a.fate, "queued");
  EXPECT_NE(a.text.find("3 of the 9 URLs waiting on its host http://a:80"), std::string::npos)
      << a.text;
  EXPECT_NE(a.text.find("next request in 1.2 s"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("spacing of 2.0 s"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("1 open requests, its limits.per_host"), std::string::npos) << a.text;
  EXPECT_NE(a.text.find("paused"), std::string::npos) << a.text;
  // Backoff is named when the host failed.
  (*ev.live)["host"]["consecutive_failures"] = 3;
  a = explain(ev);
  EXPECT_NE(a.text.find("backoff after 3 consecutive failures"), std::string::npos) << a.text;
  // Not in the queue, admitted, not done: in flight.
  (*ev.live)["queued"] = nullptr;
  EXPECT_EQ(explain(ev).fate, "in_flight");
}

TEST(Explain, DropsNameTheirRuleWithTheConfigsValue) {
  auto ev = evidence_for("http://a/x?sort=1");
  ev.state_read = true;
  ev.config = config_with({"/nothing", "\\?sort="}, 3);
  ev.dropped = drop{drop_reason::excluded, 1, 2, "http://a/list"};
  auto a = explain(ev);
  EXPECT_EQ(a.fate, "filtered");
  EXPECT_EQ(a.json["rule"]["key"], "scope.exclude[1]");
  EXPECT_EQ(a.json["rule"]["value"], "\\?sort=");
  EXPECT_NE(a.text.find("first found at depth 2 on http://a/list"), std::string::npos) << a.text;
  ev.dropped = drop{drop_reason::too_deep, -1, 4, ""};
  a = explain(ev);
  EXPECT_EQ(a.json["rule"]["value"], 3);
  EXPECT_NE(a.text.find("depth 4, deeper than scope.max_depth 3"), std::string::npos) << a.text;
  ev.dropped = drop{drop_reason::nofollow, -1, 1, "http://a/"};
  EXPECT_EQ(explain(ev).fate, "not_followed");
  ev.dropped = drop{drop_reason::too_long, -1, 1, ""};
  EXPECT_NE(explain(ev).text.find("17 characters long"), std::string::npos);
}

TEST(Explain, WithoutAStateTheConfigJudgesALinkedUrl) {
  auto ev = evidence_for("http://a/deep");
  ev.outputs_read = true;
  ev.linked_from = {{"http://a/d2", 2, false, false}};
  ev.linked_from_total = 1;
  ev.config = config_with({}, 2);
  auto a = explain(ev);
  EXPECT_EQ(a.fate, "filtered");
  EXPECT_EQ(a.json["rule"]["key"], "scope.max_depth");
  EXPECT_EQ(a.json["depth"], 3);
  EXPECT_NE(a.text.find("judged now from the config"), std::string::npos) << a.text;
  // In scope at that depth: never queued, with the reasons that remain.
  ev.config = config_with({}, 10);
  a = explain(ev);
  EXPECT_EQ(a.fate, "never_seen");
  EXPECT_NE(a.text.find("nofollow"), std::string::npos) << a.text;
  // Only nofollow pages link it.
  ev.linked_from[0].nofollow = true;
  EXPECT_EQ(explain(ev).fate, "not_followed");
  // Out of the seeds' hosts.
  auto other = evidence_for("http://b/");
  other.config = config_with({}, 10);
  a = explain(other);
  EXPECT_EQ(a.fate, "never_seen");
  EXPECT_EQ(a.json["rule"]["key"], "scope.mode");
}

TEST(Explain, NormalizesWhatIsAskedAndRefusesNonHttp) {
  auto ev = evidence_for("A.example/./x#frag");
  EXPECT_EQ(ev.url, "http://a.example/x");
  EXPECT_NE(explain(ev).text.find("normalized from"), std::string::npos);
  EXPECT_EQ(explain(evidence_for("mailto:x@y")).fate, "not_a_url");
}

TEST(ExplainOutputs, FindsRecordsAndLinkingPagesInEveryFile) {
  std::string dir = (std::filesystem::temp_directory_path() / "trawler-explain-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  json linking = record("http://a/", 200);
  linking["links"] = {"http://a/x", "http://a/y"};
  linking["depth"] = 0;
  json similar = record("http://a/x2", 200);  // its URL starts like the one asked
  similar["links"] = {"http://a/x/"};
  {
    std::ofstream(dir + "/1.jsonl") << linking.dump() << "\n" << similar.dump() << "\nnot json\n";
    json cancelled = record("http://a/x", nullptr, {{"kind", "cancelled"}, {"message", "m"}});
    std::ofstream(dir + "/2.jsonl") << cancelled.dump() << "\n"
                                    << record("http://a/x", 200).dump() << "\n";
  }
  auto ev = evidence_for("http://a/x");
  std::string error;
  ASSERT_TRUE(read_outputs({dir + "/1.jsonl", dir + "/2.jsonl"}, ev, error)) << error;
  ASSERT_EQ(ev.records.size(), 2u);
  EXPECT_EQ(ev.record_files[1], dir + "/2.jsonl");
  ASSERT_EQ(ev.linked_from_total, 1u);
  EXPECT_EQ(ev.linked_from[0].url, "http://a/");
  EXPECT_EQ(ev.linked_from[0].depth, 0);
  // The latest record wins.
  EXPECT_EQ(explain(ev).fate, "fetched");
  EXPECT_FALSE(read_outputs({dir + "/missing.jsonl"}, ev, error));
  EXPECT_FALSE(error.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
