// WARC archives of real crawls (SPEC additions "WARC archive"), read back with webrecorder's
// warcio (tests/warc/check-warc.mjs), never with trawler's own code.
#include <gtest/gtest.h>
#include <zlib.h>

#include <csignal>
#include <filesystem>
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
namespace fs = std::filesystem;

namespace {

// warcio's view of the WARC files: {"files":[{"file","records":[...]}]}; fails the test when
// the checker does not accept them.
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

std::vector<std::string> warc_files(const std::string& dir, bool* part_left = nullptr) {
  std::vector<std::string> out;
  if (part_left) *part_left = false;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".warc.gz"))
      out.push_back(e.path().string());
    else if (name.ends_with(".part") && part_left)
      *part_left = true;
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct record_key {
  std::string file;
  std::uint64_t offset;
  bool operator<(const record_key& o) const {
    return std::tie(file, offset) < std::tie(o.file, o.offset);
  }
};

std::map<record_key, json> by_position(const json& checked) {
  std::map<record_key, json> out;
  for (const auto& f : checked.value("files", json::array())) {
    for (const auto& r : f.at("records")) {
      out[{f.at("file").get<std::string>(), r.at("offset").get<std::uint64_t>()}] = r;
    }
  }
  return out;
}

std::string gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

response answer(std::string body, std::string type = "text/html", int status = 200,
                std::vector<std::pair<std::string, std::string>> headers = {},
                std::chrono::milliseconds delay = 0ms) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(type);
  r.headers = std::move(headers);
  r.delay = delay;
  return r;
}

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, ' ');
  for (auto& c : s) c = static_cast<char>('!' + rng() % 90);
  return s;
}

}  // namespace

TEST(Warc, EveryResponseIsArchivedAndItsRecordPointsAtIt) {
  test_server s;
  const std::string b = s.base_url();
  s.add_page("/robots.txt", answer("User-agent: *\nDisallow: /secret\n", "text/plain"));
  s.add_html("/", page("home", {"/a", "/chunked", "/gz", "/missing", "/moved", "/big", "/secret",
                                "/empty", "/dropped"}));
  // An error without a response: nothing to archive.
  s.add_misbehaviour("/dropped", misbehaviour::close_immediately);
  s.add_html("/a", page("a", {"/"}));
  // Chunked on the wire, with a chunk extension: the archive keeps the chunks as sent.
  s.add_page("/chunked",
             answer("19;ext=1\r\n<html><title>c</title></h\r\n7\r\ntml>...\r\n0\r\n\r\n",
                    "text/html", 200, {{"Transfer-Encoding", "chunked"}}));
  s.add_page("/gz",
             answer(gzip(page("gz", {"/a"})), "text/html", 200, {{"Content-Encoding", "gzip"}}));
  s.add_page("/missing", answer("not here", "text/html", 404));
  s.add_redirect("/moved", "/a");
  s.add_page("/big", answer(random_text(20000, 1), "text/plain"));
  s.add_page("/empty", answer("", "", 204));
  temp_dir dir;
  const std::string warc = dir.path() + "/warc";
  const std::string cfg = dir.path() + "/c.json";
  std::ofstream(cfg) << json({{"limits", {{"max_body_bytes", 5000}}}}).dump();
  auto run = run_crawl({"-c", cfg, "--warc", warc, "--max-tries", "1", b + "/"});
  ASSERT_EQ(run.proc.exit_code, 0) << run.proc.err;
  EXPECT_EQ(validate_records_against_schema(run.output_path), "");

  bool part = false;
  const auto files = warc_files(warc, &part);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_FALSE(part) << "the crawl ended: its WARC file is published";
  const json checked = read_with_warcio(files);
  const auto at = by_position(checked);
  ASSERT_FALSE(at.empty());
  EXPECT_EQ(checked["files"][0]["records"][0]["type"], "warcinfo");

  std::map<std::string, int> types;
  std::map<std::string, json> response_by_id;
  for (const auto& [pos, r] : at) {
    ++types[r.at("type").get<std::string>()];
    EXPECT_NE(r.at("block_digest_ok"), false) << r.dump();
    EXPECT_TRUE(r.at("block_digest").is_string()) << r.dump();
    if (r.at("type") == "response") {
      EXPECT_EQ(r.at("payload_digest_ok"), true) << r.dump();
      response_by_id[r.at("record_id").get<std::string>()] = r;
    }
  }
  // Pages with a response, not the redirect, not robots.txt's refusal: /, /a, /chunked, /gz,
  // /missing, /big, /empty; and robots.txt itself.
  EXPECT_EQ(types["response"], 8);
  EXPECT_EQ(types["request"], 8);
  const std::string info = checked["files"][0]["records"][0]["record_id"];
  for (const auto& [pos, r] : at) {
    if (r.at("type") != "warcinfo") {
      EXPECT_EQ(r.at("warcinfo_id"), info) << r.dump();
    }
  }
  std::size_t robots_responses = 0;
  for (const auto& [id, r] : response_by_id) {
    if (r.at("target_uri") == b + "/robots.txt") {
      ++robots_responses;
      EXPECT_EQ(r.at("http_status"), 200);
    }
  }
  EXPECT_EQ(robots_responses, 1u);
  EXPECT_EQ(types["warcinfo"], 1);
  EXPECT_GE(types["metadata"], 3);  // the HTML pages' outlinks
  for (const auto& [pos, r] : at) {
    if (r.at("type") != "request" && r.at("type") != "metadata") continue;
    ASSERT_TRUE(response_by_id.count(r.at("concurrent_to").get<std::string>())) << r.dump();
    EXPECT_EQ(response_by_id[r.at("concurrent_to").get<std::string>()].at("target_uri"),
              r.at("target_uri"));
  }

  std::size_t pointed = 0;
  for (const auto& rec : run.records) {
    const std::string url = rec.at("url");
    const bool redirect = !rec.at("redirect").is_null();
    if (rec.at("status").is_null() || redirect) {
      EXPECT_FALSE(rec.contains("warc")) << url;
      continue;
    }
    ASSERT_TRUE(rec.contains("warc")) << url;
    const auto& w = rec.at("warc");
    auto it = at.find({w.at("file").get<std::string>(), w.at("offset").get<std::uint64_t>()});
    ASSERT_NE(it, at.end()) << url << " points at no record: " << w.dump();
    const json& r = it->second;
    EXPECT_EQ(r.at("type"), "response") << url;
    EXPECT_EQ(r.at("target_uri"), url);
    EXPECT_EQ(r.at("length"), w.at("length")) << url;
    EXPECT_EQ(r.at("http_status"), rec.at("status")) << url;
    EXPECT_EQ(r.at("truncated").is_string() && r.at("truncated") == "length",
              rec.at("truncated").get<bool>())
        << url;
    ++pointed;
  }
  EXPECT_EQ(pointed, 7u);
  EXPECT_EQ(run.at(b + "/secret").at("error").at("kind"), "robots");
  EXPECT_TRUE(run.at(b + "/dropped").at("status").is_null());
  EXPECT_TRUE(run.at(b + "/big").at("truncated").get<bool>());
  EXPECT_TRUE(run.at(b + "/chunked").at("error").is_null()) << run.at(b + "/chunked").dump();
  EXPECT_EQ(run.at(b + "/chunked").at("title"), "c");
  EXPECT_EQ(run.at(b + "/gz").at("title"), "gz");
}

