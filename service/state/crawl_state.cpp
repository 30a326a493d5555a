#include "state/crawl_state.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "common/log.hpp"

namespace trawler::state {

void detail::sqlite_closer::operator()(sqlite3* db) const noexcept {
  sqlite3_close_v2(db);
}
void detail::statement_finalizer::operator()(sqlite3_stmt* s) const noexcept {
  sqlite3_finalize(s);
}

namespace {

constexpr int schema_version = 1;
constexpr std::uint32_t shared_hash = url_index::max_value + 1;

// rowid = admission number, so admissions only ever append to the table. referrer_seq names
// an admitted referrer (most are: the page that linked here); referrer holds any other text.
constexpr const char* schema_sql = R"sql(
CREATE TABLE urls(
  seq INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  depth INTEGER NOT NULL,
  redirects_left INTEGER NOT NULL,
  referrer_seq INTEGER,
  referrer TEXT);
CREATE TABLE marks(seq INTEGER NOT NULL, done INTEGER NOT NULL);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE info(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
)sql";

std::uint64_t default_hash(std::string_view s) {
  return std::hash<std::string_view>{}(s);
}

// The index's second hash: FNV-1a, independent of std::hash (MurmurHash2 in libstdc++) and of
// any hash a test injects.
std::uint32_t url_check(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

std::string_view column_text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  if (p == nullptr) return {};
  return std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s, col)));
}

