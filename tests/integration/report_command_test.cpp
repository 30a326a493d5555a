// `trawler report` on real outputs: plain, rotated and compressed, several at once.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
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

namespace {

// RFC 4180 records (CRLF line ends, quoted fields with doubled quotes).
std::vector<std::vector<std::string>> parse_csv(const std::string& text, std::string& problem) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(field));
      field.clear();
      was_quoted = false;
      ++i;
      if (i + 1 < text.size()) rows.emplace_back();
    } else if (c == '\n' || c == '"') {
      problem = "bare LF or quote at byte " + std::to_string(i);
    } else {
      field += c;
    }
  }
  if (quoted || !field.empty()) problem = "last line does not end with CRLF";
  return rows;
}

std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

}  // namespace

// A real crawl of pages linking 404 and 500 URLs (one with a comma, one reached through a
// redirect), then `trawler report --broken-links`: a CSV a spreadsheet reads, each broken URL
// with its status and every page linking it.
TEST(ReportCommand, BrokenLinksCsvOfARealCrawl) {
  test_server s;
  const std::string b = s.base_url();
  s.add_html("/", page("home", {"/a", "/b", "/missing", "/gone,old", "/old"}));
  s.add_html("/a", page("a", {"/missing", "/boom", "/"}));
  s.add_html("/b", page("b", {"/missing", "/a"}));
  s.add_redirect("/old", "/missing");
  response missing;
  missing.status = 404;
  missing.body = "<p>no such page</p>";
  s.add_page("/missing", missing);
  s.add_page("/gone,old", missing);
  response boom;
  boom.status = 500;
  boom.body = "oops";
  s.add_page("/boom", boom);
  temp_dir dir;
  const std::string out = dir.path() + "/out.jsonl";
  auto crawl = run_process({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-q",
                            "--max-tries", "1", "-o", out, b + "/"});
  ASSERT_EQ(crawl.exit_code, 0) << crawl.err;
  ASSERT_EQ(read_jsonl(out).size(), 7u);

  const std::string csv_path = dir.path() + "/broken.csv";
  auto rep = run_process({trawler_binary(), "report", out, "--broken-links", csv_path});
  ASSERT_EQ(rep.exit_code, 0) << rep.err;
  EXPECT_NE(rep.err.find("3 broken URLs; wrote " + csv_path), std::string::npos) << rep.err;
  EXPECT_NE(rep.err.find("3 answered 4xx/5xx, 0 fetch errors"), std::string::npos) << rep.err;
  EXPECT_EQ(rep.err.find("report.html"), std::string::npos) << "--broken-links alone: no HTML";
  std::ifstream in(csv_path, std::ios::binary);
  const std::string csv((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string problem;
  const auto rows = parse_csv(csv, problem);
  ASSERT_TRUE(problem.empty()) << problem << "\n" << csv;
  ASSERT_EQ(rows.size(), 4u) << csv;
  EXPECT_EQ(rows[0],
            (std::vector<std::string>{"url", "status", "linked_from_count", "linked_from"}));
  for (const auto& r : rows) ASSERT_EQ(r.size(), 4u) << csv;
  // Most linked first: /missing is linked from /, /a and /b, and /old redirects to it.
  EXPECT_EQ(rows[1][0], b + "/missing");
  EXPECT_EQ(rows[1][1], "404");
  EXPECT_EQ(rows[1][2], "4");
  EXPECT_EQ(words(rows[1][3]), (std::set<std::string>{b + "/", b + "/a", b + "/b", b + "/old"}));
  // Then by status: the 404 with a comma (quoted in the file), the 500.
  EXPECT_EQ(rows[2], (std::vector<std::string>{b + "/gone,old", "404", "1", b + "/"}));
  EXPECT_NE(csv.find("\"" + b + "/gone,old\",404,1,"), std::string::npos) << csv;
  EXPECT_EQ(rows[3], (std::vector<std::string>{b + "/boom", "500", "1", b + "/a"}));

  // To stdout, and beside the HTML report, whose table and figures say the same.
  auto to_stdout = run_process({trawler_binary(), "report", out, "--broken-links", "-"});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, csv);
  const std::string html = dir.path() + "/r.html";
  auto both = run_process(
      {trawler_binary(), "report", out, "-o", html, "--broken-links", dir.path() + "/b2.csv"});
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_TRUE(fs::exists(dir.path() + "/b2.csv"));
  const json d = report_data(html);
  EXPECT_EQ(d["http_errors"], 3);
  EXPECT_EQ(d["errors"], 0);
  EXPECT_EQ(d["broken_links"]["listed"], 3);
  EXPECT_EQ(d["broken_links"]["rows"][0]["url"], b + "/missing");
  // Both on stdout would be one stream of two formats.
  auto clash = run_process({trawler_binary(), "report", out, "-o", "-", "--broken-links", "-"});
  EXPECT_EQ(clash.exit_code, 2);
}
