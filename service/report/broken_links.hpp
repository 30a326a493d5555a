#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

// The "Broken links" table of `trawler report`, `trawler report --broken-links` and the
// dashboard (SPEC additions "Report"): every URL whose latest record answered 4xx or 5xx, with
// how many pages link it and the first few of them. Built in two streamed passes over the
// records, so that only broken URLs are ever kept:
//   1. add(record) for every record: a URL answering 4xx/5xx enters the table, with its
//      record's `referrer` as a first linking page; a later record of the same URL with another
//      status (a recrawl that found it fixed) takes it out.
//   2. when the table is not empty, scan_line(line) for every line again: the lines naming a
//      broken URL (a cheap scan of their strings) are parsed, and the page is counted for each
//      broken URL among its `links` (or its `redirect`).
// Kept in memory, per broken URL: the URL, its status, up to `pages_kept` linking pages, and a
// 64-bit hash per distinct linking page (8 bytes each; so that a page recorded again by a recrawl
// counts once). At most `max_urls` broken URLs are listed; those past it are counted only.
// Nothing is kept for the links to other URLs nor for the records.
namespace trawler::report {

class broken_links {
 public:
  static constexpr std::size_t pages_kept = 5;
  static constexpr std::size_t max_urls = 50000;

  struct row {
    std::string url;
    int status = 0;
    std::uint64_t linked_from_count = 0;   // distinct pages linking it (or redirecting to it)
    std::vector<std::string> linked_from;  // the first pages_kept of them, in the order found
  };

  // Pass 1, for every record.
  void add(const nlohmann::json& record);
  // Whether pass 2 has anything to find.
  bool wants_links() const { return !table_.empty(); }
  // Pass 2, for every line (the same lines as pass 1, in any order).
  void scan_line(std::string_view line);
  // Pass 2 for a parsed record (scan_line parses only the lines that may matter).
  void add_links(const nlohmann::json& record);
  // Whether a JSON line holds a string that is a URL of the table (no parse: a scan of its
  // strings, decoding only those with escapes).
  bool names_a_broken_url(std::string_view line) const;

  // Most linked first, then by status and URL.
  std::vector<row> rows() const;
  // Broken URLs listed, and 4xx/5xx records past max_urls (not listed, not deduplicated).
  std::size_t listed() const { return table_.size(); }
  std::uint64_t unlisted() const { return unlisted_; }

 private:
  struct entry {
    std::string url;
    int status = 0;
    std::vector<std::string> pages;
    std::vector<std::uint64_t> hashes;  // of the linking pages; sorted and unique up to `unique`
    std::size_t unique = 0;
    void add_page(std::string_view page);
    std::uint64_t count() const;
  };
  // Keys view the entry's own url.
  std::unordered_map<std::string_view, std::unique_ptr<entry>> table_;
  std::uint64_t unlisted_ = 0;
};

// The rows as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote, CR
// or LF, quotes doubled): a header `url,status,linked_from_count,linked_from`, then a line per
// row; linked_from holds the first pages separated by spaces (a URL as records hold it has no
// space).
std::string to_csv(const std::vector<broken_links::row>& rows);

// Pass 2 over `files` (after pass 1 went over the same records); "" or the first read error.
std::string read_links(const std::vector<std::string>& files, broken_links& b);
// Both passes over `files`, for a reader that does not parse every record otherwise (the
// service): pass 1 parses only the lines whose "status" starts with 4 or 5 and those naming a
// URL already in the table. "" or the first read error.
std::string read_broken_links(const std::vector<std::string>& files, broken_links& b);

// One row as JSON: {"url", "status", "linked_from_count", "linked_from": [...]}.
nlohmann::json to_json(const broken_links::row& row);

}  // namespace trawler::report
