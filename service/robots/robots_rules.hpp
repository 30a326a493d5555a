#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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

  // The line that decided a target, to say why (a refusal's message, `trawler explain`).
  struct decision {
    bool allowed = true;
    // The Allow/Disallow line that matched (1-based line of the parsed body); 0: no rule
    // matched (allowed), or disallow_all() decided.
    std::uint32_t line = 0;
    std::string rule;              // as "Disallow: /path" with the normalized pattern
    std::uint32_t group_line = 0;  // the first user-agent line of the rule's group
    std::string group;             // that group's user-agent value ("*", "trawler")
  };
  // Decides as allowed() does; slower (it builds strings): for refusals, not the hot path.
  decision decide(std::string_view target) const;
  // The rules came from disallow_all() (a 5xx or unreachable robots.txt), not from a file.
  bool blanket_disallow() const { return blanket_; }

  std::optional<std::chrono::milliseconds> crawl_delay() const { return crawl_delay_; }
  const std::vector<std::string>& sitemaps() const { return sitemaps_; }
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct rule {
    pattern path;
    bool allow = false;
    std::uint32_t line = 0;
    std::uint32_t group = 0;  // index into groups_
  };
  struct group_line {
    std::uint32_t line = 0;
    std::string agent;
  };

  // Sorted by specificity, longest first, Allow before Disallow on equal length: the first
  // match is the RFC's decision.
  std::vector<rule> rules_;
  std::optional<std::chrono::milliseconds> crawl_delay_;
  std::vector<std::string> sitemaps_;
  std::vector<group_line> groups_;  // the first user-agent line of each group with a rule
  bool blanket_ = false;
};

}  // namespace trawler::robots
