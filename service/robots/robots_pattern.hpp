#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// One Allow/Disallow path pattern of RFC 9309 section 2.2.2, and the percent-encoding
// normalization that puts rule patterns and request targets into one comparable form.
namespace trawler::robots {

// Rule patterns and targets are both brought to RFC 3986 normal form before comparing, so
// that "/foo/bar/ツ" in a robots.txt matches the target "/foo/bar/%E3%83%84" and "%7e" matches
// "~": %XX of an unreserved character is decoded, other %xx is uppercased, a '%' that starts
// no valid escape becomes "%25", and every byte that may not appear raw in a path or query
// (controls, space, "<>\"[\\]^`{|}", non-ASCII) is percent-encoded. Reserved characters
// (":/?&=" ...) are compared as written, as google/robotstxt does.
//
// A target's literal '*' and '$' become "%2A" and "%24": RFC 9309 section 2.2.3 says a rule
// matches those characters verbatim only when written percent-encoded, so "%2A" in a rule
// matches both "*" and "%2A" in the URL.
//
// Returns `target` itself when it is already in normal form (the common case: the crawler
// normalizes URLs), else the normalized copy written into `scratch`.
std::string_view normalize_target(std::string_view target, std::string& scratch);

class pattern {
 public:
  // The value of an Allow/Disallow line (comment removed, trimmed). nullopt when it can never
  // match a target: empty (RFC 9309: an empty Disallow disallows nothing), or not starting
  // with '/' or '*' (targets always start with '/').
  static std::optional<pattern> compile(std::string_view value);

  // `target` must be in the form normalize_target() returns.
  bool matches(std::string_view target) const;

  // The rule's length in octets after normalization, '*' and a final '$' included: the
  // "most specific match" measure of RFC 9309 section 2.2.2.
  std::size_t specificity() const { return specificity_; }

  // Normalized, without the end anchor; '*' is the only special character left.
  const std::string& text() const { return text_; }
  bool anchored() const { return anchored_; }

 private:
  pattern(std::string text, bool anchored);

  std::string text_;
  std::size_t specificity_ = 0;
  bool anchored_ = false;  // ended in '$': the whole target must match, not just a prefix
  bool wildcard_ = false;  // text_ holds a '*'
};

}  // namespace trawler::robots
