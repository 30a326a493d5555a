// Replays what the fuzzers found (fuzz/regressions/<target>/) and every seed corpus
// (fuzz/corpus/<target>/) through the fuzz targets' checks, built as ordinary code. Each input
// runs in a child process with a time limit, so that a crash or a hang names its file instead of
// taking the whole test binary down.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_checks.hpp"

namespace {

namespace fs = std::filesystem;
using trawler::fuzz::finding;

struct target {
  const char* name;
  finding (*check)(std::string_view);
};

constexpr target targets[] = {
    {"url", trawler::fuzz::check_url},       {"extract", trawler::fuzz::check_extract},
    {"robots", trawler::fuzz::check_robots}, {"config", trawler::fuzz::check_config},
    {"http", trawler::fuzz::check_http},     {"record", trawler::fuzz::check_record},
};

const target& target_named(std::string_view name) {
  for (const auto& t : targets)
    if (name == t.name) return t;
  throw std::invalid_argument("no fuzz target " + std::string(name));
}

const fs::path fuzz_dir = fs::path(TRAWLER_SOURCE_DIR) / "fuzz";

// Regular files of a folder, sorted; none when it does not exist.
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().filename().string().front() != '.') out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Far above what any check needs (well under a second each), far below a hang's cost.
constexpr unsigned time_limit_s = 10;

// Runs the check on data in a child process. Empty when it passed; else what went wrong.
std::string run_isolated(const target& t, const std::string& data) {
  int fds[2];
  if (pipe(fds) != 0) return std::string("pipe: ") + std::strerror(errno);
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    close(fds[0]);
#ifndef __SANITIZE_ADDRESS__
    // A runaway allocation ends in bad_alloc, which the check reports, before it hurts the
    // machine. (ASan reserves terabytes of address space: there the time limit must do.)
    const rlimit as{4ull << 30, 4ull << 30};
    setrlimit(RLIMIT_AS, &as);
#endif
    alarm(time_limit_s);
    const finding f = t.check(data);
    const std::string message = f ? *f : std::string();
    std::size_t done = 0;
    while (done < message.size()) {
      const ssize_t n = write(fds[1], message.data() + done, message.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    _exit(f ? 1 : 0);
  }
  close(fds[1]);
  std::string message;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    message.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && !message.empty())
    return "invariant violated: " + message;
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    return "still running after " + std::to_string(time_limit_s) + " s (a hang)";
  if (WIFSIGNALED(status))
    return "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + "); the report is on stderr above";
  return "exited with status " + std::to_string(WEXITSTATUS(status)) +
         " (a sanitizer report? see stderr above)";
}

// --- one test per file found by fuzzing ---

struct regression {
  std::string target;
  fs::path file;
};

std::vector<regression> all_regressions() {
  std::vector<regression> out;
  for (const auto& t : targets)
    for (const auto& f : files_in(fuzz_dir / "regressions" / t.name)) out.push_back({t.name, f});
  return out;
}

// gtest prints parameters on failure: the file says it all.
void PrintTo(const regression& r, std::ostream* os) {
  *os << r.file;
}
void PrintTo(const target& t, std::ostream* os) {
  *os << t.name;
}

class FuzzRegression : public ::testing::TestWithParam<regression> {};

TEST_P(FuzzRegression, PassesItsCheck) {
  const regression& r = GetParam();
  const std::string data = read_file(r.file);
  const std::string failure = run_isolated(target_named(r.target), data);
  EXPECT_TRUE(failure.empty()) << r.file << ": " << failure;
}

std::string regression_name(const ::testing::TestParamInfo<regression>& info) {
  std::string name = info.param.target + "_" + info.param.file.filename().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Found, FuzzRegression, ::testing::ValuesIn(all_regressions()),
                         regression_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FuzzRegression);

// --- the seed corpora: a smoke test of every check's invariants on meaningful inputs ---

class FuzzCorpus : public ::testing::TestWithParam<target> {};

