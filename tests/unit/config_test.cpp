// Config loading and validation (SPEC "Config"), the schema contract and the example configs.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/version.hpp"
#include "config/crawl_config.hpp"
#include "config/document.hpp"

namespace {

using nlohmann::json;
using trawler::config::config_error;
using trawler::config::crawl_config;
using trawler::config::document_result;
using trawler::config::from_json;
using trawler::config::load_file;
using trawler::config::load_result;
using trawler::config::merge_patch;
using trawler::config::parse_document;
using trawler::config::parse_text;
using trawler::config::to_json;

namespace fs = std::filesystem;

std::string all_errors(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.text() + "\n";
  return out;
}

const config_error* find_error(const load_result& r, const std::string& key) {
  for (const auto& e : r.errors) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

load_result yaml(std::string_view text) {
  return parse_text(text, "test.yaml");
}

// The one error the document produces; fails the test when there are none or several.
config_error only_error(const load_result& r) {
  EXPECT_EQ(r.errors.size(), 1u) << all_errors(r);
  return r.errors.empty() ? config_error{} : r.errors.front();
}

json::json_pointer pointer_of(const std::string& dotted) {
  std::string p = "/" + dotted;
  std::replace(p.begin(), p.end(), '.', '/');
  return json::json_pointer(p);
}

json with(const std::string& dotted, json value) {
  json doc = json::object();
  doc[pointer_of(dotted)] = std::move(value);
  return doc;
}

// with(), plus what a key needs beside it to be valid (the segment keys need output.dir).
json in_context(const std::string& dotted, json value) {
  json doc = with(dotted, std::move(value));
  if (dotted == "output.rotate_bytes" || dotted == "output.rotate_seconds" ||
      dotted == "output.compress") {
    doc["output"]["dir"] = "segments";
  }
  return doc;
}

class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "trawler-config-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  std::string write(const std::string& name, std::string_view content) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, MatchSpec) {
  const crawl_config c;
  EXPECT_TRUE(c.seeds.empty());
  EXPECT_EQ(c.scope.mode, "host");
  EXPECT_TRUE(c.scope.include.empty());
  EXPECT_TRUE(c.scope.exclude.empty());
  EXPECT_EQ(c.scope.max_depth, 10);
  EXPECT_EQ(c.scope.max_pages, 0);
  EXPECT_EQ(c.scope.max_url_length, 2048);
  EXPECT_EQ(c.limits.concurrency, 64);
  EXPECT_EQ(c.limits.per_host, 2);
  EXPECT_EQ(c.limits.delay_ms, 0);
  EXPECT_EQ(c.limits.connect_timeout_ms, 10000);
  EXPECT_EQ(c.limits.timeout_ms, 30000);
  EXPECT_EQ(c.limits.max_redirects, 10);
  EXPECT_EQ(c.limits.max_tries, 3);
  EXPECT_EQ(c.limits.max_retry_after_ms, 300000);
  EXPECT_EQ(c.limits.max_body_bytes, 10485760);
  EXPECT_TRUE(c.robots.obey);
  EXPECT_EQ(c.robots.user_agent, std::string("trawler/") + trawler::version);
  EXPECT_EQ(c.robots.max_crawl_delay_ms, 30000);
  EXPECT_TRUE(c.fetch.headers.empty());
  EXPECT_TRUE(c.fetch.tls_verify);
  EXPECT_EQ(c.fetch.accept_encoding, (std::vector<std::string>{"gzip", "deflate", "br"}));
  EXPECT_FALSE(c.fetch.follow_nofollow);
  EXPECT_FALSE(c.fetch.requisites);
  EXPECT_FALSE(c.network.allow_private);
  EXPECT_TRUE(c.network.resolve.empty());
  EXPECT_EQ(c.output.path, "-");
  EXPECT_EQ(c.output.fields, (std::vector<std::string>{"links", "title"}));
  EXPECT_EQ(c.state.dir, "");
  EXPECT_EQ(c.api.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.api.token, "");
  EXPECT_EQ(c.api.data_dir, "./trawler-data");
}

TEST(ConfigDefaults, EmptyDocumentsAreTheDefaults) {
  for (std::string_view text : {"", "\n\n", "# only a comment\n", "---\n", "{}", "  {}  \n"}) {
    const load_result r = yaml(text);
    EXPECT_TRUE(r.ok()) << "text: " << text << "\n" << all_errors(r);
    EXPECT_EQ(r.config, crawl_config{}) << "text: " << text;
  }
  const load_result r = from_json(json::object());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.config, crawl_config{});
}

TEST(ConfigDefaults, EmptySectionMappingsKeepDefaults) {
  const load_result r = yaml(
      "scope: {}\nlimits: {}\nrobots: {}\nfetch: {}\nnetwork: {}\n"
      "output: {}\nstate: {}\napi: {}\n");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config, crawl_config{});
}

TEST(ConfigDefaults, MissingKeysKeepDefaultsNextToSetOnes) {
  const load_result r = yaml("limits:\n  per_host: 5\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  crawl_config expected;
  expected.limits.per_host = 5;
  EXPECT_EQ(r.config, expected);
}

// ---------------------------------------------------------------------------------------
// A full config, in YAML and JSON

constexpr std::string_view full_yaml = R"yaml(# every key set to a non-default value
seeds:
  - https://example.com/
  - http://example.org/start
scope:
  mode: domain
  include: ['^https://example\.com/', 'docs']
  exclude: ["\\.pdf$"]
  max_depth: 3
  max_pages: 500
  max_url_length: 1024
limits:
  concurrency: 16
  per_host: 4
  delay_ms: 250
  connect_timeout_ms: 5000
  timeout_ms: 15000
  max_redirects: 5
  max_tries: 2
  max_retry_after_ms: 60000
  max_body_bytes: 1048576
robots:
  obey: false
  user_agent: "mybot/2.0 (+https://example.com/bot)"
  max_crawl_delay_ms: 10000
fetch:
  headers:
    Accept-Language: "en, fr;q=0.5"
    X-Trace: "1"
  tls_verify: false
  accept_encoding: [gzip]
  follow_nofollow: true
  requisites: true
network:
  allow_private: true
  resolve:
    "example.com:443": 127.0.0.1
    "example.org:80": "[::1]"
output:
  path: out.jsonl
  fields: [links, title, headers, text, canonical, meta_robots]
state:
  dir: /tmp/state
api:
  listen: "[::1]:9090"
  token: s3cret-Token_1
  data_dir: /var/lib/trawler
)yaml";

// clang-format off
constexpr std::string_view full_json = R"json({
  "seeds": ["https://example.com/", "http://example.org/start"],
  "scope": {"mode": "domain", "include": ["^https://example\\.com/", "docs"],
            "exclude": ["\\.pdf$"], "max_depth": 3, "max_pages": 500, "max_url_length": 1024},
  "limits": {"concurrency": 16, "per_host": 4, "delay_ms": 250, "connect_timeout_ms": 5000,
             "timeout_ms": 15000, "max_redirects": 5, "max_tries": 2,
             "max_retry_after_ms": 60000, "max_body_bytes": 1048576},
  "robots": {"obey": false, "user_agent": "mybot/2.0 (+https://example.com/bot)",
             "max_crawl_delay_ms": 10000},
  "fetch": {"headers": {"X-Trace": "1", "Accept-Language": "en, fr;q=0.5"}, "tls_verify": false,
            "accept_encoding": ["gzip"], "follow_nofollow": true, "requisites": true},
  "network": {"allow_private": true,
              "resolve": {"example.org:80": "[::1]", "example.com:443": "127.0.0.1"}},
  "output": {"path": "out.jsonl",
             "fields": ["links", "title", "headers", "text", "canonical", "meta_robots"]},
  "state": {"dir": "/tmp/state"},
  "api": {"listen": "[::1]:9090", "token": "s3cret-Token_1", "data_dir": "/var/lib/trawler"}
})json";
// clang-format on

crawl_config expected_full() {
  crawl_config c;
  c.seeds = {"https://example.com/", "http://example.org/start"};
  c.scope.mode = "domain";
  c.scope.include = {"^https://example\\.com/", "docs"};
  c.scope.exclude = {"\\.pdf$"};
  c.scope.max_depth = 3;
  c.scope.max_pages = 500;
  c.scope.max_url_length = 1024;
  c.limits = {16, 4, 250, 5000, 15000, 5, 2, 60000, 1048576};
  c.robots.obey = false;
  c.robots.user_agent = "mybot/2.0 (+https://example.com/bot)";
  c.robots.max_crawl_delay_ms = 10000;
  c.fetch.headers = {{"Accept-Language", "en, fr;q=0.5"}, {"X-Trace", "1"}};
  c.fetch.tls_verify = false;
  c.fetch.accept_encoding = {"gzip"};
  c.fetch.follow_nofollow = true;
  c.fetch.requisites = true;
  c.network.allow_private = true;
  c.network.resolve = {{"example.com:443", "127.0.0.1"}, {"example.org:80", "::1"}};
  c.output.path = "out.jsonl";
  c.output.fields = {"links", "title", "headers", "text", "canonical", "meta_robots"};
  c.state.dir = "/tmp/state";
  c.api.listen = "[::1]:9090";
  c.api.token = "s3cret-Token_1";
  c.api.data_dir = "/var/lib/trawler";
  return c;
}

