// Rotated JSONL segments (SPEC additions "Rotated segments"): what a collector picking files up
// from output.dir sees, read with the system's own gzip and zstd.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "crawl_harness.hpp"
#include "support/demo_site.hpp"
#include "support/test_server.hpp"

using namespace trawler::testing;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct site {
  site_options opt;
  test_server server{test_server::options{
      .tls = false, .certificate = cert::good, .port = 0, .log_requests = false}};
  site(int pages, std::chrono::milliseconds delay) {
    opt.pages = pages;
    opt.links_per_page = 6;
    opt.page_bytes = 1500;
    for (int i = 0; i < pages; ++i) {
      response r;
      r.body = render_page(opt, i);
      r.delay = delay;
      server.add_page(page_path(i), r);
    }
  }
  std::set<std::string> urls() const {
    std::set<std::string> all;
    for (const auto& p : all_paths(opt)) all.insert(server.base_url() + p);
    return all;
  }
};

struct segment {
  int serial = 0;
  std::string name;
  std::string ext;  // "", ".gz", ".zst"
  bool part = false;
};

std::vector<segment> segments_in(const std::string& dir) {
  static const std::regex name(R"(records-(\d{6})\.jsonl(\.gz|\.zst)?(\.part)?)");
  std::vector<segment> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    std::smatch m;
    if (!std::regex_match(n, m, name)) {
      ADD_FAILURE() << "unexpected file in the output folder: " << n;
      continue;
    }
    out.push_back({std::stoi(m[1]), n, m[2], m[3].matched});
  }
  std::sort(out.begin(), out.end(),
            [](const segment& a, const segment& b) { return a.serial < b.serial; });
  return out;
}

// A closed segment's text, through the command-line tools a collector would use: `gzip -t` /
// `zstd -t` must pass, then every line must be one JSON object.
std::string closed_segment_text(const std::string& dir, const segment& s) {
  const std::string path = dir + "/" + s.name;
  if (s.ext.empty()) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  const std::string tool = s.ext == ".gz" ? "gzip" : "zstd";
  auto test = run_process({tool, "-t", path}, {}, 30s);
  EXPECT_EQ(test.exit_code, 0) << tool << " -t " << s.name << ": " << test.err;
  auto cat = run_process({tool, "-dc", path}, {}, 30s);
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  return cat.out;
}

std::vector<json> parse_lines(const std::string& text, const std::string& where) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << where << ": not a JSON line: " << line.substr(0, 120);
    if (j.is_object()) out.push_back(std::move(j));
  }
  EXPECT_TRUE(text.empty() || text.back() == '\n') << where << " ends inside a line";
  return out;
}

struct folder_records {
  std::vector<segment> segments;
  std::map<std::string, int> count_by_url;
  std::vector<std::size_t> bytes;  // record bytes per closed segment
  std::vector<std::size_t> last_line_bytes;
};

folder_records read_folder(const std::string& dir) {
  folder_records r;
  r.segments = segments_in(dir);
  for (const auto& s : r.segments) {
    if (s.part) continue;
    const std::string text = closed_segment_text(dir, s);
    r.bytes.push_back(text.size());
    const auto cut = text.rfind('\n', text.size() >= 2 ? text.size() - 2 : 0);
    r.last_line_bytes.push_back(cut == std::string::npos ? text.size() : text.size() - cut - 1);
    for (const auto& j : parse_lines(text, s.name))
      ++r.count_by_url[j.at("url").get<std::string>()];
  }
  return r;
}