TEST_P(FuzzCorpus, EverySeedPasses) {
  const target& t = GetParam();
  const auto files = files_in(fuzz_dir / "corpus" / t.name);
  ASSERT_GE(files.size(), 10u) << "the seed corpus of " << t.name << " is missing";
  for (const auto& f : files) {
    const std::string failure = run_isolated(t, read_file(f));
    EXPECT_TRUE(failure.empty()) << f << ": " << failure;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, FuzzCorpus, ::testing::ValuesIn(targets),
                         [](const ::testing::TestParamInfo<target>& info) {
                           return std::string(info.param.name);
                         });

// --- the checks' own helpers, so that a check cannot pass by being blind ---

TEST(FuzzHelpers, NormalUrlTextAcceptsOnlyRfc3986NormalForm) {
  using trawler::fuzz::is_normal_url_text;
  EXPECT_TRUE(is_normal_url_text("http://example.com/a%20b?q=%C3%A9&x=[1]@:!$'()*+,;="));
  EXPECT_TRUE(is_normal_url_text(""));
  EXPECT_FALSE(is_normal_url_text("http://example.com/a b"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/#frag"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/%c3%a9"));  // lowercase hex
  EXPECT_FALSE(is_normal_url_text("http://example.com/%41"));     // encoded unreserved
  EXPECT_FALSE(is_normal_url_text("http://example.com/%7E"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/%2"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/%"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/\xC3\xA9"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/a|b"));
  EXPECT_FALSE(is_normal_url_text("http://example.com/a\\b"));
  EXPECT_FALSE(is_normal_url_text(std::string_view("http://x/\0", 10)));
}

TEST(FuzzHelpers, ReferenceRobotsMatcherFollowsRfc9309Examples) {
  using trawler::fuzz::reference_robots_match;
  // RFC 9309 section 2.2.3.
  EXPECT_TRUE(reference_robots_match("/fish", false, "/fish.html"));
  EXPECT_TRUE(reference_robots_match("/fish", false, "/fish/salmon.html"));
  EXPECT_FALSE(reference_robots_match("/fish", false, "/Fish.asp"));
  EXPECT_FALSE(reference_robots_match("/fish", false, "/catfish"));
  EXPECT_TRUE(reference_robots_match("/*.php", false, "/index.php"));
  EXPECT_TRUE(reference_robots_match("/*.php", false, "/folder/filename.php?parameters"));
  EXPECT_FALSE(reference_robots_match("/*.php", false, "/windows.PHP"));
  EXPECT_TRUE(reference_robots_match("/*.php", true, "/filename.php"));
  EXPECT_FALSE(reference_robots_match("/*.php", true, "/filename.php?parameters"));
  EXPECT_FALSE(reference_robots_match("/*.php", true, "/filename.php5"));
  EXPECT_TRUE(reference_robots_match("/fish*.php", false, "/fishheads/catfish.php?x"));
  EXPECT_FALSE(reference_robots_match("/fish*.php", false, "/Fish.PHP"));
  // Where a greedy or leftmost-only matcher goes wrong.
  EXPECT_TRUE(reference_robots_match("/a*b", true, "/abxb"));
  EXPECT_FALSE(reference_robots_match("/a*b", true, "/abxbc"));
  EXPECT_TRUE(reference_robots_match("/*a*a", true, "/aaa"));
  EXPECT_FALSE(reference_robots_match("/*ab*ba", true, "/aba"));
  EXPECT_TRUE(reference_robots_match("*", true, ""));
  EXPECT_TRUE(reference_robots_match("", false, "/anything"));
  EXPECT_FALSE(reference_robots_match("", true, "/anything"));
}

TEST(FuzzHelpers, PrintableEscapesAndCuts) {
  using trawler::fuzz::printable;
  EXPECT_EQ(printable("a\"b\\c\n\xff"), "\"a\\x22b\\x5Cc\\x0A\\xFF\"");
  const std::string shown = printable(std::string(1000, 'x'));
  EXPECT_NE(shown.find("(1000 bytes)"), std::string::npos);
  EXPECT_LT(shown.size(), 400u);
}

TEST(FuzzHelpers, ChecksPassPlainInputsAndSeeEveryTarget) {
  // Inputs every module handles: a failure here is a broken check, not a module bug.
  EXPECT_EQ(trawler::fuzz::check_url("http://example.com/a\n../b"), std::nullopt);
  EXPECT_EQ(trawler::fuzz::check_extract("<title> t </title><a href=/x>x</a>"), std::nullopt);
  EXPECT_EQ(trawler::fuzz::check_robots(std::string_view("user-agent: *\ndisallow: /x\0/x", 30)),
            std::nullopt);
  EXPECT_EQ(trawler::fuzz::check_config("seeds: [https://example.com/]\n"), std::nullopt);
  EXPECT_EQ(trawler::fuzz::check_http("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            std::nullopt);
  EXPECT_EQ(trawler::fuzz::check_record(std::string_view("https://example.com/\0\0", 22)),
            std::nullopt);
}

}  // namespace