TEST(ConfigFormats, FullYaml) {
  const load_result r = yaml(full_yaml);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config, expected_full());
}

TEST(ConfigFormats, YamlAndJsonFormsAreEqual) {
  const load_result from_yaml = parse_text(full_yaml, "full.yaml");
  const load_result from_json_text = parse_text(full_json, "full.json");
  const load_result json_in_yaml_file = parse_text(full_json, "full.yaml");
  const load_result from_dom = from_json(json::parse(full_json));
  ASSERT_TRUE(from_yaml.ok()) << all_errors(from_yaml);
  ASSERT_TRUE(from_json_text.ok()) << all_errors(from_json_text);
  ASSERT_TRUE(json_in_yaml_file.ok()) << all_errors(json_in_yaml_file);
  ASSERT_TRUE(from_dom.ok()) << all_errors(from_dom);
  EXPECT_EQ(from_yaml.config, from_json_text.config);
  EXPECT_EQ(from_yaml.config, json_in_yaml_file.config);
  EXPECT_EQ(from_yaml.config, from_dom.config);
}

TEST(ConfigFormats, YamlFlowMappingThatIsNotJsonFallsBackToYaml) {
  const load_result r = parse_text("{seeds: [http://a.test/], limits: {per_host: 3}}", "c.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.seeds, std::vector<std::string>{"http://a.test/"});
  EXPECT_EQ(r.config.limits.per_host, 3);
}

TEST(ConfigFormats, ByteOrderMarkIsSkipped) {
  const load_result y = yaml("\xEF\xBB\xBFlimits:\n  per_host: 7\n");
  ASSERT_TRUE(y.ok()) << all_errors(y);
  EXPECT_EQ(y.config.limits.per_host, 7);
  const load_result j = parse_text("\xEF\xBB\xBF{\"limits\": {\"per_host\": 8}}", "c.json");
  ASSERT_TRUE(j.ok()) << all_errors(j);
  EXPECT_EQ(j.config.limits.per_host, 8);
}

TEST(ConfigFormats, ToJsonRoundTrips) {
  for (const crawl_config& c : {crawl_config{}, expected_full()}) {
    const json j = to_json(c);
    const load_result back = from_json(j);
    ASSERT_TRUE(back.ok()) << all_errors(back);
    EXPECT_EQ(back.config, c);
    // Through text as well, as the API and the state dir would store it.
    const load_result text = parse_text(j.dump(2), "config.json");
    ASSERT_TRUE(text.ok()) << all_errors(text);
    EXPECT_EQ(text.config, c);
  }
}

TEST(ConfigFormats, ToJsonWritesEveryKeyWithItsValue) {
  const json j = to_json(expected_full());
  EXPECT_EQ(j["seeds"], json({"https://example.com/", "http://example.org/start"}));
  EXPECT_EQ(j["scope"]["mode"], "domain");
  EXPECT_EQ(j["limits"]["max_body_bytes"], 1048576);
  EXPECT_EQ(j["fetch"]["headers"], json({{"Accept-Language", "en, fr;q=0.5"}, {"X-Trace", "1"}}));
  EXPECT_EQ(j["network"]["resolve"],
            json({{"example.com:443", "127.0.0.1"}, {"example.org:80", "::1"}}));
  EXPECT_EQ(j["api"]["listen"], "[::1]:9090");
  EXPECT_EQ(j.size(), 12u);  // the 11 sections of SPEC "Config", and recrawl
}

// ---------------------------------------------------------------------------------------
// YAML typing: quoted scalars are strings, plain ones are resolved (YAML 1.2 core schema)

TEST(ConfigYaml, QuotedNumberIsAStringError) {
  for (std::string_view text :
       {"limits:\n  concurrency: \"64\"\n", "limits:\n  concurrency: '64'\n",
        "limits:\n  concurrency: !!str 64\n"}) {
    const config_error e = only_error(yaml(text));
    EXPECT_EQ(e.key, "limits.concurrency") << text;
    EXPECT_EQ(e.message, "must be an integer from 1 to 100000, got \"64\"") << text;
  }
  const load_result plain = yaml("limits:\n  concurrency: 64\n");
  ASSERT_TRUE(plain.ok()) << all_errors(plain);
  EXPECT_EQ(plain.config.limits.concurrency, 64);
  const load_result tagged = yaml("limits:\n  concurrency: !!int \"65\"\n");
  ASSERT_TRUE(tagged.ok()) << all_errors(tagged);
  EXPECT_EQ(tagged.config.limits.concurrency, 65);
}

TEST(ConfigYaml, SpecExampleMessage) {
  const config_error e = only_error(yaml("limits:\n  concurrency: fast\n"));
  EXPECT_EQ(e.text(), "limits.concurrency: must be an integer from 1 to 100000, got \"fast\"");
}

TEST(ConfigYaml, QuotedBooleanIsAStringError) {
  const config_error e = only_error(yaml("robots:\n  obey: \"true\"\n"));
  EXPECT_EQ(e.key, "robots.obey");
  EXPECT_EQ(e.message, "must be true or false, got \"true\"");
  // YAML 1.1 spellings are not booleans in YAML 1.2.
  EXPECT_EQ(only_error(yaml("robots:\n  obey: yes\n")).message,
            "must be true or false, got \"yes\"");
  for (std::string_view t : {"True", "TRUE", "true"}) {
    const load_result r =
        yaml("robots:\n  obey: false\nfetch:\n  follow_nofollow: " + std::string(t));
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_TRUE(r.config.fetch.follow_nofollow);
    EXPECT_FALSE(r.config.robots.obey);
  }
}

TEST(ConfigYaml, NumberSpellings) {
  EXPECT_EQ(yaml("limits: {per_host: 0x10}").config.limits.per_host, 16);
  EXPECT_EQ(yaml("limits: {per_host: 0o17}").config.limits.per_host, 15);
  EXPECT_EQ(yaml("limits: {per_host: +12}").config.limits.per_host, 12);
  EXPECT_EQ(yaml("limits: {per_host: 1e2}").config.limits.per_host, 100);  // exact float
  EXPECT_EQ(only_error(yaml("limits: {per_host: 1.5}")).message,
            "must be an integer from 1 to 1000, got 1.5");
  EXPECT_EQ(only_error(yaml("limits: {per_host: .inf}")).message,
            "must be an integer from 1 to 1000, got \".inf\"");
  EXPECT_EQ(only_error(yaml("limits: {per_host: 1_000}")).message,
            "must be an integer from 1 to 1000, got \"1_000\"");
  EXPECT_EQ(only_error(yaml("scope: {max_pages: 99999999999999999999}")).key, "scope.max_pages");
  EXPECT_EQ(only_error(yaml("scope: {max_pages: -99999999999999999999}")).key, "scope.max_pages");
}

TEST(ConfigYaml, NullValuesAreErrorsNotDefaults) {
  const config_error e = only_error(yaml("limits:\n"));
  EXPECT_EQ(e.key, "limits");
  EXPECT_EQ(e.message, "must be a mapping, got null");
  EXPECT_EQ(only_error(yaml("state:\n  dir: ~\n")).text(), "state.dir: must be a string, got null");
}

TEST(ConfigYaml, QuotedNullIsAString) {
  const load_result r = yaml("state:\n  dir: \"null\"\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.state.dir, "null");
}

TEST(ConfigYaml, BlockScalarsAreStrings) {
  const load_result r = yaml("robots:\n  user_agent: >-\n    mybot/1.0\n    (+https://x.test/)\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.robots.user_agent, "mybot/1.0 (+https://x.test/)");
}

TEST(ConfigYaml, AnchorsAndAliases) {
  const load_result r = yaml("scope:\n  include: &pats ['a', 'b']\n  exclude: *pats\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.scope.exclude, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigYaml, AliasBombIsRefused) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  const load_result r = yaml(text);
  ASSERT_FALSE(r.ok());
  const config_error* e = find_error(r, "config");
  ASSERT_NE(e, nullptr) << all_errors(r);
  EXPECT_NE(e->message.find("too large"), std::string::npos) << e->message;
}

// Found by the config fuzzer: an alias inside the mapping it names. It was expanded 64
// levels deep to the node limit, each copy repeating its problem (100,000 errors from a
// 98-byte file, seconds under ASan). The cycle is one error naming its key.
TEST(ConfigYaml, AliasInsideItsOwnAnchorIsOneError) {
  const load_result r = yaml("limits: &l\n  per_host: 2\n  more: *l\n");
  ASSERT_FALSE(r.ok());
  const config_error* e = find_error(r, "limits.more");
  ASSERT_NE(e, nullptr) << all_errors(r);
  EXPECT_NE(e->message.find("alias"), std::string::npos) << e->message;
  const document_result d = parse_document("limits: &l\n  per_host: 2\n  more: *l\n", "c.yaml");
  EXPECT_EQ(d.errors.size(), 1u);
}

// The same through merge keys, with a key that repeats its problem at every level: the
// document lists at most 100 problems and says how many more.
TEST(ConfigYaml, RepeatedProblemsAreCountedNotListed) {
  std::string text = "a0: &a0 {k: !nosuchtag 1}\n";
  for (int i = 1; i < 12; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " {x: *a" +
            std::to_string(i - 1) + ", y: *a" + std::to_string(i - 1) + "}\n";
  }
  const document_result d = parse_document(text, "c.yaml");
  ASSERT_EQ(d.errors.size(), 101u);
  EXPECT_EQ(d.errors.back().key, "config");
  // 2^12 - 1 copies of the bad key in all; 100 listed.
  EXPECT_EQ(d.errors.back().message,
            "and " + std::to_string((1 << 12) - 1 - 100) + " more problems");
}

TEST(ConfigYaml, DuplicateKeysAreErrors) {
  const load_result r = yaml("limits:\n  per_host: 1\n  per_host: 2\n");
  const config_error e = only_error(r);
  EXPECT_EQ(e.key, "limits.per_host");
  EXPECT_EQ(e.message, "duplicate key");
  EXPECT_EQ(r.config.limits.per_host, 1);  // the first one is kept
}

TEST(ConfigYaml, SyntaxErrorNamesOriginLineAndColumn) {
  const load_result r = parse_text("limits:\n  per_host: [1\nscope: 2\n", "my.yaml");
  const config_error e = only_error(r);
  EXPECT_EQ(e.key, "config");
  EXPECT_NE(e.message.find("my.yaml"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("line 3"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("column"), std::string::npos) << e.message;
}

TEST(ConfigYaml, SeveralDocumentsAreAnError) {
  const config_error e = only_error(yaml("limits: {per_host: 1}\n---\nlimits: {per_host: 2}\n"));
  EXPECT_EQ(e.key, "config");
  EXPECT_NE(e.message.find("more than one YAML document"), std::string::npos) << e.message;
}

TEST(ConfigYaml, UnsupportedTagAndBadTagValue) {
  EXPECT_EQ(only_error(yaml("state:\n  dir: !custom /x\n")).key, "state.dir");
  EXPECT_EQ(only_error(yaml("limits:\n  per_host: !!int abc\n")).text(),
            "limits.per_host: must be an integer from 1 to 1000, got \"abc\"");
}

TEST(ConfigYaml, InvalidUtf8IsAnError) {
  const load_result r = yaml("state:\n  dir: \"/tmp/\xC3\x28\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(find_error(r, "state.dir"), nullptr) << all_errors(r);
  const load_result ok = yaml("state:\n  dir: \"/tmp/caf\xC3\xA9\"\n");
  ASSERT_TRUE(ok.ok()) << all_errors(ok);
  EXPECT_EQ(ok.config.state.dir, "/tmp/caf\xC3\xA9");
}

TEST(ConfigYaml, NonScalarKeyIsAnError) {
  const load_result r = yaml("? [a, b]\n: 1\n");
  EXPECT_NE(find_error(r, "config"), nullptr) << all_errors(r);
}

// ---------------------------------------------------------------------------------------
// JSON specifics

TEST(ConfigJson, SyntaxErrorNamesOriginLineAndColumn) {
  const config_error e =
      only_error(parse_text("{\n  \"limits\": {\n    \"per_host\": 2,\n  }\n}\n", "c.json"));
  EXPECT_EQ(e.key, "config");
  EXPECT_NE(e.message.find("c.json"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("line 4, column"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("[json.exception"), std::string::npos) << e.message;
}

TEST(ConfigJson, BrokenJsonInYamlFileReportsTheJsonError) {
  // (A trailing comma would not do: YAML flow mappings allow it.)
  const config_error e = only_error(parse_text("{\"limits\": {\"per_host\": 2}", "c.yaml"));
  EXPECT_EQ(e.key, "config");
  EXPECT_NE(e.message.find("invalid JSON"), std::string::npos) << e.message;
}

TEST(ConfigJson, DuplicateKeysNamedByPath) {
  const load_result r = parse_text(
      R"({"scope": {"include": ["a"], "include": ["b"]}, "limits": {"per_host": 1}})", "c.json");
  const config_error e = only_error(r);
  EXPECT_EQ(e.key, "scope.include");
  EXPECT_EQ(e.message, "duplicate key");

  // Paths through arrays as well.
  const load_result nested =
      parse_text(R"({"seeds": ["x", {"a": 1, "a": 2}], "state": {"dir": "d"}})", "c.json");
  EXPECT_NE(find_error(nested, "seeds[1].a"), nullptr) << all_errors(nested);
  EXPECT_NE(find_error(nested, "seeds[1]"), nullptr) << all_errors(nested);
}

TEST(ConfigJson, ExactFloatsAreIntegers) {
  const load_result r = from_json(json::parse(R"({"limits": {"per_host": 5.0}})"));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.limits.per_host, 5);
}

// ---------------------------------------------------------------------------------------
// Ranges and types of every key

struct int_key {
  std::string key;
  std::int64_t lo, hi;
};

const std::vector<int_key> int_keys = {
    {"scope.max_depth", 0, 1000000},
    {"scope.max_pages", 0, std::int64_t{1} << 53},
    {"scope.max_url_length", 16, 65536},
    {"scope.max_pages_per_host", 0, std::int64_t{1} << 53},
    {"limits.adaptive_max_delay_ms", 0, 3600000},
    {"sitemaps.max_files", 0, 100000},
    {"robots.cache_ttl_ms", 1000, 86400000},
    {"sitemaps.max_urls", 0, std::int64_t{1} << 53},
    {"sitemaps.max_bytes", 1, std::int64_t{1} << 34},
    {"limits.concurrency", 1, 100000},
    {"limits.per_host", 1, 1000},
    {"limits.delay_ms", 0, 3600000},
    {"limits.connect_timeout_ms", 1, 3600000},
    {"limits.timeout_ms", 1, 3600000},
    {"limits.max_redirects", 0, 100},
    {"limits.max_tries", 1, 100},
    {"limits.max_retry_after_ms", 0, 86400000},
    {"limits.max_body_bytes", 1, std::int64_t{1} << 34},
    {"robots.max_crawl_delay_ms", 0, 86400000},
    {"cluster.lease_ms", 1000, 3600000},
    {"cluster.buckets", 1, 65536},
    {"output.warc_rotate_bytes", 1048576, std::int64_t{1} << 44},
    {"output.rotate_bytes", 0, std::int64_t{1} << 44},
    {"output.rotate_seconds", 0, 31536000},
    {"recrawl.interval_ms", 100, 315360000000},
    {"recrawl.min_interval_ms", 100, 315360000000},
    {"recrawl.max_interval_ms", 100, 315360000000},
    {"recrawl.error_interval_ms", 100, 315360000000},
    {"recrawl.unreachable_ms", 100, 315360000000},
    {"recrawl.gone_after", 1, 100},
};

TEST(ConfigValidation, IntegerKeysAcceptTheirRangeAndNameTheKeyOutsideIt) {
  for (const auto& k : int_keys) {
    SCOPED_TRACE(k.key);
    for (std::int64_t good : {k.lo, k.hi, (k.lo + k.hi) / 2}) {
      const load_result r = from_json(in_context(k.key, good));
      ASSERT_TRUE(r.ok()) << all_errors(r);
      EXPECT_EQ(to_json(r.config)[pointer_of(k.key)], good);
    }
    const std::string range =
        "must be an integer from " + std::to_string(k.lo) + " to " + std::to_string(k.hi);
    for (const json& bad : {json(k.lo - 1), json(k.hi + 1), json("fast"), json("10"), json(true),
                            json(2.5), json::array({1}), json::object(), json(nullptr)}) {
      const load_result r = from_json(in_context(k.key, bad));
      const config_error e = only_error(r);
      EXPECT_EQ(e.key, k.key) << bad;
      EXPECT_EQ(e.message, range + ", got " + bad.dump()) << bad;
      // A bad value leaves the default in place.
      EXPECT_EQ(to_json(r.config)[pointer_of(k.key)], to_json(crawl_config{})[pointer_of(k.key)]);
    }
  }
}

TEST(ConfigValidation, HugeUnsignedIsOutOfRange) {
  const load_result r =
      from_json(with("scope.max_pages", json(std::uint64_t{18446744073709551615u})));
  EXPECT_EQ(only_error(r).key, "scope.max_pages");
}

TEST(ConfigValidation, BooleanKeys) {
  for (std::string key : {"robots.obey", "fetch.tls_verify", "fetch.follow_nofollow",
                          "fetch.requisites", "network.allow_private"}) {
    SCOPED_TRACE(key);
    for (bool b : {true, false}) {
      const load_result r = from_json(with(key, b));
      ASSERT_TRUE(r.ok()) << all_errors(r);
      EXPECT_EQ(to_json(r.config)[pointer_of(key)], b);
    }
    for (const json& bad : {json("true"), json(1), json(0), json(nullptr), json::array()}) {
      const config_error e = only_error(from_json(with(key, bad)));
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.message, "must be true or false, got " + bad.dump());
    }
  }
}

TEST(ConfigValidation, StringKeysRefuseOtherTypes) {
  for (std::string key : {"scope.mode", "robots.user_agent", "output.path", "state.dir",
                          "api.listen", "api.token", "api.data_dir"}) {
    SCOPED_TRACE(key);
    for (const json& bad :
         {json(5), json(true), json::array({"x"}), json::object(), json(nullptr)}) {
      const config_error e = only_error(from_json(with(key, bad)));
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.message, "must be a string, got " + bad.dump());
    }
  }
}

TEST(ConfigValidation, ListKeysRefuseOtherTypesAndNameTheBadItem) {
  const std::vector<std::pair<std::string, std::string>> lists = {{"scope.include", "a"},
                                                                  {"scope.exclude", "a"},
                                                                  {"fetch.accept_encoding", "gzip"},
                                                                  {"output.fields", "links"}};
  for (const auto& [key, valid_item] : lists) {
    SCOPED_TRACE(key);
    for (const json& bad : {json("gzip"), json(5), json::object(), json(nullptr)}) {
      const config_error e = only_error(from_json(with(key, bad)));
      EXPECT_EQ(e.key, key);
      EXPECT_EQ(e.message, "must be a list of strings, got " + bad.dump());
    }
    const config_error e = only_error(from_json(with(key, json::array({valid_item, 7}))));
    EXPECT_EQ(e.key, key + "[1]");
    EXPECT_EQ(e.message, "must be a string, got 7");
  }
}

TEST(ConfigValidation, ScopeMode) {
  for (std::string mode : {"host", "domain", "any"}) {
    const load_result r = from_json(with("scope.mode", mode));
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.config.scope.mode, mode);
  }
  EXPECT_EQ(only_error(from_json(with("scope.mode", "Host"))).text(),
            "scope.mode: must be one of host, domain, any, got \"Host\"");
}

TEST(ConfigValidation, ErrorsAreCappedAtAHundred) {
  json doc = json::object();
  doc["seeds"] = json::array();
  for (int i = 0; i < 5000; ++i) doc["seeds"].push_back(i);  // 5000 wrong types
  const load_result r = from_json(doc);
  ASSERT_EQ(r.errors.size(), 100u);
  EXPECT_EQ(r.errors.front().text(), "seeds[0]: must be a string, got 0");
  EXPECT_EQ(r.errors.back().text(), "config: and 4901 more errors");
  std::string yaml_text = "seeds:\n";
  for (int i = 0; i < 300; ++i) yaml_text += "  - [" + std::to_string(i) + "]\n";
  const load_result y = yaml(yaml_text);
  ASSERT_EQ(y.errors.size(), 100u);
  EXPECT_EQ(y.errors.back().text(), "config: and 201 more errors");
}

TEST(ConfigValidation, ParsePriority) {
  EXPECT_EQ(crawl_config{}.limits.parse_priority, "normal");
  for (std::string mode : {"idle", "low", "batch", "normal"}) {
    const load_result r = from_json(with("limits.parse_priority", mode));
    ASSERT_TRUE(r.ok()) << all_errors(r);
    EXPECT_EQ(r.config.limits.parse_priority, mode);
  }
  EXPECT_EQ(only_error(from_json(with("limits.parse_priority", "high"))).text(),
            "limits.parse_priority: must be one of idle, low, batch, normal, got \"high\"");
}

TEST(ConfigValidation, BadRegexNamesTheItem) {
  const load_result r = yaml(
      "scope:\n  include: ['^https://ok/', '(unclosed', 'fine']\n"
      "  exclude: ['a{2,1}']\n");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  const config_error* inc = find_error(r, "scope.include[1]");
  ASSERT_NE(inc, nullptr) << all_errors(r);
  EXPECT_EQ(inc->message, "invalid regex: missing ): (unclosed");
  const config_error* exc = find_error(r, "scope.exclude[0]");
  ASSERT_NE(exc, nullptr) << all_errors(r);
  EXPECT_TRUE(exc->message.starts_with("invalid regex: ")) << exc->message;
  EXPECT_TRUE(r.config.scope.include.empty());  // a list with a bad item is not half-applied
}

TEST(ConfigValidation, RegexesUseRe2Syntax) {
  // Backreferences and lookahead are PCRE, not RE2.
  EXPECT_EQ(only_error(yaml("scope: {include: ['(a)\\1']}")).key, "scope.include[0]");
  EXPECT_EQ(only_error(yaml("scope: {exclude: ['a(?=b)']}")).key, "scope.exclude[0]");
  const load_result r = yaml("scope: {include: ['(?i)^https?://[^/]+/docs/', '\\.html?$', '']}");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.scope.include.size(), 3u);
}

TEST(ConfigValidation, Seeds) {
  const load_result one = yaml("seeds: https://example.com/\n");
  ASSERT_TRUE(one.ok()) << all_errors(one);
  EXPECT_EQ(one.config.seeds, std::vector<std::string>{"https://example.com/"});
  const load_result list = yaml("seeds: [a.test, 'http://b.test/']\n");
  ASSERT_TRUE(list.ok()) << all_errors(list);
  EXPECT_EQ(list.config.seeds, (std::vector<std::string>{"a.test", "http://b.test/"}));
  EXPECT_TRUE(yaml("seeds: []\n").ok());

  EXPECT_EQ(only_error(yaml("seeds: ''\n")).text(), "seeds: must not be empty");
  EXPECT_EQ(only_error(yaml("seeds: [a.test, '']\n")).key, "seeds[1]");
  EXPECT_EQ(only_error(yaml("seeds: [a.test, 5]\n")).text(), "seeds[1]: must be a string, got 5");
  EXPECT_EQ(only_error(yaml("seeds: 5\n")).text(),
            "seeds: must be a list of URLs (or one URL), got 5");
  EXPECT_EQ(only_error(yaml("seeds: {a: b}\n")).key, "seeds");
}

TEST(ConfigValidation, UserAgent) {
  EXPECT_EQ(only_error(from_json(with("robots.user_agent", ""))).text(),
            "robots.user_agent: must not be empty");
  EXPECT_EQ(only_error(from_json(with("robots.user_agent", "bot\r\nX-Evil: 1"))).message,
            "must not contain control characters");
  EXPECT_EQ(only_error(from_json(with("robots.user_agent", "bot\x7f"))).key, "robots.user_agent");
  EXPECT_EQ(only_error(from_json(with("robots.user_agent", "/1.0"))).key, "robots.user_agent");
  const load_result r = from_json(with("robots.user_agent", "MyBot"));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.robots.user_agent, "MyBot");
}

TEST(ConfigValidation, AcceptEncodingAndFields) {
  const load_result none = from_json(with("fetch.accept_encoding", json::array()));
  ASSERT_TRUE(none.ok()) << all_errors(none);
  EXPECT_TRUE(none.config.fetch.accept_encoding.empty());
  EXPECT_EQ(only_error(from_json(with("fetch.accept_encoding", {"gzip", "zstd"}))).text(),
            "fetch.accept_encoding[1]: must be one of gzip, deflate, br, got \"zstd\"");
  EXPECT_EQ(only_error(from_json(with("fetch.accept_encoding", {"br", "br"}))).text(),
            "fetch.accept_encoding[1]: repeats \"br\"");
  EXPECT_EQ(only_error(from_json(with("fetch.accept_encoding", {"GZIP"}))).key,
            "fetch.accept_encoding[0]");

  const load_result fields = from_json(with("output.fields", {"text", "canonical"}));
  ASSERT_TRUE(fields.ok()) << all_errors(fields);
  EXPECT_EQ(fields.config.output.fields, (std::vector<std::string>{"text", "canonical"}));
  EXPECT_TRUE(from_json(with("output.fields", json::array())).ok());
  EXPECT_EQ(only_error(from_json(with("output.fields", {"links", "body"}))).text(),
            "output.fields[1]: must be one of links, title, headers, text, canonical, "
            "meta_robots, got \"body\"");
  EXPECT_EQ(only_error(from_json(with("output.fields", {"title", "title"}))).key,
            "output.fields[1]");
}

TEST(ConfigValidation, OutputPathDataDirAndStateDir) {
  EXPECT_EQ(only_error(from_json(with("output.path", ""))).text(),
            "output.path: must not be empty");
  EXPECT_EQ(only_error(from_json(with("api.data_dir", ""))).text(),
            "api.data_dir: must not be empty");
  EXPECT_TRUE(from_json(with("state.dir", "")).ok());
}

TEST(ConfigValidation, SegmentAndWarcKeys) {
  json doc = json::object();
  doc["output"] = {{"dir", "segs"},      {"rotate_bytes", 1000000}, {"rotate_seconds", 60},
                   {"compress", "zstd"}, {"warc", "warc"},          {"warc_rotate_bytes", 2000000}};
  const load_result r = from_json(doc);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.output.dir, "segs");
  EXPECT_EQ(r.config.output.rotate_bytes, 1000000);
  EXPECT_EQ(r.config.output.rotate_seconds, 60);
  EXPECT_EQ(r.config.output.compress, "zstd");
  EXPECT_EQ(r.config.output.warc, "warc");
  EXPECT_EQ(r.config.output.warc_rotate_bytes, 2000000);
  // Round trip through the service's JSON form.
  const load_result back = from_json(to_json(r.config));
  ASSERT_TRUE(back.ok()) << all_errors(back);
  EXPECT_EQ(back.config, r.config);

  EXPECT_EQ(only_error(from_json(with("output.compress", "xz"))).text(),
            "output.compress: must be one of none, gzip, zstd, got \"xz\"");
  EXPECT_EQ(only_error(from_json(with("output.rotate_bytes", 100))).text(),
            "output.rotate_bytes: needs output.dir");
  EXPECT_EQ(only_error(from_json(with("output.rotate_seconds", 5))).key, "output.rotate_seconds");
  EXPECT_EQ(only_error(from_json(with("output.compress", "gzip"))).key, "output.compress");
  EXPECT_EQ(only_error(from_json(with("output.rotate_seconds", -1))).key, "output.rotate_seconds");
  EXPECT_EQ(only_error(from_json(with("output.warc_rotate_bytes", 10))).key,
            "output.warc_rotate_bytes");
  json both = json::object();
  both["output"] = {{"dir", "segs"}, {"path", "out.jsonl"}};
  EXPECT_EQ(only_error(from_json(both)).key, "output.dir");
  // A WARC archive goes with either kind of record output.
  EXPECT_TRUE(from_json(with("output.warc", "archive")).ok());
}

TEST(ConfigValidation, UserAgentHeaderIsRefused) {
  for (std::string name : {"User-Agent", "user-agent", "USER-AGENT"}) {
    const load_result r = from_json(with("fetch.headers", {{name, "evil/1.0"}}));
    const config_error e = only_error(r);
    EXPECT_EQ(e.key, "fetch.headers." + name);
    EXPECT_NE(e.message.find("robots.user_agent"), std::string::npos) << e.message;
    EXPECT_TRUE(r.config.fetch.headers.empty());
  }
}

TEST(ConfigValidation, ManagedHeadersAreRefused) {
  for (std::string name : {"Host", "Content-Length", "transfer-encoding", "Connection",
                           "Accept-Encoding", "TE", "Upgrade", "Keep-Alive"}) {
    const config_error e = only_error(from_json(with("fetch.headers", {{name, "x"}})));
    EXPECT_EQ(e.key, "fetch.headers." + name);
    EXPECT_TRUE(e.message.starts_with("may not be set")) << e.message;
  }
}

TEST(ConfigValidation, HeaderNamesAndValues) {
  const load_result ok =
      from_json(with("fetch.headers",
                     {{"X-B", "2"}, {"Accept", "text/html"}, {"X-Tab", "a\tb"}, {"X-Empty", ""}}));
  ASSERT_TRUE(ok.ok()) << all_errors(ok);
  EXPECT_EQ(ok.config.fetch.headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"Accept", "text/html"}, {"X-B", "2"}, {"X-Empty", ""}, {"X-Tab", "a\tb"}}));

  EXPECT_EQ(only_error(from_json(with("fetch.headers", {{"Bad Name", "x"}}))).text(),
            "fetch.headers.Bad Name: invalid header name");
  EXPECT_EQ(only_error(from_json(with("fetch.headers", {{"", "x"}}))).key, "fetch.headers.");
  EXPECT_EQ(only_error(from_json(with("fetch.headers", {{"X-A", "a\r\nHost: evil"}}))).text(),
            "fetch.headers.X-A: must not contain control characters");
  EXPECT_EQ(only_error(from_json(with("fetch.headers", {{"X-A", 5}}))).text(),
            "fetch.headers.X-A: must be a string, got 5");
  EXPECT_EQ(only_error(from_json(with("fetch.headers", {{"Accept", "a"}, {"accept", "b"}}))).text(),
            "fetch.headers.accept: repeats header Accept");
  EXPECT_EQ(only_error(from_json(with("fetch.headers", {"X-A", "1"}))).key, "fetch.headers");
}

