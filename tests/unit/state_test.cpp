#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "state/crawl_state.hpp"
#include "state/output_scan.hpp"
#include "state/url_index.hpp"

namespace fs = std::filesystem;
using trawler::state::crawl_state;
using trawler::state::drop_reason;
using trawler::state::output_scan;
using trawler::state::pending_url;
using trawler::state::scan_output;
using trawler::state::url_index;

namespace trawler::state {
bool operator==(const pending_url& a, const pending_url& b) {
  return a.url == b.url && a.depth == b.depth && a.redirects_left == b.redirects_left &&
         a.referrer == b.referrer && a.sitemap == b.sitemap && a.requisite == b.requisite;
}
void PrintTo(const pending_url& p, std::ostream* os) {
  *os << "{" << p.url << ", depth " << p.depth << ", redirects " << p.redirects_left
      << ", referrer '" << p.referrer << "'" << (p.sitemap ? ", sitemap" : "")
      << (p.requisite ? ", requisite" : "") << "}";
}
}  // namespace trawler::state

namespace {

class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "trawler-state-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str(const std::string& sub = "") const { return (path_ / sub).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<crawl_state> must_open(const std::string& dir,
                                       crawl_state::url_hash hash = nullptr) {
  std::string error;
  auto st = crawl_state::open(dir, error, hash);
  EXPECT_NE(st, nullptr) << error;
  EXPECT_TRUE(error.empty()) << error;
  return st;
}

void must_checkpoint(crawl_state& st) {
  std::string error;
  EXPECT_TRUE(st.checkpoint(error)) << error;
  EXPECT_TRUE(error.empty()) << error;
}

std::vector<std::pair<std::string, bool>> all_urls(const crawl_state& st) {
  std::vector<std::pair<std::string, bool>> out;
  st.for_each_url([&](std::string_view url, bool done) { out.emplace_back(url, done); });
  return out;
}

std::vector<std::string> pending_urls(const crawl_state& st) {
  std::vector<std::string> out;
  for (auto& p : st.pending()) out.push_back(std::move(p.url));
  return out;
}

pending_url pu(std::string url, int depth = 0, int redirects = 10, std::string referrer = "") {
  return pending_url{std::move(url), depth, redirects, std::move(referrer)};
}

// ---------------------------------------------------------------------------------------------
// url_index

std::uint32_t value_of(const url_index& idx, std::uint64_t hash) {
  const auto* e = idx.find(hash);
  return e == nullptr ? url_index::none : e->value;
}

TEST(UrlIndex, FindsWhatWasSetAndGrows) {
  url_index idx;
  EXPECT_EQ(idx.find(42), nullptr);
  for (std::uint32_t i = 0; i < 5000; ++i) idx.set(i * 7919ULL, {i, i ^ 0x5555});  // rehashes
  EXPECT_EQ(idx.size(), 5000u);
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const auto* e = idx.find(i * 7919ULL);
    ASSERT_NE(e, nullptr) << i;
    ASSERT_EQ(e->value, i);
    ASSERT_EQ(e->check, i ^ 0x5555);
  }
  EXPECT_EQ(idx.find(1), nullptr);
  idx.set(7919, {123, 0});  // replaces
  EXPECT_EQ(value_of(idx, 7919), 123u);
  EXPECT_EQ(idx.size(), 5000u);
  idx.set(0, {9, 0});  // hash 0 is an ordinary key
  EXPECT_EQ(value_of(idx, 0), 9u);
  idx.set(~std::uint64_t{0}, {5, 0});  // so is the all-ones hash
  EXPECT_EQ(value_of(idx, ~std::uint64_t{0}), 5u);
  EXPECT_EQ(idx.size(), 5001u);
}

TEST(UrlIndex, ReserveKeepsEntries) {
  url_index idx;
  idx.set(1, {10, 1});
  idx.set(2, {20, 2});
  idx.reserve(100000);
  EXPECT_EQ(value_of(idx, 1), 10u);
  EXPECT_EQ(value_of(idx, 2), 20u);
  EXPECT_EQ(idx.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// crawl_state: open, resume

TEST(CrawlState, FreshOpenCreatesNestedDirAndIsNotResumed) {
  temp_dir tmp;
  const auto dir = tmp.str("a/b/c");
  auto st = must_open(dir);
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(fs::exists(fs::path(dir) / "state.sqlite3"));
  EXPECT_FALSE(st->resumed());
  EXPECT_FALSE(st->finished());
  EXPECT_TRUE(st->pending().empty());
  EXPECT_TRUE(all_urls(*st).empty());
  EXPECT_EQ(st->get_meta("config"), std::nullopt);
  EXPECT_EQ(st->size(), 0u);
  must_checkpoint(*st);  // nothing to write is fine
}

TEST(CrawlState, EmptyStoreReopenedIsNotResumed) {
  temp_dir tmp;
  must_open(tmp.str("s")).reset();
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_FALSE(st->resumed());
}

TEST(CrawlState, ReopenGivesPendingInAdmissionOrderWithAllFields) {
  temp_dir tmp;
  const std::vector<pending_url> expected_pending = {
      pu("https://a.test/one", 1, 10, "https://a.test/"),  // referrer is an admitted URL
      pu("https://a.test/two", 1, 10, "https://a.test/"),
      pu("https://b.test/", 2, 9, "https://elsewhere.test/"),  // referrer never admitted
      pu("https://a.test/moved", 1, 7, "https://a.test/one"),
  };
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/", 0, 10));
    for (const auto& p : expected_pending) st->admitted(p);
    st->recorded("https://a.test/");
    // Reads reflect buffered changes too.
    EXPECT_EQ(st->pending(), expected_pending);
    must_checkpoint(*st);
    EXPECT_EQ(st->pending(), expected_pending);
    EXPECT_EQ(st->size(), 5u);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->resumed());
  EXPECT_EQ(st->size(), 5u);
  EXPECT_EQ(st->pending(), expected_pending);
  const std::vector<std::pair<std::string, bool>> expected_all = {
      {"https://a.test/", true},  {"https://a.test/one", false},   {"https://a.test/two", false},
      {"https://b.test/", false}, {"https://a.test/moved", false},
  };
  EXPECT_EQ(all_urls(*st), expected_all);
}

TEST(CrawlState, MixedCommittedAndBufferedReads) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  st->admitted(pu("https://a.test/"));
  st->admitted(pu("https://a.test/x", 1, 10, "https://a.test/"));
  must_checkpoint(*st);
  // A buffered URL whose referrer is committed, and one whose referrer is buffered.
  st->admitted(pu("https://a.test/y", 2, 10, "https://a.test/x"));
  st->admitted(pu("https://a.test/z", 3, 10, "https://a.test/y"));
  st->recorded("https://a.test/x");  // committed URL marked in the buffer
  const std::vector<pending_url> expected = {
      pu("https://a.test/"),
      pu("https://a.test/y", 2, 10, "https://a.test/x"),
      pu("https://a.test/z", 3, 10, "https://a.test/y"),
  };
  EXPECT_EQ(st->pending(), expected);
  must_checkpoint(*st);
  st.reset();
  st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->pending(), expected);
}