void bind_text(sqlite3_stmt* s, int col, std::string_view text) {
  // SQLITE_STATIC: the text outlives the step (arena_ or a caller's string).
  sqlite3_bind_text(s, col, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

// A drop in the `dropped` table: 16 bytes, little-endian, so a store moves between machines:
// url_hash (8) | referrer seq (4, all ones: none) | reason (1) | depth (1) | rule (2, all ones:
// none). One row holds a checkpoint's drops as one blob: 16 bytes a URL plus a row a checkpoint.
constexpr std::size_t drop_size = 16;
constexpr std::uint32_t no_referrer = 0xffffffffu;

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Steps a statement that returns no rows and resets it for reuse.
bool run(sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  return rc == SQLITE_DONE;
}

}  // namespace

crawl_state::crawl_state(passkey, std::string dir, std::string path, url_hash hash)
    : dir_(std::move(dir)), path_(std::move(path)), hash_(hash ? hash : &default_hash) {}

std::unique_ptr<crawl_state> crawl_state::open(const std::string& dir, std::string& error,
                                               url_hash hash) {
  namespace fs = std::filesystem;
  if (dir.empty()) {
    error = "state dir is empty";  // empty means "in memory only": the caller should not open
    return nullptr;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create state dir '" + dir + "': " + ec.message();
    return nullptr;
  }
  auto path = (fs::path(dir) / "state.sqlite3").string();
  auto st = std::make_unique<crawl_state>(passkey{}, dir, std::move(path), hash);
  if (!st->init(error)) return nullptr;
  return st;
}

crawl_state::~crawl_state() {
  if (!db_) return;
  std::string error;
  if (!checkpoint(error)) log::warn("state: changes lost at close: " + error);
}

std::string crawl_state::sqlite_error(std::string_view what) const {
  std::string msg(what);
  msg += " '" + path_ + "': ";
  msg += db_ ? sqlite3_errmsg(db_.get()) : "out of memory";
  return msg;
}

bool crawl_state::init(std::string& error) {
  const bool existed = std::filesystem::exists(path_);
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path_.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(raw);
  if (rc != SQLITE_OK) {
    error = sqlite_error("cannot open state");
    return false;
  }
  sqlite3_extended_result_codes(db_.get(), 1);

  // EXCLUSIVE before WAL: the lock is taken at the first read and kept until close, so two
  // crawls can never share a state dir, and WAL needs no -shm file.
  auto exec = [&](const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    if ((sqlite3_errcode(db_.get()) & 0xff) == SQLITE_BUSY) {
      error = "state dir '" + dir_ + "' is in use by another crawl";
    } else {
      error = sqlite_error("cannot open state");
    }
    return false;
  };
  if (!exec("PRAGMA locking_mode=EXCLUSIVE")) return false;
  {
    sqlite3_stmt* raw_stmt = nullptr;
    sqlite3_prepare_v2(db_.get(), "PRAGMA journal_mode=WAL", -1, &raw_stmt, nullptr);
    statement s(raw_stmt);
    const int step = s ? sqlite3_step(s.get()) : SQLITE_ERROR;
    if (step != SQLITE_ROW) {
      if ((sqlite3_extended_errcode(db_.get()) & 0xff) == SQLITE_BUSY) {
        error = "state dir '" + dir_ + "' is in use by another crawl";
      } else {
        error = sqlite_error("cannot open state");
      }
      return false;
    }
    if (column_text(s.get(), 0) != "wal") {
      error = "cannot open state '" + path_ + "': WAL journal mode unavailable";
      return false;
    }
  }
  // NORMAL in WAL mode: a commit is in the OS once COMMIT returns, which is what surviving
  // SIGKILL needs; only a power loss can take the last commits back.
  if (!exec("PRAGMA synchronous=NORMAL") || !exec("PRAGMA cache_size=-16384")) return false;

  int version = 0;
  bool has_tables = false;
  {
    sqlite3_stmt* raw_stmt = nullptr;
    if (sqlite3_prepare_v2(db_.get(),
                           "SELECT (SELECT user_version FROM pragma_user_version),"
                           " EXISTS(SELECT 1 FROM sqlite_schema)",
                           -1, &raw_stmt, nullptr) != SQLITE_OK) {
      error = sqlite_error("cannot open state");
      return false;
    }
    statement s(raw_stmt);
    if (sqlite3_step(s.get()) != SQLITE_ROW) {
      error = sqlite_error("cannot open state");
      return false;
    }
    version = sqlite3_column_int(s.get(), 0);
    has_tables = sqlite3_column_int(s.get(), 1) != 0;
  }
  if (version == 0) {
    if (has_tables) {
      error = "cannot open state '" + path_ + "': not a trawler state store";
      return false;
    }
    std::string sql = "BEGIN IMMEDIATE;";
    sql += schema_sql;
    // A store made by this trawler confirms its records (see output_written()).
    sql += "INSERT INTO info(key, value) VALUES('confirmed_marks', 0);";
    sql += "PRAGMA user_version=" + std::to_string(schema_version) + "; COMMIT;";
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      error = sqlite_error("cannot create state");
      sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      return false;
    }
  } else if (version != schema_version) {
    error = "cannot open state '" + path_ + "': format " + std::to_string(version) +
            " is not supported (this trawler writes format " + std::to_string(schema_version) + ")";
    return false;
  }

  // Added after format 1 was released: a store written before it gains the (empty) table, and
  // an older trawler ignores it.
  if (sqlite3_exec(db_.get(),
                   "CREATE TABLE IF NOT EXISTS sitemaps(seq INTEGER PRIMARY KEY);"
                   "CREATE TABLE IF NOT EXISTS requisites(seq INTEGER PRIMARY KEY);"
                   "CREATE TABLE IF NOT EXISTS dropped(batch INTEGER PRIMARY KEY,"
                   " entries BLOB NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS visits(seq INTEGER PRIMARY KEY, row BLOB NOT NULL)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    error = sqlite_error("cannot open state");
    return false;
  }

  auto prepare = [&](statement& s, const char* sql) {
    sqlite3_stmt* raw_stmt = nullptr;
    const int prc =
        sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw_stmt, nullptr);
    s.reset(raw_stmt);
    if (prc == SQLITE_OK) return true;
    error = sqlite_error("cannot open state");
    return false;
  };
  if (!prepare(insert_url_,
               "INSERT INTO urls(seq, url, depth, redirects_left, referrer_seq, referrer)"
               " VALUES(?1, ?2, ?3, ?4, ?5, ?6)") ||
      !prepare(insert_mark_, "INSERT INTO marks(seq, done) VALUES(?1, ?2)") ||
      !prepare(insert_sitemap_, "INSERT OR IGNORE INTO sitemaps(seq) VALUES(?1)") ||
      !prepare(insert_requisite_, "INSERT OR IGNORE INTO requisites(seq) VALUES(?1)") ||
      !prepare(put_meta_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)") ||
      !prepare(put_info_, "INSERT OR REPLACE INTO info(key, value) VALUES(?1, ?2)") ||
      !prepare(url_by_seq_, "SELECT url FROM urls WHERE seq = ?1") ||
      !prepare(insert_drops_, "INSERT INTO dropped(entries) VALUES(?1)") ||
      !prepare(put_visit_, "INSERT OR REPLACE INTO visits(seq, row) VALUES(?1, ?2)") ||
      !prepare(url_row_,
               "SELECT u.depth, COALESCE(r.url, u.referrer),"
               " EXISTS(SELECT 1 FROM sitemaps m WHERE m.seq = u.seq),"
               " EXISTS(SELECT 1 FROM requisites q WHERE q.seq = u.seq)"
               " FROM urls u LEFT JOIN urls r ON r.seq = u.referrer_seq WHERE u.seq = ?1")) {
    return false;
  }
  if (!load(error)) return false;
  resumed_ = existed && (next_seq_ > 0 || !meta_.empty() || finished_);
  return true;
}

