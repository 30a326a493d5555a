// The control API's routes against a fake registry: authentication, routing, bodies, the
// service path rules, state conflicts, and the contract files in proto-free-api/.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/auth.hpp"
#include "api/crawl_state.hpp"
#include "api/router.hpp"
#include "api/service_paths.hpp"
#include "crawl/crawl_stats.hpp"

namespace {

using namespace trawler::api;
using nlohmann::json;
using trawler::config::crawl_config;

// ---- a registry that records calls and follows the real state table -------------------------

class fake_registry : public crawl_registry {
 public:
  std::vector<crawl_config> created;
  std::optional<create_result> create_reply;  // forced answer
  std::vector<crawl_view> crawls;
  std::vector<std::pair<std::string, std::vector<std::string>>> seed_calls;
  std::string metrics = "# HELP fake_metric x\n# TYPE fake_metric gauge\nfake_metric 1\n";

  create_result create(crawl_config cfg) override {
    created.push_back(cfg);
    if (create_reply) return *create_reply;
    crawl_view v;
    v.id = "id" + std::to_string(created.size());
    v.state = crawl_state::running;
    v.stats = {{"pages", 0}};
    v.config = {{"seeds", cfg.seeds}};
    v.output = "/data/" + v.id + "/records.jsonl";
    v.created_at = "2026-01-01T00:00:00Z";
    crawls.push_back(v);
    return {v.id, std::nullopt, 0};
  }
  crawl_view* find(std::string_view id) {
    for (auto& c : crawls) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
  std::vector<crawl_view> list() const override { return crawls; }
  std::optional<crawl_view> get(std::string_view id) const override {
    for (const auto& c : crawls) {
      if (c.id == id) return c;
    }
    return std::nullopt;
  }
  change_result change(std::string_view id, crawl_action a) {
    crawl_view* c = find(id);
    if (!c) return {change_outcome::not_found, crawl_state::failed, ""};
    auto next = next_state(c->state, a);
    if (!next)
      return {change_outcome::conflict, c->state,
              "no can do from " + std::string(to_string(c->state))};
    c->state = *next;
    return {change_outcome::ok, c->state, ""};
  }
  change_result pause(std::string_view id) override { return change(id, crawl_action::pause); }
  change_result resume(std::string_view id) override { return change(id, crawl_action::resume); }
  change_result cancel(std::string_view id) override { return change(id, crawl_action::cancel); }
  seeds_result add_seeds(std::string_view id, const std::vector<std::string>& urls) override {
    seeds_result r;
    crawl_view* c = find(id);
    if (!c) {
      r.outcome = change_outcome::not_found;
      return r;
    }
    r.state = c->state;
    if (!next_state(c->state, crawl_action::add_seeds)) {
      r.outcome = change_outcome::conflict;
      r.message = "finished";
      return r;
    }
    seed_calls.emplace_back(std::string(id), urls);
    for (std::size_t i = 0; i < urls.size(); ++i) {
      if (urls[i].rfind("bad", 0) == 0) {
        r.rejected.push_back({"urls[" + std::to_string(i) + "]", "not an http(s) URL"});
      } else {
        ++r.accepted;
      }
    }
    return r;
  }
  remove_result remove(std::string_view id, bool delete_files) override {
    crawl_view* c = find(id);
    if (!c) return {change_outcome::not_found, "", "", false};
    if (!is_final(c->state)) return {change_outcome::conflict, "cancel it first", "", false};
    if (delete_files && remove_error) return {change_outcome::ok, "", "cannot delete", false};
    removed.emplace_back(std::string(id), delete_files);
    crawls.erase(crawls.begin() + (c - crawls.data()));
    return {change_outcome::ok, "", "", delete_files};
  }
  report_result report(std::string_view id) override {
    if (!get(id)) return {change_outcome::not_found, "", ""};
    if (broken_error) return {change_outcome::ok, "", "cannot read the crawl's records: gone"};
    return {change_outcome::ok, "<!doctype html><title>report of " + std::string(id) + "</title>",
            ""};
  }
  records_result records(std::string_view id) override {
    const crawl_view* c = find(id);
    if (!c) return {change_outcome::not_found, "", ""};
    if (records_in_segments) return {change_outcome::conflict, "", "in segments"};
    return {change_outcome::ok, c->output, ""};
  }
  bool records_in_segments = false;
  std::vector<std::pair<std::string, bool>> removed;
  bool remove_error = false;
  std::string metrics_text() const override { return metrics; }
  std::optional<nlohmann::json> history(std::string_view id,
                                        std::optional<double> last_s) const override {
    if (!get(id)) return std::nullopt;
    history_asks.push_back(last_s);
    return nlohmann::json{
        {"id", id}, {"step_s", 1}, {"capacity", 720}, {"samples", nlohmann::json::array()}};
  }
  mutable std::vector<std::optional<double>> history_asks;
  explain_result explain(std::string_view id, const std::string& url) override {
    explained.push_back(url);
    if (!get(id)) return {change_outcome::not_found, {}, ""};
    return {change_outcome::ok, {{"url", url}, {"fate", "never_seen"}}, ""};
  }
  std::vector<std::string> explained;
  broken_links_result broken_links(std::string_view id) override {
    if (!get(id)) return {change_outcome::not_found, {}, ""};
    if (broken_error) return {change_outcome::ok, {}, "cannot read the crawl's records: gone"};
    return {change_outcome::ok,
            {{"id", std::string(id)},
             {"listed", 1},
             {"not_listed_records", 0},
             {"broken_links",
              {{{"url", "http://a/missing"},
                {"status", 404},
                {"linked_from_count", 2},
                {"linked_from", {"http://a/", "http://a/b"}}}}}},
            ""};
  }
  bool broken_error = false;
};

request req(std::string method, std::string target, std::string body = "",
            header_list headers = {}) {
  return request{std::move(method), std::move(target), std::move(headers), std::move(body)};
}

request post_json(std::string target, const json& body, header_list headers = {}) {
  headers.emplace_back("Content-Type", "application/json");
  return req("POST", std::move(target), body.dump(), std::move(headers));
}

json body_of(const response& r) {
  auto j = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.body;
  return j;
}

std::optional<std::string> header_of(const response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return std::nullopt;
}

const json good_config = {{"seeds", {"http://example.com/"}}};

class Routes : public ::testing::Test {
 protected:
  fake_registry reg;
  router r{reg, router_options{}};

