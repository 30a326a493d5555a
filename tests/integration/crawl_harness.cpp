#include "crawl_harness.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace trawler::testing {

const nlohmann::json& crawl_run::at(const std::string& url) const {
  auto it = by_url.find(url);
  if (it == by_url.end()) throw std::runtime_error("no record for " + url);
  return it->second;
}

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "trawler-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<nlohmann::json> read_jsonl(const std::string& path, int* torn) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      if (torn) ++*torn;
      continue;
    }
    out.push_back(std::move(j));
  }
  return out;
}

std::string trawler_binary() {
  // TRAWLER_BINARY runs the suite against another build (an older commit, to see a test fail).
  if (const char* other = std::getenv("TRAWLER_BINARY"); other && *other) return other;
  return std::string(TRAWLER_BINARY_DIR) + "/trawler";
}

std::string page(const std::string& title, const std::vector<std::string>& hrefs,
                 const std::string& extra) {
  std::string html =
      "<!doctype html><html><head><title>" + title + "</title>" + extra + "</head><body>";
  for (const auto& h : hrefs) html += "<a href=\"" + h + "\">link</a>\n";
  return html + "</body></html>";
}

std::vector<std::string> resolve_args(const test_server& s, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    out.push_back("--resolve");
    out.push_back(n + ":" + std::to_string(s.port()) + ":127.0.0.1");
  }
  return out;
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

crawl_run run_crawl(const std::vector<std::string>& args, const environment& env) {
  static int counter = 0;
  static temp_dir dir;
  crawl_run run;
  std::string base = dir.path() + "/run" + std::to_string(++counter);
  run.output_path = base + ".jsonl";
  std::string stats_path = base + ".stats.json";
  std::vector<std::string> argv{trawler_binary(), "crawl",   "--allow-private",
                                "--no-progress",  "-o",      run.output_path,
                                "--stats",        stats_path};
  argv.insert(argv.end(), args.begin(), args.end());
  run.proc = run_process(argv, env, std::chrono::seconds(120));
  std::ifstream in(run.output_path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (j.is_discarded() || !j.is_object()) continue;
    std::string url = j.value("url", "");
    run.by_url[url] = j;
    ++run.count_by_url[url];
    run.records.push_back(std::move(j));
  }
  std::ifstream sin(stats_path);
  if (sin) {
    std::stringstream ss;
    ss << sin.rdbuf();
    run.stats = nlohmann::json::parse(ss.str(), nullptr, false);
  }
  return run;
}

std::string validate_records_against_schema(const std::string& jsonl_path) {
  std::string schema = std::string(TRAWLER_SOURCE_DIR) + "/proto-free-api/record.schema.json";
  std::string script =
      "import json,sys,jsonschema\n"
      "schema=json.load(open(sys.argv[1]))\n"
      "v=jsonschema.Draft202012Validator(schema)\n"
      "bad=0\n"
      "for n,line in enumerate(open(sys.argv[2],encoding='utf-8'),1):\n"
      "    for e in v.iter_errors(json.loads(line)):\n"
      "        bad+=1\n"
      "        print('line',n,':',e.message) if bad<10 else None\n"
      "sys.exit(1 if bad else 0)\n";
  auto r = run_process({"python3", "-c", script, schema, jsonl_path});
  if (r.exit_code == 0) return "";
  return r.out + r.err;
}

}  // namespace trawler::testing