bool crawl_state::load(std::string& error) {
  auto query = [&](const char* sql, const auto& row) {
    sqlite3_stmt* raw_stmt = nullptr;
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw_stmt, nullptr) != SQLITE_OK) {
      error = sqlite_error("cannot read state");
      return false;
    }
    statement s(raw_stmt);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (!row(s.get())) return false;
    }
    if (rc != SQLITE_DONE) {
      error = sqlite_error("cannot read state");
      return false;
    }
    return true;
  };

  {
    sqlite3_stmt* raw_stmt = nullptr;
    sqlite3_prepare_v2(db_.get(), "SELECT count(*) FROM urls", -1, &raw_stmt, nullptr);
    statement s(raw_stmt);
    if (s && sqlite3_step(s.get()) == SQLITE_ROW) {
      index_.reserve(static_cast<std::size_t>(sqlite3_column_int64(s.get(), 0)));
    }
  }
  // Every URL is in the file while loading: url_text() must read them there.
  first_buffered_seq_ = no_seq;
  // Rows are written with consecutive numbers from 0, so a gap means a foreign or damaged file.
  if (!query("SELECT seq, url FROM urls ORDER BY seq", [&](sqlite3_stmt* s) {
        const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        if (seq != next_seq_) {
          error = "cannot read state '" + path_ + "': damaged (URL numbers are not contiguous)";
          return false;
        }
        if (seq > url_index::max_value) {
          error = "cannot read state '" + path_ + "': too many URLs";
          return false;
        }
        const auto url = column_text(s, 1);
        if (!index_url(url, seq)) {
          log::warn("state: URL stored twice, the first admission counts: " + std::string(url));
        }
        ++next_seq_;
        return true;
      })) {
    return false;
  }
  first_buffered_seq_ = next_seq_;
  done_.assign(next_seq_, false);
  if (!query("SELECT seq, row FROM visits", [&](sqlite3_stmt* s) {
        const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        const auto* data = static_cast<const char*>(sqlite3_column_blob(s, 1));
        const int size = sqlite3_column_bytes(s, 1);
        if (seq < next_seq_ && data && size > 0)
          visits_.emplace(seq, std::string(data, static_cast<std::size_t>(size)));
        return true;
      })) {
    return false;
  }
  bool has_confirmed = false;
  if (!query("SELECT value FROM info WHERE key = 'confirmed_marks'", [&](sqlite3_stmt* s) {
        has_confirmed = true;
        confirmed_rows_ =
            static_cast<std::uint64_t>(std::max<sqlite3_int64>(0, sqlite3_column_int64(s, 0)));
        return true;
      })) {
    return false;
  }
  legacy_ = !has_confirmed;
  // The last done mark of each URL decides; it is unconfirmed when its row is past the
  // confirmed ones. Rows are only ever appended, so rowids are 1, 2, 3...
  std::vector<std::uint64_t> last_row(next_seq_, 0);
  if (!query("SELECT rowid, seq, done FROM marks ORDER BY rowid", [&](sqlite3_stmt* s) {
        const auto row = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
        if (seq < done_.size()) {
          done_[seq] = sqlite3_column_int(s, 2) != 0;
          last_row[seq] = row;
        }
        mark_rows_ = std::max(mark_rows_, row);
        return true;
      })) {
    return false;
  }
  for (std::uint64_t seq = 0; seq < done_.size(); ++seq) {
    if (done_[seq] && last_row[seq] > confirmed_rows_) unconfirmed_.push_back(seq);
  }
  if (!query("SELECT key, value FROM meta", [&](sqlite3_stmt* s) {
        meta_.insert_or_assign(std::string(column_text(s, 0)), std::string(column_text(s, 1)));
        return true;
      })) {
    return false;
  }
  return query("SELECT value FROM info WHERE key = 'finished'", [&](sqlite3_stmt* s) {
    finished_ = sqlite3_column_int(s, 0) != 0;
    return true;
  });
}

