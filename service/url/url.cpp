#include "url/url.hpp"

#include "common/utf8.hpp"

#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/sub_delim_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

// Boost.URL supplies the RFC 3986 character classes and the IP address grammars and
// printers. The component splitting and the RFC 5.2 merge are done here on string_views:
// Boost.URL's parser refuses what real hrefs contain (raw spaces, UTF-8, '|', "http:g",
// backslashes) and its resolve() needs a mutable url per call, while this runs for every
// link of every page and builds the result in one string with one allocation.

namespace trawler::url {
namespace {

namespace bu = boost::urls;
using bu::grammar::lut_chars;

// Boost.URL's character sets flattened into byte tables: the per-character test is then one
// load, which matters in the loops that see every byte of every link.
class char_table {
 public:
  constexpr explicit char_table(const lut_chars& chars) {
    for (std::size_t i = 0; i < table_.size(); ++i) {
      table_[i] = chars(static_cast<unsigned char>(i));
    }
  }
  constexpr bool operator()(char c) const { return table_[static_cast<unsigned char>(c)]; }

 private:
  std::array<bool, 256> table_{};
};

constexpr char_table unreserved_chars{bu::unreserved_chars};
constexpr char_table path_chars{bu::pchars + '/'};
constexpr char_table query_chars{bu::pchars + "/?"};
constexpr char_table userinfo_chars{bu::unreserved_chars + bu::sub_delim_chars + ':'};
// A reg-name without percent-encoding: what a decoded host may hold.
constexpr char_table host_chars{bu::unreserved_chars + bu::sub_delim_chars};
constexpr char_table authority_end_chars{lut_chars("/\\?")};
constexpr char_table tab_or_newline{lut_chars("\t\n\r")};

// std::string_view::find_first_of runs a memchr per character: far slower on these short
// strings than a table lookup.
std::size_t find_any(std::string_view s, const char_table& chars) {
  const auto it = std::find_if(s.begin(), s.end(), [&chars](char c) { return chars(c); });
  return static_cast<std::size_t>(it - s.begin());
}

constexpr char hex_upper[] = "0123456789ABCDEF";

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool iequals(std::string_view a, std::string_view lower) {
  return a.size() == lower.size() && std::equal(a.begin(), a.end(), lower.begin(),
                                                [](char x, char y) { return ascii_lower(x) == y; });
}

// "%XX" at position i of s: the decoded byte, or -1.
int pct_byte_at(std::string_view s, std::size_t i) {
  if (s[i] != '%' || i + 2 >= s.size()) return -1;
  const int hi = hex_value(s[i + 1]);
  const int lo = hex_value(s[i + 2]);
  return (hi < 0 || lo < 0) ? -1 : hi * 16 + lo;
}

void append_pct(std::string& out, unsigned char b) {
  const char enc[3] = {'%', hex_upper[b >> 4], hex_upper[b & 15]};
  out.append(enc, 3);
}

// Appends a path, query or userinfo in RFC 3986 normal form (section 6.2.2.2): %XX of an
// unreserved byte decoded, other %XX uppercased. Bytes the component may not hold raw (space,
// UTF-8, '"', '|', '{'..., a '%' not starting an escape) are encoded as browsers do, so such
// links are kept rather than refused.
void append_component(std::string& out, std::string_view in, const char_table& allowed,
                      bool backslash_is_slash) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    std::size_t run = i;
    while (run < n && allowed(in[run])) ++run;
    out.append(in.data() + i, run - i);
    i = run;
    if (i == n) break;
    const char c = in[i];
    if (const int b = pct_byte_at(in, i); b >= 0) {
      if (unreserved_chars(static_cast<char>(b))) {
        out.push_back(static_cast<char>(b));
      } else {
        append_pct(out, static_cast<unsigned char>(b));
      }
      i += 3;
      continue;
    }
    if (c == '\\' && backslash_is_slash) {
      out.push_back('/');
    } else {
      append_pct(out, static_cast<unsigned char>(c));
    }
    ++i;
  }
}