TEST(CrawlState, SitemapFilesStaySitemapsAcrossAResume) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  pending_url committed = pu("https://a.test/sitemap.xml", 0, 10, "https://a.test/robots.txt");
  committed.sitemap = true;
  st->admitted(pu("https://a.test/"));
  st->admitted(committed);
  must_checkpoint(*st);
  pending_url buffered = pu("https://a.test/sitemap-2.xml.gz", 0, 10, "https://a.test/sitemap.xml");
  buffered.sitemap = true;
  st->admitted(buffered);
  const std::vector<pending_url> expected = {pu("https://a.test/"), committed, buffered};
  EXPECT_EQ(st->pending(), expected);
  must_checkpoint(*st);
  st.reset();
  st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->pending(), expected);
}

// A resumed crawl still knows a queued URL is a page requisite (fetch.requisites), committed
// or buffered at the checkpoint, and find() says so too.
TEST(CrawlState, RequisitesStayRequisitesAcrossAResume) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  pending_url committed = pu("https://cdn.test/logo.png", 1, 10, "https://a.test/");
  committed.requisite = true;
  st->admitted(pu("https://a.test/"));
  st->admitted(committed);
  must_checkpoint(*st);
  pending_url buffered = pu("https://cdn.test/bg.png", 2, 10, "https://a.test/site.css");
  buffered.requisite = true;
  st->admitted(buffered);
  const std::vector<pending_url> expected = {pu("https://a.test/"), committed, buffered};
  EXPECT_EQ(st->pending(), expected);
  EXPECT_TRUE(st->find("https://cdn.test/bg.png")->requisite);
  must_checkpoint(*st);
  st.reset();
  st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->pending(), expected);
  EXPECT_TRUE(st->find("https://cdn.test/logo.png")->requisite);
  EXPECT_TRUE(st->find("https://cdn.test/bg.png")->requisite);
  EXPECT_FALSE(st->find("https://a.test/")->requisite);
}

TEST(CrawlState, DestructorCheckpoints) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/"));
    st->admitted(pu("https://a.test/b"));
    st->recorded("https://a.test/b");
    st->put_meta("k", "v");
    st->set_finished(true);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->resumed());
  EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/"});
  EXPECT_EQ(st->get_meta("k"), "v");
  EXPECT_TRUE(st->finished());
}

TEST(CrawlState, DuplicateAdmissionsKeepTheFirst) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/", 0, 10));
    st->admitted(pu("https://a.test/", 3, 1, "https://x.test/"));  // same batch
    st->admitted(pu(""));                                          // ignored
    EXPECT_EQ(st->size(), 1u);
    must_checkpoint(*st);
    st->admitted(pu("https://a.test/", 4, 2));  // after a checkpoint
    st->admitted(pu("https://b.test/", 1, 5));
    EXPECT_EQ(st->size(), 2u);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  st->admitted(pu("https://b.test/", 9, 9));  // after a reopen
  EXPECT_EQ(st->size(), 2u);
  const std::vector<pending_url> expected = {pu("https://a.test/", 0, 10),
                                             pu("https://b.test/", 1, 5)};
  EXPECT_EQ(st->pending(), expected);
}

TEST(CrawlState, RequeuedGoesBackToPending) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/1"));
    st->admitted(pu("https://a.test/2"));
    st->admitted(pu("https://a.test/3"));
    st->recorded("https://a.test/1");
    st->recorded("https://a.test/2");
    st->recorded("https://a.test/3");
    must_checkpoint(*st);
    EXPECT_TRUE(st->pending().empty());
    st->requeued("https://a.test/2");  // a cancelled record
    // Within one batch, the last call wins: recorded -> requeued -> recorded is done.
    st->requeued("https://a.test/3");
    st->recorded("https://a.test/3");
    EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/2"});
    must_checkpoint(*st);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/2"});
  const std::vector<std::pair<std::string, bool>> expected = {
      {"https://a.test/1", true}, {"https://a.test/2", false}, {"https://a.test/3", true}};
  EXPECT_EQ(all_urls(*st), expected);
}