// See "Hash collisions" in the header. The text read happens only when a 64-bit hash is seen
// twice: a duplicate admission or a real collision.
bool crawl_state::index_url(std::string_view url, std::uint64_t seq) {
  const std::uint64_t h = hash_(url);
  const url_index::entry e{static_cast<std::uint32_t>(seq), url_check(url)};
  const url_index::entry* found = index_.find(h);
  if (found == nullptr) {
    index_.set(h, e);
    return true;
  }
  if (found->value == shared_hash) return collided_.emplace(std::string(url), seq).second;
  const std::uint64_t other_seq = found->value;
  const auto other = url_text(other_seq);
  if (!other) {
    // Unreadable: keep this URL findable rather than drop it; the other one's later
    // recorded()/requeued() calls are lost, but its row and done flag stay.
    log::error("state: cannot read URL #" + std::to_string(other_seq) + " to compare hashes");
  } else if (*other == url) {
    return false;
  } else {
    collided_.emplace(*other, other_seq);
  }
  collided_.emplace(std::string(url), seq);
  index_.set(h, url_index::entry{shared_hash, 0});
  return true;
}

std::uint64_t crawl_state::find_seq(std::string_view url) const {
  const url_index::entry* found = index_.find(hash_(url));
  if (found == nullptr) return no_seq;
  if (found->value == shared_hash) {
    const auto it = collided_.find(url);
    return it == collided_.end() ? no_seq : it->second;
  }
  return found->check == url_check(url) ? found->value : no_seq;
}

std::optional<std::string> crawl_state::url_text(std::uint64_t seq) const {
  if (seq >= first_buffered_seq_) {
    const auto i = static_cast<std::size_t>(seq - first_buffered_seq_);
    if (i >= buffered_urls_.size()) return std::nullopt;
    const auto& b = buffered_urls_[i];
    return std::string(arena_view(b.url_offset, b.url_size));
  }
  sqlite3_stmt* s = url_by_seq_.get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(seq));
  std::optional<std::string> text;
  if (sqlite3_step(s) == SQLITE_ROW) text.emplace(column_text(s, 0));
  sqlite3_reset(s);
  return text;
}

void crawl_state::append(std::string_view url, int depth, int redirects_left,
                         std::string_view referrer, bool sitemap, bool requisite) {
  buffered_url b{};
  b.sitemap = sitemap;
  b.requisite = requisite;
  b.depth = depth;
  b.redirects_left = redirects_left;
  b.referrer_seq = no_seq;
  b.url_offset = arena_.size();
  b.url_size = url.size();
  arena_.append(url);
  if (!referrer.empty()) {
    if (referrer != last_referrer_) {
      last_referrer_.assign(referrer);
      last_referrer_seq_ = find_seq(referrer);
    }
    b.referrer_seq = last_referrer_seq_;
    if (b.referrer_seq == no_seq) {
      b.referrer_offset = arena_.size();
      b.referrer_size = referrer.size();
      arena_.append(referrer);
    }
  }
  buffered_urls_.push_back(b);
  done_.push_back(false);
  ++next_seq_;
}