// RFC 3986 5.2.4 on s[start..], a path that starts with '/', in place. Works segment by
// segment: the written part never outgrows the part read, so no buffer is needed.
void remove_dot_segments(std::string& s, std::size_t start) {
  const std::size_t end = s.size();
  std::size_t w = start;
  std::size_t r = start;
  while (r < end) {
    std::size_t next = s.find('/', r + 1);
    if (next == std::string::npos) next = end;
    const std::string_view seg(s.data() + r + 1, next - r - 1);
    const bool last = next == end;
    if (seg == ".") {
      if (last) s[w++] = '/';
    } else if (seg == "..") {
      while (w > start) {
        if (s[--w] == '/') break;
      }
      if (last) s[w++] = '/';
    } else {
      if (w != r) std::memmove(s.data() + w, s.data() + r, next - r);
      w += next - r;
    }
    r = next;
  }
  if (w == start) s[w++] = '/';
  s.resize(w);
}

// --- hosts ---------------------------------------------------------------------------

// WHATWG "IPv4 number parser": 0x.. hex, 0.. octal, else decimal. A syntactically valid
// number too large for 32 bits saturates above 2^32 so that the range checks reject it.
bool parse_ipv4_number(std::string_view s, std::uint64_t& value) {
  if (s.empty()) return false;
  unsigned radix = 10;
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    radix = 16;
  } else if (s.size() >= 2 && s[0] == '0') {
    s.remove_prefix(1);
    radix = 8;
  }
  value = 0;
  for (char c : s) {
    const int d = hex_value(c);
    if (d < 0 || static_cast<unsigned>(d) >= radix) return false;
    value = std::min<std::uint64_t>(value * radix + static_cast<unsigned>(d), 0x100000000ULL);
  }
  return true;
}

enum class ipv4_kind { not_ipv4, invalid, ok };

// WHATWG host parsing: a host whose last label is a number is an IPv4 address, in up to four
// parts of any radix ("2130706433", "0x7f.1", "0177.0.0.1"), or it is invalid.
ipv4_kind parse_ipv4_host(std::string_view host, std::uint32_t& addr) {
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  const std::size_t dot = host.rfind('.');
  const std::string_view last = host.substr(dot == std::string_view::npos ? 0 : dot + 1);
  if (last.empty()) return ipv4_kind::not_ipv4;
  std::uint64_t value = 0;
  if (!std::all_of(last.begin(), last.end(), is_digit) && !parse_ipv4_number(last, value)) {
    return ipv4_kind::not_ipv4;
  }
  std::array<std::uint64_t, 4> numbers{};
  std::size_t count = 0;
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(host.find('.', pos), host.size());
    if (count == numbers.size()) return ipv4_kind::invalid;
    if (!parse_ipv4_number(host.substr(pos, end - pos), numbers[count])) return ipv4_kind::invalid;
    ++count;
    if (end == host.size()) break;
    pos = end + 1;
  }
  std::uint64_t result = numbers[count - 1];
  if (result >= (1ULL << (8 * (5 - count)))) return ipv4_kind::invalid;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    if (numbers[i] > 255) return ipv4_kind::invalid;
    result += numbers[i] << (8 * (3 - i));
  }
  addr = static_cast<std::uint32_t>(result);
  return ipv4_kind::ok;
}

bool decode_utf8(std::string_view s, std::u32string& out) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto cp = next_code_point(s, i);
    if (!cp) return false;
    out.push_back(*cp);
  }
  return true;
}

// The part of the UTS #46 mapping that real links need: case folding of the common
// alphabets, full-width ASCII and ideographic full stops. No NFC: hrefs are almost always
// written precomposed already, and a full table would not pay for itself here.
char32_t map_code_point(char32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;  // full-width ASCII
  if (c == 0x3002 || c == 0xFF61) return '.';
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
    return c | 1;
  }
  if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1)) return c + 1;
  if (c == 0x178) return 0xFF;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

