#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "state/url_index.hpp"

struct sqlite3;
struct sqlite3_stmt;

// Crash-safe crawl state for resume (SPEC "State dir", "Stopping"): the frontier as admitted,
// the lazily kept done flags, the finished flag and a small key/value area, in
// <dir>/state.sqlite3 (SQLite, WAL, one connection holding an exclusive lock).
//
// What was recorded is known to the state on its own, whatever output a resumed run writes to:
// records reach the output only after the checkpoint holding their done flags (write-ahead),
// and the owner says so (output_written()) once they are written; that confirmation is saved
// with the next checkpoint. Only the done flags of the last checkpoint before a kill can lack
// it. Those are settled by reconcile(): when the output they went to can be read back (a file,
// segments), by a scan of it (scan_output): found there, done; else fetched again, like a URL in
// flight at the kill. When it cannot (stdout: the lines left the process, a collector has
// them), they are trusted: a line may have reached its reader, so its URL must not be fetched
// again, and the only lines a kill can lose are those it caught between the commit and their
// write.
namespace trawler::state {

struct pending_url {
  std::string url;
  int depth = 0;
  int redirects_left = 0;
  std::string referrer;    // empty: none
  bool sitemap = false;    // a sitemap file: its <loc> values are the links
  bool requisite = false;  // a page requisite (fetch.requisites): never parsed for links
};

// Why the admission refused a link (the scope rule, or a sitemap cap). Stored as one byte.
enum class drop_reason : std::uint8_t {
  out_of_scope = 1,  // scope.mode: its host is not a seed's
  not_included,      // scope.include is not empty and no pattern matched
  excluded,          // a scope.exclude pattern matched (rule: its index)
  too_deep,          // deeper than scope.max_depth
  too_long,          // longer than scope.max_url_length
  sitemap_limit,     // a sitemap's location past sitemaps.max_urls
  nofollow,          // a link not followed: rel=nofollow, or the page's nofollow
};

// A dropped URL as the state keeps it: 16 bytes in the store, whatever the URL's length.
struct drop {
  drop_reason reason = drop_reason::out_of_scope;
  int rule = -1;         // the scope.exclude index for `excluded`, else -1
  int depth = 0;         // the depth it was found at (255 means 255 or deeper)
  std::string referrer;  // the page it was found on, when that page was admitted; else empty
};

// One admitted URL, looked up (trawler explain).
struct url_info {
  std::uint64_t seq = 0;  // admission number: the order of the queue on resume
  int depth = 0;
  std::string referrer;
  bool done = false;
  bool sitemap = false;
  bool requisite = false;
};

namespace detail {
struct sqlite_closer {
  void operator()(sqlite3* db) const noexcept;
};
struct statement_finalizer {
  void operator()(sqlite3_stmt* s) const noexcept;
};
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
}  // namespace detail

// Not thread-safe: one owner (the crawl's I/O thread). Every change is buffered in memory and
// written by checkpoint() in one transaction, so the per-URL cost is an append to a buffer;
// a crash (even SIGKILL) loses exactly the changes since the last successful checkpoint.
//
// Storage is append-only on purpose: rows are keyed by admission number, and done flags are a
// log of (number, done) marks folded at open. Keying rows by URL hash, as first planned, makes
// every batch rewrite pages all over the B-tree: 1,000,000 admissions in batches of 5,000 took
// 46 s that way against about 2 s appended. URL -> number lookups use an in-memory hash index
// (16 bytes a slot, at most 70 % full) rebuilt from the rows at open, so no hash is ever
// stored and the hash function may change between runs.
//
// Hash collisions: each slot holds the URL's 64-bit hash and a 32-bit check from a second,
// independent hash. When an admitted URL's 64-bit hash is already taken, the stored text of
// the other URL is read and compared: the same text is a duplicate admission (ignored), other
// text moves both URLs to a map keyed by their full text. Lookups (recorded, requeued, the
// referrer) trust a slot whose check matches: a URL never admitted is mistaken for an
// admitted one only when both hashes match, about n / 2^96 odds.
class crawl_state {
 public:
  // For tests that force hash collisions; the default is std::hash<std::string_view>. Only
  // the in-memory index uses it, so it may differ from one open to the next.
  using url_hash = std::uint64_t (*)(std::string_view);