void crawl_state::admitted(const pending_url& u) {
  if (u.url.empty()) return;
  if (next_seq_ > url_index::max_value) {
    log::error("state: too many URLs to keep, not saving " + u.url);
    return;
  }
  if (!index_url(u.url, next_seq_)) return;
  append(u.url, u.depth, u.redirects_left, u.referrer, u.sitemap, u.requisite);
}

void crawl_state::mark(std::uint64_t seq, bool done) {
  if (done_[seq] == done) return;
  done_[seq] = done;
  buffered_marks_.emplace_back(seq, done);
}

void crawl_state::recorded(std::string_view url) {
  const auto seq = find_seq(url);
  if (seq != no_seq) mark(seq, true);
}

void crawl_state::requeued(std::string_view url) {
  const auto seq = find_seq(url);
  if (seq != no_seq) mark(seq, false);
}

void crawl_state::output_written() {
  if (confirmed_rows_ == mark_rows_) return;
  confirmed_rows_ = mark_rows_;
  confirmed_dirty_ = true;
}

crawl_state::reconciled crawl_state::reconcile(const std::vector<std::string>& recorded,
                                               unconfirmed_records where) {
  reconciled out;
  std::vector<bool> has_record(done_.size(), false);
  std::vector<const std::string*> unknown;
  for (const auto& url : recorded) {
    if (url.empty()) continue;
    const auto seq = find_seq(url);
    if (seq == no_seq)
      unknown.push_back(&url);
    else
      has_record[seq] = true;
  }
  out.unconfirmed = unconfirmed_.size();
  for (const auto seq : unconfirmed_) {
    if (has_record[seq]) {
      ++out.confirmed_by_output;
    } else if (where == unconfirmed_records::unreadable) {
      ++out.trusted;
    } else {
      mark(seq, false);
    }
  }
  unconfirmed_.clear();
  // Settled: every done flag checkpointed so far is now either found written or reset by a
  // newer mark, so a kill before this run's first checkpoint does not ask again (with the
  // outputs scanned now perhaps no longer named in the state).
  if (confirmed_rows_ != mark_rows_) {
    confirmed_rows_ = mark_rows_;
    confirmed_dirty_ = true;
  }
  for (std::uint64_t seq = 0; seq < has_record.size(); ++seq) {
    if (has_record[seq]) mark(seq, true);
  }
  for (const std::string* url : unknown) {
    if (next_seq_ > url_index::max_value || !index_url(*url, next_seq_)) continue;  // repeats
    append(*url, 0, 0, {}, false, false);
    mark(next_seq_ - 1, true);
    ++out.added;
  }
  return out;
}

void crawl_state::set_finished(bool finished) {
  if (finished_ == finished) return;
  finished_ = finished;
  finished_dirty_ = true;
}

void crawl_state::put_meta(const std::string& key, const std::string& value) {
  auto [it, inserted] = meta_.try_emplace(key, value);
  if (!inserted) {
    if (it->second == value) return;
    it->second = value;
  }
  dirty_meta_.push_back(key);
}