  std::string create_one() {
    auto res = r.handle(post_json("/v1/crawls", good_config));
    EXPECT_EQ(res.status, 201) << res.body;
    return body_of(res).value("id", "");
  }
  // 400 with the error key, checked.
  void expect_bad(const response& res, const std::string& key) {
    EXPECT_EQ(res.status, 400) << res.body;
    json b = body_of(res);
    ASSERT_TRUE(b.contains("error")) << res.body;
    EXPECT_EQ(b["error"].value("key", "<none>"), key) << res.body;
    EXPECT_FALSE(b["error"].value("message", "").empty()) << res.body;
  }
};

// ---- health, metrics, routing ---------------------------------------------------------------

TEST_F(Routes, Healthz) {
  auto res = r.handle(req("GET", "/healthz"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(body_of(res), json({{"status", "ok"}}));
}

TEST_F(Routes, MetricsAreTheRegistrysPrometheusText) {
  auto res = r.handle(req("GET", "/metrics"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, reg.metrics);
  EXPECT_EQ(res.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << res.content_type;
}

TEST_F(Routes, UnknownPathsAre404WithJsonError) {
  for (const char* p :
       {"/nope", "/v1", "/v1/crawls/", "/v1/crawls//pause", "/v1/crawls/x/y", "/ui/other.js",
        "/ui/app.js/x", "/v1/crawls/x/pause/more", "/healthz/", "//healthz", "v1/crawls", ""}) {
    auto res = r.handle(req("GET", p));
    EXPECT_EQ(res.status, 404) << p;
    EXPECT_TRUE(body_of(res).at("error").contains("message")) << p;
  }
  auto res = r.handle(req("POST", "/v1/crawls/x/explode", "{}"));
  EXPECT_EQ(res.status, 404);
}

TEST_F(Routes, WrongMethodIs405WithAllow) {
  auto res = r.handle(req("DELETE", "/v1/crawls"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header_of(res, "Allow"), "POST, GET");
  res = r.handle(req("GET", "/v1/crawls/abc/pause"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header_of(res, "Allow"), "POST");
  res = r.handle(req("POST", "/healthz"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header_of(res, "Allow"), "GET");
  res = r.handle(req("PUT", "/v1/crawls/abc"));
  EXPECT_EQ(res.status, 405);
  EXPECT_EQ(header_of(res, "Allow"), "GET, DELETE");
  // Methods are case-sensitive (RFC 9110 9.1).
  EXPECT_EQ(r.handle(req("get", "/healthz")).status, 405);
}

TEST_F(Routes, QueryStringIsIgnoredForRouting) {
  EXPECT_EQ(r.handle(req("GET", "/healthz?probe=1")).status, 200);
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls?limit=5")).status, 200);
}

TEST_F(Routes, EveryTableRouteIsServed) {
  std::string id = create_one();
  for (const auto& rt : router::routes()) {
    std::string path(rt.path);
    auto at = path.find("{id}");
    if (at != std::string::npos) path.replace(at, 4, id);
    json body = rt.id == route_id::seeds ? json{{"urls", {"http://example.com/x"}}} : good_config;
    auto res = r.handle(post_json(path, body));
    if (rt.method != "POST") res = r.handle(req(std::string(rt.method), path));
    EXPECT_NE(res.status, 404) << rt.method << " " << rt.path << ": " << res.body;
    EXPECT_NE(res.status, 405) << rt.method << " " << rt.path << ": " << res.body;
    EXPECT_LT(res.status, 500) << rt.method << " " << rt.path;
  }
}

TEST_F(Routes, RouteTableHasNoDuplicates) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& rt : router::routes()) {
    EXPECT_TRUE(seen.emplace(std::string(rt.method), std::string(rt.path)).second) << rt.path;
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST_F(Routes, DashboardFilesAreServedUnderAStrictPolicy) {
  for (const char* p : {"/", "/ui", "/ui/app.js", "/ui/app.css", "/favicon.ico", "/?x=1"}) {
    auto res = r.handle(req("GET", p));
    EXPECT_EQ(res.status, 200) << p;
    EXPECT_FALSE(res.body.empty()) << p;
    auto csp = std::find_if(res.headers.begin(), res.headers.end(),
                            [](const auto& h) { return h.first == "Content-Security-Policy"; });
    ASSERT_NE(csp, res.headers.end()) << p;
    EXPECT_NE(csp->second.find("default-src 'none'"), std::string::npos);
    EXPECT_NE(csp->second.find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(csp->second.find("unsafe"), std::string::npos);
  }
  EXPECT_EQ(r.handle(req("GET", "/")).content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.handle(req("GET", "/ui/app.js")).content_type, "text/javascript; charset=utf-8");
  // The page loads its script and style from here and has nothing inline for the policy to
  // refuse.
  const std::string page = r.handle(req("GET", "/")).body;
  EXPECT_NE(page.find("src=\"/ui/app.js\""), std::string::npos);
  EXPECT_NE(page.find("href=\"/ui/app.css\""), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("style="), std::string::npos);
  EXPECT_FALSE(std::regex_search(page, std::regex(R"(\son[a-z]+\s*=)")));  // no inline handlers
  EXPECT_EQ(r.handle(req("POST", "/")).status, 405);
}

// ---- authentication ------------------------------------------------------------------------

class Auth : public ::testing::Test {
 protected:
  fake_registry reg;
  router r{reg, router_options{"s3cret-token", json::object()}};
};

TEST_F(Auth, MissingTokenIs401WithChallenge) {
  auto res = r.handle(req("GET", "/v1/crawls"));
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(header_of(res, "WWW-Authenticate"), "Bearer realm=\"trawler\"");
  EXPECT_TRUE(body_of(res).at("error").contains("message"));
}

TEST_F(Auth, WrongTokenIs401InvalidToken) {
  for (const char* h : {"Bearer wrong", "Bearer s3cret-toke", "Bearer s3cret-token2",
                        "Bearer S3CRET-TOKEN", "Basic czNjcmV0LXRva2Vu", "Bearer", "Bearer ",
                        "s3cret-token", "Bearer s3cret token", "Bearers3cret-token", ""}) {
    auto res = r.handle(req("GET", "/v1/crawls", "", {{"Authorization", h}}));
    EXPECT_EQ(res.status, 401) << h;
    EXPECT_EQ(header_of(res, "WWW-Authenticate"),
              "Bearer realm=\"trawler\", error=\"invalid_token\"")
        << h;
  }
}

TEST_F(Auth, RightTokenIsAccepted) {
  for (const char* h : {"Bearer s3cret-token", "bearer s3cret-token", "BEARER s3cret-token",
                        "Bearer   s3cret-token", " Bearer s3cret-token "}) {
    EXPECT_EQ(r.handle(req("GET", "/v1/crawls", "", {{"Authorization", h}})).status, 200) << h;
    // Header names are case-insensitive.
    EXPECT_EQ(r.handle(req("GET", "/v1/crawls", "", {{"authorization", h}})).status, 200) << h;
  }
}

TEST_F(Auth, EveryRouteButHealthzAndTheDashboardFilesNeedsIt) {
  for (const auto& rt : router::routes()) {
    std::string path(rt.path);
    auto at = path.find("{id}");
    if (at != std::string::npos) path.replace(at, 4, "anything");
    auto res = r.handle(req(std::string(rt.method), path, "{}"));
    if (rt.id == route_id::healthz || rt.id == route_id::ui) {
      EXPECT_EQ(res.status, 200) << rt.path;
    } else {
      EXPECT_EQ(res.status, 401) << rt.method << " " << rt.path;
    }
  }
  EXPECT_TRUE(reg.created.empty());
  // Unknown routes too: without the token nothing about the API is revealed.
  EXPECT_EQ(r.handle(req("GET", "/secret-route")).status, 401);
  EXPECT_EQ(r.handle(req("DELETE", "/v1/crawls")).status, 401);
}

TEST_F(Auth, HealthzIgnoresABadToken) {
  EXPECT_EQ(r.handle(req("GET", "/healthz", "", {{"Authorization", "Bearer nope"}})).status, 200);
}

TEST(AuthNoToken, EverythingIsOpen) {
  fake_registry reg;
  router r{reg, router_options{}};
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls")).status, 200);
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls", "", {{"Authorization", "Bearer x"}})).status, 200);
}

TEST(ConstantTimeEquals, Results) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abd", "abc"));
  EXPECT_FALSE(constant_time_equals("xbc", "abc"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));    // prefix
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));  // extension
  EXPECT_FALSE(constant_time_equals("", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", ""));
  EXPECT_FALSE(constant_time_equals(std::string_view("ab\0", 3), "ab"));
  EXPECT_TRUE(constant_time_equals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(constant_time_equals("\xff", "\x7f"));  // high bit matters
  std::string big(4096, 'x');
  std::string other = big;
  other.back() = 'y';
  EXPECT_TRUE(constant_time_equals(big, big));
  EXPECT_FALSE(constant_time_equals(other, big));
}

TEST(BearerCredentials, Parsing) {
  EXPECT_EQ(bearer_credentials("Bearer abc"), "abc");
  EXPECT_EQ(bearer_credentials("bEaReR abc"), "abc");
  EXPECT_EQ(bearer_credentials("Bearer \t abc \t"), "abc");
  EXPECT_EQ(bearer_credentials("Bearer a.b-c_d~e+f/g=="), "a.b-c_d~e+f/g==");
  EXPECT_FALSE(bearer_credentials("Bearer"));
  EXPECT_FALSE(bearer_credentials("Bearer    "));
  EXPECT_FALSE(bearer_credentials("Bearerabc"));
  EXPECT_FALSE(bearer_credentials("Bearer\tabc"));  // the separator is SP (RFC 6750 2.1)
  EXPECT_FALSE(bearer_credentials("Basic abc"));
  EXPECT_FALSE(bearer_credentials("Bearer a b"));
  EXPECT_FALSE(bearer_credentials(""));
  EXPECT_EQ(check_bearer(std::nullopt, ""), auth_verdict::allowed);
  EXPECT_EQ(check_bearer(std::nullopt, "t"), auth_verdict::missing);
  EXPECT_EQ(check_bearer(std::string_view("Bearer u"), "t"), auth_verdict::invalid);
  EXPECT_EQ(check_bearer(std::string_view("Bearer t"), "t"), auth_verdict::allowed);
}

TEST(RequestHeader, CaseInsensitiveFirstMatch) {
  request q = req("GET", "/", "", {{"X-One", "1"}, {"content-TYPE", "a"}, {"Content-Type", "b"}});
  EXPECT_EQ(q.header("content-type"), "a");
  EXPECT_EQ(q.header("X-ONE"), "1");
  EXPECT_FALSE(q.header("x-on"));
  EXPECT_FALSE(q.header("x-one2"));
}

// ---- creating crawls -------------------------------------------------------------------------

TEST_F(Routes, CreateReturns201WithIdStateAndLocation) {
  json cfg = {{"seeds", {"http://example.com/"}},
              {"limits", {{"concurrency", 5}}},
              {"network", {{"allow_private", true}}}};
  auto res = r.handle(post_json("/v1/crawls", cfg));
  ASSERT_EQ(res.status, 201) << res.body;
  json b = body_of(res);
  EXPECT_EQ(b["state"], "running");
  EXPECT_EQ(b["id"], "id1");
  EXPECT_EQ(header_of(res, "Location"), "/v1/crawls/id1");
  ASSERT_EQ(reg.created.size(), 1u);
  EXPECT_EQ(reg.created[0].seeds, std::vector<std::string>{"http://example.com/"});
  EXPECT_EQ(reg.created[0].limits.concurrency, 5);
  EXPECT_TRUE(reg.created[0].network.allow_private);
  EXPECT_EQ(reg.created[0].output.path, "-");  // resolved by the registry, in the crawl folder
}

TEST_F(Routes, CreateAcceptsJsonMediaTypesAndNoContentType) {
  for (const char* ct : {"application/json", "application/json; charset=utf-8", "Application/JSON",
                         "application/vnd.trawler+json", " application/json "}) {
    auto res = r.handle(req("POST", "/v1/crawls", good_config.dump(), {{"Content-Type", ct}}));
    EXPECT_EQ(res.status, 201) << ct << res.body;
  }
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls", good_config.dump())).status, 201);
}

TEST_F(Routes, CreateRefusesOtherMediaTypesWith415) {
  for (const char* ct :
       {"text/plain", "application/x-www-form-urlencoded", "yaml", "+yaml", "application/xml"}) {
    auto res = r.handle(req("POST", "/v1/crawls", good_config.dump(), {{"Content-Type", ct}}));
    EXPECT_EQ(res.status, 415) << ct;
    EXPECT_TRUE(body_of(res).at("error").contains("message"));
  }
  EXPECT_TRUE(reg.created.empty());
}

// A config as YAML, read as `trawler crawl -c file.yaml` reads it: comments, anchors, the
// 1.2 core schema (plain 4 is a number, "4" a string), JSON as YAML's flow style.
TEST_F(Routes, CreateAcceptsYamlConfigs) {
  const std::string yaml =
      "# a crawl of one site\n"
      "seeds:\n"
      "  - http://example.com/\n"
      "limits: &lim\n"
      "  concurrency: 5   # five at once\n"
      "  per_host: 2\n"
      "network:\n"
      "  allow_private: true\n";
  for (const char* ct : {"application/yaml", "application/yaml; charset=utf-8", "text/yaml",
                         "Application/X-YAML", "text/x-yaml", "application/vnd.trawler+yaml"}) {
    auto res = r.handle(req("POST", "/v1/crawls", yaml, {{"Content-Type", ct}}));
    ASSERT_EQ(res.status, 201) << ct << res.body;
    const crawl_config& c = reg.created.back();
    EXPECT_EQ(c.seeds, std::vector<std::string>{"http://example.com/"}) << ct;
    EXPECT_EQ(c.limits.concurrency, 5) << ct;
    EXPECT_EQ(c.limits.per_host, 2) << ct;
    EXPECT_TRUE(c.network.allow_private) << ct;
  }
  // JSON is YAML too.
  auto res =
      r.handle(req("POST", "/v1/crawls", good_config.dump(), {{"Content-Type", "text/yaml"}}));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(reg.created.back().seeds, std::vector<std::string>{"http://example.com/"});
  // A posted api section has no effect, as with JSON.
  res = r.handle(req("POST", "/v1/crawls",
                     "seeds: [http://example.com/]\napi: {token: 'has spaces'}\n",
                     {{"Content-Type", "application/yaml"}}));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(reg.created.back().api, crawl_config{}.api);
  EXPECT_EQ(reg.created.size(), 8u);
}

TEST(RoutesDefaults, YamlConfigsMergeOntoTheServiceDefaults) {
  fake_registry reg;
  router r{reg, router_options{"", {{"limits", {{"concurrency", 7}, {"per_host", 3}}}}}};
  auto res =
      r.handle(req("POST", "/v1/crawls", "seeds: [http://example.com/]\nlimits:\n  per_host: 1\n",
                   {{"Content-Type", "application/yaml"}}));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(reg.created[0].limits.concurrency, 7);
  EXPECT_EQ(reg.created[0].limits.per_host, 1);
}

// Every problem of a YAML config comes back with its key path: the misspelt key, a bad value,
// a duplicate key (an error in a config file too), and a missing seed, all in one answer.
TEST_F(Routes, CreateListsEveryYamlConfigErrorWithItsKey) {
  const std::string yaml =
      "limits:\n"
      "  concurency: 4\n"
      "  per_host: -1\n"
      "scope:\n"
      "  max_depth: 2\n"
      "  max_depth: 3\n";
  auto res = r.handle(req("POST", "/v1/crawls", yaml, {{"Content-Type", "application/yaml"}}));
  ASSERT_EQ(res.status, 400) << res.body;
  const json b = body_of(res);
  std::vector<std::string> keys;
  for (const auto& e : b.at("errors")) {
    keys.push_back(e.at("key"));
    EXPECT_FALSE(e.value("message", "").empty()) << e.dump();
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"scope.max_depth", "limits.concurency",
                                            "limits.per_host", "seeds"}))
      << res.body;
  EXPECT_EQ(b["errors"][1]["message"], "unknown key; did you mean \"limits.concurrency\"?");
  EXPECT_EQ(b["errors"][3]["message"], "at least one seed URL is required");
  EXPECT_EQ(b["error"], b["errors"][0]);
  EXPECT_TRUE(reg.created.empty());
}

TEST_F(Routes, CreateRefusesYamlThatIsNotAMapping) {
  for (const char* body : {"", "  \n", "- a\n- b\n", "just text", "seeds: [http://example.com/\n",
                           "a: 1\n---\nb: 2\n", "{\"seeds\": [}"}) {
    auto res = r.handle(req("POST", "/v1/crawls", body, {{"Content-Type", "application/yaml"}}));
    expect_bad(res, "config");
  }
  // Invalid UTF-8 is named where it is.
  expect_bad(r.handle(req("POST", "/v1/crawls", "seeds: [\"\xff\"]\n",
                          {{"Content-Type", "application/yaml"}})),
             "seeds[0]");
  // Only comments: an empty config, as an empty file is; it has no seed.
  expect_bad(r.handle(req("POST", "/v1/crawls", "# nothing yet\n",
                          {{"Content-Type", "application/yaml"}})),
             "seeds");
  // A syntax error says where.
  auto res = r.handle(req("POST", "/v1/crawls", "seeds: [http://example.com/\nlimits: {}\n",
                          {{"Content-Type", "application/yaml"}}));
  EXPECT_NE(body_of(res)["error"]["message"].get<std::string>().find("line "), std::string::npos)
      << res.body;
  EXPECT_TRUE(reg.created.empty());
}

// With JSON too, a missing seed is listed beside the config's errors.
TEST_F(Routes, CreateListsAMissingSeedBesideTheConfigErrors) {
  auto res = r.handle(post_json("/v1/crawls", {{"limits", {{"concurrency", 0}}}}));
  ASSERT_EQ(res.status, 400) << res.body;
  const json b = body_of(res);
  ASSERT_EQ(b["errors"].size(), 2u) << res.body;
  EXPECT_EQ(b["errors"][0]["key"], "limits.concurrency");
  EXPECT_EQ(b["errors"][1]["key"], "seeds");
}

TEST_F(Routes, CreateRefusesBodiesThatAreNotAJsonObject) {
  for (const char* body : {"", "   \n", "{", "{\"seeds\": [}", "[1,2]", "\"text\"", "42", "null",
                           "{} {}", "\xff\xfe"}) {
    auto res = r.handle(req("POST", "/v1/crawls", body, {{"Content-Type", "application/json"}}));
    expect_bad(res, "config");
  }
  EXPECT_TRUE(reg.created.empty());
}

TEST_F(Routes, CreateNamesTheBadConfigKey) {
  auto res = r.handle(post_json(
      "/v1/crawls", {{"seeds", {"http://example.com/"}}, {"limits", {{"concurrency", "fast"}}}}));
  expect_bad(res, "limits.concurrency");
  EXPECT_NE(body_of(res)["error"]["message"].get<std::string>().find("fast"), std::string::npos);

  res = r.handle(post_json("/v1/crawls", {{"seeds", {"http://example.com/"}}, {"bogus", 1}}));
  expect_bad(res, "bogus");
  res = r.handle(post_json(
      "/v1/crawls", {{"seeds", {"http://example.com/"}}, {"scope", {{"include", {"(unclosed"}}}}}));
  expect_bad(res, "scope.include[0]");

  // Every problem is listed; "error" is the first.
  res = r.handle(post_json("/v1/crawls", {{"seeds", {"http://example.com/"}},
                                          {"limits", {{"concurrency", 0}, {"per_host", -1}}}}));
  json b = body_of(res);
  ASSERT_EQ(res.status, 400);
  ASSERT_EQ(b["errors"].size(), 2u) << res.body;
  EXPECT_EQ(b["errors"][0]["key"], b["error"]["key"]);
  EXPECT_TRUE(reg.created.empty());
}

TEST_F(Routes, CreateNeedsASeed) {
  expect_bad(r.handle(post_json("/v1/crawls", json::object())), "seeds");
  expect_bad(r.handle(post_json("/v1/crawls", {{"seeds", json::array()}})), "seeds");
  EXPECT_TRUE(reg.created.empty());
}

TEST_F(Routes, CreatePassesRegistryErrorsThrough) {
  reg.create_reply =
      create_result{"", api_error{"seeds[1]", "seed \"x\": not an http(s) URL"}, 400};
  expect_bad(r.handle(post_json("/v1/crawls", good_config)), "seeds[1]");
  reg.create_reply = create_result{"", api_error{"output.path", "cannot open"}, 500};
  auto res = r.handle(post_json("/v1/crawls", good_config));
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(body_of(res)["error"]["key"], "output.path");
}

TEST(RoutesDefaults, ServiceConfigSetsDefaultsAndPostedKeysWin) {
  fake_registry reg;
  json defaults = {{"limits", {{"concurrency", 7}, {"per_host", 3}}},
                   {"robots", {{"obey", false}}}};
  router r{reg, router_options{"", defaults}};
  json posted = {{"seeds", {"http://example.com/"}}, {"limits", {{"per_host", 1}}}};
  auto res = r.handle(post_json("/v1/crawls", posted));
  ASSERT_EQ(res.status, 201) << res.body;
  ASSERT_EQ(reg.created.size(), 1u);
  EXPECT_EQ(reg.created[0].limits.concurrency, 7);  // from the service config
  EXPECT_EQ(reg.created[0].limits.per_host, 1);     // posted
  EXPECT_FALSE(reg.created[0].robots.obey);
  // A posted null removes the default (RFC 7386), back to the built-in value.
  res =
      r.handle(post_json("/v1/crawls", {{"seeds", {"http://example.com/"}}, {"limits", nullptr}}));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(reg.created[1].limits.concurrency, crawl_config{}.limits.concurrency);
}

TEST_F(Routes, PostedApiSectionHasNoEffect) {
  json posted = {{"seeds", {"http://example.com/"}},
                 {"api", {{"token", "mine"}, {"listen", "0.0.0.0:1"}, {"data_dir", "/etc"}}}};
  auto res = r.handle(post_json("/v1/crawls", posted));
  ASSERT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(reg.created[0].api, crawl_config{}.api);
  // Even an invalid one is not the crawl's business.
  posted["api"] = {{"token", "has spaces"}};
  EXPECT_EQ(r.handle(post_json("/v1/crawls", posted)).status, 201);
}

// ---- service paths -------------------------------------------------------------------------

TEST_F(Routes, OutputAndStatePathsMustStayInTheCrawlFolder) {
  struct bad_case {
    const char* key;
    json value;
  };
  for (const auto& [key, value] : std::vector<bad_case>{
           {"output.path", "/tmp/x.jsonl"},
           {"output.path", "../x.jsonl"},
           {"output.path", "a/../../x.jsonl"},
           {"output.path", "a/b/../../../x"},
           {"output.path", "."},
           {"output.path", "sub/"},
           {"output.path", "crawl.json"},
           {"output.path", "./crawl.json"},
           {"output.path", "state/records.jsonl"},
           {"state.dir", "/var/lib/x"},
           {"state.dir", ".."},
           {"state.dir", "x/../.."},
           {"state.dir", "."},
           {"state.dir", "crawl.json"},
       }) {
    std::string k = key;
    json cfg = good_config;
    if (k == "output.path") {
      cfg["output"] = {{"path", value}};
    } else {
      cfg["state"] = {{"dir", value}};
    }
    auto res = r.handle(post_json("/v1/crawls", cfg));
    EXPECT_EQ(res.status, 400) << k << "=" << value << " " << res.body;
    EXPECT_EQ(body_of(res)["error"].value("key", ""), k) << value;
  }
  EXPECT_TRUE(reg.created.empty());
}

TEST_F(Routes, RelativePathsInsideTheFolderAreAccepted) {
  for (json out : {json("-"), json("out.jsonl"), json("a/b/out.jsonl"), json("a/../b.jsonl"),
                   json("./x.jsonl"), json("..x.jsonl"), json("state2/x.jsonl")}) {
    json cfg = good_config;
    cfg["output"] = {{"path", out}};
    EXPECT_EQ(r.handle(post_json("/v1/crawls", cfg)).status, 201) << out;
  }
  json cfg = good_config;
  cfg["state"] = {{"dir", "my-state"}};
  EXPECT_EQ(r.handle(post_json("/v1/crawls", cfg)).status, 201);
}

TEST(ServicePaths, RelativePathProblem) {
  EXPECT_FALSE(relative_path_problem("a.jsonl"));
  EXPECT_FALSE(relative_path_problem("a/../b"));
  EXPECT_FALSE(relative_path_problem("..a"));
  EXPECT_FALSE(relative_path_problem("a/.."));
  EXPECT_TRUE(relative_path_problem("/a"));
  EXPECT_TRUE(relative_path_problem(".."));
  EXPECT_TRUE(relative_path_problem("../"));
  EXPECT_TRUE(relative_path_problem("./../a"));
  EXPECT_TRUE(relative_path_problem("a/../../b"));
  EXPECT_TRUE(relative_path_problem(std::string_view("a\0b", 3)));
  EXPECT_NE(relative_path_problem("/a")->find("absolute"), std::string::npos);
  EXPECT_NE(relative_path_problem("../a")->find("leaves"), std::string::npos);
}

TEST(ServicePaths, PlaceInCrawlDir) {
  crawl_config c;
  c.output.path = "-";
  place_in_crawl_dir(c, "/data/abc");
  EXPECT_EQ(c.output.path, "/data/abc/records.jsonl");
  EXPECT_EQ(c.state.dir, "/data/abc/state");

  crawl_config d;
  d.output.path = "x/../out/r.jsonl";
  d.state.dir = "./st";
  ASSERT_FALSE(check_service_paths(d));
  place_in_crawl_dir(d, "/data/abc");
  EXPECT_EQ(d.output.path, "/data/abc/out/r.jsonl");
  EXPECT_EQ(d.state.dir, "/data/abc/st");

  crawl_config e;
  e.output.path = "";
  ASSERT_FALSE(check_service_paths(e));
  place_in_crawl_dir(e, "/d/i");
  EXPECT_EQ(e.output.path, "/d/i/records.jsonl");
}

TEST(ServicePaths, SegmentAndWarcFoldersStayInsideTheCrawlsFolder) {
  crawl_config c;
  c.output.dir = "segs/./jsonl";
  c.output.warc = "archive";
  ASSERT_FALSE(check_service_paths(c));
  place_in_crawl_dir(c, "/data/abc");
  EXPECT_EQ(c.output.dir, "/data/abc/segs/jsonl");
  EXPECT_EQ(c.output.path, "-") << "records go to the segments, not to records.jsonl";
  EXPECT_EQ(c.output.warc, "/data/abc/archive");
  EXPECT_EQ(c.state.dir, "/data/abc/state");

  for (const char* key : {"output.dir", "output.warc"}) {
    for (const char* bad :
         {"/abs", "../up", "a/../../up", ".", "state", "state/inner", "crawl.json"}) {
      crawl_config d;
      (std::string(key) == "output.dir" ? d.output.dir : d.output.warc) = bad;
      auto err = check_service_paths(d);
      ASSERT_TRUE(err) << key << " " << bad;
      EXPECT_EQ(err->key, key) << bad;
    }
  }
}

// ---- listing, reading, state changes, seeds ---------------------------------------------------

TEST_F(Routes, ListShowsEveryCrawlInOrderWithoutConfig) {
  EXPECT_EQ(body_of(r.handle(req("GET", "/v1/crawls"))), json({{"crawls", json::array()}}));
  create_one();
  create_one();
  reg.crawls[1].state = crawl_state::completed;
  reg.crawls[1].finished_at = "2026-01-01T00:01:00Z";
  auto res = r.handle(req("GET", "/v1/crawls"));
  ASSERT_EQ(res.status, 200);
  json b = body_of(res);
  ASSERT_EQ(b["crawls"].size(), 2u);
  EXPECT_EQ(b["crawls"][0]["id"], "id1");
  EXPECT_EQ(b["crawls"][0]["state"], "running");
  EXPECT_EQ(b["crawls"][1]["state"], "completed");
  EXPECT_EQ(b["crawls"][1]["finished_at"], "2026-01-01T00:01:00Z");
  EXPECT_FALSE(b["crawls"][0].contains("finished_at"));
  for (const auto& c : b["crawls"]) {
    for (const char* k : {"id", "state", "stats", "output", "created_at"})
      EXPECT_TRUE(c.contains(k)) << k;
    EXPECT_FALSE(c.contains("config"));
  }
  // The first seeds name each crawl; the count says how many more.
  EXPECT_EQ(b["crawls"][0]["seeds"], json::array({"http://example.com/"}));
  EXPECT_EQ(b["crawls"][0]["seed_count"], 1);
  reg.crawls[1].config["seeds"] = {"http://a/", "http://b/", "http://c/", "http://d/"};
  b = body_of(r.handle(req("GET", "/v1/crawls")));
  EXPECT_EQ(b["crawls"][1]["seeds"], json::array({"http://a/", "http://b/", "http://c/"}));
  EXPECT_EQ(b["crawls"][1]["seed_count"], 4);
  // A cluster worker that joined without seeds.
  reg.crawls[1].config["seeds"] = json::array();
  b = body_of(r.handle(req("GET", "/v1/crawls")));
  EXPECT_EQ(b["crawls"][1]["seeds"], json::array());
  EXPECT_EQ(b["crawls"][1]["seed_count"], 0);
}

TEST_F(Routes, GetOneCrawl) {
  std::string id = create_one();
  reg.crawls[0].error = "boom";
  reg.crawls[0].state = crawl_state::failed;
  auto res = r.handle(req("GET", "/v1/crawls/" + id));
  ASSERT_EQ(res.status, 200);
  json b = body_of(res);
  EXPECT_EQ(b["id"], id);
  EXPECT_EQ(b["state"], "failed");
  EXPECT_EQ(b["error"], "boom");
  EXPECT_EQ(b["output"], "/data/" + id + "/records.jsonl");
  EXPECT_EQ(b["config"]["seeds"], json({"http://example.com/"}));
  EXPECT_EQ(b["stats"]["pages"], 0);

  res = r.handle(req("GET", "/v1/crawls/nope"));
  EXPECT_EQ(res.status, 404);
  EXPECT_NE(body_of(res)["error"]["message"].get<std::string>().find("nope"), std::string::npos);
}

// An ended crawl says why, in the list and alone; a running one has no reason yet.
TEST_F(Routes, EndedCrawlSaysWhyInTheListAndAlone) {
  create_one();
  const std::string id = create_one();
  reg.crawls[1].state = crawl_state::completed;
  reg.crawls[1].end_reason = "max_pages";
  reg.crawls[1].end_message =
      "Stopped at scope.max_pages (5 pages with a response): 12 URLs stay "
      "queued, not fetched.";
  reg.crawls[1].hosts = json::array({{{"host", "http://a:80"}, {"queued", 12}}});
  json b = body_of(r.handle(req("GET", "/v1/crawls")));
  EXPECT_FALSE(b["crawls"][0].contains("end_reason"));
  EXPECT_FALSE(b["crawls"][0].contains("end_message"));
  EXPECT_EQ(b["crawls"][1]["end_reason"], "max_pages");
  EXPECT_EQ(b["crawls"][1]["end_message"], reg.crawls[1].end_message);
  EXPECT_FALSE(b["crawls"][1].contains("hosts")) << "the list stays small";
  b = body_of(r.handle(req("GET", "/v1/crawls/" + id)));
  EXPECT_EQ(b["end_reason"], "max_pages");
  EXPECT_EQ(b["hosts"][0]["queued"], 12) << "the host table taken at the end";
}

TEST_F(Routes, HistoryOfACrawl) {
  const std::string id = create_one();
  auto res = r.handle(req("GET", "/v1/crawls/" + id + "/history"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body_of(res)["id"], id);
  EXPECT_EQ(body_of(res)["samples"], json::array());
  res = r.handle(req("GET", "/v1/crawls/" + id + "/history?last_s=60"));
  EXPECT_EQ(res.status, 200) << res.body;
  ASSERT_EQ(reg.history_asks.size(), 2u);
  EXPECT_EQ(reg.history_asks[0], std::nullopt);
  EXPECT_EQ(reg.history_asks[1], 60.0);
  for (const char* bad : {"", "0", "-5", "abc", "12s", "nan"})
    expect_bad(r.handle(req("GET", "/v1/crawls/" + id + "/history?last_s=" + bad)), "last_s");
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/nope/history")).status, 404);
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/history")).status, 405);
}

TEST_F(Routes, PauseResumeCancel) {
  std::string id = create_one();
  auto res = r.handle(req("POST", "/v1/crawls/" + id + "/pause"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body_of(res), json({{"id", id}, {"state", "paused"}}));
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/pause")).status, 200);  // idempotent
  res = r.handle(req("POST", "/v1/crawls/" + id + "/resume"));
  EXPECT_EQ(body_of(res)["state"], "running");
  res = r.handle(req("POST", "/v1/crawls/" + id + "/cancel"));
  EXPECT_EQ(body_of(res)["state"], "cancelled");
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/cancel")).status, 200);  // idempotent

  res = r.handle(req("POST", "/v1/crawls/" + id + "/resume"));
  EXPECT_EQ(res.status, 409);
  EXPECT_FALSE(body_of(res)["error"]["message"].get<std::string>().empty());
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/pause")).status, 409);
  for (const char* verb : {"pause", "resume", "cancel"}) {
    EXPECT_EQ(r.handle(req("POST", std::string("/v1/crawls/zzz/") + verb)).status, 404) << verb;
  }
}

TEST_F(Routes, CompletedCrawlRefusesEveryChangeWith409) {
  std::string id = create_one();
  reg.crawls[0].state = crawl_state::completed;
  for (const char* verb : {"pause", "resume", "cancel"}) {
    EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/" + verb)).status, 409) << verb;
  }
  auto res = r.handle(post_json("/v1/crawls/" + id + "/seeds", {{"urls", {"http://e.com/"}}}));
  EXPECT_EQ(res.status, 409);
  EXPECT_TRUE(reg.seed_calls.empty());
}

TEST_F(Routes, DeleteTakesAFinishedCrawlOffTheList) {
  const std::string a = create_one();
  const std::string b = create_one();
  // Running: cancel first.
  auto res = r.handle(req("DELETE", "/v1/crawls/" + a));
  EXPECT_EQ(res.status, 409) << res.body;
  EXPECT_TRUE(reg.removed.empty());
  reg.crawls[0].state = crawl_state::completed;
  reg.crawls[1].state = crawl_state::cancelled;
  // Files stay unless ?files=true.
  res = r.handle(req("DELETE", "/v1/crawls/" + a));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body_of(res), json({{"id", a}, {"files_deleted", false}}));
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/" + a)).status, 404);
  EXPECT_EQ(r.handle(req("DELETE", "/v1/crawls/" + a)).status, 404);
  expect_bad(r.handle(req("DELETE", "/v1/crawls/" + b + "?files=yes")), "files");
  reg.remove_error = true;
  EXPECT_EQ(r.handle(req("DELETE", "/v1/crawls/" + b + "?files=true")).status, 500);
  reg.remove_error = false;
  res = r.handle(req("DELETE", "/v1/crawls/" + b + "?files=true"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body_of(res), json({{"id", b}, {"files_deleted", true}}));
  EXPECT_EQ(reg.removed, (std::vector<std::pair<std::string, bool>>{{a, false}, {b, true}}));
  EXPECT_EQ(body_of(r.handle(req("GET", "/v1/crawls")))["crawls"], json::array());
}

TEST_F(Routes, AddSeeds) {
  std::string id = create_one();
  auto res = r.handle(post_json("/v1/crawls/" + id + "/seeds",
                                {{"urls", {"http://example.com/a", "http://example.com/b"}}}));
  ASSERT_EQ(res.status, 200) << res.body;
  json b = body_of(res);
  EXPECT_EQ(b["accepted"], 2);
  EXPECT_EQ(b["rejected"], json::array());
  EXPECT_EQ(b["state"], "running");
  ASSERT_EQ(reg.seed_calls.size(), 1u);
  EXPECT_EQ(reg.seed_calls[0].second,
            (std::vector<std::string>{"http://example.com/a", "http://example.com/b"}));

  // Some rejected: 200 with the list; all rejected: 400 naming the first.
  res = r.handle(post_json("/v1/crawls/" + id + "/seeds", {{"urls", {"http://ok/", "bad:x"}}}));
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(body_of(res)["accepted"], 1);
  EXPECT_EQ(body_of(res)["rejected"][0]["key"], "urls[1]");
  res = r.handle(post_json("/v1/crawls/" + id + "/seeds", {{"urls", {"bad1", "bad2"}}}));
  expect_bad(res, "urls[0]");
  EXPECT_EQ(body_of(res)["rejected"].size(), 2u);

  // A paused crawl takes seeds too.
  r.handle(req("POST", "/v1/crawls/" + id + "/pause"));
  EXPECT_EQ(r.handle(post_json("/v1/crawls/" + id + "/seeds", {{"urls", {"http://x/"}}})).status,
            200);
  EXPECT_EQ(r.handle(post_json("/v1/crawls/nope/seeds", {{"urls", {"http://x/"}}})).status, 404);
}

TEST_F(Routes, AddSeedsChecksTheBody) {
  std::string id = create_one();
  std::string path = "/v1/crawls/" + id + "/seeds";
  expect_bad(r.handle(post_json(path, json::object())), "urls");
  expect_bad(r.handle(post_json(path, {{"urls", "http://x/"}})), "urls");
  expect_bad(r.handle(post_json(path, {{"urls", json::array()}})), "urls");
  expect_bad(r.handle(post_json(path, {{"urls", {"http://x/", 5}}})), "urls[1]");
  expect_bad(r.handle(post_json(path, {{"urls", {""}}})), "urls[0]");
  expect_bad(r.handle(post_json(path, {{"urls", {"http://x/"}}, {"depth", 1}})), "depth");
  expect_bad(r.handle(req("POST", path, "not json", {{"Content-Type", "application/json"}})),
             "urls");
  expect_bad(r.handle(req("POST", path, "[]", {{"Content-Type", "application/json"}})), "urls");
  EXPECT_EQ(
      r.handle(req("POST", path, "{\"urls\":[\"http://x/\"]}", {{"Content-Type", "text/csv"}}))
          .status,
      415);
  EXPECT_TRUE(reg.seed_calls.empty());
}

// ---- the crawl state table -------------------------------------------------------------------

TEST(CrawlState, NamesRoundTrip) {
  for (auto s : {crawl_state::running, crawl_state::paused, crawl_state::completed,
                 crawl_state::cancelled, crawl_state::failed, crawl_state::interrupted}) {
    EXPECT_EQ(crawl_state_from_string(to_string(s)), s);
  }
  EXPECT_FALSE(crawl_state_from_string("Running"));
  EXPECT_FALSE(crawl_state_from_string(""));
}

TEST(CrawlState, Transitions) {
  using S = crawl_state;
  using A = crawl_action;
  EXPECT_EQ(next_state(S::running, A::pause), S::paused);
  EXPECT_EQ(next_state(S::paused, A::pause), S::paused);
  EXPECT_EQ(next_state(S::paused, A::resume), S::running);
  EXPECT_EQ(next_state(S::running, A::resume), S::running);
  EXPECT_EQ(next_state(S::running, A::cancel), S::cancelled);
  EXPECT_EQ(next_state(S::paused, A::cancel), S::cancelled);
  EXPECT_EQ(next_state(S::cancelled, A::cancel), S::cancelled);
  EXPECT_EQ(next_state(S::interrupted, A::cancel), S::cancelled);
  EXPECT_EQ(next_state(S::running, A::add_seeds), S::running);
  EXPECT_EQ(next_state(S::paused, A::add_seeds), S::paused);
  for (auto s : {S::completed, S::failed}) {
    for (auto a : {A::pause, A::resume, A::cancel, A::add_seeds}) EXPECT_FALSE(next_state(s, a));
  }
  for (auto a : {A::pause, A::resume, A::add_seeds}) {
    EXPECT_FALSE(next_state(S::cancelled, a));
    EXPECT_FALSE(next_state(S::interrupted, a));
  }
  EXPECT_TRUE(is_final(S::completed));
  EXPECT_TRUE(is_final(S::cancelled));
  EXPECT_TRUE(is_final(S::failed));
  EXPECT_FALSE(is_final(S::running));
  EXPECT_FALSE(is_final(S::paused));
  EXPECT_FALSE(is_final(S::interrupted));
}

// ---- the contract files ----------------------------------------------------------------------

const std::string api_dir = std::string(TRAWLER_SOURCE_DIR) + "/proto-free-api/";

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

TEST(Contract, OpenApiPathsAndMethodsEqualTheRouteTable) {
  YAML::Node doc = YAML::LoadFile(api_dir + "openapi.yaml");
  // 3.1: its schema dialect is JSON Schema 2020-12, that of config.schema.json.
  EXPECT_EQ(doc["openapi"].as<std::string>(), "3.1.0");
  std::set<std::pair<std::string, std::string>> documented;
  const std::set<std::string> methods = {"get",     "put",  "post",  "delete",
                                         "options", "head", "patch", "trace"};
  for (const auto& p : doc["paths"]) {
    for (const auto& op : p.second) {
      std::string m = op.first.as<std::string>();
      if (!methods.count(m)) continue;  // parameters, summary...
      for (char& c : m) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.emplace(m, p.first.as<std::string>());
    }
  }
  std::set<std::pair<std::string, std::string>> served;
  for (const auto& rt : router::routes())
    served.emplace(std::string(rt.method), std::string(rt.path));
  EXPECT_EQ(documented, served);
}

TEST(Contract, OpenApiSecurityIsBearerExceptHealthz) {
  YAML::Node doc = YAML::LoadFile(api_dir + "openapi.yaml");
  YAML::Node schemes = doc["components"]["securitySchemes"];
  ASSERT_TRUE(schemes.IsMap());
  std::string name;
  for (const auto& s : schemes) {
    if (s.second["type"].as<std::string>() == "http" &&
        s.second["scheme"].as<std::string>() == "bearer") {
      name = s.first.as<std::string>();
    }
  }
  ASSERT_FALSE(name.empty());
  ASSERT_TRUE(doc["security"].IsSequence());
  EXPECT_TRUE(doc["security"][0][name].IsDefined());
  // security: [] turns authentication off for the health check and the dashboard's files.
  const std::set<std::string> open_paths{"/healthz",   "/",           "/ui",
                                         "/ui/app.js", "/ui/app.css", "/favicon.ico"};
  for (const auto& path : open_paths) {
    YAML::Node open = doc["paths"][path]["get"]["security"];
    ASSERT_TRUE(open.IsSequence()) << path;
    EXPECT_EQ(open.size(), 0u) << path;
  }
  // Every other operation inherits the global requirement (or restates it).
  for (const auto& p : doc["paths"]) {
    if (open_paths.count(p.first.as<std::string>())) continue;
    for (const auto& op : p.second) {
      if (!op.second.IsMap() || !op.second["responses"]) continue;
      YAML::Node sec = op.second["security"];
      if (sec) {
        EXPECT_GT(sec.size(), 0u) << p.first.as<std::string>();
      }
      EXPECT_TRUE(op.second["responses"]["401"]) << p.first.as<std::string>();
    }
  }
}

// Every $ref points at something that exists: a local component or a file beside it.
void check_refs(const YAML::Node& n, const YAML::Node& root, std::vector<std::string>& bad) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      if (kv.first.as<std::string>() == "$ref") {
        std::string ref = kv.second.as<std::string>();
        if (ref.rfind("#/", 0) == 0) {
          YAML::Node cur = root;
          std::stringstream ss(ref.substr(2));
          std::string part;
          bool ok = true;
          while (std::getline(ss, part, '/')) {
            // A YAML::Node assignment rebinds, so walk with a fresh lookup.
            YAML::Node next = cur[part];
            if (!next) {
              ok = false;
              break;
            }
            cur.reset(next);
          }
          if (!ok) bad.push_back(ref);
        } else {
          std::string file = ref.substr(0, ref.find('#'));
          if (!std::ifstream(api_dir + file)) bad.push_back(ref);
        }
      } else {
        check_refs(kv.second, root, bad);
      }
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) check_refs(item, root, bad);
  }
}

TEST(Contract, OpenApiRefsResolve) {
  YAML::Node doc = YAML::LoadFile(api_dir + "openapi.yaml");
  std::vector<std::string> bad;
  check_refs(doc, doc, bad);
  EXPECT_TRUE(bad.empty()) << ::testing::PrintToString(bad);
  // The crawl config body is the config schema itself, not a copy.
  std::string text;
  {
    std::ifstream in(api_dir + "openapi.yaml");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  EXPECT_NE(text.find("config.schema.json"), std::string::npos);
  EXPECT_NE(text.find("stats.schema.json"), std::string::npos);
}

// POST /v1/crawls documents both bodies it reads, each the config schema, and its YAML example
// is a config the route accepts.
TEST(Contract, OpenApiCreateCrawlTakesJsonAndYaml) {
  YAML::Node doc = YAML::LoadFile(api_dir + "openapi.yaml");
  YAML::Node content = doc["paths"]["/v1/crawls"]["post"]["requestBody"]["content"];
  ASSERT_TRUE(content.IsMap());
  std::set<std::string> types;
  for (const auto& c : content) {
    types.insert(c.first.as<std::string>());
    EXPECT_EQ(c.second["schema"]["$ref"].as<std::string>(), "./config.schema.json");
  }
  EXPECT_EQ(types, (std::set<std::string>{"application/json", "application/yaml"}));
  fake_registry reg;
  router r{reg, router_options{}};
  const std::string example = content["application/yaml"]["example"].as<std::string>();
  auto res = r.handle(req("POST", "/v1/crawls", example, {{"Content-Type", "application/yaml"}}));
  EXPECT_EQ(res.status, 201) << res.body;
  // The 400 example lists errors as the route does.
  YAML::Node bad = doc["paths"]["/v1/crawls"]["post"]["responses"]["400"]["content"]
                      ["application/json"]["example"];
  EXPECT_EQ(bad["errors"][0]["key"].as<std::string>(), bad["error"]["key"].as<std::string>());
}

TEST(Contract, StatsSchemaMatchesTheStatsObject) {
  json schema = read_json_file(api_dir + "stats.schema.json");
  json stats = trawler::crawl::crawl_stats{}.to_json();
  std::set<std::string> keys, props, required;
  for (const auto& [k, v] : stats.items()) keys.insert(k);
  for (const auto& [k, v] : schema["properties"].items()) props.insert(k);
  for (const auto& k : schema["required"]) required.insert(k.get<std::string>());
  // "cluster" is there in cluster mode only, "recrawl" with recrawl on.
  EXPECT_EQ(props.erase("cluster"), 1u);
  EXPECT_EQ(props.erase("recrawl"), 1u);
  // trawler crawl --stats adds why the crawl ended.
  EXPECT_EQ(props.erase("end_reason"), 1u);
  EXPECT_EQ(props.erase("end_message"), 1u);
  EXPECT_EQ(keys, props);
  EXPECT_EQ(keys, required);
  trawler::crawl::crawl_stats clustered;
  clustered.cluster = trawler::crawl::cluster_counts{};
  std::set<std::string> cluster_keys, cluster_props;
  const json clustered_json = clustered.to_json();
  for (const auto& [k, v] : clustered_json.at("cluster").items()) cluster_keys.insert(k);
  for (const auto& [k, v] : schema["properties"]["cluster"]["properties"].items())
    cluster_props.insert(k);
  EXPECT_EQ(cluster_keys, cluster_props);
  trawler::crawl::crawl_stats recrawling;
  recrawling.recrawl = trawler::crawl::recrawl_counts{};
  const json recrawl_json = recrawling.to_json().at("recrawl");
  std::set<std::string> recrawl_keys, recrawl_props, change_keys, change_props;
  for (const auto& [k, v] : recrawl_json.items()) recrawl_keys.insert(k);
  for (const auto& [k, v] : schema["properties"]["recrawl"]["properties"].items())
    recrawl_props.insert(k);
  EXPECT_EQ(recrawl_keys, recrawl_props);
  for (const auto& [k, v] : recrawl_json.at("changes").items()) change_keys.insert(k);
  for (const auto& [k, v] :
       schema["properties"]["recrawl"]["properties"]["changes"]["properties"].items())
    change_props.insert(k);
  EXPECT_EQ(change_keys, change_props);
  // The change values are the record's.
  json record_schema = read_json_file(api_dir + "record.schema.json");
  std::set<std::string> record_changes;
  for (const auto& v : record_schema["properties"]["change"]["enum"])
    record_changes.insert(v.get<std::string>());
  EXPECT_EQ(change_keys, record_changes);
  EXPECT_EQ(schema["additionalProperties"], false);
  // The status classes and the error kinds are the record's.
  std::set<std::string> classes;
  for (const auto& [k, v] : schema["properties"]["status"]["properties"].items()) classes.insert(k);
  EXPECT_EQ(classes, (std::set<std::string>{"2xx", "3xx", "4xx", "5xx"}));
  std::set<std::string> kinds, schema_kinds;
  for (auto k : trawler::all_error_kinds) kinds.insert(std::string(trawler::to_string(k)));
  for (const auto& [k, v] : schema["properties"]["errors"]["properties"].items())
    schema_kinds.insert(k);
  EXPECT_EQ(kinds, schema_kinds);
  EXPECT_EQ(schema["properties"]["errors"]["additionalProperties"], false);
}

}  // namespace

// ---- GET /v1/crawls/{id}/urls?url= -------------------------------------------------------------

TEST(QueryParameter, DecodesPercentEscapesAndKeepsPlus) {
  EXPECT_EQ(query_parameter("/x?url=http%3A%2F%2Fa%2Fb%3Fq%3D1%26r%3D2", "url"),
            "http://a/b?q=1&r=2");
  EXPECT_EQ(query_parameter("/x?a=1&url=a+b&url=second", "url"), "a+b");
  EXPECT_EQ(query_parameter("/x?url=", "url"), "");
  EXPECT_EQ(query_parameter("/x?urls=1", "url"), std::nullopt);
  EXPECT_EQ(query_parameter("/x", "url"), std::nullopt);
  EXPECT_EQ(query_parameter("/x?url=%4", "url"), std::nullopt);
  EXPECT_EQ(query_parameter("/x?url=%zz", "url"), std::nullopt);
}

TEST_F(Routes, BrokenLinksOfACrawl) {
  const std::string id = create_one();
  auto res = r.handle(req("GET", "/v1/crawls/" + id + "/broken-links"));
  ASSERT_EQ(res.status, 200) << res.body;
  const json b = body_of(res);
  EXPECT_EQ(b["listed"], 1);
  ASSERT_EQ(b["broken_links"].size(), 1u);
  EXPECT_EQ(b["broken_links"][0]["url"], "http://a/missing");
  EXPECT_EQ(b["broken_links"][0]["linked_from"][1], "http://a/b");
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/nope/broken-links")).status, 404);
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/broken-links")).status, 405);
  reg.broken_error = true;
  res = r.handle(req("GET", "/v1/crawls/" + id + "/broken-links"));
  EXPECT_EQ(res.status, 500);
  EXPECT_NE(res.body.find("cannot read"), std::string::npos) << res.body;
}

// The HTML report of a crawl: served as HTML, sandboxed (its inline script runs in an origin of
// its own, away from the dashboard's token), named for a download.
TEST_F(Routes, ReportIsTheCrawlsHtmlReportSandboxed) {
  const std::string id = create_one();
  auto res = r.handle(req("GET", "/v1/crawls/" + id + "/report"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(res.body, "<!doctype html><title>report of " + id + "</title>");
  const auto csp = header_of(res, "Content-Security-Policy");
  ASSERT_TRUE(csp);
  EXPECT_TRUE(csp->starts_with("sandbox allow-scripts;")) << *csp;
  EXPECT_EQ(csp->find("allow-same-origin"), std::string::npos) << *csp;
  EXPECT_NE(csp->find("default-src 'none'"), std::string::npos) << *csp;
  EXPECT_EQ(header_of(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header_of(res, "Content-Disposition"),
            "inline; filename=\"trawler-report-" + id + ".html\"");
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/nope/report")).status, 404);
  reg.broken_error = true;
  res = r.handle(req("GET", "/v1/crawls/" + id + "/report"));
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.content_type, "application/json");
}

// The records: the file itself, streamed by the server (the route names it), as a download.
TEST_F(Routes, RecordsAreTheCrawlsRecordsFileAsADownload) {
  const std::string id = create_one();
  auto res = r.handle(req("GET", "/v1/crawls/" + id + "/records"));
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.file, "/data/" + id + "/records.jsonl");
  EXPECT_TRUE(res.body.empty());
  EXPECT_EQ(res.content_type, "application/x-ndjson");
  EXPECT_EQ(header_of(res, "Content-Disposition"),
            "attachment; filename=\"trawler-records-" + id + ".jsonl\"");
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/nope/records")).status, 404);
  reg.records_in_segments = true;
  res = r.handle(req("GET", "/v1/crawls/" + id + "/records"));
  EXPECT_EQ(res.status, 409);
  EXPECT_TRUE(res.file.empty());
}

TEST_F(Routes, ExplainAsksTheRegistryWithTheDecodedUrl) {
  const std::string id = create_one();
  auto res = r.handle(req("GET", "/v1/crawls/" + id + "/urls?url=http%3A%2F%2Fa%2F%3Fx%3D1"));
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body_of(res)["url"], "http://a/?x=1");
  ASSERT_EQ(reg.explained.size(), 1u);
  expect_bad(r.handle(req("GET", "/v1/crawls/" + id + "/urls")), "url");
  expect_bad(r.handle(req("GET", "/v1/crawls/" + id + "/urls?url=%G0")), "url");
  EXPECT_EQ(r.handle(req("GET", "/v1/crawls/nope/urls?url=x")).status, 404);
  EXPECT_EQ(r.handle(req("POST", "/v1/crawls/" + id + "/urls?url=x")).status, 405);
}
