// `trawler report` on real outputs: plain, rotated and compressed, several at once.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "crawl_harness.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

json report_data(const std::string& html_path) {
  std::ifstream in(html_path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string html = ss.str();
  const std::string open = "<script type=\"application/json\" id=\"trawler-report\">";
  const auto a = html.find(open);
  const auto b = html.find("</script>", a);
  if (a == std::string::npos || b == std::string::npos) return json();
  return json::parse(html.substr(a + open.size(), b - a - open.size()), nullptr, false);
}

std::vector<json> decompressed_records(const std::string& dir) {
  std::vector<json> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    auto text = run_process({"gzip", "-dc", e.path().string()});
    std::istringstream in(text.out);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
  }
  return out;
}

}  // namespace

TEST(ReportCommand, AddsUpSegmentsAndFilesOfTwoCrawls) {
  test_server s;
  const std::string b = s.base_url();
  s.add_page("/robots.txt", [] {
    response r;
    r.body = "User-agent: *\nDisallow: /private\n";
    r.content_type = "text/plain";
    return r;
  }());
  std::vector<std::string> links{"/private", "/gone", "/drop"};
  for (int i = 0; i < 30; ++i) links.push_back("/p" + std::to_string(i));
  s.add_html("/", page("home", links));
  for (int i = 0; i < 30; ++i) s.add_html("/p" + std::to_string(i), page("p", {"/"}));
  response gone;
  gone.status = 404;
  gone.body = "gone";
  s.add_page("/gone", gone);
  s.add_misbehaviour("/drop", misbehaviour::close_immediately);
  temp_dir dir;
  const std::string segs = dir.path() + "/segs";
  auto first = run_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-q",
                            "--max-tries", "1", "--output-dir", segs, "--rotate-bytes", "3000",
                            "--compress", "gzip", b + "/"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // A second crawl of another name for the same server, as another worker's output.
  const std::string other = dir.path() + "/other.jsonl";
  auto second = run_crawl(concat(
      {"-o", other, "--max-tries", "1", "http://second.test:" + std::to_string(s.port()) + "/"},
      resolve_args(s, {"second.test"})));
  ASSERT_EQ(second.proc.exit_code, 0) << second.proc.err;

  std::vector<json> all = decompressed_records(segs);
  const std::size_t from_segments = all.size();
  for (const auto& r : read_jsonl(other)) all.push_back(r);
  std::map<std::string, int> kinds;
  std::map<std::string, int> pages_by_host;
  int pages = 0;
  for (const auto& r : all) {
    if (r.at("error").is_object()) ++kinds[r.at("error").at("kind").get<std::string>()];
    if (!r.at("status").is_null()) {
      ++pages;
      const std::string url = r.at("url");
      ++pages_by_host[url.substr(0, url.find('/', url.find("://") + 3))];
    }
  }
  ASSERT_GT(from_segments, 30u);
  ASSERT_EQ(kinds["robots"], 2);  // /private on both names

  const std::string html = dir.path() + "/report.html";
  auto rep = run_process({trawler_binary(), "report", segs, other, "-o", html});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_EQ(rep.out, "");
  EXPECT_NE(rep.err.find("wrote " + html), std::string::npos) << rep.err;
  const json d = report_data(html);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["records"], all.size());
  EXPECT_EQ(d["pages"], pages);
  EXPECT_EQ(d["invalid_lines"], 0);
  for (const auto& [kind, n] : kinds) EXPECT_EQ(d["error_kinds"][kind]["count"], n) << kind;
  EXPECT_EQ(d["error_kinds"].size(), kinds.size());
  ASSERT_EQ(d["hosts"].size(), 2u);
  for (const auto& h : d["hosts"]) {
    EXPECT_EQ(h["pages"], pages_by_host[h["host"].get<std::string>()]) << h.dump();
    EXPECT_EQ(h["robots"], 1) << h.dump();
    EXPECT_GT(h["median_ms"].get<double>(), 0);
  }
  EXPECT_EQ(d["status"]["4xx"], 2);

  // One file, nothing to fetch from the network.
  std::ifstream in(html);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_FALSE(
      std::regex_search(ss.str(), std::regex(R"(<script[^>]*\bsrc=|<link|url\(|@import)")));

  // Bad inputs: a missing path, a folder without outputs.
  auto missing = run_process({trawler_binary(), "report", dir.path() + "/nope"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  fs::create_directories(dir.path() + "/empty");
  auto empty = run_process({trawler_binary(), "report", dir.path() + "/empty"});
  EXPECT_EQ(empty.exit_code, 2);
  auto none = run_process({trawler_binary(), "report"});
  EXPECT_EQ(none.exit_code, 2);
}

// Without -o the report goes to ./report.html, and an existing one is never replaced unasked:
// exit 2 naming it and the way out. -o names the file to write and replaces it; --force
// replaces the default.
TEST(ReportCommand, DefaultReportIsNotOverwrittenWithoutOutputOrForce) {
  test_server s;
  s.add_html("/", page("home", {"/a", "/b"}));
  s.add_html("/a", page("a", {}));
  s.add_html("/b", page("b", {}));
  const crawl_run small = run_crawl({s.base_url() + "/a"});
  ASSERT_EQ(small.proc.exit_code, 0) << small.proc.err;
  const crawl_run big = run_crawl({s.base_url() + "/"});
  ASSERT_EQ(big.proc.exit_code, 0) << big.proc.err;
  ASSERT_NE(small.records.size(), big.records.size());
  temp_dir dir;
  const std::string html = dir.path() + "/report.html";
  // `trawler report` run in `dir`, as a user in their working folder.
  auto report_in_dir = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"env", "-C", dir.path(), trawler_binary(), "report"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
  };

  auto first = report_in_dir({small.output_path});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("wrote report.html"), std::string::npos) << first.err;
  ASSERT_EQ(report_data(html)["records"], small.records.size());

  // Again without -o: refused, and the first report survives.
  auto second = report_in_dir({big.output_path});
  EXPECT_EQ(second.exit_code, 2) << second.err;
  EXPECT_NE(second.err.find("report.html exists"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("-o FILE"), std::string::npos) << second.err;
  EXPECT_NE(second.err.find("--force"), std::string::npos) << second.err;
  EXPECT_EQ(report_data(html)["records"], small.records.size());
  EXPECT_FALSE(fs::exists(html + ".tmp"));

  // -o report.html, given explicitly, replaces it.
  auto explicit_out = report_in_dir({big.output_path, "-o", "report.html"});
  ASSERT_EQ(explicit_out.exit_code, 0) << explicit_out.err;
  EXPECT_EQ(report_data(html)["records"], big.records.size());

  // --force replaces the default.
  auto forced = report_in_dir({small.output_path, "--force"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(report_data(html)["records"], small.records.size());

  // -o elsewhere leaves report.html alone; - still writes to stdout.
  auto other = report_in_dir({big.output_path, "-o", "other.html"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(report_data(dir.path() + "/other.html")["records"], big.records.size());
  EXPECT_EQ(report_data(html)["records"], small.records.size());
  auto to_stdout = report_in_dir({big.output_path, "-o", "-"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_NE(to_stdout.out.find("id=\"trawler-report\""), std::string::npos);
}

// It streams: a 100 MB output (decompressed) is reported in a small fraction of that memory.
TEST(ReportCommand, StreamsABigOutput) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "under AddressSanitizer the peak RSS measures its quarantine, not the report";
#endif
  temp_dir dir;
  const std::string path = dir.path() + "/big.jsonl";
  std::uint64_t plain = 0;
  {
    std::ofstream out(path);
    std::string links;
    for (int l = 0; l < 12; ++l) {
      links += std::string(l ? "," : "") + "\"http://h.test/some/longer/path/to/a/page/" +
               std::to_string(l) + "\"";
    }
    for (int i = 0; i < 140000; ++i) {
      std::string line =
          R"({"url":"http://h)" + std::to_string(i % 50) + ".test/p" + std::to_string(i) +
          R"(","status":200,"error":null,"redirect":null,"depth":3,"referrer":null,)"
          R"("fetched_at":"2026-12-04T10:)" +
          std::to_string(10 + i / 10000) + ":" + std::to_string(10 + i % 50) +
          R"(.000Z","elapsed_ms":)" + std::to_string(5 + i % 100) +
          R"(,"attempts":1,"content_type":"text/html","size":28000,"links":[)" + links + "]}\n";
      plain += line.size();
      out << line;
    }
  }
  ASSERT_GT(plain, 100'000'000u);
  ASSERT_EQ(run_process({"zstd", "-q", "--rm", path}).exit_code, 0);
  auto rep = run_process({"/usr/bin/time", "-f", "maxrss_kb=%M", trawler_binary(), "report",
                          path + ".zst", "-o", dir.path() + "/r.html"});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  const auto at = rep.err.find("maxrss_kb=");
  ASSERT_NE(at, std::string::npos) << rep.err;
  const long kb = std::stol(rep.err.substr(at + 10));
  EXPECT_LT(kb, 40 * 1024) << "peak RSS " << kb << " kB for " << plain << " bytes of records";
  const json d = report_data(dir.path() + "/r.html");
  EXPECT_EQ(d["records"], 140000);
  EXPECT_EQ(d["hosts"].size(), 50u);
}