std::optional<std::string> crawl_state::get_meta(const std::string& key) const {
  const auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

void crawl_state::dropped(std::uint64_t key, drop_reason reason, int rule, int depth,
                          std::string_view referrer) {
  std::uint64_t referrer_seq = no_seq;
  if (!referrer.empty()) {
    if (referrer != last_referrer_) {
      last_referrer_.assign(referrer);
      last_referrer_seq_ = find_seq(referrer);
    }
    referrer_seq = last_referrer_seq_;
  }
  put_le(buffered_drops_, key, 8);
  put_le(buffered_drops_, referrer_seq > url_index::max_value ? no_referrer : referrer_seq, 4);
  put_le(buffered_drops_, static_cast<std::uint8_t>(reason), 1);
  put_le(buffered_drops_, static_cast<std::uint64_t>(std::clamp(depth, 0, 255)), 1);
  put_le(buffered_drops_, rule < 0 || rule > 0xfffe ? 0xffff : static_cast<std::uint64_t>(rule), 2);
}

namespace {

// Calls fn(entry) for each 16-byte drop in `blob` until it returns true.
template <typename Fn>
bool scan_drops(const void* blob, std::size_t bytes, Fn&& fn) {
  const auto* p = static_cast<const unsigned char*>(blob);
  for (std::size_t i = 0; i + drop_size <= bytes; i += drop_size) {
    if (fn(p + i)) return true;
  }
  return false;
}

}  // namespace

std::optional<drop> crawl_state::find_dropped(std::uint64_t key) const {
  const unsigned char* hit = nullptr;
  std::string copy;  // the hit outlives the row it was read from
  auto match = [&](const unsigned char* e) {
    if (get_le(e, 8) != key) return false;
    copy.assign(reinterpret_cast<const char*>(e), drop_size);
    hit = reinterpret_cast<const unsigned char*>(copy.data());
    return true;
  };
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "SELECT entries FROM dropped ORDER BY batch", -1, &raw_stmt,
                         nullptr) == SQLITE_OK) {
    statement s(raw_stmt);
    while (hit == nullptr && sqlite3_step(s.get()) == SQLITE_ROW) {
      scan_drops(sqlite3_column_blob(s.get(), 0),
                 static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 0)), match);
    }
  }
  if (hit == nullptr) scan_drops(buffered_drops_.data(), buffered_drops_.size(), match);
  if (hit == nullptr) return std::nullopt;
  drop d;
  d.reason = static_cast<drop_reason>(hit[12]);
  d.depth = hit[13];
  const auto rule = get_le(hit + 14, 2);
  d.rule = rule == 0xffff ? -1 : static_cast<int>(rule);
  const auto referrer_seq = get_le(hit + 8, 4);
  if (referrer_seq != no_referrer) d.referrer = url_text(referrer_seq).value_or(std::string());
  return d;
}

void crawl_state::for_each_dropped(
    const std::function<void(std::uint64_t key, drop_reason why)>& fn) const {
  auto each = [&](const unsigned char* e) {
    fn(get_le(e, 8), static_cast<drop_reason>(e[12]));
    return false;
  };
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "SELECT entries FROM dropped ORDER BY batch", -1, &raw_stmt,
                         nullptr) != SQLITE_OK) {
    log::error(sqlite_error("state: cannot read dropped URLs from"));
    return;
  }
  statement s(raw_stmt);
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    scan_drops(sqlite3_column_blob(s.get(), 0),
               static_cast<std::size_t>(sqlite3_column_bytes(s.get(), 0)), each);
  }
  scan_drops(buffered_drops_.data(), buffered_drops_.size(), each);
}

std::optional<url_info> crawl_state::find(std::string_view url) const {
  const auto seq = find_seq(url);
  if (seq == no_seq) return std::nullopt;
  url_info info;
  info.seq = seq;
  info.done = seq < done_.size() && done_[seq];
  if (seq >= first_buffered_seq_) {
    const auto i = static_cast<std::size_t>(seq - first_buffered_seq_);
    if (i >= buffered_urls_.size()) return std::nullopt;
    const auto& b = buffered_urls_[i];
    info.depth = b.depth;
    info.sitemap = b.sitemap;
    info.requisite = b.requisite;
    info.referrer = referrer_of(b);
    return info;
  }
  sqlite3_stmt* s = url_row_.get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(seq));
  if (sqlite3_step(s) == SQLITE_ROW) {
    info.depth = sqlite3_column_int(s, 0);
    info.referrer = column_text(s, 1);
    info.sitemap = sqlite3_column_int(s, 2) != 0;
    info.requisite = sqlite3_column_int(s, 3) != 0;
  }
  sqlite3_reset(s);
  return info;
}