std::vector<std::string> crawl_args(const std::string& seed, const std::vector<std::string>& more) {
  return concat({trawler_binary(), "crawl", "--allow-private", "--no-progress", "-q",
                 "--concurrency", "4", "--per-host", "4", seed},
                more);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

class Segments : public testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Segments, RotateBySizeEveryRecordOnceInClosedWholeFiles) {
  site s(120, 0ms);
  temp_dir dir;
  const std::string out = dir.path() + "/segs";
  const std::size_t rotate = 20000;
  auto run = run_process(
      crawl_args(s.server.base_url() + "/", {"--output-dir", out, "--rotate-bytes",
                                             std::to_string(rotate), "--compress", GetParam()}),
      {}, 120s);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "") << "records go to the folder, not stdout";
  const auto r = read_folder(out);
  ASSERT_GE(r.segments.size(), 3u);
  const std::string ext = GetParam() == "gzip" ? ".gz" : GetParam() == "zstd" ? ".zst" : "";
  for (std::size_t i = 0; i < r.segments.size(); ++i) {
    EXPECT_EQ(r.segments[i].serial, static_cast<int>(i) + 1);
    EXPECT_FALSE(r.segments[i].part) << "the crawl ended: every segment is closed";
    EXPECT_EQ(r.segments[i].ext, ext);
  }
  // Each segment but the last closed with the record that took it to rotate_bytes.
  for (std::size_t i = 0; i + 1 < r.bytes.size(); ++i) {
    EXPECT_GE(r.bytes[i], rotate) << r.segments[i].name;
    EXPECT_LT(r.bytes[i] - r.last_line_bytes[i], rotate) << r.segments[i].name;
  }
  std::set<std::string> got;
  for (const auto& [url, n] : r.count_by_url) {
    EXPECT_EQ(n, 1) << url;
    got.insert(url);
  }
  EXPECT_EQ(got, s.urls());
}

INSTANTIATE_TEST_SUITE_P(Output, Segments, testing::Values("none", "gzip", "zstd"));

// A collector sees closed segments while the crawl runs: rotate_seconds closes one even when no
// record follows it, and SIGTERM publishes the open one.
TEST(SegmentsLive, RotateSecondsPublishesWhileRunningAndSigtermClosesTheLast) {
  site s(40, 150ms);
  temp_dir dir;
  const std::string out = dir.path() + "/segs";
  auto crawl = start_process(crawl_args(s.server.base_url() + "/",
                                        {"--output-dir", out, "--rotate-seconds", "1", "--compress",
                                         "gzip", "--concurrency", "1", "--per-host", "1"}));
  auto closed = [&] {
    if (!fs::exists(out)) return false;
    for (const auto& seg : segments_in(out))
      if (!seg.part) return true;
    return false;
  };
  ASSERT_TRUE(wait_until(closed, 20s));
  // Still running (40 pages at 150 ms each, one at a time): the segment was closed by its age.
  std::this_thread::sleep_for(300ms);
  auto mid = read_folder(out);
  EXPECT_GE(mid.count_by_url.size(), 1u);
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& seg : segments_in(out))
          if (seg.part) return true;
        return false;
      },
      10s));
  crawl.signal(SIGTERM);
  auto end = crawl.wait(30s);
  EXPECT_EQ(end.exit_code, 0) << end.err;
  const auto after = read_folder(out);
  for (const auto& seg : after.segments) EXPECT_FALSE(seg.part) << seg.name;
  EXPECT_GT(after.count_by_url.size(), mid.count_by_url.size());
  EXPECT_LT(after.count_by_url.size(), 40u) << "stopped before the end";
  for (const auto& [url, n] : after.count_by_url) EXPECT_EQ(n, 1) << url;
}

// SIGKILL in the middle of a segment: every closed segment is whole; the next run completes
// the leftover, numbers on after it, and with a state dir records each page exactly once.
TEST(SegmentsLive, SigkillMidSegmentLosesNothingAndResumeNumbersOn) {
  for (const std::string compress : {"gzip", "zstd", "none"}) {
    SCOPED_TRACE(compress);
    site s(200, 10ms);
    temp_dir dir;
    const std::string out = dir.path() + "/segs";
    const auto args = crawl_args(s.server.base_url() + "/",
                                 {"--output-dir", out, "--rotate-bytes", "15000", "--compress",
                                  compress, "--state-dir", dir.path() + "/state"});
    auto first = start_process(args);
    ASSERT_TRUE(wait_until(
        [&] {
          if (!fs::exists(out)) return false;
          int closed = 0;
          bool part = false;
          for (const auto& seg : segments_in(out)) {
            closed += seg.part ? 0 : 1;
            // The crawl renames segments meanwhile: a .part listed may be gone already.
            std::error_code ec;
            if (seg.part && fs::file_size(out + "/" + seg.name, ec) > 0 && !ec) part = true;
          }
          return closed >= 2 && part;
        },
        30s));
    first.signal(SIGKILL);
    first.wait(10s);
    auto killed = read_folder(out);  // checks every closed segment is whole
    int max_serial = 0;
    for (const auto& seg : killed.segments) max_serial = std::max(max_serial, seg.serial);
    ASSERT_TRUE(std::any_of(killed.segments.begin(), killed.segments.end(),
                            [](const segment& seg) { return seg.part; }));
    ASSERT_LT(killed.count_by_url.size(), 200u) << "the crawl ended before the kill";

    auto second = run_process(args, {}, 120s);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    const auto r = read_folder(out);
    int expect = 1;
    for (const auto& seg : r.segments) {
      EXPECT_FALSE(seg.part) << seg.name;
      EXPECT_EQ(seg.serial, expect++) << "serials go on without a gap or a repeat";
    }
    EXPECT_GT(static_cast<int>(r.segments.size()), max_serial) << "the resume wrote new segments";
    std::set<std::string> got;
    for (const auto& [url, n] : r.count_by_url) {
      EXPECT_EQ(n, 1) << url;
      got.insert(url);
    }
    EXPECT_EQ(got, s.urls());
  }
}