// Size rotation, and a SIGKILL in the middle of a WARC file: every published file is whole, the
// next run publishes the leftover, and every record's pointer holds across both runs.
TEST(Warc, RotatesBySizeAndSurvivesSigkill) {
  test_server s;
  const std::string b = s.base_url();
  std::vector<std::string> links;
  for (int i = 0; i < 40; ++i) {
    links.push_back("/r" + std::to_string(i));
    // Incompressible, so 1 MiB of archive is about 10 pages.
    s.add_page(links.back(),
               answer(random_text(100000, static_cast<unsigned>(i)), "text/plain", 200, {}, 40ms));
  }
  s.add_html("/", page("home", links));
  temp_dir dir;
  const std::string warc = dir.path() + "/warc";
  const std::string out = dir.path() + "/out.jsonl";
  const std::string cfg = dir.path() + "/c.json";
  std::ofstream(cfg) << json({{"output", {{"warc_rotate_bytes", 1048576}}}}).dump();
  const std::vector<std::string> args{trawler_binary(),
                                      "crawl",
                                      "--allow-private",
                                      "--no-progress",
                                      "-q",
                                      "-c",
                                      cfg,
                                      "--warc",
                                      warc,
                                      "-o",
                                      out,
                                      "--state-dir",
                                      dir.path() + "/state",
                                      "--concurrency",
                                      "2",
                                      "--per-host",
                                      "2",
                                      b + "/"};
  auto first = start_process(args);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool part = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(warc) && !warc_files(warc, &part).empty() && part) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(part) << "no WARC file was closed while another was open";
  first.signal(SIGKILL);
  first.wait(10s);
  const auto closed = warc_files(warc);
  read_with_warcio(closed);  // whole, as a collector may take them

  auto second = run_process(args, {}, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto files = warc_files(warc, &part);
  EXPECT_FALSE(part);
  EXPECT_GE(files.size(), 4u) << "41 pages of 100 kB in files of 1 MiB";
  const json checked = read_with_warcio(files);
  // Each file's records name that file's own warcinfo record, the one a kill left too.
  std::set<std::string> infos;
  for (const auto& f : checked.at("files")) {
    const auto& recs = f.at("records");
    EXPECT_EQ(recs.at(0).at("type"), "warcinfo") << f.at("file");
    const std::string info = recs.at(0).at("record_id");
    EXPECT_TRUE(infos.insert(info).second) << f.at("file");
    for (std::size_t k = 1; k < recs.size(); ++k)
      EXPECT_EQ(recs.at(k).at("warcinfo_id"), info) << f.at("file") << " record " << k;
  }
  const auto at = by_position(checked);
  std::map<std::string, int> pages;
  for (const auto& rec : read_jsonl(out)) {
    const std::string url = rec.at("url");
    ++pages[url];
    ASSERT_TRUE(rec.contains("warc")) << url;
    const auto& w = rec.at("warc");
    auto it = at.find({w.at("file").get<std::string>(), w.at("offset").get<std::uint64_t>()});
    ASSERT_NE(it, at.end()) << url << " points at no record: " << w.dump();
    EXPECT_EQ(it->second.at("type"), "response");
    EXPECT_EQ(it->second.at("target_uri"), url);
  }
  EXPECT_EQ(pages.size(), 41u);
  for (const auto& [url, n] : pages) EXPECT_EQ(n, 1) << url;
}

TEST(Warc, UnusableFolderNamesTheKey) {
  temp_dir dir;
  std::ofstream(dir.path() + "/file") << "x";
  auto r = run_process({trawler_binary(), "crawl", "--allow-private", "--warc",
                        dir.path() + "/file", "http://127.0.0.1:9/"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("output.warc"), std::string::npos) << r.err;
}