  // Creates dir (and parents) if missing; opens or creates <dir>/state.sqlite3. nullptr with
  // `error` set when the dir cannot be created or written, the file is not a state store, or
  // another process (or handle) has it open: the store is locked while open.
  static std::unique_ptr<crawl_state> open(const std::string& dir, std::string& error,
                                           url_hash hash = nullptr);

 private:
  struct passkey {};

 public:
  // Use open(); public only for std::make_unique.
  crawl_state(passkey, std::string dir, std::string path, url_hash hash);

  crawl_state(const crawl_state&) = delete;
  crawl_state& operator=(const crawl_state&) = delete;
  ~crawl_state();  // checkpoints; a failure is logged

  // --- resume ---
  // The store existed and held data (URLs, meta or the finished flag).
  bool resumed() const noexcept { return resumed_; }

  // Every URL admitted so far, in admission order, for rebuilding the seen set. Reflects every
  // call made on this handle, checkpointed or not.
  void for_each_url(const std::function<void(std::string_view url, bool done)>& fn) const;

  // URLs admitted and not done, in admission order: to queue again. Same reflection rule.
  std::vector<pending_url> pending() const;

  // Where the records of the unconfirmed done flags went (see above).
  enum class unconfirmed_records {
    scanned,     // an output read back: `recorded` says which of them were written
    unreadable,  // stdout: they may have reached a reader, so they stay done
  };
  // Settles the done flags after a crash with `recorded`, the URLs with a record in the
  // output(s) the last run wrote (scan_output().recorded; any order, repeats allowed): a done
  // flag whose record was not confirmed written (see above) stays only if its URL is in
  // `recorded`, or whatever `recorded` holds when `where` is unreadable; a confirmed one stays
  // whatever `recorded` holds; a URL in `recorded` is done. A URL recorded but never admitted
  // (its admission was lost with an unsaved checkpoint) is added as a done URL so the seen set
  // has it. Buffered like any change; call once, before pending().
  struct reconciled {
    std::size_t added = 0;                // URLs recorded but not admitted, added as done
    std::size_t unconfirmed = 0;          // done flags without a confirmed record
    std::size_t confirmed_by_output = 0;  // of those, found in `recorded`: still done
    std::size_t trusted = 0;              // of the others, kept done: their output is unreadable
  };
  reconciled reconcile(const std::vector<std::string>& recorded,
                       unconfirmed_records where = unconfirmed_records::scanned);
  // Written by a trawler before records were confirmed: every done flag is unconfirmed, and
  // without an output to scan (stdout) they are trusted as that trawler did.
  bool legacy() const noexcept { return legacy_; }

  // Every record of the checkpoints made so far is in the output (written and flushed).
  // Saved with the next checkpoint.
  void output_written();

  // --- while crawling (buffered until checkpoint) ---
  // A URL entered the frontier. A URL already admitted is ignored (the first admission's
  // depth, redirects and referrer stay), as is an empty one. At most about 4 billion URLs.
  void admitted(const pending_url& u);
  // Its record was written: done. Unknown URLs are ignored.
  void recorded(std::string_view url);
  // It got a `cancelled` record: not done, fetched again on resume. Unknown URLs are ignored.
  void requeued(std::string_view url);
  // The crawl ran to its end.
  void set_finished(bool finished);
  bool finished() const noexcept { return finished_; }

  // A link the admission refused: `key` is frontier::url_hash of its text (stable across runs
  // and machines, unlike the index's hash). Kept once per key and crawl: the caller notes each
  // URL once per run, and a resumed run learns the keys already kept from for_each_dropped().
  void dropped(std::uint64_t key, drop_reason reason, int rule, int depth,
               std::string_view referrer);
  // The first drop noted for `key`: a URL never dropped matches only when its 64-bit hash
  // equals a dropped one's (about n / 2^64 odds). Reads the whole table: for explain, not for
  // the crawl's hot path.
  std::optional<drop> find_dropped(std::uint64_t key) const;
  void for_each_dropped(const std::function<void(std::uint64_t key, drop_reason why)>& fn) const;

  // An admitted URL's row, or nullopt.
  std::optional<url_info> find(std::string_view url) const;