TEST(CrawlState, UnknownUrlsAreIgnoredByRecordedAndRequeued) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  st->admitted(pu("https://a.test/"));
  st->recorded("https://never.test/");
  st->requeued("https://never.test/");
  EXPECT_EQ(st->size(), 1u);
  EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/"});
}

TEST(CrawlState, FinishedFlagAndMetaPersist) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->put_meta("config", R"({"seeds":["https://a.test/"]})");
    st->put_meta("output", "/data/out.jsonl");
    EXPECT_EQ(st->get_meta("output"), "/data/out.jsonl");  // before any checkpoint
    st->put_meta("output", "/data/other.jsonl");
    EXPECT_EQ(st->get_meta("output"), "/data/other.jsonl");
    st->set_finished(true);
    EXPECT_TRUE(st->finished());
    must_checkpoint(*st);
  }
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    EXPECT_TRUE(st->resumed());
    EXPECT_TRUE(st->finished());
    EXPECT_EQ(st->get_meta("config"), R"({"seeds":["https://a.test/"]})");
    EXPECT_EQ(st->get_meta("output"), "/data/other.jsonl");
    EXPECT_EQ(st->get_meta("missing"), std::nullopt);
    st->set_finished(false);
    st->put_meta("config", "");  // empty values are values
    must_checkpoint(*st);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_FALSE(st->finished());
  EXPECT_EQ(st->get_meta("config"), "");
}

TEST(CrawlState, MetaOnlyStoreIsResumed) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->put_meta("k", "v");
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->resumed());
}

TEST(CrawlState, UrlsSurviveByteForByte) {
  temp_dir tmp;
  // Not what url::normalize produces, but the store must not care: quotes, backslashes,
  // non-ASCII and an embedded NUL.
  const std::string odd = std::string("https://a.test/\"q\"\\p/\xC3\xA9?x=1&y='2'") + '\0' + "z";
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu(odd, 1, 2, odd + "#ref"));
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  const auto p = st->pending();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].url, odd);
  EXPECT_EQ(p[0].referrer, odd + "#ref");
  st->recorded(odd);
  EXPECT_TRUE(st->pending().empty());
}

// ---------------------------------------------------------------------------------------------
// Hash collisions: forced with degenerate hash functions.

std::uint64_t constant_hash(std::string_view) {
  return 7;
}
std::uint64_t length_hash(std::string_view s) {
  return s.size();
}

class CrawlStateCollisions : public ::testing::TestWithParam<crawl_state::url_hash> {};

TEST_P(CrawlStateCollisions, UrlsWithTheSameHashStayDistinct) {
  temp_dir tmp;
  std::vector<std::string> urls;
  for (int i = 0; i < 40; ++i)
    urls.push_back("https://h" + std::to_string(i % 10) + ".test/p" + std::to_string(i));
  std::vector<pending_url> expected;
  {
    auto st = must_open(tmp.str("s"), GetParam());
    ASSERT_NE(st, nullptr);
    for (std::size_t i = 0; i < urls.size(); ++i) {
      // Referrer: an earlier URL, or text with the same length as an admitted URL but never
      // admitted itself (a hash-only lookup would confuse them).
      std::string ref =
          i == 0 ? "" : (i % 5 == 0 ? "https://hX.test/p" + std::to_string(i - 1) : urls[i - 1]);
      st->admitted(pu(urls[i], static_cast<int>(i), 3, ref));
      st->admitted(pu(urls[i], 99, 99));  // duplicate, ignored
      if (i % 3 == 0) st->recorded(urls[i]);
      if (i % 3 != 0) expected.push_back(pu(urls[i], static_cast<int>(i), 3, ref));
      if (i == 20) must_checkpoint(*st);
    }
    st->recorded("https://hX.test/p9");  // never admitted, same hash as others
    EXPECT_EQ(st->size(), urls.size());
    EXPECT_EQ(st->pending(), expected);
  }
  // Reopen with the same degenerate hash and with the default one: the index is rebuilt from
  // the text, so both must agree.
  for (auto hash : {GetParam(), crawl_state::url_hash{nullptr}}) {
    auto st = must_open(tmp.str("s"), hash);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->size(), urls.size());
    EXPECT_EQ(st->pending(), expected);
    st->admitted(pu(urls[5], 0, 0));  // still a duplicate
    EXPECT_EQ(st->size(), urls.size());
    st->requeued(urls[3]);
    st->recorded(urls[4]);
    auto now = pending_urls(*st);
    EXPECT_EQ(std::count(now.begin(), now.end(), urls[3]), 1);
    EXPECT_EQ(std::count(now.begin(), now.end(), urls[4]), 0);
    EXPECT_EQ(now.size(), expected.size());
    // Leave the store as it was for the next round.
    st->recorded(urls[3]);
    st->requeued(urls[4]);
  }
}

INSTANTIATE_TEST_SUITE_P(Hashes, CrawlStateCollisions,
                         ::testing::Values(&constant_hash, &length_hash));

std::uint64_t last_char_hash(std::string_view s) {
  return s.empty() ? 0 : static_cast<unsigned char>(s.back());
}