// Without a state dir a second run starts afresh, and still never touches what is published:
// the leftover is completed and the new records go to new serials.
TEST(SegmentsLive, ASecondRunWithoutStateKeepsEarlierSegments) {
  site s(30, 0ms);
  temp_dir dir;
  const std::string out = dir.path() + "/segs";
  fs::create_directories(out);
  std::ofstream(out + "/records-000007.jsonl.gz") << "";  // an earlier run's, left alone
  const auto args =
      crawl_args(s.server.base_url() + "/", {"--output-dir", out, "--compress", "gzip"});
  auto first = run_process(args, {}, 60s);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  auto second = run_process(args, {}, 60s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const auto segs = segments_in(out);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].serial, 7);
  EXPECT_EQ(fs::file_size(out + "/" + segs[0].name), 0u);
  EXPECT_EQ(segs[1].serial, 8);
  EXPECT_EQ(segs[2].serial, 9);
  EXPECT_EQ(parse_lines(closed_segment_text(out, segs[1]), segs[1].name).size(), 30u);
  EXPECT_EQ(parse_lines(closed_segment_text(out, segs[2]), segs[2].name).size(), 30u);
}

// The state dir knows what was recorded whatever the output: a run into a file resumed into a
// folder of segments (and back) fetches nothing twice.
TEST(SegmentsLive, ResumeFromAFileIntoSegments) {
  site s(150, 10ms);
  temp_dir dir;
  const std::string file = dir.path() + "/first.jsonl";
  const std::string out = dir.path() + "/segs";
  const std::string state = dir.path() + "/state";
  auto first =
      start_process(crawl_args(s.server.base_url() + "/", {"-o", file, "--state-dir", state}));
  ASSERT_TRUE(wait_until([&] { return read_jsonl(file).size() >= 30; }, 30s));
  first.signal(SIGKILL);
  first.wait(10s);
  const auto before = read_jsonl(file);
  ASSERT_LT(before.size(), 150u);
  auto second =
      run_process(crawl_args(s.server.base_url() + "/",
                             {"--output-dir", out, "--compress", "zstd", "--state-dir", state}),
                  {}, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  std::map<std::string, int> counts = read_folder(out).count_by_url;
  for (const auto& j : before) ++counts[j.at("url").get<std::string>()];
  std::set<std::string> got;
  for (const auto& [url, n] : counts) {
    EXPECT_EQ(n, 1) << url;
    got.insert(url);
  }
  EXPECT_EQ(got, s.urls());
}

TEST(SegmentsConfig, ConflictsAndMissingFolderNameTheKey) {
  temp_dir dir;
  auto both = run_process({trawler_binary(), "crawl", "-o", dir.path() + "/x.jsonl", "--output-dir",
                           dir.path() + "/segs", "http://127.0.0.1:9/"});
  EXPECT_EQ(both.exit_code, 2);
  // Errors name the flag that set the key.
  EXPECT_NE(both.err.find("--output-dir: cannot be combined with output.path"), std::string::npos)
      << both.err;
  auto rotate =
      run_process({trawler_binary(), "crawl", "--rotate-bytes", "1000", "http://127.0.0.1:9/"});
  EXPECT_EQ(rotate.exit_code, 2);
  EXPECT_NE(rotate.err.find("--rotate-bytes: needs output.dir"), std::string::npos) << rotate.err;
  std::ofstream(dir.path() + "/plain") << "x";
  auto unusable = run_process({trawler_binary(), "crawl", "--output-dir", dir.path() + "/plain",
                               "--allow-private", "http://127.0.0.1:9/"});
  EXPECT_EQ(unusable.exit_code, 2);
  EXPECT_NE(unusable.err.find("output.dir"), std::string::npos) << unusable.err;
}