// RFC 3492 Punycode encoding of one label, appended to out.
bool punycode_encode(std::u32string_view label, std::string& out) {
  constexpr std::uint32_t base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  const auto digit = [](std::uint32_t d) {
    return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
  };
  const auto adapt = [&](std::uint32_t delta, std::uint32_t points, bool first) {
    delta = first ? delta / damp : delta / 2;
    delta += delta / points;
    std::uint32_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
      delta /= base - tmin;
      k += base;
    }
    return k + (base - tmin + 1) * delta / (delta + skew);
  };
  std::uint32_t basic = 0;
  for (char32_t c : label) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++basic;
    }
  }
  if (basic > 0) out.push_back('-');
  std::uint32_t n = 0x80, delta = 0, bias = 72, handled = basic;
  const auto total = static_cast<std::uint32_t>(label.size());
  while (handled < total) {
    std::uint32_t m = 0xFFFFFFFF;
    for (char32_t c : label) {
      if (c >= n && c < m) m = c;
    }
    if ((m - n) > (0xFFFFFFFF - delta) / (handled + 1)) return false;
    delta += (m - n) * (handled + 1);
    n = m;
    for (char32_t c : label) {
      if (c < n && ++delta == 0) return false;
      if (c != n) continue;
      std::uint32_t q = delta;
      for (std::uint32_t k = base;; k += base) {
        const std::uint32_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
        if (q < t) break;
        out.push_back(digit(t + (q - t) % (base - t)));
        q = (q - t) / (base - t);
      }
      out.push_back(digit(q));
      bias = adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return true;
}

// IDNA ToASCII of a decoded host holding non-ASCII bytes, appended to out.
bool append_idna(std::string& out, std::string_view decoded) {
  std::u32string cps;
  if (!decode_utf8(decoded, cps)) return false;
  std::transform(cps.begin(), cps.end(), cps.begin(), map_code_point);
  std::u32string_view rest = cps;
  while (true) {
    const std::size_t dot = std::min(rest.find(U'.'), rest.size());
    const std::u32string_view label = rest.substr(0, dot);
    if (std::all_of(label.begin(), label.end(), [](char32_t c) { return c < 0x80; })) {
      for (char32_t c : label) out.push_back(static_cast<char>(c));
    } else {
      out += "xn--";
      if (!punycode_encode(label, out)) return false;
    }
    if (dot == rest.size()) break;
    out.push_back('.');
    rest.remove_prefix(dot + 1);
  }
  return true;
}

// Appends the normalized host: IPv6 literals canonical (RFC 5952, by Boost.URL), names
// percent-decoded, IDNA-encoded and lowercased, numeric IPv4 spellings as a dotted quad.
bool append_host(std::string& out, std::string_view raw) {
  if (raw.empty()) return false;
  if (raw.front() == '[') {
    if (raw.size() < 2 || raw.back() != ']') return false;
    const auto addr = bu::parse_ipv6_address(raw.substr(1, raw.size() - 2));
    if (!addr) return false;
    char buf[bu::ipv6_address::max_str_len];
    out.push_back('[');
    out += addr->to_buffer(buf, sizeof buf);
    out.push_back(']');
    return true;
  }
  const std::size_t start = out.size();
  bool non_ascii = false;
  for (std::size_t i = 0; i < raw.size();) {
    int b = pct_byte_at(raw, i);
    if (b >= 0) {
      i += 3;
    } else {
      b = static_cast<unsigned char>(raw[i]);
      ++i;
    }
    non_ascii |= b >= 0x80;
    out.push_back(ascii_lower(static_cast<char>(b)));
  }
  if (non_ascii) {
    const std::string decoded(out, start);
    out.resize(start);
    if (!append_idna(out, decoded)) return false;
  }
  const std::string_view host(out.data() + start, out.size() - start);
  if (host.empty() ||
      !std::all_of(host.begin(), host.end(), [](char c) { return host_chars(c); })) {
    return false;
  }
  std::uint32_t addr = 0;
  switch (parse_ipv4_host(host, addr)) {
    case ipv4_kind::invalid:
      return false;
    case ipv4_kind::ok: {
      out.resize(start);
      char buf[bu::ipv4_address::max_str_len];
      out += bu::ipv4_address(addr).to_buffer(buf, sizeof buf);
      break;
    }
    case ipv4_kind::not_ipv4:
      break;
  }
  return true;
}

// A non-empty run of digits (leading zeros allowed) naming a port from 1 to 65535.
bool parse_port(std::string_view s, std::uint16_t& port) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  s.remove_prefix(std::min(s.find_first_not_of('0'), s.size()));
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  std::from_chars(s.data(), s.data() + s.size(), value);
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

constexpr std::uint16_t default_port(bool https) {
  return https ? 443 : 80;
}

// Splits "host[:port]" (after any userinfo); false when the port part is malformed.
bool split_host_port(std::string_view auth, std::string_view& host, std::string_view& port,
                     bool& has_port) {
  has_port = false;
  if (!auth.empty() && auth.front() == '[') {
    const std::size_t close = auth.find(']');
    if (close == std::string_view::npos) return false;
    host = auth.substr(0, close + 1);
    const std::string_view after = auth.substr(close + 1);
    if (after.empty()) return true;
    if (after.front() != ':') return false;
    has_port = true;
    port = after.substr(1);
    return true;
  }
  const std::size_t colon = auth.find(':');
  host = auth.substr(0, colon);
  if (colon != std::string_view::npos) {
    has_port = true;
    port = auth.substr(colon + 1);
  }
  return true;
}

// --- assembly --------------------------------------------------------------------------

struct base_view {
  bool https = false;
  std::string_view origin;  // "scheme://authority"
  std::string_view dir;     // the path up to and including its last '/'
  std::string_view path;
  std::string_view query;  // with its '?', or empty
};

// Length of "scheme" when s starts with "scheme:", else 0.
std::size_t scheme_length(std::string_view s) {
  if (s.empty() || !is_alpha(s.front())) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return i;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

std::size_t leading_slashes(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && (s[n] == '/' || s[n] == '\\')) ++n;
  return n;
}

// Path (starting with '/' or '\\', or empty) and optional query of an absolute URL or of a
// reference whose path is absolute, fragment already removed.
void append_path_and_query(std::string& out, std::string_view tail, std::string_view prefix) {
  const std::size_t q = tail.find('?');
  const std::string_view path = tail.substr(0, q);
  const std::size_t path_start = out.size();
  if (path.empty() && prefix.empty()) {
    out.push_back('/');
  } else {
    out += prefix;
    append_component(out, path, path_chars, true);
    remove_dot_segments(out, path_start);
  }
  if (q != std::string_view::npos) {
    out.push_back('?');
    append_component(out, tail.substr(q + 1), query_chars, false);
  }
}

// rest: what follows "scheme:" and its slashes, starting with the authority.
std::optional<std::string> build_absolute(bool https, std::string_view rest) {
  rest = rest.substr(0, rest.find('#'));
  const std::size_t auth_end = find_any(rest, authority_end_chars);
  std::string_view auth = rest.substr(0, auth_end);
  std::string out;
  out.reserve(rest.size() + 16);
  out += https ? "https://" : "http://";
  // The last '@' ends the userinfo, as in browsers; earlier ones get encoded.
  if (const std::size_t at = auth.rfind('@'); at != std::string_view::npos) {
    if (at > 0) {
      append_component(out, auth.substr(0, at), userinfo_chars, false);
      out.push_back('@');
    }
    auth.remove_prefix(at + 1);
  }
  std::string_view host, port_text;
  bool has_port = false;
  if (!split_host_port(auth, host, port_text, has_port) || !append_host(out, host)) {
    return std::nullopt;
  }
  // "http://host:/" has an empty port, which means the default one (RFC 3986 6.2.3).
  if (has_port && !port_text.empty()) {
    std::uint16_t port = 0;
    if (!parse_port(port_text, port)) return std::nullopt;
    if (port != default_port(https)) {
      char buf[8];
      const auto res = std::to_chars(buf, buf + sizeof buf, port);
      out.push_back(':');
      out.append(buf, res.ptr);
    }
  }
  append_path_and_query(out, rest.substr(auth_end), {});
  return out;
}

std::optional<std::string> build_relative(const base_view& base, std::string_view ref) {
  ref = ref.substr(0, ref.find('#'));
  const std::size_t q = ref.find('?');
  const std::string_view path = ref.substr(0, q);
  std::string out;
  out.reserve(base.origin.size() + base.path.size() + base.query.size() + ref.size() + 8);
  out += base.origin;
  if (path.empty()) {
    out += base.path;
    if (q == std::string_view::npos) {
      out += base.query;
    } else {
      out.push_back('?');
      append_component(out, ref.substr(q + 1), query_chars, false);
    }
    return out;
  }
  const bool absolute_path = path.front() == '/' || path.front() == '\\';
  append_path_and_query(out, ref, absolute_path ? std::string_view{} : base.dir);
  return out;
}

std::string_view trim_c0_and_space(std::string_view s) {
  while (!s.empty() && static_cast<unsigned char>(s.front()) <= 0x20) s.remove_prefix(1);
  while (!s.empty() && static_cast<unsigned char>(s.back()) <= 0x20) s.remove_suffix(1);
  return s;
}

std::optional<std::string> build(const base_view* base, std::string_view input) {
  input = trim_c0_and_space(input);
  // Browsers drop tabs and newlines anywhere: hrefs wrapped over lines still work.
  std::string cleaned;
  if (find_any(input, tab_or_newline) != input.size()) {
    cleaned.reserve(input.size());
    for (char c : input) {
      if (c != '\t' && c != '\n' && c != '\r') cleaned.push_back(c);
    }
    input = cleaned;
  }
  if (const std::size_t scheme_len = scheme_length(input); scheme_len > 0) {
    const std::string_view scheme = input.substr(0, scheme_len);
    bool https = false;
    if (iequals(scheme, "https")) {
      https = true;
    } else if (!iequals(scheme, "http")) {
      return std::nullopt;
    }
    std::string_view rest = input.substr(scheme_len + 1);
    const std::size_t slashes = leading_slashes(rest);
    if (slashes < 2 && base != nullptr && base->https == https) return build_relative(*base, rest);
    rest.remove_prefix(slashes);
    return build_absolute(https, rest);
  }
  if (base == nullptr) return std::nullopt;
  if (const std::size_t slashes = leading_slashes(input); slashes >= 2) {
    return build_absolute(base->https, input.substr(slashes));
  }
  return build_relative(*base, input);
}

}  // namespace

