#include "extract/requisites.hpp"

#include <cstdint>
#include <unordered_set>

#include "extract/charset.hpp"
#include "record/utf8.hpp"
#include "url/url.hpp"

namespace trawler::extract {

namespace {

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// ---- srcset --------------------------------------------------------------------------------

// HTML "valid non-negative integer": one or more ASCII digits, nothing else.
std::optional<std::uint64_t> non_negative_integer(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::uint64_t n = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// HTML "valid floating-point number": -? (digits | digits? "." digits) ([eE] [-+]? digits)?;
// only its sign matters here.
std::optional<bool> valid_float_is_negative(std::string_view s) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  bool nonzero = false;
  for (std::size_t k = negative ? 1 : 0; k < i; ++k) nonzero = nonzero || s[k] != '0';
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t fraction = 0;
    while (i < s.size() && is_digit(s[i])) nonzero = nonzero || s[i] != '0', ++i, ++fraction;
    if (fraction == 0) return std::nullopt;
    digits += fraction;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exponent = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exponent;
    if (exponent == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return negative && nonzero;
}

// The srcset "descriptor parser" step: whether a candidate with these descriptors is kept.
bool descriptors_valid(const std::vector<std::string>& descriptors) {
  bool width = false, density = false, height = false;
  for (const auto& d : descriptors) {
    if (d.empty()) return false;
    const char last = d.back();
    const std::string_view value = std::string_view(d).substr(0, d.size() - 1);
    if (last == 'w') {
      if (width || density) return false;
      const auto n = non_negative_integer(value);
      if (!n || *n == 0) return false;
      width = true;
    } else if (last == 'x') {
      if (width || density || height) return false;
      const auto negative = valid_float_is_negative(value);
      if (!negative || *negative) return false;
      density = true;
    } else if (last == 'h') {
      if (height || density) return false;
      const auto n = non_negative_integer(value);
      if (!n || *n == 0) return false;
      height = true;
    } else {
      return false;
    }
  }
  // A future-compat height needs a width.
  return !height || width;
}

// ---- CSS -------------------------------------------------------------------------------------

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char l = ascii_lower(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

bool is_newline(char c) {
  return c == '\n' || c == '\r' || c == '\f';
}

// A CSS Syntax Level 3 tokenizer reduced to what finds references: names, strings, url tokens,
// functions and blocks; other code points are stepped over. Works on UTF-8 bytes: every byte
// of a non-ASCII code point is a name code point, so names and strings copy them whole.
class css_scanner {
 public:
  explicit css_scanner(std::string_view css) : s_(css) {}

  std::vector<std::string> run() {
    while (i_ < s_.size()) step();
    return std::move(out_);
  }

 private:
  char at(std::size_t k) const { return k < s_.size() ? s_[k] : '\0'; }
  bool valid_escape(std::size_t k) const {
    return k < s_.size() && s_[k] == '\\' && k + 1 < s_.size() && !is_newline(s_[k + 1]);
  }
  static bool name_start(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || u >= 0x80;
  }
  static bool name_char(char c) { return name_start(c) || is_digit(c) || c == '-'; }
  bool starts_ident(std::size_t k) const {
    if (k >= s_.size()) return false;
    const char c = s_[k];
    if (c == '-')
      return (k + 1 < s_.size() && (name_start(s_[k + 1]) || s_[k + 1] == '-')) ||
             valid_escape(k + 1);
    if (name_start(c)) return true;
    return valid_escape(k);
  }
  bool starts_number(std::size_t k) const {
    const char c = at(k);
    if (c == '+' || c == '-') {
      return is_digit(at(k + 1)) || (at(k + 1) == '.' && is_digit(at(k + 2)));
    }
    if (c == '.') return is_digit(at(k + 1));
    return is_digit(c);
  }

  // After a '\' (i_ at the code point after it).
  void consume_escape(std::string& out) {
    if (i_ >= s_.size()) {
      append_utf8(out, 0xFFFD);
      return;
    }
    if (hex_value(s_[i_]) >= 0) {
      std::uint32_t cp = 0;
      for (int n = 0; n < 6 && i_ < s_.size() && hex_value(s_[i_]) >= 0; ++n, ++i_)
        cp = cp * 16 + static_cast<std::uint32_t>(hex_value(s_[i_]));
      if (i_ < s_.size() && is_ascii_whitespace(s_[i_])) {
        // "\r\n" is one newline after preprocessing.
        if (s_[i_] == '\r' && at(i_ + 1) == '\n') ++i_;
        ++i_;
      }
      if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = 0xFFFD;
      append_utf8(out, cp);
      return;
    }
    // Any other code point stands for itself (all of its UTF-8 bytes).
    out += s_[i_++];
    while (i_ < s_.size() && (static_cast<unsigned char>(s_[i_]) & 0xC0) == 0x80) out += s_[i_++];
  }

  std::string consume_name() {
    std::string name;
    while (i_ < s_.size()) {
      if (name_char(s_[i_])) {
        name += s_[i_++];
      } else if (valid_escape(i_)) {
        ++i_;
        consume_escape(name);
      } else {
        break;
      }
    }
    return name;
  }

  // At the opening quote. nullopt for a bad string (a raw newline inside).
  std::optional<std::string> consume_string() {
    const char quote = s_[i_++];
    std::string value;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == quote) {
        ++i_;
        return value;
      }
      if (is_newline(c)) return std::nullopt;  // the newline is not consumed
      if (c == '\\') {
        ++i_;
        if (i_ >= s_.size()) break;
        if (is_newline(s_[i_])) {  // an escaped newline continues the string
          if (s_[i_] == '\r' && at(i_ + 1) == '\n') ++i_;
          ++i_;
          continue;
        }
        consume_escape(value);
        continue;
      }
      value += c;
      ++i_;
    }
    return value;  // EOF ends the string (a parse error, but the string stands)
  }

  // After "url(" and its whitespace, not at a quote: the url token's value, nullopt for a
  // bad url (whose remnants are consumed).
  std::optional<std::string> consume_url() {
    std::string value;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ')') {
        ++i_;
        return value;
      }
      if (is_ascii_whitespace(c)) {
        while (i_ < s_.size() && is_ascii_whitespace(s_[i_])) ++i_;
        if (i_ >= s_.size()) return value;
        if (s_[i_] == ')') {
          ++i_;
          return value;
        }
        break;  // bad url
      }
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\'' || c == '(' || u <= 0x08 || u == 0x0B || (u >= 0x0E && u <= 0x1F) ||
          u == 0x7F)
        break;  // bad url
      if (c == '\\') {
        if (!valid_escape(i_)) break;
        ++i_;
        consume_escape(value);
        continue;
      }
      value += c;
      ++i_;
    }
    if (i_ >= s_.size()) return value;
    // The remnants of a bad url: up to ')' (an escaped one does not count).
    while (i_ < s_.size()) {
      if (s_[i_] == ')') {
        ++i_;
        break;
      }
      if (valid_escape(i_)) {
        i_ += 2;
        continue;
      }
      ++i_;
    }
    return std::nullopt;
  }

  void found(std::string ref) {
    if (namespace_prelude_) return;  // @namespace url(...) names a namespace
    std::size_t b = 0, e = ref.size();
    while (b < e && is_ascii_whitespace(ref[b])) ++b;
    while (e > b && is_ascii_whitespace(ref[e - 1])) --e;
    if (b == e || ref[b] == '#') return;  // nothing, or part of the document (url(#filter))
    out_.push_back(ref.substr(b, e - b));
  }

  void end_prelude() {
    import_prelude_ = false;
    namespace_prelude_ = false;
  }

  // A string token: a reference as the argument of url(), in image-set(), or @import's.
  void string_token() {
    auto value = consume_string();
    if (!value) return;
    const std::string_view fn = functions_.empty() ? std::string_view() : functions_.back();
    if (fn == "url") {
      // url("...") holds one string and nothing else (blanks aside).
      std::size_t k = i_;
      while (is_ascii_whitespace(at(k))) ++k;
      if (at(k) == ')') found(std::move(*value));
    } else if (fn == "image-set" || fn == "-webkit-image-set") {
      found(std::move(*value));
    } else if (import_prelude_ && !import_found_ && functions_.size() == import_depth_) {
      import_found_ = true;
      found(std::move(*value));
    }
  }

  void ident_like() {
    std::string name = consume_name();
    if (at(i_) != '(') return;
    ++i_;
    if (iequals(name, "url")) {
      if (import_prelude_ && functions_.size() == import_depth_) import_found_ = true;
      while (is_ascii_whitespace(at(i_)) && is_ascii_whitespace(at(i_ + 1))) ++i_;
      std::size_t k = i_;
      if (is_ascii_whitespace(at(k))) ++k;
      if (at(k) == '"' || at(k) == '\'') {
        functions_.push_back("url");  // url("...") is a function whose string is the URL
        return;
      }
      while (is_ascii_whitespace(at(i_))) ++i_;
      if (auto value = consume_url()) found(std::move(*value));
      return;
    }
    for (auto& c : name) c = ascii_lower(c);
    functions_.push_back(std::move(name));
  }

  void numeric() {
    if (at(i_) == '+' || at(i_) == '-') ++i_;
    while (is_digit(at(i_))) ++i_;
    if (at(i_) == '.' && is_digit(at(i_ + 1))) {
      ++i_;
      while (is_digit(at(i_))) ++i_;
    }
    const char e = at(i_);
    if ((e == 'e' || e == 'E') &&
        (is_digit(at(i_ + 1)) ||
         ((at(i_ + 1) == '+' || at(i_ + 1) == '-') && is_digit(at(i_ + 2))))) {
      i_ += 2;
      while (is_digit(at(i_))) ++i_;
    }
    if (starts_ident(i_)) {
      consume_name();  // a dimension's unit: "10url(" is no function
    } else if (at(i_) == '%') {
      ++i_;
    }
  }

  void step() {
    const char c = s_[i_];
    if (c == '/' && at(i_ + 1) == '*') {
      const auto end = s_.find("*/", i_ + 2);
      i_ = end == std::string_view::npos ? s_.size() : end + 2;
      return;
    }
    if (c == '"' || c == '\'') {
      string_token();
      return;
    }
    if (starts_number(i_)) {
      numeric();
      return;
    }
    if (c == '-' && at(i_ + 1) == '-' && at(i_ + 2) == '>') {  // CDC
      i_ += 3;
      return;
    }
    if (starts_ident(i_)) {
      ident_like();
      return;
    }
    ++i_;
    switch (c) {
      case '#':  // a hash token's name is no function name
        if (i_ < s_.size() && (name_char(s_[i_]) || valid_escape(i_))) consume_name();
        break;
      case '@':
        if (starts_ident(i_)) {
          const std::string name = consume_name();
          end_prelude();
          if (iequals(name, "import")) {
            import_prelude_ = true;
            import_found_ = false;
            import_depth_ = functions_.size();
          } else if (iequals(name, "namespace")) {
            namespace_prelude_ = true;
          }
        }
        break;
      case '(':
      case '[':
        functions_.emplace_back();
        break;
      case ')':
      case ']':
        if (!functions_.empty()) functions_.pop_back();
        break;
      case '{':
      case '}':
      case ';':
        end_prelude();
        // A block or a statement ends whatever function was left open (a parse error).
        functions_.clear();
        break;
      case '\\':  // a '\' that is no valid escape is a delimiter
      default:
        break;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::vector<std::string> out_;
  std::vector<std::string> functions_;  // open functions and ( [ blocks, innermost last
  bool import_prelude_ = false;
  bool import_found_ = false;
  std::size_t import_depth_ = 0;
  bool namespace_prelude_ = false;
};

// CSS Syntax 3.2 "determine the fallback encoding" from an @charset rule: the exact bytes
// `@charset "` at the start, a label, `";`.
std::optional<std::string> charset_rule(std::string_view body) {
  constexpr std::string_view start = "@charset \"";
  if (!body.starts_with(start)) return std::nullopt;
  const auto end = body.find("\";", start.size());
  if (end == std::string_view::npos || end > 1024) return std::nullopt;
  auto label = canonical_charset(body.substr(start.size(), end - start.size()));
  // A style sheet that says UTF-16 in ASCII bytes is not UTF-16.
  if (label && (*label == "utf-16be" || *label == "utf-16le")) return std::string("utf-8");
  return label;
}

}  // namespace

