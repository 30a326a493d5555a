#include "fuzz_checks.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

namespace trawler::fuzz {

namespace {

bool is_hex_upper(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  return c <= '9' ? c - '0' : c - 'A' + 10;
}

}  // namespace

bool is_normal_url_text(std::string_view s) {
  // RFC 3986 section 2: unreserved, reserved (minus '#': the fragment is dropped) and '%'.
  static constexpr std::string_view allowed_punctuation = "-._~:/?[]@!$&'()*+,;=%";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (is_unreserved(c)) continue;
    if (allowed_punctuation.find(c) == std::string_view::npos) return false;
    if (c != '%') continue;
    if (i + 2 >= s.size() || !is_hex_upper(s[i + 1]) || !is_hex_upper(s[i + 2])) return false;
    if (is_unreserved(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]))))
      return false;
    i += 2;
  }
  return true;
}

bool reference_robots_match(std::string_view pattern, bool anchored, std::string_view target) {
  // reach[j]: the pattern read so far can match exactly target[0, j).
  std::vector<char> reach(target.size() + 1, 0);
  reach[0] = 1;
  for (const char p : pattern) {
    std::vector<char> next(target.size() + 1, 0);
    if (p == '*') {
      char any = 0;
      for (std::size_t j = 0; j <= target.size(); ++j) {
        any = static_cast<char>(any | reach[j]);
        next[j] = any;
      }
    } else {
      for (std::size_t j = 0; j < target.size(); ++j)
        if (reach[j] && target[j] == p) next[j + 1] = 1;
    }
    reach.swap(next);
  }
  if (anchored) return reach[target.size()] != 0;
  for (const char r : reach)
    if (r) return true;
  return false;
}

std::string printable(std::string_view s) {
  constexpr std::size_t max_shown = 300;
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  out += '"';
  if (s.size() > max_shown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

void abort_on(const finding& f, const char* target) {
  if (!f) return;
  if (const char* ignore = std::getenv("TRAWLER_FUZZ_IGNORE")) {
    static std::set<std::string> shown;
    std::string_view list(ignore);
    while (!list.empty()) {
      const std::size_t bar = list.find('|');
      const std::string_view item = list.substr(0, bar);
      if (!item.empty() && f->find(item) != std::string::npos) {
        if (shown.emplace(item).second)
          std::fprintf(stderr, "==trawler-fuzz== %s: ignoring findings with \"%.*s\": %s\n", target,
                       static_cast<int>(item.size()), item.data(), f->c_str());
        return;
      }
      if (bar == std::string_view::npos) break;
      list.remove_prefix(bar + 1);
    }
  }
  std::fprintf(stderr, "\n==trawler-fuzz== %s invariant violated: %s\n", target, f->c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace trawler::fuzz