std::optional<std::string> normalize(std::string_view absolute) {
  return build(nullptr, absolute);
}

std::optional<std::string> normalize_seed(std::string_view text) {
  text = trim_c0_and_space(text);
  if (text.empty()) return std::nullopt;
  if (const std::size_t scheme_len = scheme_length(text); scheme_len > 0) {
    // "localhost:8080/x" is a host and port, not a scheme "localhost".
    const std::string_view after = text.substr(scheme_len + 1);
    const std::size_t digits = std::min(after.find_first_not_of("0123456789"), after.size());
    const bool port_like =
        digits > 0 && (digits == after.size() ||
                       std::string_view("/?#").find(after[digits]) != std::string_view::npos);
    if (!port_like) return normalize(text);
  }
  std::string with_scheme;
  with_scheme.reserve(text.size() + 7);
  with_scheme += "http://";
  with_scheme += text;
  return normalize(with_scheme);
}

resolver::resolver(std::string_view base) {
  auto normalized = normalize(base);
  if (!normalized) return;
  base_ = std::move(*normalized);
  origin_end_ = base_.find('/', base_.find("://") + 3);
  path_end_ = std::min(base_.find('?', origin_end_), base_.size());
  dir_end_ = base_.rfind('/', path_end_ - 1) + 1;
}