// A URL never admitted whose hash equals a lone admitted URL's: the index slot is not shared,
// so only the second hash (the check) tells them apart.
TEST(CrawlState, LookupOfANeverAdmittedUrlWithTheSameHashFindsNothing) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"), &last_char_hash);
  ASSERT_NE(st, nullptr);
  st->admitted(pu("https://a.test/x"));
  st->admitted(pu("https://a.test/y", 1, 10, "https://b.test/x"));  // referrer: same hash
  st->recorded("https://b.test/x");
  st->recorded("https://c.test/y");
  const std::vector<pending_url> expected = {pu("https://a.test/x"),
                                             pu("https://a.test/y", 1, 10, "https://b.test/x")};
  EXPECT_EQ(st->pending(), expected);
  must_checkpoint(*st);
  st.reset();
  st = must_open(tmp.str("s"), &last_char_hash);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->pending(), expected);
  st->requeued("https://c.test/x");  // no effect either
  st->recorded("https://a.test/x");  // the real one still works
  EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/y"});
  // Admitting the look-alike now is a collision, not a duplicate.
  st->admitted(pu("https://b.test/x", 2, 3));
  EXPECT_EQ(st->size(), 3u);
  st->recorded("https://b.test/x");
  EXPECT_EQ(pending_urls(*st), std::vector<std::string>{"https://a.test/y"});
  st->requeued("https://a.test/x");
  EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/x", "https://a.test/y"}));
}

// ---------------------------------------------------------------------------------------------
// Crash safety

TEST(CrawlState, CheckpointedDataSurvivesSigkillUnflushedDoesNot) {
  temp_dir tmp;
  const auto dir = tmp.str("s");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: no gtest assertions here; exit codes tell the parent what went wrong.
    std::string error;
    auto st = crawl_state::open(dir, error);
    if (!st) ::_exit(3);
    st->admitted(pu("https://a.test/", 0, 10));
    st->admitted(pu("https://a.test/b", 1, 10, "https://a.test/"));
    st->put_meta("k", "saved");
    if (!st->checkpoint(error)) ::_exit(4);
    st->admitted(pu("https://a.test/unsaved"));
    st->recorded("https://a.test/");
    st->put_meta("k", "unsaved");
    st->set_finished(true);
    ::kill(::getpid(), SIGKILL);
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exit code " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);

  auto st = must_open(dir);  // the kill released the lock
  ASSERT_NE(st, nullptr);
  EXPECT_TRUE(st->resumed());
  const std::vector<pending_url> expected = {pu("https://a.test/", 0, 10),
                                             pu("https://a.test/b", 1, 10, "https://a.test/")};
  EXPECT_EQ(st->pending(), expected);
  EXPECT_EQ(st->size(), 2u);
  EXPECT_EQ(st->get_meta("k"), "saved");
  EXPECT_FALSE(st->finished());
}

TEST(CrawlState, SecondHandleIsRefusedWhileOpen) {
  temp_dir tmp;
  auto first = must_open(tmp.str("s"));
  ASSERT_NE(first, nullptr);
  first->admitted(pu("https://a.test/"));
  must_checkpoint(*first);
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_NE(error.find("in use"), std::string::npos) << error;
  EXPECT_NE(error.find(tmp.str("s")), std::string::npos) << error;
  // The refused attempt did not disturb the owner.
  first->admitted(pu("https://a.test/b"));
  must_checkpoint(*first);
  first.reset();
  auto again = must_open(tmp.str("s"));
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->size(), 2u);
}

TEST(CrawlState, SecondProcessIsRefusedWhileOpen) {
  temp_dir tmp;
  auto first = must_open(tmp.str("s"));
  ASSERT_NE(first, nullptr);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string error;
    auto st = crawl_state::open(tmp.str("s"), error);
    ::_exit(st == nullptr && error.find("in use") != std::string::npos ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(CrawlState, DirUnderARegularFileIsAnError) {
  temp_dir tmp;
  std::ofstream(tmp.str("file")) << "x";
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("file/state"), error), nullptr);
  EXPECT_NE(error.find("cannot create state dir"), std::string::npos) << error;
  EXPECT_NE(error.find(tmp.str("file/state")), std::string::npos) << error;
}

