#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "sink/jsonl_sink.hpp"

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

}  // namespace