std::optional<std::string> resolver::resolve(std::string_view reference) const {
  if (!valid()) return std::nullopt;
  const std::string_view b = base_;
  base_view view;
  view.https = b[4] == 's';
  view.origin = b.substr(0, origin_end_);
  view.dir = b.substr(origin_end_, dir_end_ - origin_end_);
  view.path = b.substr(origin_end_, path_end_ - origin_end_);
  view.query = b.substr(path_end_);
  return build(&view, reference);
}

std::optional<std::string> resolve(std::string_view base, std::string_view reference) {
  return resolver(base).resolve(reference);
}

std::optional<parts> split(std::string_view normalized) {
  parts p;
  std::string_view rest;
  if (normalized.starts_with("http://")) {
    p.scheme = "http";
    rest = normalized.substr(7);
  } else if (normalized.starts_with("https://")) {
    p.scheme = "https";
    rest = normalized.substr(8);
  } else {
    return std::nullopt;
  }
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view auth = rest.substr(0, slash);
  if (const std::size_t at = auth.rfind('@'); at != std::string_view::npos) {
    auth.remove_prefix(at + 1);
  }
  std::string_view host, port_text;
  bool has_port = false;
  if (!split_host_port(auth, host, port_text, has_port) || host.empty()) return std::nullopt;
  if (!std::none_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return std::nullopt;
  }
  p.port = default_port(p.scheme.size() == 5);
  if (has_port && !parse_port(port_text, p.port)) return std::nullopt;
  p.host = host;
  const std::string_view target = rest.substr(slash);
  p.target = target.substr(0, target.find('#'));
  return p;
}

std::string host_key(const parts& p) {
  char buf[8];
  const auto res = std::to_chars(buf, buf + sizeof buf, p.port);
  std::string key;
  key.reserve(p.scheme.size() + 3 + p.host.size() + 1 + 5);
  key += p.scheme;
  key += "://";
  key += p.host;
  key.push_back(':');
  key.append(buf, res.ptr);
  return key;
}

}  // namespace trawler::url