TEST(CrawlState, EmptyDirIsAnError) {
  std::string error;
  EXPECT_EQ(crawl_state::open("", error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST(CrawlState, UnwritableDirIsAnError) {
  temp_dir tmp;
  const auto dir = tmp.str("ro");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec);
  if (::access(dir.c_str(), W_OK) == 0) {
    fs::permissions(dir, fs::perms::owner_all);
    GTEST_SKIP() << "running with privileges that ignore directory permissions";
  }
  std::string error;
  EXPECT_EQ(crawl_state::open(dir, error), nullptr);
  EXPECT_FALSE(error.empty());
  fs::permissions(dir, fs::perms::owner_all);
}

TEST(CrawlState, StateFileThatIsNotADatabaseIsAnError) {
  temp_dir tmp;
  fs::create_directories(tmp.str("s"));
  std::ofstream(tmp.str("s/state.sqlite3")) << std::string(4096, 'g');
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_NE(error.find("not a database"), std::string::npos) << error;
}

TEST(CrawlState, StateFileIsADirectoryIsAnError) {
  temp_dir tmp;
  fs::create_directories(tmp.str("s/state.sqlite3"));
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_FALSE(error.empty());
}

void make_sqlite(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(CrawlState, ForeignSqliteFileIsAnError) {
  temp_dir tmp;
  fs::create_directories(tmp.str("s"));
  make_sqlite(tmp.str("s/state.sqlite3"), "CREATE TABLE other(x); INSERT INTO other VALUES(1)");
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_NE(error.find("not a trawler state"), std::string::npos) << error;
}

TEST(CrawlState, NewerFormatIsAnError) {
  temp_dir tmp;
  must_open(tmp.str("s")).reset();
  make_sqlite(tmp.str("s/state.sqlite3"), "PRAGMA user_version=99");
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_NE(error.find("format 99"), std::string::npos) << error;
}

TEST(CrawlState, DamagedNumberingIsAnError) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/"));
    st->admitted(pu("https://a.test/b"));
  }
  make_sqlite(tmp.str("s/state.sqlite3"), "DELETE FROM urls WHERE seq = 0");
  std::string error;
  EXPECT_EQ(crawl_state::open(tmp.str("s"), error), nullptr);
  EXPECT_NE(error.find("damaged"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------------
// reconcile

TEST(CrawlState, ReconcileMakesDoneExactlyTheRecordedSet) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (auto u : {"https://a.test/1", "https://a.test/2", "https://a.test/3", "https://a.test/4"})
      st->admitted(pu(u));
    st->recorded("https://a.test/1");  // marked done, but its line never reached the output
    st->recorded("https://a.test/2");
    must_checkpoint(*st);
    st->admitted(pu("https://a.test/5"));  // buffered
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  st->admitted(pu("https://a.test/6"));  // buffered, recorded in the output
  // 7 was recorded but its admission was lost (never checkpointed); 2 appears twice.
  const std::vector<std::string> recorded = {"https://a.test/2", "https://a.test/3",
                                             "https://a.test/7", "https://a.test/2",
                                             "https://a.test/6", ""};
  EXPECT_EQ(st->reconcile(recorded).added, 1u);
  const std::vector<std::pair<std::string, bool>> expected = {
      {"https://a.test/1", false}, {"https://a.test/2", true},  {"https://a.test/3", true},
      {"https://a.test/4", false}, {"https://a.test/5", false}, {"https://a.test/6", true},
      {"https://a.test/7", true},
  };
  EXPECT_EQ(all_urls(*st), expected);
  const std::vector<std::string> expected_pending = {"https://a.test/1", "https://a.test/4",
                                                     "https://a.test/5"};
  EXPECT_EQ(pending_urls(*st), expected_pending);
  EXPECT_EQ(st->reconcile(recorded).added, 0u);  // idempotent
  must_checkpoint(*st);
  st.reset();
  st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(all_urls(*st), expected);
  EXPECT_EQ(pending_urls(*st), expected_pending);
}

// SPEC "Stopping": a resume fetches no URL already recorded, whatever output it writes to.
// The state knows on its own: records confirmed written stay done with no output to scan.
TEST(CrawlState, ConfirmedRecordsStayDoneWithoutTheOutput) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (auto u : {"https://a.test/1", "https://a.test/2", "https://a.test/3"}) st->admitted(pu(u));
    st->recorded("https://a.test/1");
    st->recorded("https://a.test/2");
    must_checkpoint(*st);
    st->output_written();  // their lines reached the output
    must_checkpoint(*st);  // and that is saved
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_FALSE(st->legacy());
  const auto r = st->reconcile({});  // another output path: nothing of the old one to scan
  EXPECT_EQ(r.unconfirmed, 0u);
  EXPECT_EQ(r.added, 0u);
  EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/3"}));
}

// Only the last checkpoint before a kill can lack its confirmation: its done flags hold when
// the scanned output has their records, and are fetched again otherwise.
TEST(CrawlState, UnconfirmedRecordsAreSettledByTheScan) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (auto u : {"https://a.test/1", "https://a.test/2", "https://a.test/3", "https://a.test/4"})
      st->admitted(pu(u));
    st->recorded("https://a.test/1");
    must_checkpoint(*st);
    st->output_written();
    st->recorded("https://a.test/2");
    st->recorded("https://a.test/3");
    must_checkpoint(*st);  // confirms 1; 2 and 3 are committed, then the kill
  }
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    const auto r = st->reconcile({"https://a.test/3"});  // 3 reached the output, 2 did not
    EXPECT_EQ(r.unconfirmed, 2u);
    EXPECT_EQ(r.confirmed_by_output, 1u);
    EXPECT_EQ(pending_urls(*st),
              (std::vector<std::string>{"https://a.test/2", "https://a.test/4"}));
    must_checkpoint(*st);
  }
  // Settled once: the next open has nothing unconfirmed, 1 and 3 stay done.
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reconcile({}).unconfirmed, 0u);
  EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/2", "https://a.test/4"}));
}

// Records written to stdout cannot be looked up: the last checkpoint's done flags, committed
// before their lines were written, stay done (a line may be with a collector), whatever the
// scan of another output found.
TEST(CrawlState, UnconfirmedRecordsOfAnUnreadableOutputStayDone) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (auto u : {"https://a.test/1", "https://a.test/2", "https://a.test/3", "https://a.test/4"})
      st->admitted(pu(u));
    st->recorded("https://a.test/1");
    must_checkpoint(*st);
    st->output_written();
    st->recorded("https://a.test/2");
    st->recorded("https://a.test/3");
    must_checkpoint(*st);  // confirms 1; 2 and 3 are committed, then the kill
  }
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    const auto r =
        st->reconcile({"https://a.test/3"}, crawl_state::unconfirmed_records::unreadable);
    EXPECT_EQ(r.unconfirmed, 2u);
    EXPECT_EQ(r.confirmed_by_output, 1u);
    EXPECT_EQ(r.trusted, 1u);
    EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/4"}));
    must_checkpoint(*st);
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reconcile({}).unconfirmed, 0u);
  EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/4"}));
}

// A store written before records were confirmed: every done flag waits for the scan, as it
// did then, and it is no longer legacy once checkpointed.
TEST(CrawlState, StoreWithoutConfirmationsIsLegacy) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    st->admitted(pu("https://a.test/1"));
    st->admitted(pu("https://a.test/2"));
    st->recorded("https://a.test/1");
    st->recorded("https://a.test/2");
    must_checkpoint(*st);
    st->output_written();
    must_checkpoint(*st);
  }
  make_sqlite(tmp.str("s/state.sqlite3"), "DELETE FROM info WHERE key = 'confirmed_marks'");
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    EXPECT_TRUE(st->legacy());
    const auto r = st->reconcile({"https://a.test/2"});
    EXPECT_EQ(r.unconfirmed, 2u);
    EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/1"}));
    must_checkpoint(*st);
    EXPECT_FALSE(st->legacy());
  }
}