  // --- recrawl (SPEC additions "Recrawl") ---
  // An admitted URL's visit row (recrawl::encode's bytes; opaque here), saved with the next
  // checkpoint in table visits(seq, row), one row per URL replaced in place. Unknown URLs are
  // ignored. The view is valid until the next put_visit().
  void put_visit(std::string_view url, std::string row);
  std::optional<std::string_view> visit(std::string_view url) const;
  std::size_t visit_count() const noexcept { return visits_.size(); }

  // Commits the buffered changes in one transaction. On failure (`error` set) nothing is
  // lost: the changes stay buffered for the next checkpoint.
  bool checkpoint(std::string& error);

  // A small key/value area for the app/service (the config JSON, the output path...). Reads
  // see buffered writes.
  void put_meta(const std::string& key, const std::string& value);
  std::optional<std::string> get_meta(const std::string& key) const;

  // URLs admitted so far (checkpointed or not).
  std::uint64_t size() const noexcept { return next_seq_; }

 private:
  static constexpr std::uint64_t no_seq = ~std::uint64_t{0};

  using statement = std::unique_ptr<sqlite3_stmt, detail::statement_finalizer>;

  // An admission waiting for the next checkpoint; its strings live in arena_.
  struct buffered_url {
    std::size_t url_offset;
    std::size_t url_size;
    std::size_t referrer_offset;  // referrer text, kept only when it is not an admitted URL
    std::size_t referrer_size;
    std::uint64_t referrer_seq;  // no_seq when the referrer is text or absent
    int depth;
    int redirects_left;
    bool sitemap;
    bool requisite;
  };

  bool init(std::string& error);
  bool load(std::string& error);
  // Indexes `url` as number `seq`; false when it is already there.
  bool index_url(std::string_view url, std::uint64_t seq);
  std::uint64_t find_seq(std::string_view url) const;
  std::optional<std::string> url_text(std::uint64_t seq) const;
  std::string referrer_of(const buffered_url& b) const;
  void for_each_row(const std::function<void(std::uint64_t seq, std::string_view url)>& fn) const;
  std::string_view arena_view(std::size_t offset, std::size_t size) const {
    return std::string_view(arena_).substr(offset, size);
  }
  void mark(std::uint64_t seq, bool done);
  void append(std::string_view url, int depth, int redirects_left, std::string_view referrer,
              bool sitemap, bool requisite);
  bool dirty() const noexcept;
  std::string sqlite_error(std::string_view what) const;

  std::string dir_;
  std::string path_;
  url_hash hash_;
  std::unique_ptr<sqlite3, detail::sqlite_closer> db_;  // first: closed after the statements
  statement insert_url_;
  statement insert_mark_;
  statement insert_sitemap_;
  statement insert_requisite_;
  statement put_meta_;
  statement put_info_;
  statement url_by_seq_;
  statement insert_drops_;
  statement url_row_;
  statement put_visit_;

  url_index index_;  // hash -> seq, or a marker when several URLs have that hash
  std::unordered_map<std::string, std::uint64_t, detail::string_hash, std::equal_to<>>
      collided_;                      // every URL whose hash is shared
  std::vector<bool> done_;            // by seq
  std::uint64_t mark_rows_ = 0;       // rows in the marks table (checkpointed)
  std::uint64_t confirmed_rows_ = 0;  // of those, the first ones whose records are written
  bool confirmed_dirty_ = false;
  bool legacy_ = false;
  std::vector<std::uint64_t> unconfirmed_;  // seqs done by a mark past confirmed_rows_, at open
  std::uint64_t next_seq_ = 0;
  std::uint64_t first_buffered_seq_ = 0;

  std::string arena_;
  std::vector<buffered_url> buffered_urls_;
  std::vector<std::pair<std::uint64_t, bool>> buffered_marks_;  // (seq, done) in call order
  std::string
      buffered_drops_;  // packed 16-byte drops (see crawl_state.cpp), one row per checkpoint
  std::unordered_map<std::uint64_t, std::string> visits_;  // by seq
  std::vector<std::uint64_t> dirty_visits_;  // seqs whose row changed since the checkpoint
  std::map<std::string, std::string, std::less<>> meta_;
  std::vector<std::string> dirty_meta_;
  bool finished_ = false;
  bool finished_dirty_ = false;
  bool resumed_ = false;

  // Links of one page arrive together: one referrer lookup serves them all.
  std::string last_referrer_;
  std::uint64_t last_referrer_seq_ = no_seq;
};

}  // namespace trawler::state