bool crawl_state::dirty() const noexcept {
  return !buffered_urls_.empty() || !buffered_marks_.empty() || !buffered_drops_.empty() ||
         !dirty_visits_.empty() || !dirty_meta_.empty() || finished_dirty_ || confirmed_dirty_;
}

bool crawl_state::checkpoint(std::string& error) {
  if (!dirty()) return true;
  sqlite3* db = db_.get();
  auto fail = [&](std::string_view what) {
    error = sqlite_error(what);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  };
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    error = sqlite_error("cannot save state");
    return false;
  }

  sqlite3_stmt* s = insert_url_.get();
  std::uint64_t seq = first_buffered_seq_;
  for (const auto& b : buffered_urls_) {
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(seq++));
    bind_text(s, 2, arena_view(b.url_offset, b.url_size));
    sqlite3_bind_int(s, 3, b.depth);
    sqlite3_bind_int(s, 4, b.redirects_left);
    if (b.referrer_seq != no_seq) {
      sqlite3_bind_int64(s, 5, static_cast<sqlite3_int64>(b.referrer_seq));
      sqlite3_bind_null(s, 6);
    } else {
      sqlite3_bind_null(s, 5);
      if (b.referrer_size != 0)
        bind_text(s, 6, arena_view(b.referrer_offset, b.referrer_size));
      else
        sqlite3_bind_null(s, 6);
    }
    if (!run(s)) return fail("cannot save state");
  }
  s = insert_sitemap_.get();
  seq = first_buffered_seq_;
  for (const auto& b : buffered_urls_) {
    const std::uint64_t this_seq = seq++;
    if (!b.sitemap) continue;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(this_seq));
    if (!run(s)) return fail("cannot save state");
  }
  s = insert_requisite_.get();
  seq = first_buffered_seq_;
  for (const auto& b : buffered_urls_) {
    const std::uint64_t this_seq = seq++;
    if (!b.requisite) continue;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(this_seq));
    if (!run(s)) return fail("cannot save state");
  }
  s = insert_mark_.get();
  for (const auto& [mark_seq, done] : buffered_marks_) {
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(mark_seq));
    sqlite3_bind_int(s, 2, done ? 1 : 0);
    if (!run(s)) return fail("cannot save state");
  }
  if (!buffered_drops_.empty()) {
    s = insert_drops_.get();
    sqlite3_bind_blob(s, 1, buffered_drops_.data(), static_cast<int>(buffered_drops_.size()),
                      SQLITE_STATIC);
    if (!run(s)) return fail("cannot save state");
  }
  s = put_visit_.get();
  // A row changed twice between checkpoints is written once, with its last value.
  std::sort(dirty_visits_.begin(), dirty_visits_.end());
  dirty_visits_.erase(std::unique(dirty_visits_.begin(), dirty_visits_.end()), dirty_visits_.end());
  for (const std::uint64_t v : dirty_visits_) {
    const auto it = visits_.find(v);
    if (it == visits_.end()) continue;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(v));
    sqlite3_bind_blob(s, 2, it->second.data(), static_cast<int>(it->second.size()), SQLITE_STATIC);
    if (!run(s)) return fail("cannot save state");
  }
  s = put_meta_.get();
  for (const auto& key : dirty_meta_) {
    bind_text(s, 1, key);
    bind_text(s, 2, meta_.find(key)->second);
    if (!run(s)) return fail("cannot save state");
  }
  if (finished_dirty_) {
    s = put_info_.get();
    bind_text(s, 1, "finished");
    sqlite3_bind_int(s, 2, finished_ ? 1 : 0);
    if (!run(s)) return fail("cannot save state");
  }
  if (confirmed_dirty_ || legacy_) {
    // From its first checkpoint on, a legacy store confirms its records too.
    s = put_info_.get();
    bind_text(s, 1, "confirmed_marks");
    sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(confirmed_rows_));
    if (!run(s)) return fail("cannot save state");
  }
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("cannot save state");
  }
  mark_rows_ += buffered_marks_.size();
  confirmed_dirty_ = false;
  legacy_ = false;

  first_buffered_seq_ = next_seq_;
  buffered_urls_.clear();
  arena_.clear();
  buffered_marks_.clear();
  buffered_drops_.clear();
  dirty_visits_.clear();
  dirty_meta_.clear();
  finished_dirty_ = false;
  return true;
}

