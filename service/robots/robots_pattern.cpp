#include "robots/robots_pattern.hpp"

#include <array>
#include <utility>

namespace trawler::robots {

namespace {

enum class mode { pattern, target };

constexpr bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

constexpr char upper_hex(char c) {
  return (c >= 'a' && c <= 'f') ? static_cast<char>(c - 32) : c;
}

constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar plus "/" and "?" (path and query), minus '%' which is handled on its own.
// A table because classify() runs on every byte of every target checked.
constexpr std::array<bool, 256> may_stay_raw_table = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = is_unreserved(static_cast<unsigned char>(c));
  for (const char c : std::string_view("!$&'()*+,;=:@/?"))
    table[static_cast<unsigned char>(c)] = true;
  return table;
}();

constexpr bool may_stay_raw(unsigned char c) {
  return may_stay_raw_table[c];
}

enum class action { keep, decode, uppercase, encode };

struct step {
  action what;
  std::size_t consumed;  // input bytes this step covers
};

// How the bytes at in[i] are written in normal form.
step classify(std::string_view in, std::size_t i, mode m) {
  const auto c = static_cast<unsigned char>(in[i]);
  if (c == '%') {
    if (i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2])) {
      const auto value =
          static_cast<unsigned char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      if (is_unreserved(value)) return {action::decode, 3};
      if (upper_hex(in[i + 1]) != in[i + 1] || upper_hex(in[i + 2]) != in[i + 2]) {
        return {action::uppercase, 3};
      }
      return {action::keep, 3};
    }
    return {action::encode, 1};
  }
  if (c == '*') return {m == mode::pattern ? action::keep : action::encode, 1};
  // In a pattern the end anchor is stripped before normalizing, so any '$' left is literal.
  if (c == '$') return {action::encode, 1};
  return {may_stay_raw(c) ? action::keep : action::encode, 1};
}

std::size_t first_change(std::string_view in, mode m) {
  std::size_t i = 0;
  while (i < in.size()) {
    const step s = classify(in, i, m);
    if (s.what != action::keep) return i;
    i += s.consumed;
  }
  return std::string_view::npos;
}

void append_normalized(std::string_view in, std::size_t from, mode m, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::size_t i = from;
  while (i < in.size()) {
    const step s = classify(in, i, m);
    switch (s.what) {
      case action::keep:
        out.append(in.substr(i, s.consumed));
        break;
      case action::decode:
        out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
        break;
      case action::uppercase:
        out.push_back('%');
        out.push_back(upper_hex(in[i + 1]));
        out.push_back(upper_hex(in[i + 2]));
        break;
      case action::encode: {
        const auto c = static_cast<unsigned char>(in[i]);
        out.push_back('%');
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0x0F]);
        break;
      }
    }
    i += s.consumed;
  }
}

}  // namespace

std::string_view normalize_target(std::string_view target, std::string& scratch) {
  const std::size_t at = first_change(target, mode::target);
  if (at == std::string_view::npos) return target;
  scratch.assign(target.substr(0, at));
  append_normalized(target, at, mode::target, scratch);
  return scratch;
}

std::optional<pattern> pattern::compile(std::string_view value) {
  if (value.empty() || (value.front() != '/' && value.front() != '*')) return std::nullopt;
  // RFC 9309 section 2.2.3: '$' is special only as the pattern's last character.
  const bool anchored = value.back() == '$';
  if (anchored) value.remove_suffix(1);
  std::string text;
  text.reserve(value.size());
  append_normalized(value, 0, mode::pattern, text);
  return pattern(std::move(text), anchored);
}

pattern::pattern(std::string text, bool anchored)
    : text_(std::move(text)),
      specificity_(text_.size() + (anchored ? 1 : 0)),
      anchored_(anchored),
      wildcard_(text_.find('*') != std::string::npos) {}

bool pattern::matches(std::string_view target) const {
  if (!wildcard_) return anchored_ ? target == text_ : target.starts_with(text_);

  // Literal segments between '*'s. The first must sit at the start of the target; each
  // later one is taken at its leftmost place after the previous one, which is never worse
  // for the segments that follow, so no backtracking is needed: O(target * segments) at
  // worst, whatever the number of '*'s.
  std::string_view rest = text_;
  std::size_t star = rest.find('*');
  const std::string_view first = rest.substr(0, star);
  if (!target.starts_with(first)) return false;
  std::size_t pos = first.size();
  rest.remove_prefix(star + 1);
  for (;;) {
    star = rest.find('*');
    const std::string_view segment = rest.substr(0, star);
    if (star == std::string_view::npos) {
      // The last segment: anchored, it must end the target (after what is already used);
      // otherwise it may sit anywhere after pos (the rule is a prefix match).
      if (anchored_) return target.size() - pos >= segment.size() && target.ends_with(segment);
      return target.find(segment, pos) != std::string_view::npos;
    }
    if (!segment.empty()) {
      const std::size_t at = target.find(segment, pos);
      if (at == std::string_view::npos) return false;
      pos = at + segment.size();
    }
    rest.remove_prefix(star + 1);
  }
}

}  // namespace trawler::robots
