#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sink/compress.hpp"
#include "sink/jsonl_sink.hpp"
#include "sink/segment_sink.hpp"

namespace {

using trawler::sink::jsonl_sink;
using trawler::sink::open_mode;

class SinkTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("trawler_sink_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::filesystem::path dir_;
};

TEST_F(SinkTest, WritesWholeLinesOnFlushAndDestruction) {
  const auto path = (dir_ / "out.jsonl").string();
  std::string error;
  {
    auto sink = jsonl_sink::open(path, open_mode::truncate, error);
    ASSERT_TRUE(sink) << error;
    sink->write_line("{\"a\":1}\n");
    sink->write_line("{\"b\":2}");  // newline added
    EXPECT_EQ(sink->lines_written(), 0u);
    EXPECT_EQ(sink->lines_accepted(), 2u);
    EXPECT_EQ(read(path), "");  // buffered
    EXPECT_TRUE(sink->flush());
    EXPECT_EQ(sink->lines_written(), 2u);
    EXPECT_EQ(read(path), "{\"a\":1}\n{\"b\":2}\n");
    sink->write_line("{\"c\":3}\n");
  }
  EXPECT_EQ(read(path), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
}

TEST_F(SinkTest, FlushesWhenTheBufferFillsAndNeverSplitsALine) {
  const auto path = (dir_ / "out.jsonl").string();
  std::string error;
  auto sink = jsonl_sink::open(path, open_mode::truncate, error);
  ASSERT_TRUE(sink);
  const std::string line = std::string(1000, 'x') + "\n";
  for (int i = 0; i < 200; ++i) {
    sink->write_line(line);
    const std::string content = read(path);
    ASSERT_TRUE(content.empty() || content.back() == '\n');
    ASSERT_LE(content.size(), static_cast<std::size_t>(i + 1) * line.size());
  }
  EXPECT_GT(sink->lines_written(), 100u);
  EXPECT_TRUE(sink->sync());
  EXPECT_EQ(read(path).size(), 200u * line.size());
  EXPECT_EQ(sink->lines_written(), 200u);
}

TEST_F(SinkTest, HugeLineGoesOutWhole) {
  const auto path = (dir_ / "out.jsonl").string();
  std::string error;
  auto sink = jsonl_sink::open(path, open_mode::truncate, error);
  ASSERT_TRUE(sink);
  sink->write_line("small\n");
  const std::string huge(1 << 20, 'h');
  sink->write_line(huge);
  EXPECT_EQ(read(path), "small\n" + huge + "\n");
  EXPECT_EQ(sink->lines_written(), 2u);
}

TEST_F(SinkTest, TruncateAndAppendModes) {
  const auto path = (dir_ / "out.jsonl").string();
  std::ofstream(path) << "old\n";
  std::string error;
  {
    auto sink = jsonl_sink::open(path, open_mode::append, error);
    ASSERT_TRUE(sink);
    sink->write_line("new\n");
  }
  EXPECT_EQ(read(path), "old\nnew\n");
  {
    auto sink = jsonl_sink::open(path, open_mode::truncate, error);
    ASSERT_TRUE(sink);
    sink->write_line("fresh\n");
  }
  EXPECT_EQ(read(path), "fresh\n");
}

TEST_F(SinkTest, AppendDropsAPartialLastLine) {
  const auto path = (dir_ / "out.jsonl").string();
  std::ofstream(path) << "{\"whole\":1}\n{\"half";
  std::string error;
  {
    auto sink = jsonl_sink::open(path, open_mode::append, error);
    ASSERT_TRUE(sink);
    sink->write_line("{\"next\":2}\n");
  }
  EXPECT_EQ(read(path), "{\"whole\":1}\n{\"next\":2}\n");
  // a partial line longer than the scan chunk, and a file with no newline at all
  std::ofstream(path) << "a\n" << std::string(10000, 'p');
  { auto sink = jsonl_sink::open(path, open_mode::append, error); }
  EXPECT_EQ(read(path), "a\n");
  std::ofstream(path) << std::string(10000, 'p');
  { auto sink = jsonl_sink::open(path, open_mode::append, error); }
  EXPECT_EQ(read(path), "");
}

TEST_F(SinkTest, AppendCreatesMissingFile) {
  const auto path = (dir_ / "new.jsonl").string();
  std::string error;
  {
    auto sink = jsonl_sink::open(path, open_mode::append, error);
    ASSERT_TRUE(sink) << error;
    sink->write_line("x\n");
  }
  EXPECT_EQ(read(path), "x\n");
}

TEST_F(SinkTest, UnwritableOutputIsAnError) {
  std::string error;
  EXPECT_FALSE(
      jsonl_sink::open((dir_ / "missing" / "out.jsonl").string(), open_mode::truncate, error));
  EXPECT_NE(error.find("cannot open output"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(jsonl_sink::open(dir_.string(), open_mode::truncate, error));
  EXPECT_NE(error.find("Is a directory"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(jsonl_sink::open("", open_mode::truncate, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(SinkTest, WriteErrorIsReportedAndLaterLinesDropped) {
  std::string error;
  auto sink = jsonl_sink::open("/dev/full", open_mode::truncate, error);
  ASSERT_TRUE(sink) << error;
  sink->write_line("x\n");
  EXPECT_FALSE(sink->flush());
  EXPECT_TRUE(sink->failed());
  EXPECT_NE(sink->error().find("No space"), std::string::npos) << sink->error();
  sink->write_line("y\n");
  EXPECT_EQ(sink->lines_accepted(), 0u);
  EXPECT_FALSE(sink->sync());
}

TEST_F(SinkTest, MoveKeepsBufferedLines) {
  const auto path = (dir_ / "out.jsonl").string();
  std::string error;
  {
    auto sink = jsonl_sink::open(path, open_mode::truncate, error);
    ASSERT_TRUE(sink);
    sink->write_line("one\n");
    jsonl_sink moved = std::move(*sink);
    moved.write_line("two\n");
    sink.reset();  // the moved-from sink writes and closes nothing
    EXPECT_EQ(read(path), "");
    EXPECT_EQ(moved.lines_accepted(), 2u);
  }
  EXPECT_EQ(read(path), "one\ntwo\n");
}

TEST_F(SinkTest, StdoutIsNotClosed) {
  std::string error;
  {
    auto sink = jsonl_sink::open("-", open_mode::truncate, error);
    ASSERT_TRUE(sink) << error;
    EXPECT_TRUE(sink->sync());
  }
  EXPECT_GE(::fcntl(STDOUT_FILENO, F_GETFL), 0);
}

// ---- compression and rotated segments -------------------------------------------------------

using trawler::sink::compression;
using trawler::sink::segment_settings;
using trawler::sink::segment_sink;

std::string record_line(int i) {
  return R"({"url":"http://a.test/)" + std::to_string(i) +
         R"(","status":200,"error":null})"
         "\n";
}

class Compression : public testing::TestWithParam<compression> {};

TEST_P(Compression, MembersConcatenateAndATornTailIsCutAtTheLastWholeOne) {
  std::string file;
  std::string expected;
  for (int m = 0; m < 3; ++m) {
    std::string lines;
    for (int i = 0; i < 50; ++i) lines += record_line(m * 50 + i);
    ASSERT_TRUE(trawler::sink::append_compressed(GetParam(), lines, file));
    expected += lines;
  }
  std::string plain;
  EXPECT_EQ(trawler::sink::whole_prefix(GetParam(), file, &plain), file.size());
  EXPECT_EQ(plain, expected);

  // A crash in the middle of the fourth write: the three members before it are whole.
  const std::size_t whole = file.size();
  std::string fourth;
  ASSERT_TRUE(trawler::sink::append_compressed(GetParam(), record_line(999), fourth));
  for (std::size_t cut : {std::size_t{1}, fourth.size() / 2, fourth.size() - 1}) {
    std::string torn = file + fourth.substr(0, cut);
    plain.clear();
    EXPECT_EQ(trawler::sink::whole_prefix(GetParam(), torn, &plain), whole) << cut;
    EXPECT_EQ(plain, expected) << cut;
  }
  // A flipped byte inside a member fails its check: that member and the rest are not whole.
  if (GetParam() != compression::none) {
    std::string bad = file;
    bad[bad.size() - 6] ^= 0x55;
    EXPECT_LT(trawler::sink::whole_prefix(GetParam(), bad), file.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Sink, Compression,
                         testing::Values(compression::none, compression::gzip, compression::zstd),
                         [](const auto& info) {
                           return std::string(info.param == compression::none   ? "none"
                                              : info.param == compression::gzip ? "gzip"
                                                                                : "zstd");
                         });

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_all_segments(const std::string& dir) {
  std::string all;
  std::string error;
  for (const auto& f : trawler::sink::list_segments(dir)) {
    EXPECT_FALSE(f.open) << f.path;
    EXPECT_TRUE(trawler::sink::read_segment(f, all, error)) << error;
  }
  return all;
}

TEST_F(SinkTest, SegmentsRotateBySizeAndAppearOnlyWhenClosed) {
  const auto dir = (dir_ / "segs").string();
  std::string error;
  auto sink =
      segment_sink::open({.dir = dir, .rotate_bytes = 1000, .compress = compression::gzip}, error);
  ASSERT_TRUE(sink) << error;
  const std::size_t line = record_line(10).size();
  std::string expected;
  for (int i = 10; i < 40; ++i) {
    sink->write_line(record_line(i));
    expected += record_line(i);
  }
  ASSERT_TRUE(sink->flush());
  // 30 lines of `line` bytes: a segment closes with the line that reaches 1000 bytes.
  const std::size_t per_segment = (1000 + line - 1) / line;
  const std::size_t closed = 30 / per_segment;
  auto names = names_in(dir);
  ASSERT_EQ(names.size(), closed + (30 % per_segment ? 1 : 0));
  for (std::size_t i = 0; i < closed; ++i) {
    char want[64];
    std::snprintf(want, sizeof want, "records-%06zu.jsonl.gz", i + 1);
    EXPECT_EQ(names[i], want);
  }
  if (30 % per_segment) {
    char open_name[64];
    std::snprintf(open_name, sizeof open_name, "records-%06zu.jsonl.gz.part", closed + 1);
    EXPECT_EQ(names.back(), open_name);
  }
  EXPECT_EQ(sink->segments_closed(), closed);
  ASSERT_TRUE(sink->close());
  EXPECT_TRUE(std::none_of(names_in(dir).begin(), names_in(dir).end(), [](const std::string& n) {
    return n.find(".part") != std::string::npos;
  }));
  EXPECT_EQ(read_all_segments(dir), expected);
  // Closing again, or with nothing written, publishes no empty segment.
  ASSERT_TRUE(sink->close());
  EXPECT_EQ(trawler::sink::list_segments(dir).size(), closed + (30 % per_segment ? 1 : 0));
}

TEST_F(SinkTest, SegmentsRotateByAgeAtAFlush) {
  const auto dir = (dir_ / "aged").string();
  std::string error;
  auto sink = segment_sink::open(
      {.dir = dir, .rotate_seconds = std::chrono::seconds(5), .compress = compression::zstd},
      error);
  ASSERT_TRUE(sink) << error;
  const auto t0 = std::chrono::steady_clock::now();
  sink->write_line(record_line(1));
  ASSERT_TRUE(sink->flush(t0 + std::chrono::seconds(1)));
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"records-000001.jsonl.zst.part"});
  ASSERT_TRUE(sink->flush(t0 + std::chrono::seconds(6)));
  EXPECT_EQ(names_in(dir), std::vector<std::string>{"records-000001.jsonl.zst"});
  // An idle sink has no segment open: no empty file appears however long it waits.
  ASSERT_TRUE(sink->flush(t0 + std::chrono::seconds(60)));
  EXPECT_EQ(names_in(dir).size(), 1u);
  sink->write_line(record_line(2));
  ASSERT_TRUE(sink->close());
  EXPECT_EQ(read_all_segments(dir), record_line(1) + record_line(2));
}

TEST_F(SinkTest, ACrashLeftoverIsCutToWholeMembersPublishedAndNumberingGoesOn) {
  for (compression c : {compression::none, compression::gzip, compression::zstd}) {
    const auto dir = dir_ / ("crash" + std::string(trawler::sink::extension(c)));
    std::filesystem::create_directories(dir);
    const std::string ext(trawler::sink::extension(c));
    // Segments 1 and 2 closed; 3 was being written: two whole writes, then half of a third.
    std::ofstream(dir / ("records-000001.jsonl" + ext)) << "";
    std::ofstream(dir / ("records-000002.jsonl" + ext)) << "";
    std::string part;
    trawler::sink::append_compressed(c, record_line(1), part);
    trawler::sink::append_compressed(c, record_line(2), part);
    std::string torn;
    trawler::sink::append_compressed(c, record_line(3), torn);
    part += torn.substr(0, torn.size() / 2);
    std::ofstream(dir / ("records-000003.jsonl" + ext + ".part"), std::ios::binary) << part;
    // Segment 4 was opened and nothing reached it.
    std::ofstream(dir / ("records-000004.jsonl" + ext + ".part")) << "";

    std::string error;
    auto sink = segment_sink::open({.dir = dir.string(), .compress = c}, error);
    ASSERT_TRUE(sink) << error;
    ASSERT_EQ(sink->recovered().size(), 1u);
    EXPECT_EQ(sink->recovered()[0], (dir / ("records-000003.jsonl" + ext)).string());
    const auto files = trawler::sink::list_segments(dir.string());
    ASSERT_EQ(files.size(), 3u) << ext;
    std::string content;
    ASSERT_TRUE(trawler::sink::read_segment(files[2], content, error));
    EXPECT_EQ(content, record_line(1) + record_line(2));
    EXPECT_EQ(read(files[2].path).size(), part.size() - torn.size() / 2) << "cut at the member";
    EXPECT_EQ(sink->next_serial(), 5u);
    sink->write_line(record_line(4));
    ASSERT_TRUE(sink->close());
    EXPECT_TRUE(std::filesystem::exists(dir / ("records-000005.jsonl" + ext)));
  }
}

TEST_F(SinkTest, ASerialTakenMeanwhileIsSkippedNotReplaced) {
  const auto dir = dir_ / "shared";
  std::string error;
  auto sink = segment_sink::open({.dir = dir.string()}, error);
  ASSERT_TRUE(sink) << error;
  // Another writer publishes serial 1 and opens serial 2 after this sink looked.
  std::ofstream(dir / "records-000001.jsonl") << record_line(100);
  std::ofstream(dir / "records-000002.jsonl.part") << record_line(200);
  sink->write_line(record_line(1));
  ASSERT_TRUE(sink->close());
  EXPECT_EQ(read(dir / "records-000001.jsonl"), record_line(100));
  EXPECT_EQ(read(dir / "records-000002.jsonl.part"), record_line(200));
  EXPECT_EQ(read(dir / "records-000003.jsonl"), record_line(1));
}

TEST_F(SinkTest, AnUnwritableSegmentFolderIsAnError) {
  std::ofstream(dir_ / "file") << "x";
  std::string error;
  EXPECT_FALSE(segment_sink::open({.dir = (dir_ / "file").string()}, error));
  EXPECT_NE(error.find("file"), std::string::npos) << error;
}

}  // namespace