TEST(ConfigValidation, ResolveForms) {
  const load_result r = yaml(R"(network:
  resolve:
    "example.com:443": 127.0.0.1
    "v6.test:80": "[::1]"
    "bare.test:8080": "2001:db8::1"
    "Mixed.CASE.test:0081": 10.0.0.1
)");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.network.resolve,
            (std::vector<std::pair<std::string, std::string>>{{"bare.test:8080", "2001:db8::1"},
                                                              {"example.com:443", "127.0.0.1"},
                                                              {"mixed.case.test:81", "10.0.0.1"},
                                                              {"v6.test:80", "::1"}}));
}

TEST(ConfigValidation, ResolveErrors) {
  const std::string key_message =
      "key must be \"host:port\" with a host name and a port from 1 to 65535";
  for (std::string bad_key :
       {"example.com", "example.com:0", "example.com:65536", "example.com:", ":80",
        "example.com:http", "[::1]:80", "::1:80", "a b:80", "example.com:+80"}) {
    const config_error e = only_error(from_json(with("network.resolve", {{bad_key, "127.0.0.1"}})));
    EXPECT_EQ(e.key, "network.resolve." + bad_key);
    EXPECT_EQ(e.message, key_message) << bad_key;
  }
  for (const json& bad_address :
       {json("localhost"), json("1.2.3"), json("1.2.3.4.5"), json("[1.2.3.4]"), json("256.1.1.1"),
        json("[::1"), json(""), json("01.2.3.4"), json("fe80::1%eth0")}) {
    const config_error e =
        only_error(from_json(with("network.resolve", {{"a.test:80", bad_address}})));
    EXPECT_EQ(e.key, "network.resolve.a.test:80");
    EXPECT_EQ(e.message, "must be an IPv4 or IPv6 address, got " + bad_address.dump());
  }
  EXPECT_EQ(only_error(from_json(with("network.resolve", {{"a.test:80", 5}}))).message,
            "must be an IPv4 or IPv6 address string, got 5");
  // Keys that are equal once normalized are one pin given twice.
  EXPECT_EQ(only_error(from_json(with("network.resolve",
                                      {{"A.test:80", "1.1.1.1"}, {"a.test:080", "2.2.2.2"}})))
                .text(),
            "network.resolve.a.test:080: repeats \"a.test:80\"");
  EXPECT_EQ(only_error(from_json(with("network.resolve", {"a.test:80"}))).key, "network.resolve");
}