std::vector<std::string> srcset_urls(std::string_view input) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  const std::size_t n = input.size();
  for (;;) {
    // Splitting loop: whitespace and commas between candidates.
    while (pos < n && (is_ascii_whitespace(input[pos]) || input[pos] == ',')) ++pos;
    if (pos >= n) return out;
    const std::size_t url_start = pos;
    while (pos < n && !is_ascii_whitespace(input[pos])) ++pos;
    std::string_view url = input.substr(url_start, pos - url_start);
    std::vector<std::string> descriptors;
    if (url.back() == ',') {
      while (!url.empty() && url.back() == ',') url.remove_suffix(1);
    } else {
      // The descriptor tokenizer.
      while (pos < n && is_ascii_whitespace(input[pos])) ++pos;
      enum class state { in_descriptor, in_parens, after_descriptor } st = state::in_descriptor;
      std::string current;
      for (;;) {
        if (pos >= n) {
          if (!current.empty()) descriptors.push_back(std::move(current));
          break;
        }
        const char c = input[pos];
        if (st == state::in_descriptor) {
          if (is_ascii_whitespace(c)) {
            if (!current.empty()) {
              descriptors.push_back(std::move(current));
              current.clear();
            }
            st = state::after_descriptor;
          } else if (c == ',') {
            ++pos;
            if (!current.empty()) descriptors.push_back(std::move(current));
            break;
          } else if (c == '(') {
            current += c;
            st = state::in_parens;
          } else {
            current += c;
          }
        } else if (st == state::in_parens) {
          if (c == ')') {
            current += c;
            st = state::in_descriptor;
          } else {
            current += c;
          }
        } else if (!is_ascii_whitespace(c)) {
          st = state::in_descriptor;
          continue;  // reconsume in the descriptor state
        }
        ++pos;
      }
    }
    if (!url.empty() && descriptors_valid(descriptors)) out.emplace_back(url);
  }
}

std::vector<std::string> css_references(std::string_view css) {
  return css_scanner(css).run();
}

std::vector<std::string> stylesheet_requisites(std::string_view body, std::string_view sheet_url,
                                               std::optional<std::string_view> header_charset) {
  std::string charset;
  if (const auto b = sniff_bom(body)) {
    charset = b->charset;
    body.remove_prefix(b->length);
  } else if (auto from_header =
                 header_charset ? canonical_charset(*header_charset) : std::nullopt) {
    charset = std::move(*from_header);
  } else if (auto from_rule = charset_rule(body)) {
    charset = std::move(*from_rule);
  } else {
    charset = "utf-8";
  }
  std::string owned;
  std::string_view text = body;
  if (charset != "utf-8" || !record::is_valid_utf8(body)) {
    owned = decode_to_utf8(body, charset);
    text = owned;
  }
  std::vector<std::string> out;
  const url::resolver base(sheet_url);
  if (!base.valid()) return out;
  std::unordered_set<std::string> seen{base.base()};
  for (const auto& ref : css_references(text)) {
    auto absolute = base.resolve(ref);
    if (!absolute || !seen.insert(*absolute).second) continue;
    out.push_back(std::move(*absolute));
  }
  return out;
}

}  // namespace trawler::extract
