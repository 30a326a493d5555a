#include <array>
#include <exception>
#include <string>
#include <vector>

#include "fuzz_checks.hpp"
#include "robots/robots_pattern.hpp"
#include "robots/robots_rules.hpp"

namespace trawler::fuzz {

namespace {

constexpr std::array<std::string_view, 8> fixed_targets = {
    "/",   "/robots.txt",     "/a/b.html?c=d&e", "/%7Efoo/bar%2fbaz",
    "/*$", "/fish.php?id=1$", "/ツ/%E3%83%84",   "",
};

// The reference matcher is quadratic: keep it to sizes it does in well under a millisecond.
constexpr std::size_t max_reference_work = 1 << 20;

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != lower[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Every line of a robots.txt body, split on LF, CR and CRLF.
std::vector<std::string_view> lines_of(std::string_view body) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= body.size(); ++i) {
    if (i == body.size() || body[i] == '\n' || body[i] == '\r') {
      out.push_back(body.substr(start, i - start));
      if (i + 1 < body.size() && body[i] == '\r' && body[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  return out;
}

// Each Allow/Disallow value compiled and matched against each target, checked against the
// dynamic-programming matcher.
finding check_patterns(std::string_view body, const std::vector<std::string_view>& targets) {
  std::string scratch;
  std::vector<std::string> normal_targets;
  for (const auto t : targets) {
    const std::string normal(robots::normalize_target(t, scratch));
    std::string scratch2;
    if (robots::normalize_target(normal, scratch2) != normal)
      return "normalize_target is not idempotent: " + printable(t) + " -> " + printable(normal);
    normal_targets.push_back(normal);
  }
  for (const auto line : lines_of(body)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, colon));
    if (!iequals(key, "allow") && !iequals(key, "disallow")) continue;
    std::string_view value = line.substr(colon + 1);
    value = trim(value.substr(0, value.find('#')));
    const auto p = robots::pattern::compile(value);
    if (!p) continue;
    if (p->specificity() < p->text().size())
      return "specificity " + std::to_string(p->specificity()) + " below the pattern's length " +
             printable(p->text());
    for (const auto& t : normal_targets) {
      if ((p->text().size() + 1) * (t.size() + 1) > max_reference_work) continue;
      const bool fast = p->matches(t);
      const bool slow = reference_robots_match(p->text(), p->anchored(), t);
      if (fast != slow)
        return "pattern " + printable(p->text()) + (p->anchored() ? " (anchored)" : "") +
               " on target " + printable(t) + ": matches() says " + (fast ? "yes" : "no") +
               ", the reference " + (slow ? "yes" : "no");
    }
  }
  return std::nullopt;
}

finding check_rules(std::string_view body, std::string_view token,
                    const std::vector<std::string_view>& targets) {
  const auto r = robots::rules::parse(body, token);
  if (!r.allowed("/robots.txt")) return "/robots.txt disallowed for " + std::string(token);
  if (const auto d = r.crawl_delay(); d && d->count() < 0)
    return "negative crawl delay " + std::to_string(d->count());
  for (const auto& s : r.sitemaps())
    if (s.empty()) return std::string("empty sitemap");
  for (const auto t : targets) {
    // A decision is a pure function of the rules and the target: asking twice agrees, and a
    // target in normal form gets the same answer as written.
    const bool first = r.allowed(t);
    std::string scratch;
    const std::string normal(robots::normalize_target(t, scratch));
    if (!t.empty() && r.allowed(normal) != first)
      return "target " + printable(t) + " and its normal form " + printable(normal) +
             " get different decisions";
  }
  return std::nullopt;
}

finding check_robots_impl(std::string_view data) {
  const std::size_t nul = data.find('\0');
  const std::string_view body = data.substr(0, nul);
  std::vector<std::string_view> targets(fixed_targets.begin(), fixed_targets.end());
  if (nul != std::string_view::npos) {
    std::string_view rest = data.substr(nul + 1);
    while (!rest.empty() && targets.size() < 32) {
      const std::size_t end = rest.find('\n');
      targets.push_back(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  if (auto f = check_rules(body, "trawler", targets)) return f;
  // A product token taken from the body exercises the user-agent matching.
  const std::string token = robots::product_token(body.substr(0, body.find('\n')));
  if (auto f = check_rules(body, token, targets)) return f;
  const auto none = robots::rules::disallow_all();
  if (!none.allowed("/robots.txt") || none.allowed("/"))
    return std::string("disallow_all is wrong");
  return check_patterns(body, targets);
}

}  // namespace

finding check_robots(std::string_view data) {
  try {
    return check_robots_impl(data);
  } catch (const std::exception& e) {
    return std::string("robots: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
