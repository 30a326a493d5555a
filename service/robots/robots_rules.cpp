#include "robots/robots_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>

namespace trawler::robots {

namespace {

using std::chrono::milliseconds;

constexpr bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

constexpr char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

constexpr bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// The product token as the value's first word: "trawler/1.0" and "trawler (compatible)"
// name trawler, "trawlerbot" does not.
bool names_token(std::string_view value, std::string_view token) {
  if (token.empty() || value.size() < token.size()) return false;
  if (!iequals(value.substr(0, token.size()), token)) return false;
  return value.size() == token.size() || !is_token_char(value[token.size()]);
}

bool is_global_agent(std::string_view value) {
  return !value.empty() && value.front() == '*' && (value.size() == 1 || is_space(value[1]));
}

constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Seconds as "10", "0.5", "5." or ".5", rounded to the millisecond. Saturates far beyond
// any sane delay (the crawler clamps to robots.max_crawl_delay_ms anyway) so that a
// hostile value cannot overflow.
std::optional<milliseconds> parse_delay(std::string_view v) {
  constexpr std::uint64_t max_seconds = 1'000'000'000;
  std::uint64_t seconds = 0;
  std::uint64_t millis = 0;
  bool any_digit = false;
  std::size_t i = 0;
  for (; i < v.size() && is_digit(v[i]); ++i) {
    seconds =
        std::min<std::uint64_t>(seconds * 10 + static_cast<std::uint64_t>(v[i] - '0'), max_seconds);
    any_digit = true;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    int fraction_digits = 0;
    bool round_up = false;
    for (; i < v.size() && is_digit(v[i]); ++i, ++fraction_digits) {
      if (fraction_digits < 3) {
        millis = millis * 10 + static_cast<std::uint64_t>(v[i] - '0');
      } else if (fraction_digits == 3) {
        round_up = v[i] >= '5';
      }
      any_digit = true;
    }
    for (int k = fraction_digits; k < 3; ++k) millis *= 10;
    if (round_up) ++millis;
  }
  if (!any_digit || i != v.size()) return std::nullopt;
  return milliseconds(static_cast<milliseconds::rep>(seconds * 1000 + millis));
}

enum class key { user_agent, allow, disallow, crawl_delay, sitemap, other };

key classify_key(std::string_view k) {
  if (iequals(k, "user-agent")) return key::user_agent;
  if (iequals(k, "allow")) return key::allow;
  if (iequals(k, "disallow")) return key::disallow;
  if (iequals(k, "crawl-delay")) return key::crawl_delay;
  if (iequals(k, "sitemap")) return key::sitemap;
  return key::other;
}

// Cuts at max_parsed_bytes after the last complete line, so that a half line is not read.
std::string_view parsed_part(std::string_view body) {
  if (body.size() <= rules::max_parsed_bytes) return body;
  const char next = body[rules::max_parsed_bytes];
  const std::string_view head = body.substr(0, rules::max_parsed_bytes);
  if (next == '\n' || next == '\r') return head;
  const std::size_t last_break = head.find_last_of("\r\n");
  return last_break == std::string_view::npos ? std::string_view{} : head.substr(0, last_break + 1);
}

}  // namespace

std::string product_token(std::string_view user_agent) {
  return std::string(trim(user_agent.substr(0, user_agent.find('/'))));
}

rules rules::parse(std::string_view body, std::string_view product_token) {
  struct selection {
    std::vector<rule> rules;
    std::optional<milliseconds> delay;
    bool named = false;  // some user-agent line selected it, even if it has no rules
  };
  selection specific;
  selection global;
  rules result;

  bool any_agent = false;    // member lines before the first user-agent line are ignored
  bool agents_open = false;  // the last group line was a user-agent line: the next one joins
  bool for_specific = false;
  bool for_global = false;
  std::uint32_t line_number = 0;
  constexpr std::uint32_t no_group = ~std::uint32_t{0};
  std::uint32_t group = no_group;  // the current group's entry in groups_, once it names us

  body = parsed_part(body);
  constexpr std::string_view bom = "\xEF\xBB\xBF";
  if (body.starts_with(bom)) body.remove_prefix(bom.size());

  std::size_t pos = 0;
  while (pos < body.size()) {
    ++line_number;
    const std::size_t end = body.find_first_of("\r\n", pos);
    std::string_view line = body.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (end == std::string_view::npos) {
      pos = body.size();
    } else {
      pos = end + 1;
      if (body[end] == '\r' && pos < body.size() && body[pos] == '\n') ++pos;
    }

    line = line.substr(0, line.find('#'));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view value = trim(line.substr(colon + 1));

    const key k = classify_key(trim(line.substr(0, colon)));
    switch (k) {
      case key::user_agent: {
        if (!agents_open) {
          for_specific = for_global = false;
          group = no_group;
        }
        agents_open = true;
        any_agent = true;
        const bool ours = names_token(value, product_token);
        const bool all = is_global_agent(value);
        if (ours) for_specific = specific.named = true;
        if (all) for_global = global.named = true;
        if ((ours || all) && group == no_group) {
          group = static_cast<std::uint32_t>(result.groups_.size());
          result.groups_.push_back({line_number, std::string(value)});
        }
        break;
      }
      case key::allow:
      case key::disallow: {
        if (!any_agent) break;
        agents_open = false;
        if (!for_specific && !for_global) break;
        auto compiled = pattern::compile(value);
        if (!compiled) break;
        const bool allow = k == key::allow;
        const rule r{std::move(*compiled), allow, line_number, group == no_group ? 0 : group};
        if (for_specific && for_global) global.rules.push_back(r);
        (for_specific ? specific : global).rules.push_back(r);
        break;
      }
      case key::crawl_delay: {
        if (!any_agent) break;
        agents_open = false;
        if (!for_specific && !for_global) break;
        const auto delay = parse_delay(value);
        if (!delay) break;
        for (selection* s : {for_specific ? &specific : nullptr, for_global ? &global : nullptr}) {
          if (s != nullptr && (!s->delay || *s->delay < *delay)) s->delay = delay;
        }
        break;
      }
      case key::sitemap:
        if (!value.empty()) result.sitemaps_.emplace_back(value);
        break;
      case key::other:
        break;
    }
  }

  selection& chosen = specific.named ? specific : global;
  result.rules_ = std::move(chosen.rules);
  result.crawl_delay_ = chosen.delay;
  std::stable_sort(result.rules_.begin(), result.rules_.end(), [](const rule& a, const rule& b) {
    if (a.path.specificity() != b.path.specificity()) {
      return a.path.specificity() > b.path.specificity();
    }
    return a.allow && !b.allow;
  });
  return result;
}

rules rules::allow_all() {
  return rules{};
}

rules rules::disallow_all() {
  rules result;
  result.rules_.push_back(rule{*pattern::compile("/"), false, 0, 0});
  result.blanket_ = true;
  return result;
}

bool rules::allowed(std::string_view target) const {
  if (rules_.empty()) return true;
  if (target.empty()) target = "/";
  std::string scratch;
  target = normalize_target(target, scratch);
  if (target.substr(0, target.find('?')) == "/robots.txt") return true;
  for (const rule& r : rules_) {
    if (r.path.matches(target)) return r.allow;
  }
  return true;
}

rules::decision rules::decide(std::string_view target) const {
  decision d;
  if (target.empty()) target = "/";
  std::string scratch;
  target = normalize_target(target, scratch);
  if (target.substr(0, target.find('?')) == "/robots.txt") return d;
  for (const rule& r : rules_) {
    if (!r.path.matches(target)) continue;
    d.allowed = r.allow;
    if (blanket_) return d;
    d.line = r.line;
    d.rule = (r.allow ? "Allow: " : "Disallow: ") + r.path.text() + (r.path.anchored() ? "$" : "");
    if (r.group < groups_.size()) {
      d.group_line = groups_[r.group].line;
      d.group = groups_[r.group].agent;
    }
    return d;
  }
  return d;
}

}  // namespace trawler::robots