TEST(ConfigValidation, ApiListen) {
  for (std::string good : {"127.0.0.1:8080", "0.0.0.0:65535", "[::1]:0", "[::]:80",
                           "localhost:9000", "trawler-api.internal:443"}) {
    const load_result r = from_json(with("api.listen", good));
    ASSERT_TRUE(r.ok()) << good << ": " << all_errors(r);
    EXPECT_EQ(r.config.api.listen, good);
  }
  for (std::string bad : {"8080", ":8080", "localhost", "localhost:", "host:65536", "::1:8080",
                          "[::1]8080", "[::1]", "[1.2.3.4]:80", "host:80:", "a b:80", "host:-1"}) {
    const config_error e = only_error(from_json(with("api.listen", bad)));
    EXPECT_EQ(e.key, "api.listen") << bad;
    EXPECT_TRUE(e.message.starts_with("must be HOST:PORT")) << e.message;
  }
}

TEST(ConfigValidation, ApiToken) {
  for (std::string good : {"", "abc", "A-b.c_d~e+f/g", "dG9rZW4=", "x=="}) {
    EXPECT_TRUE(from_json(with("api.token", good)).ok()) << good;
  }
  for (std::string bad : {"has space", "=abc", "a=b", "tök", "tab\t"}) {
    EXPECT_EQ(only_error(from_json(with("api.token", bad))).key, "api.token") << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Unknown keys, structure, several errors

TEST(ConfigValidation, UnknownKeysAtEveryLevel) {
  const std::vector<std::string> sections = {"",         "scope.",  "limits.", "robots.", "fetch.",
                                             "network.", "output.", "state.",  "api."};
  for (const std::string& section : sections) {
    const std::string key = section + "bogus_key";
    const config_error e = only_error(from_json(with(key, 1)));
    EXPECT_EQ(e.key, key);
    EXPECT_TRUE(e.message.starts_with("unknown key")) << e.message;
  }
}

TEST(ConfigValidation, UnknownKeySuggestsTheNearOne) {
  const config_error e = only_error(yaml("limits:\n  concurency: 4\n"));
  EXPECT_EQ(e.text(), "limits.concurency: unknown key; did you mean \"limits.concurrency\"?");
  EXPECT_EQ(only_error(yaml("seed: [a]\n")).text(), "seed: unknown key; did you mean \"seeds\"?");
  EXPECT_EQ(only_error(yaml("state:\n  directory: x\n")).text(),
            "state.directory: unknown key; expected one of: dir");
}

TEST(ConfigValidation, SectionsMustBeMappings) {
  for (std::string section :
       {"scope", "limits", "robots", "fetch", "network", "output", "state", "api"}) {
    const config_error e = only_error(from_json(with(section, json::array({1}))));
    EXPECT_EQ(e.text(), section + ": must be a mapping, got [1]");
  }
}

TEST(ConfigValidation, TopLevelMustBeAMapping) {
  for (const json& doc : {json::array({1, 2}), json("x"), json(5), json(nullptr)}) {
    const config_error e = only_error(from_json(doc));
    EXPECT_EQ(e.key, "");
    EXPECT_EQ(e.text(), "config: must be a mapping, got " + doc.dump());
  }
  EXPECT_EQ(only_error(yaml("- a\n- b\n")).text(), "config: must be a mapping, got [\"a\",\"b\"]");
  EXPECT_EQ(only_error(yaml("just a string\n")).key, "");
  EXPECT_EQ(only_error(parse_text("[1]", "c.json")).key, "");
}

TEST(ConfigValidation, CollectsEveryError) {
  const load_result r = yaml(R"(seeds: [5]
scope:
  mode: everything
  include: ['(']
limits:
  concurrency: fast
  per_host: 0
  concurency: 3
robots:
  obey: maybe
fetch:
  headers: {User-Agent: x}
network:
  resolve: {"nohost": 1.2.3.4}
output:
  fields: [links, nope]
api:
  listen: nowhere
extra: 1
)");
  const std::set<std::string> expected = {"seeds[0]",
                                          "scope.mode",
                                          "scope.include[0]",
                                          "limits.concurrency",
                                          "limits.per_host",
                                          "limits.concurency",
                                          "robots.obey",
                                          "fetch.headers.User-Agent",
                                          "network.resolve.nohost",
                                          "output.fields[1]",
                                          "api.listen",
                                          "extra"};
  std::set<std::string> keys;
  for (const auto& e : r.errors) keys.insert(e.key);
  EXPECT_EQ(keys, expected) << all_errors(r);
  EXPECT_EQ(r.errors.size(), expected.size()) << all_errors(r);
}

TEST(ConfigValidation, DeepOrLargeValuesAreSummarized) {
  // As the API would get it: parsed from text, never copied (json copies recurse).
  const json deep =
      json::parse("{\"seeds\": [" + std::string(100000, '[') + std::string(100001, ']') + "}");
  const config_error e = only_error(from_json(deep));
  EXPECT_EQ(e.text(), "seeds[0]: must be a string, got [...]");
  const std::string text =
      "{\"seeds\": [" + std::string(100000, '[') + std::string(100001, ']') + "}";
  EXPECT_EQ(only_error(parse_text(text, "deep.json")).key, "seeds[0]");
  EXPECT_EQ(only_error(parse_text(text, "deep.yaml")).key, "seeds[0]");
  const config_error wide =
      only_error(from_json(with("limits.per_host", json(std::vector<int>(1000, 1)))));
  EXPECT_EQ(wide.message, "must be an integer from 1 to 1000, got [...]");
  const config_error map =
      only_error(from_json(with("state.dir", {{"a", {{"b", {{"c", {{"d", {{"e", 1}}}}}}}}}})));
  EXPECT_EQ(map.message, "must be a string, got {...}");
}

TEST(ConfigYaml, DeepNestingIsAnErrorNotACrash) {
  EXPECT_FALSE(yaml(std::string(100000, '[')).ok());
  std::string nested = "seeds: ";
  for (int i = 0; i < 200; ++i) nested += "[";
  for (int i = 0; i < 200; ++i) nested += "]";
  const load_result r = yaml(nested);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(find_error(r, "config"), nullptr) << all_errors(r);
}

TEST(ConfigError, Text) {
  EXPECT_EQ((config_error{"limits.per_host", "bad"}).text(), "limits.per_host: bad");
  EXPECT_EQ((config_error{"", "config: must be a mapping"}).text(), "config: must be a mapping");
}

TEST(ConfigValidation, LongValuesAreCutInMessages) {
  const std::string long_value(500, 'x');
  const config_error e = only_error(from_json(with("limits.per_host", long_value)));
  EXPECT_LT(e.message.size(), 200u);
  EXPECT_TRUE(e.message.ends_with("...")) << e.message;
}

// ---------------------------------------------------------------------------------------
// Files

TEST(ConfigFile, LoadsYamlAndJsonFiles) {
  temp_dir dir;
  const load_result y = load_file(dir.write("c.yaml", full_yaml));
  ASSERT_TRUE(y.ok()) << all_errors(y);
  EXPECT_EQ(y.config, expected_full());
  const load_result j = load_file(dir.write("c.json", full_json));
  ASSERT_TRUE(j.ok()) << all_errors(j);
  EXPECT_EQ(j.config, expected_full());
  const load_result empty = load_file(dir.write("empty.yaml", ""));
  ASSERT_TRUE(empty.ok()) << all_errors(empty);
  EXPECT_EQ(empty.config, crawl_config{});
}

TEST(ConfigFile, EmptyJsonFileIsAnEmptyConfig) {
  temp_dir dir;
  const load_result r = load_file(dir.write("empty.json", " \n"));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config, crawl_config{});
}

TEST(ConfigFile, MissingFileNamesPathAndReason) {
  temp_dir dir;
  const std::string path = (dir.path() / "nope.yaml").string();
  const config_error e = only_error(load_file(path));
  EXPECT_EQ(e.key, "config");
  EXPECT_EQ(e.message, "cannot read \"" + path + "\": No such file or directory");
}

TEST(ConfigFile, DirectoryIsUnreadable) {
  temp_dir dir;
  const config_error e = only_error(load_file(dir.path().string()));
  EXPECT_EQ(e.key, "config");
  EXPECT_NE(e.message.find(dir.path().string()), std::string::npos) << e.message;
}

TEST(ConfigFile, SyntaxErrorNamesThePath) {
  temp_dir dir;
  const std::string path = dir.write("bad.yaml", "limits:\n  per_host: 2\n bad indent: [\n");
  const config_error e = only_error(load_file(path));
  EXPECT_EQ(e.key, "config");
  EXPECT_TRUE(e.message.starts_with(path + ": invalid YAML at line ")) << e.message;

  const std::string json_path = dir.write("bad.json", "{\"limits\": }");
  const config_error je = only_error(load_file(json_path));
  EXPECT_TRUE(je.message.starts_with(json_path + ": invalid JSON: parse error at line 1"))
      << je.message;
}

TEST(ConfigFile, JsonExtensionIsReadAsJsonOnly) {
  temp_dir dir;
  // Valid YAML, not JSON: a .json file must hold JSON.
  const config_error e = only_error(load_file(dir.write("c.json", "limits:\n  per_host: 2\n")));
  EXPECT_NE(e.message.find("invalid JSON"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------------------------------
// merge_patch (RFC 7386 section 3 and appendix A)

TEST(MergePatch, Rfc7386Examples) {
  const std::vector<std::tuple<json, json, json>> cases = {
      {json::parse(R"({"a":"b"})"), json::parse(R"({"a":"c"})"), json::parse(R"({"a":"c"})")},
      {json::parse(R"({"a":"b"})"), json::parse(R"({"b":"c"})"),
       json::parse(R"({"a":"b","b":"c"})")},
      {json::parse(R"({"a":"b"})"), json::parse(R"({"a":null})"), json::parse(R"({})")},
      {json::parse(R"({"a":"b","b":"c"})"), json::parse(R"({"a":null})"),
       json::parse(R"({"b":"c"})")},
      {json::parse(R"({"a":["b"]})"), json::parse(R"({"a":"c"})"), json::parse(R"({"a":"c"})")},
      {json::parse(R"({"a":"c"})"), json::parse(R"({"a":["b"]})"), json::parse(R"({"a":["b"]})")},
      {json::parse(R"({"a":{"b":"c"}})"), json::parse(R"({"a":{"b":"d","c":null}})"),
       json::parse(R"({"a":{"b":"d"}})")},
      {json::parse(R"({"a":[{"b":"c"}]})"), json::parse(R"({"a":[1]})"),
       json::parse(R"({"a":[1]})")},
      {json::parse(R"(["a","b"])"), json::parse(R"(["c","d"])"), json::parse(R"(["c","d"])")},
      {json::parse(R"({"a":"b"})"), json::parse(R"(["c"])"), json::parse(R"(["c"])")},
      {json::parse(R"({"a":"foo"})"), json::parse("null"), json::parse("null")},
      {json::parse(R"({"a":"foo"})"), json::parse(R"("bar")"), json::parse(R"("bar")")},
      {json::parse(R"({"e":null})"), json::parse(R"({"a":1})"), json::parse(R"({"e":null,"a":1})")},
      {json::parse(R"([1,2])"), json::parse(R"({"a":"b","c":null})"), json::parse(R"({"a":"b"})")},
      {json::parse(R"({})"), json::parse(R"({"a":{"bb":{"ccc":null}}})"),
       json::parse(R"({"a":{"bb":{}}})")},
  };
  for (const auto& [target, patch, expected] : cases) {
    EXPECT_EQ(merge_patch(target, patch), expected) << target << " + " << patch;
  }
}

TEST(MergePatch, OverridesOneKeyAndKeepsTheRest) {
  const json base = to_json(expected_full());
  const json merged = merge_patch(base, {{"limits", {{"per_host", 9}}}});
  const load_result r = from_json(merged);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  crawl_config expected = expected_full();
  expected.limits.per_host = 9;
  EXPECT_EQ(r.config, expected);
}

// ---------------------------------------------------------------------------------------
// The schema in proto-free-api/ and the code cannot drift apart

json load_schema() {
  std::ifstream in(TRAWLER_SOURCE_DIR "/proto-free-api/config.schema.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

json schema_default(const json& leaf) {
  json d = leaf.at("default");
  if (d.is_string()) {
    std::string s = d.get<std::string>();
    if (const auto pos = s.find("VERSION"); pos != std::string::npos)
      s.replace(pos, 7, trawler::version);
    d = s;
  }
  return d;
}

struct schema_leaf {
  std::string key;
  json schema;
};

void collect_leaves(const json& schema, const json& actual, const std::string& path,
                    std::vector<schema_leaf>& leaves) {
  SCOPED_TRACE("section: " + (path.empty() ? std::string("(top)") : path));
  ASSERT_EQ(schema.value("type", ""), "object");
  ASSERT_EQ(schema.value("additionalProperties", true), false);
  ASSERT_TRUE(schema.contains("properties"));
  ASSERT_TRUE(actual.is_object());
  std::set<std::string> schema_keys, code_keys;
  for (const auto& [k, v] : schema["properties"].items()) schema_keys.insert(k);
  for (const auto& [k, v] : actual.items()) code_keys.insert(k);
  ASSERT_EQ(schema_keys, code_keys);
  for (const auto& [k, sub] : schema["properties"].items()) {
    const std::string key = path.empty() ? k : path + "." + k;
    EXPECT_FALSE(sub.value("description", "").empty()) << key;
    if (sub.contains("properties")) {
      collect_leaves(sub, actual[k], key, leaves);
      continue;
    }
    ASSERT_TRUE(sub.contains("type")) << key;
    ASSERT_TRUE(sub.contains("default")) << key;
    EXPECT_EQ(schema_default(sub), actual[k]) << key;
    leaves.push_back({key, sub});
  }
}

TEST(ConfigSchema, KeysAndDefaultsEqualTheCode) {
  const json schema = load_schema();
  EXPECT_EQ(schema.value("$schema", ""), "https://json-schema.org/draft/2020-12/schema");
  std::vector<schema_leaf> leaves;
  collect_leaves(schema, to_json(crawl_config{}), "", leaves);
  EXPECT_EQ(leaves.size(), 64u);  // every key of the Config section of proto-free-api/SPEC.md
}

TEST(ConfigSchema, RangesAndEnumsEqualTheCode) {
  const json schema = load_schema();
  std::vector<schema_leaf> leaves;
  collect_leaves(schema, to_json(crawl_config{}), "", leaves);
  std::size_t integers = 0;
  for (const auto& [key, leaf] : leaves) {
    SCOPED_TRACE(key);
    if (leaf["type"] == "integer") {
      ++integers;
      ASSERT_TRUE(leaf.contains("minimum") && leaf.contains("maximum"));
      const auto lo = leaf["minimum"].get<std::int64_t>();
      const auto hi = leaf["maximum"].get<std::int64_t>();
      EXPECT_TRUE(from_json(in_context(key, lo)).ok());
      EXPECT_TRUE(from_json(in_context(key, hi)).ok());
      EXPECT_EQ(only_error(from_json(in_context(key, lo - 1))).key, key);
      EXPECT_EQ(only_error(from_json(in_context(key, hi + 1))).key, key);
      EXPECT_TRUE(only_error(from_json(in_context(key, hi + 1)))
                      .message.starts_with("must be an integer from " + std::to_string(lo) +
                                           " to " + std::to_string(hi)));
    }
    if (leaf.contains("enum")) {
      for (const json& v : leaf["enum"]) EXPECT_TRUE(from_json(in_context(key, v)).ok()) << v;
      EXPECT_EQ(only_error(from_json(in_context(key, "bogus"))).key, key);
    }
    if (leaf.contains("items") && leaf["items"].contains("enum")) {
      for (const json& v : leaf["items"]["enum"]) {
        EXPECT_TRUE(from_json(in_context(key, json::array({v}))).ok()) << v;
      }
      EXPECT_EQ(only_error(from_json(in_context(key, {"bogus"}))).key, key + "[0]");
      EXPECT_EQ(leaf.value("uniqueItems", false), true);
    }
  }
  EXPECT_EQ(integers, int_keys.size());
}

// ---------------------------------------------------------------------------------------
// The example configs in config/ all validate

TEST(ExampleConfigs, EveryExampleIsValid) {
  const fs::path dir = TRAWLER_SOURCE_DIR "/config";
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    names.insert(entry.path().filename().string());
    const load_result r = load_file(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << "\n" << all_errors(r);
  }
  for (std::string expected :
       {"site-crawl.yaml", "domain-crawl.yaml", "service.yaml", "demo.yaml"}) {
    EXPECT_EQ(names.count(expected), 1u) << expected;
  }
}

TEST(ExampleConfigs, CrawlExamplesHaveSeeds) {
  // demo.yaml takes its seed (the demo site's URL) from the command line.
  for (std::string name : {"site-crawl.yaml", "domain-crawl.yaml"}) {
    const load_result r = load_file(TRAWLER_SOURCE_DIR "/config/" + name);
    EXPECT_FALSE(r.config.seeds.empty()) << name;
  }
}

}  // namespace

namespace {

// Regressions found by the config fuzzer (fuzz/regressions/config/).
TEST(ConfigFuzzRegressions, HugeNumberIsAnErrorNotAnException) {
  const auto r = trawler::config::parse_text("{\"scope\":{\"max_depth\":1e400}}", "x.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors.front().key, "config");
}

TEST(ConfigFuzzRegressions, ErrorMessagesStayValidUtf8) {
  const auto r = trawler::config::parse_text("{\"seeds\":[\"\xff", "x.json");
  ASSERT_FALSE(r.ok());
  for (unsigned char c : r.errors.front().message) EXPECT_LT(c, 0x80);
}

TEST(ConfigFuzzRegressions, LeadingCommaDoesNotHangTheYamlParser) {
  for (const char* text : {",", ", a", "# c\n,", "---\n,"}) {
    const auto r = trawler::config::parse_text(text, "x.yaml");
    EXPECT_FALSE(r.ok()) << text;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// cluster.*

TEST(ConfigCluster, DefaultsAndValues) {
  const auto d = yaml("{}");
  ASSERT_TRUE(d.ok()) << all_errors(d);
  EXPECT_EQ(d.config.cluster.redis, "");
  EXPECT_EQ(d.config.cluster.name, "default");
  EXPECT_EQ(d.config.cluster.lease_ms, 15000);
  EXPECT_EQ(d.config.cluster.buckets, 1024);
  const auto r = yaml(
      "cluster:\n  redis: redis://crawler:pw@10.0.0.5:6380/2\n  name: news-2026\n  lease_ms: "
      "5000\n  buckets: 64\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.cluster.redis, "redis://crawler:pw@10.0.0.5:6380/2");
  EXPECT_EQ(r.config.cluster.name, "news-2026");
  EXPECT_EQ(r.config.cluster.lease_ms, 5000);
  EXPECT_EQ(r.config.cluster.buckets, 64);
  // Round trip through to_json.
  const auto again = from_json(to_json(r.config));
  ASSERT_TRUE(again.ok()) << all_errors(again);
  EXPECT_EQ(again.config.cluster, r.config.cluster);
}

TEST(ConfigCluster, ErrorsNameTheKey) {
  auto e = only_error(yaml("cluster:\n  redis: http://h:1\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("redis://"), std::string::npos) << e.message;
  e = only_error(yaml("cluster:\n  redis: redis://h:0\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("port"), std::string::npos) << e.message;
  e = only_error(yaml("cluster:\n  name: \"a/b\"\n"));
  EXPECT_EQ(e.key, "cluster.name");
  e = only_error(yaml("cluster:\n  name: \"\"\n"));
  EXPECT_EQ(e.key, "cluster.name");
  e = only_error(yaml(std::string("cluster:\n  name: ") + std::string(65, 'x') + "\n"));
  EXPECT_EQ(e.key, "cluster.name");
  e = only_error(yaml("cluster:\n  lease_ms: 999\n"));
  EXPECT_EQ(e.key, "cluster.lease_ms");
  e = only_error(yaml("cluster:\n  leases: 1\n"));
  EXPECT_EQ(e.key, "cluster.leases");
  // The crawl's state is in Redis: no second truth in a state dir.
  e = only_error(yaml("cluster:\n  redis: redis://h:6379\nstate:\n  dir: /tmp/s\n"));
  EXPECT_EQ(e.key, "state.dir");
}

// A Redis Cluster: several seed nodes, as a comma list or a YAML/JSON list, kept as one
// string joined by commas.
TEST(ConfigCluster, RedisTakesSeveralNodes) {
  auto r = yaml("cluster:\n  redis: redis://a:7000, redis://b:7001,redis://:pw@c:7002\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.cluster.redis, "redis://a:7000, redis://b:7001,redis://:pw@c:7002");
  r = yaml("cluster:\n  redis:\n    - redis://a:7000\n    - redis://u:pw@b:7001\n");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.cluster.redis, "redis://a:7000,redis://u:pw@b:7001");
  const auto j = from_json(json::parse(R"({"cluster": {"redis": ["redis://a:1"]}})"));
  ASSERT_TRUE(j.ok()) << all_errors(j);
  EXPECT_EQ(j.config.cluster.redis, "redis://a:1");
  // The list round-trips through to_json as its joined string.
  const auto again = from_json(to_json(r.config));
  ASSERT_TRUE(again.ok()) << all_errors(again);
  EXPECT_EQ(again.config.cluster, r.config.cluster);
  // Still one crawl in Redis: no state dir beside a list either.
  auto e = only_error(yaml("cluster:\n  redis: [redis://a:1, redis://b:2]\nstate:\n  dir: /s\n"));
  EXPECT_EQ(e.key, "state.dir");
}

TEST(ConfigCluster, RedisListErrorsNameTheKeyAndTheBadItem) {
  // In a comma list: the key, and the bad URL quoted (never its password).
  auto e = only_error(yaml("cluster:\n  redis: redis://a:7000,redis://u:hunter2@b:0\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("\"redis://u:***@b:0\""), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("port"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
  e = only_error(yaml("cluster:\n  redis: \"redis://a:7000,,redis://b:7001\"\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("URL 2"), std::string::npos) << e.message;
  e = only_error(yaml("cluster:\n  redis: \"redis://a:7000,\"\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  // In a list: the item's key.
  e = only_error(yaml("cluster:\n  redis:\n    - redis://a:7000\n    - http://b:7001\n"));
  EXPECT_EQ(e.key, "cluster.redis[1]");
  EXPECT_NE(e.message.find("redis://"), std::string::npos) << e.message;
  e = only_error(yaml("cluster:\n  redis: [redis://a:1, 7]\n"));
  EXPECT_EQ(e.key, "cluster.redis[1]");
  EXPECT_NE(e.message.find("string"), std::string::npos) << e.message;
  // One URL per item: a comma list inside a list item is not a URL.
  e = only_error(yaml("cluster:\n  redis: [\"redis://a:1,redis://b:2\"]\n"));
  EXPECT_EQ(e.key, "cluster.redis[0]");
  const auto two = yaml("cluster:\n  redis: [http://a:1, redis://b:0]\n");
  ASSERT_EQ(two.errors.size(), 2u) << all_errors(two);
  EXPECT_TRUE(find_error(two, "cluster.redis[0]"));
  EXPECT_TRUE(find_error(two, "cluster.redis[1]"));
  e = only_error(yaml("cluster:\n  redis: []\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  e = only_error(yaml("cluster:\n  redis: {url: redis://a:1}\n"));
  EXPECT_EQ(e.key, "cluster.redis");
  EXPECT_NE(e.message.find("list"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------------------------------
// recrawl (SPEC additions "Recrawl")

TEST(ConfigRecrawl, DefaultsAreOffAndAUserCanLiveWithThem) {
  const crawl_config c;
  EXPECT_EQ(c.recrawl.mode, "off");
  EXPECT_EQ(c.recrawl.interval_ms, 86400000);
  EXPECT_EQ(c.recrawl.min_interval_ms, 3600000);
  EXPECT_EQ(c.recrawl.max_interval_ms, 2592000000);
  EXPECT_TRUE(crawl_command_problems(c).empty());
}

TEST(ConfigRecrawl, ModesNumbersAndRules) {
  const load_result r = from_json(json::parse(R"({"state": {"dir": "s"}, "recrawl": {
      "mode": "continuous", "grow": 1, "shrink": 0.25, "jitter": 0.05, "revisit_share": 0.3,
      "rules": [{"match": "/news/", "interval_ms": 600000, "min_interval_ms": 100},
                {"match": "\\.pdf$", "max_interval_ms": 100000000}]}})"));
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.config.recrawl.mode, "continuous");
  EXPECT_EQ(r.config.recrawl.grow, 1.0);
  EXPECT_EQ(r.config.recrawl.shrink, 0.25);
  ASSERT_EQ(r.config.recrawl.rules.size(), 2u);
  EXPECT_EQ(r.config.recrawl.rules[0].interval_ms, 600000);
  EXPECT_EQ(r.config.recrawl.rules[1].interval_ms, 0);  // the section's value
  EXPECT_EQ(from_json(to_json(r.config)).config, r.config);
  EXPECT_TRUE(crawl_command_problems(r.config).empty());
}

TEST(ConfigRecrawl, BadValuesNameTheirKey) {
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"mode": "daily"}})"))).key,
            "recrawl.mode");
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"shrink": 1.5}})"))).key,
            "recrawl.shrink");
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"jitter": "some"}})"))).message,
            "must be a number from 0 to 0.5, got \"some\"");
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"revisit_share": -0.1}})"))).key,
            "recrawl.revisit_share");
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"rules": [{"match": "("}]}})"))).key,
            "recrawl.rules[0].match");
  EXPECT_EQ(
      only_error(from_json(json::parse(R"({"recrawl": {"rules": [{"interval_ms": 1000}]}})"))).key,
      "recrawl.rules[0].match");
  EXPECT_EQ(only_error(from_json(json::parse(
                           R"({"recrawl": {"rules": [{"match": "a", "interval_ms": 99}]}})")))
                .key,
            "recrawl.rules[0].interval_ms");
  EXPECT_EQ(
      only_error(from_json(json::parse(R"({"recrawl": {"rules": [{"match": "a", "x": 1}]}})"))).key,
      "recrawl.rules[0].x");
  EXPECT_EQ(only_error(from_json(json::parse(R"({"recrawl": {"rules": {"match": "a"}}})"))).key,
            "recrawl.rules");
}

TEST(ConfigRecrawl, NeedsAStateDirForTheCrawlCommandAndAFleetRunsContinuousOnly) {
  const load_result r = from_json(json::parse(R"({"recrawl": {"mode": "pass"}})"));
  ASSERT_TRUE(r.ok());
  const auto problems = crawl_command_problems(r.config);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].key, "recrawl.mode");
  EXPECT_NE(problems[0].message.find("state.dir"), std::string::npos);
  const load_result cluster = from_json(
      json::parse(R"({"recrawl": {"mode": "pass"}, "cluster": {"redis": "redis://h:1"}})"));
  EXPECT_EQ(only_error(cluster).key, "recrawl.mode");
  EXPECT_NE(only_error(cluster).message.find("continuous"), std::string::npos);
  // A fleet keeps its visits in Redis: continuous needs no state dir there.
  const load_result fleet = from_json(
      json::parse(R"({"recrawl": {"mode": "continuous"}, "cluster": {"redis": "redis://h:1"}})"));
  ASSERT_TRUE(fleet.ok());
  EXPECT_TRUE(crawl_command_problems(fleet.config).empty());
}