void crawl_state::put_visit(std::string_view url, std::string row) {
  const std::uint64_t seq = find_seq(url);
  if (seq == no_seq) return;
  visits_[seq] = std::move(row);
  dirty_visits_.push_back(seq);
}

std::optional<std::string_view> crawl_state::visit(std::string_view url) const {
  const std::uint64_t seq = find_seq(url);
  if (seq == no_seq) return std::nullopt;
  const auto it = visits_.find(seq);
  if (it == visits_.end()) return std::nullopt;
  return std::string_view(it->second);
}

void crawl_state::for_each_row(
    const std::function<void(std::uint64_t seq, std::string_view url)>& fn) const {
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db_.get(), "SELECT seq, url FROM urls WHERE seq < ?1 ORDER BY seq", -1,
                         &raw_stmt, nullptr) != SQLITE_OK) {
    log::error(sqlite_error("state: cannot read URLs from"));
    return;
  }
  statement s(raw_stmt);
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(first_buffered_seq_));
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    fn(static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0)), column_text(s.get(), 1));
  }
  if (rc != SQLITE_DONE) log::error(sqlite_error("state: cannot read URLs from"));
  std::uint64_t seq = first_buffered_seq_;
  for (const auto& b : buffered_urls_) fn(seq++, arena_view(b.url_offset, b.url_size));
}

void crawl_state::for_each_url(
    const std::function<void(std::string_view url, bool done)>& fn) const {
  for_each_row(
      [&](std::uint64_t seq, std::string_view url) { fn(url, seq < done_.size() && done_[seq]); });
}

std::vector<pending_url> crawl_state::pending() const {
  std::vector<pending_url> out;
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db_.get(),
                         "SELECT u.seq, u.url, u.depth, u.redirects_left,"
                         " COALESCE(r.url, u.referrer),"
                         " EXISTS(SELECT 1 FROM sitemaps m WHERE m.seq = u.seq),"
                         " EXISTS(SELECT 1 FROM requisites q WHERE q.seq = u.seq)"
                         " FROM urls u LEFT JOIN urls r ON r.seq = u.referrer_seq"
                         " WHERE u.seq < ?1 ORDER BY u.seq",
                         -1, &raw_stmt, nullptr) != SQLITE_OK) {
    log::error(sqlite_error("state: cannot read pending URLs from"));
    return out;
  }
  statement s(raw_stmt);
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(first_buffered_seq_));
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const auto seq = static_cast<std::uint64_t>(sqlite3_column_int64(s.get(), 0));
    if (seq < done_.size() && done_[seq]) continue;
    auto& p = out.emplace_back();
    p.url = column_text(s.get(), 1);
    p.depth = sqlite3_column_int(s.get(), 2);
    p.redirects_left = sqlite3_column_int(s.get(), 3);
    p.referrer = column_text(s.get(), 4);
    p.sitemap = sqlite3_column_int(s.get(), 5) != 0;
    p.requisite = sqlite3_column_int(s.get(), 6) != 0;
  }
  if (rc != SQLITE_DONE) log::error(sqlite_error("state: cannot read pending URLs from"));
  std::uint64_t seq = first_buffered_seq_;
  for (const auto& b : buffered_urls_) {
    if (done_[seq++]) continue;
    auto& p = out.emplace_back();
    p.url = arena_view(b.url_offset, b.url_size);
    p.depth = b.depth;
    p.redirects_left = b.redirects_left;
    p.sitemap = b.sitemap;
    p.requisite = b.requisite;
    p.referrer = referrer_of(b);
  }
  return out;
}

std::string crawl_state::referrer_of(const buffered_url& b) const {
  if (b.referrer_seq != no_seq) return url_text(b.referrer_seq).value_or(std::string());
  return std::string(arena_view(b.referrer_offset, b.referrer_size));
}

}  // namespace trawler::state
