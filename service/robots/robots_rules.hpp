#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "robots/robots_pattern.hpp"

// RFC 9309 robots.txt: parsing and the allow/disallow decision for one product token.
namespace trawler::robots {

// "trawler/0.1.0 (+https://x)" -> "trawler": the user agent up to its first '/', trimmed
// (SPEC "Precise rules").
std::string product_token(std::string_view user_agent);

// The part of one robots.txt that applies to one crawler: the rules of the group(s) for its
// product token, else of the "*" group(s), plus Crawl-delay and every Sitemap line.
//
// Parsing choices where RFC 9309 leaves room (each pinned by tests/data/robots/):
// - A user-agent line matches when its value, up to the first character that is not a
//   letter, digit, '-' or '_', equals the product token case-insensitively: "trawler/1.0"
//   and "TRAWLER (compatible)" match "trawler", "trawlerbot" does not. "*" matches all.
// - Consecutive user-agent lines (blank, comment, Sitemap and unknown lines in between do not
//   break the run) form one group; Allow, Disallow and Crawl-delay lines are its members.
//   All groups naming the token are merged, as are all "*" groups. A group naming the token
//   is chosen even when it has no rules (then everything is allowed).
// - Member lines before the first user-agent line are ignored; lines without ':' and
//   unknown keys are skipped; keys are case-insensitive, values case-sensitive.
// - Only the first 500 KiB (RFC 9309's minimum) are parsed, cut after the last complete line
//   before that limit, so a half line never becomes a wider rule than written.
// - Crawl-delay: seconds, integer or decimal ("10", "0.5", ".5"); anything else is ignored.
//   Several in the chosen group(s): the largest wins (the more polite reading).
class rules {
 public:
  static constexpr std::size_t max_parsed_bytes = 500 * 1024;

  // Never throws on any input and never fails: what cannot be understood is skipped.
  static rules parse(std::string_view body, std::string_view product_token);
  static rules allow_all();     // robots.txt answered 4xx
  static rules disallow_all();  // robots.txt answered 5xx or was unreachable

  // target: the URL's path plus "?query" as sent on the request line. "/robots.txt" is always
  // allowed (RFC 9309 section 2.2.2), even under disallow_all().
  bool allowed(std::string_view target) const;

  std::optional<std::chrono::milliseconds> crawl_delay() const { return crawl_delay_; }
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct rule {
    pattern path;
    bool allow = false;
  };

  // Sorted by specificity, longest first, Allow before Disallow on equal length: the first
  // match is the RFC's decision.
  std::vector<rule> rules_;
  std::optional<std::chrono::milliseconds> crawl_delay_;
  std::vector<std::string> sitemaps_;
};

}  // namespace trawler::robots