// ---------------------------------------------------------------------------------------------
// Scale: the index grows, many checkpoints, reopen.

TEST(CrawlState, TwentyThousandUrlsAcrossCheckpoints) {
  temp_dir tmp;
  constexpr int n = 20000;
  auto url = [](int i) {
    return "https://h" + std::to_string(i % 97) + ".test/" + std::to_string(i);
  };
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (int i = 0; i < n; ++i) {
      st->admitted(pu(url(i), i % 11, 10, i == 0 ? "" : url(i / 2)));
      if (i % 3 == 0) st->recorded(url(i));
      if (i % 5000 == 4999) must_checkpoint(*st);
    }
  }
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->size(), static_cast<std::uint64_t>(n));
  const auto pending = st->pending();
  std::vector<pending_url> expected;
  for (int i = 0; i < n; ++i) {
    if (i % 3 != 0) expected.push_back(pu(url(i), i % 11, 10, url(i / 2)));
  }
  ASSERT_EQ(pending.size(), expected.size());
  EXPECT_TRUE(pending == expected);
  std::size_t count = 0, done = 0;
  st->for_each_url([&](std::string_view, bool d) {
    ++count;
    done += d ? 1 : 0;
  });
  EXPECT_EQ(count, static_cast<std::size_t>(n));
  EXPECT_EQ(done, static_cast<std::size_t>((n + 2) / 3));
}

// ---------------------------------------------------------------------------------------------
// scan_output

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

std::string record_line(const std::string& url, const std::string& error_kind = "",
                        const std::string& status = "200") {
  std::string error =
      error_kind.empty() ? "null" : R"({"kind":")" + error_kind + R"(","message":"m"})";
  return R"({"url":")" + url + R"(","status":)" + status + R"(,"error":)" + error +
         R"(,"redirect":null,"depth":0,"referrer":null,"links":["https://x.test/"],"title":"{\"}"})" +
         "\n";
}

TEST(ScanOutput, RecordsCancelledInvalidAndTornTail) {
  temp_dir tmp;
  const auto path = tmp.str("out.jsonl");
  std::string body;
  body += record_line("https://a.test/");
  body += record_line("https://a.test/cancel", "cancelled", "null");
  body += record_line("https://a.test/dns", "dns", "null");
  body += record_line("https://a.test/404", "", "404");
  body += record_line("https://a.test/cancelledish", "cancelledX");  // not `cancelled`
  body += "\n";                                                      // blank: ignored
  body += "   \r\n";                                                 // blank too
  body += "not json at all\n";                                       // invalid
  body += R"({"status":200,"error":null})"
          "\n";  // no url: invalid
  body += R"({"url":5,"error":null})"
          "\n";  // url not a string
  body += R"({"url":"","status":200,"error":null})"
          "\n";  // empty url
  body += R"([1,2,3])"
          "\n";  // not an object
  body += R"({"url":"https://a.test/bad-error","error":"dns"})"
          "\n";  // error not an object
  // Our layout but cut before the closing brace, in the middle of the file.
  body += R"({"url":"https://a.test/cut","status":200,"error":null,"redirect":null)"
          "\n";
  // Other key orders and escapes take the full parse.
  body += R"({"error":null,"status":200,"url":"https://a.test/sorted"})"
          "\n";
  body += R"({"error":{"kind":"cancelled","message":""},"url":"https://a.test/sorted-cancel"})"
          "\n";
  body += R"({"url":"https:\/\/a.test\/esc\u0041","status":200,"error":null})"
          "\n";
  body += R"({"url":"https://a.test/crlf","status":301,"error":null})"
          "\r\n";
  body += record_line("https://a.test/cancel");  // fetched again after the cancel: recorded
  const std::string torn = R"({"url":"https://a.test/torn","status":200,"err)";
  write_file(path, body + torn);

  std::string error;
  const output_scan scan = scan_output(path, error);
  EXPECT_TRUE(error.empty()) << error;
  const std::vector<std::string> expected = {
      "https://a.test/",       "https://a.test/dns",
      "https://a.test/404",    "https://a.test/cancelledish",
      "https://a.test/sorted", "https://a.test/escA",
      "https://a.test/crlf",   "https://a.test/cancel",
  };
  EXPECT_EQ(scan.recorded, expected);
  EXPECT_EQ(scan.responses, 7u);  // all but /dns have a status (fast path and full parse)
  EXPECT_EQ(scan.invalid_lines, 7u);
  EXPECT_EQ(scan.truncated_bytes, torn.size());
  EXPECT_EQ(read_file(path), body);  // the torn line is gone, the rest untouched

  // A second scan finds the same and cuts nothing.
  const output_scan again = scan_output(path, error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(again.recorded, expected);
  EXPECT_EQ(again.responses, 7u);
  EXPECT_EQ(again.truncated_bytes, 0u);
}

TEST(ScanOutput, CompleteLastRecordWithoutNewlineIsCut) {
  // Whole-line writes end with '\n'; a record missing it was torn just before it, and keeping
  // it would glue the next appended line onto it.
  temp_dir tmp;
  const auto path = tmp.str("out.jsonl");
  const auto first = record_line("https://a.test/1");
  auto last = record_line("https://a.test/2");
  last.pop_back();
  write_file(path, first + last);
  std::string error;
  const auto scan = scan_output(path, error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(scan.recorded, std::vector<std::string>{"https://a.test/1"});
  EXPECT_EQ(scan.truncated_bytes, last.size());
  EXPECT_EQ(read_file(path), first);
}

TEST(ScanOutput, OnlyATornLineLeavesAnEmptyFile) {
  temp_dir tmp;
  const auto path = tmp.str("out.jsonl");
  write_file(path, R"({"url":"https://a.t)");
  std::string error;
  const auto scan = scan_output(path, error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_TRUE(scan.recorded.empty());
  EXPECT_EQ(scan.truncated_bytes, 19u);
  EXPECT_EQ(fs::file_size(path), 0u);
}

TEST(ScanOutput, MissingAndEmptyFiles) {
  temp_dir tmp;
  std::string error;
  auto scan = scan_output(tmp.str("missing.jsonl"), error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_TRUE(scan.recorded.empty());
  EXPECT_FALSE(fs::exists(tmp.str("missing.jsonl")));  // not created
  write_file(tmp.str("empty.jsonl"), "");
  scan = scan_output(tmp.str("empty.jsonl"), error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_TRUE(scan.recorded.empty());
  EXPECT_EQ(scan.invalid_lines, 0u);
  EXPECT_EQ(scan.truncated_bytes, 0u);
}

TEST(ScanOutput, DirectoryIsAnError) {
  temp_dir tmp;
  std::string error;
  const auto scan = scan_output(tmp.str(), error);
  EXPECT_FALSE(error.empty());
  EXPECT_NE(error.find(tmp.str()), std::string::npos) << error;
  EXPECT_TRUE(scan.recorded.empty());
}

TEST(ScanOutput, LinesLongerThanTheBufferAndAcrossChunkBoundaries) {
  temp_dir tmp;
  const auto path = tmp.str("out.jsonl");
  std::string body;
  std::vector<std::string> expected;
  for (int i = 0; i < 30000; ++i) {
    const std::string url = "https://a.test/" + std::to_string(i);
    std::string line = record_line(url, i % 7 == 0 ? "cancelled" : "");
    if (i % 10000 == 5000) {
      // A 2.5 MiB title: longer than the 1 MiB read buffer.
      line.insert(line.size() - 2, std::string(5 << 19, 't'));
    }
    if (i % 7 != 0) expected.push_back(url);
    body += line;
  }
  write_file(path, body);
  std::string error;
  const auto scan = scan_output(path, error);
  EXPECT_TRUE(error.empty()) << error;
  EXPECT_EQ(scan.invalid_lines, 0u);
  EXPECT_EQ(scan.truncated_bytes, 0u);
  ASSERT_EQ(scan.recorded.size(), expected.size());
  EXPECT_TRUE(scan.recorded == expected);
  EXPECT_EQ(fs::file_size(path), body.size());
}

// The resume flow the app runs: scan the output, reconcile, then read the frontier.
TEST(ScanOutput, ResumeFlowWithCrawlState) {
  temp_dir tmp;
  const auto out = tmp.str("out.jsonl");
  {
    auto st = must_open(tmp.str("s"));
    ASSERT_NE(st, nullptr);
    for (auto u : {"https://a.test/", "https://a.test/1", "https://a.test/2", "https://a.test/3"})
      st->admitted(pu(u));
    must_checkpoint(*st);  // done flags never saved: the crash came first
  }
  write_file(out, record_line("https://a.test/") + record_line("https://a.test/2", "cancelled") +
                      record_line("https://a.test/1") + R"({"url":"https://a.test/3")");
  std::string error;
  const auto scan = scan_output(out, error);
  ASSERT_TRUE(error.empty()) << error;
  auto st = must_open(tmp.str("s"));
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(st->reconcile(scan.recorded).added, 0u);
  // 2 was cancelled, 3 was torn away: both fetched again.
  EXPECT_EQ(pending_urls(*st), (std::vector<std::string>{"https://a.test/2", "https://a.test/3"}));
}

}  // namespace

// ---- dropped URLs and lookups (trawler explain) ---------------------------------------------

TEST(CrawlStateDrops, KeptAcrossReopenAt16BytesEach) {
  temp_dir d;
  {
    auto st = must_open(d.str());
    st->admitted({"http://a/", 0, 5, ""});
    st->admitted({"http://a/p", 1, 5, "http://a/"});
    st->dropped(11, drop_reason::excluded, 2, 1, "http://a/");
    must_checkpoint(*st);
    st->dropped(22, drop_reason::too_deep, -1, 300, "http://a/p");  // depth saturates at 255
    st->dropped(33, drop_reason::out_of_scope, -1, 1, "http://elsewhere/");  // not admitted
    // Buffered ones are found before the checkpoint.
    ASSERT_TRUE(st->find_dropped(22).has_value());
    EXPECT_EQ(st->find_dropped(22)->reason, drop_reason::too_deep);
  }
  auto st = must_open(d.str());
  auto a = st->find_dropped(11);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->reason, drop_reason::excluded);
  EXPECT_EQ(a->rule, 2);
  EXPECT_EQ(a->depth, 1);
  EXPECT_EQ(a->referrer, "http://a/");
  auto b = st->find_dropped(22);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->rule, -1);
  EXPECT_EQ(b->depth, 255);
  EXPECT_EQ(b->referrer, "http://a/p");
  auto c = st->find_dropped(33);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->referrer, "") << "a referrer that is not an admitted URL is not kept";
  EXPECT_FALSE(st->find_dropped(44).has_value());
  std::vector<std::pair<std::uint64_t, drop_reason>> all;
  st->for_each_dropped([&](std::uint64_t k, drop_reason r) { all.emplace_back(k, r); });
  EXPECT_EQ(all,
            (std::vector<std::pair<std::uint64_t, drop_reason>>{{11, drop_reason::excluded},
                                                                {22, drop_reason::too_deep},
                                                                {33, drop_reason::out_of_scope}}));
  st.reset();
  // The cost SPEC states: 16 bytes a dropped URL (one row per checkpoint holds them).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(d.str("state.sqlite3").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT count(*), sum(length(entries)) FROM dropped", -1, &s, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 2);       // two checkpoints
  EXPECT_EQ(sqlite3_column_int(s, 1), 3 * 16);  // three drops
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(CrawlStateLookup, FindsAnAdmittedUrlsRowBufferedOrSaved) {
  temp_dir d;
  auto st = must_open(d.str());
  st->admitted({"http://a/", 0, 5, ""});
  st->admitted({"http://a/sitemap.xml", 0, 5, "http://a/robots.txt", true});
  st->admitted({"http://a/p", 3, 5, "http://a/"});
  auto check = [&](const char* when) {
    auto p = st->find("http://a/p");
    ASSERT_TRUE(p.has_value()) << when;
    EXPECT_EQ(p->seq, 2u) << when;
    EXPECT_EQ(p->depth, 3) << when;
    EXPECT_EQ(p->referrer, "http://a/") << when;
    EXPECT_FALSE(p->sitemap) << when;
    auto m = st->find("http://a/sitemap.xml");
    ASSERT_TRUE(m.has_value()) << when;
    EXPECT_TRUE(m->sitemap) << when;
    EXPECT_EQ(m->referrer, "http://a/robots.txt") << when;
    EXPECT_FALSE(st->find("http://a/q").has_value()) << when;
  };
  check("buffered");
  st->recorded("http://a/p");
  EXPECT_TRUE(st->find("http://a/p")->done);
  must_checkpoint(*st);
  check("saved");
  st.reset();
  st = must_open(d.str());
  check("reopened");
  EXPECT_TRUE(st->find("http://a/p")->done);
  EXPECT_FALSE(st->find("http://a/")->done);
}

// ---------------------------------------------------------------------------------------------
// recrawl visit rows

TEST(CrawlStateVisits, RowsAreSavedWithTheCheckpointAndReplacedInPlace) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    st->admitted(pu("https://a.test/"));
    st->admitted(pu("https://a.test/x", 1, 10, "https://a.test/"));
    st->put_visit("https://a.test/", std::string("\x01row-one\0", 9));
    st->put_visit("https://a.test/never-admitted", "ignored");
    EXPECT_EQ(st->visit("https://a.test/"), std::string_view("\x01row-one\0", 9));
    EXPECT_FALSE(st->visit("https://a.test/x"));
    EXPECT_FALSE(st->visit("https://a.test/never-admitted"));
    must_checkpoint(*st);
    st->put_visit("https://a.test/", "row-two");
    st->put_visit("https://a.test/", "row-three");  // twice before a checkpoint: the last wins
    st->put_visit("https://a.test/x", "row-x");
    must_checkpoint(*st);
  }
  auto st = must_open(tmp.str("s"));
  EXPECT_EQ(st->visit_count(), 2u);
  EXPECT_EQ(st->visit("https://a.test/"), "row-three");
  EXPECT_EQ(st->visit("https://a.test/x"), "row-x");
}

TEST(CrawlStateVisits, AStoreWithoutTheTableGainsIt) {
  temp_dir tmp;
  {
    auto st = must_open(tmp.str("s"));
    st->admitted(pu("https://a.test/"));
    must_checkpoint(*st);
  }
  {
    // As a trawler from before recrawl left it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((tmp.path() / "s" / "state.sqlite3").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DROP TABLE visits", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto st = must_open(tmp.str("s"));
  EXPECT_EQ(st->visit_count(), 0u);
  st->put_visit("https://a.test/", "row");
  must_checkpoint(*st);
}

// The published figure (SPEC additions "Recrawl"): a visit row costs at most 100 bytes on disk
// beyond the URL's own row, measured as the file's pages in use before and after.
TEST(CrawlStateVisits, ARowCostsAtMost100BytesOnDisk) {
  temp_dir tmp;
  auto st = must_open(tmp.str("s"));
  constexpr int n = 20000;
  for (int i = 0; i < n; ++i) st->admitted(pu("https://a.test/page/" + std::to_string(i)));
  must_checkpoint(*st);
  auto pages_in_use = [&] {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((tmp.path() / "s" / "state.sqlite3").c_str(), &db,
                              SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(
        db,
        "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count "
        "FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())",
        -1, &s, nullptr);
    std::int64_t bytes = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
      bytes = sqlite3_column_int64(s, 0) * sqlite3_column_int64(s, 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return bytes;
  };
  // Measured with the store closed (it holds an exclusive lock while open, and closing moves the
  // WAL into the file).
  st.reset();
  const std::int64_t before = pages_in_use();
  st = must_open(tmp.str("s"));
  // A typical row: two digests, an ETag of 20 bytes, times, counters (75 bytes encoded).
  std::string row(55, '\x01');
  row += "\"5f3a2b-1b2c3d4e5f6a7\"";
  for (int i = 0; i < n; ++i) st->put_visit("https://a.test/page/" + std::to_string(i), row);
  must_checkpoint(*st);
  st.reset();  // closing checkpoints the WAL into the file
  const std::int64_t after = pages_in_use();
  const double per_url = static_cast<double>(after - before) / n;
  RecordProperty("bytes_per_visit_row", std::to_string(per_url));
  EXPECT_LE(per_url, 100.0) << "bytes per URL: " << per_url;
  EXPECT_GE(per_url, static_cast<double>(row.size()));
}
