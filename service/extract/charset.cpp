#include "extract/charset.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "record/utf8.hpp"

namespace trawler::extract {

namespace {

struct label_entry {
  std::string_view label;
  std::string_view name;
};

// The WHATWG Encoding Standard's label table (encodings.json), names lowercased.
constexpr label_entry label_table[] = {
    // utf-8
    {"unicode-1-1-utf-8", "utf-8"},
    {"unicode11utf8", "utf-8"},
    {"unicode20utf8", "utf-8"},
    {"utf-8", "utf-8"},
    {"utf8", "utf-8"},
    {"x-unicode20utf8", "utf-8"},
    // legacy single-byte encodings
    {"866", "ibm866"},
    {"cp866", "ibm866"},
    {"csibm866", "ibm866"},
    {"ibm866", "ibm866"},
    {"csisolatin2", "iso-8859-2"},
    {"iso-8859-2", "iso-8859-2"},
    {"iso-ir-101", "iso-8859-2"},
    {"iso8859-2", "iso-8859-2"},
    {"iso88592", "iso-8859-2"},
    {"iso_8859-2", "iso-8859-2"},
    {"iso_8859-2:1987", "iso-8859-2"},
    {"l2", "iso-8859-2"},
    {"latin2", "iso-8859-2"},
    {"csisolatin3", "iso-8859-3"},
    {"iso-8859-3", "iso-8859-3"},
    {"iso-ir-109", "iso-8859-3"},
    {"iso8859-3", "iso-8859-3"},
    {"iso88593", "iso-8859-3"},
    {"iso_8859-3", "iso-8859-3"},
    {"iso_8859-3:1988", "iso-8859-3"},
    {"l3", "iso-8859-3"},
    {"latin3", "iso-8859-3"},
    {"csisolatin4", "iso-8859-4"},
    {"iso-8859-4", "iso-8859-4"},
    {"iso-ir-110", "iso-8859-4"},
    {"iso8859-4", "iso-8859-4"},
    {"iso88594", "iso-8859-4"},
    {"iso_8859-4", "iso-8859-4"},
    {"iso_8859-4:1988", "iso-8859-4"},
    {"l4", "iso-8859-4"},
    {"latin4", "iso-8859-4"},
    {"csisolatincyrillic", "iso-8859-5"},
    {"cyrillic", "iso-8859-5"},
    {"iso-8859-5", "iso-8859-5"},
    {"iso-ir-144", "iso-8859-5"},
    {"iso8859-5", "iso-8859-5"},
    {"iso88595", "iso-8859-5"},
    {"iso_8859-5", "iso-8859-5"},
    {"iso_8859-5:1988", "iso-8859-5"},
    {"arabic", "iso-8859-6"},
    {"asmo-708", "iso-8859-6"},
    {"csiso88596e", "iso-8859-6"},
    {"csiso88596i", "iso-8859-6"},
    {"csisolatinarabic", "iso-8859-6"},
    {"ecma-114", "iso-8859-6"},
    {"iso-8859-6", "iso-8859-6"},
    {"iso-8859-6-e", "iso-8859-6"},
    {"iso-8859-6-i", "iso-8859-6"},
    {"iso-ir-127", "iso-8859-6"},
    {"iso8859-6", "iso-8859-6"},
    {"iso88596", "iso-8859-6"},
    {"iso_8859-6", "iso-8859-6"},
    {"iso_8859-6:1987", "iso-8859-6"},
    {"csisolatingreek", "iso-8859-7"},
    {"ecma-118", "iso-8859-7"},
    {"elot_928", "iso-8859-7"},
    {"greek", "iso-8859-7"},
    {"greek8", "iso-8859-7"},
    {"iso-8859-7", "iso-8859-7"},
    {"iso-ir-126", "iso-8859-7"},
    {"iso8859-7", "iso-8859-7"},
    {"iso88597", "iso-8859-7"},
    {"iso_8859-7", "iso-8859-7"},
    {"iso_8859-7:1987", "iso-8859-7"},
    {"sun_eu_greek", "iso-8859-7"},
    {"csiso88598e", "iso-8859-8"},
    {"csisolatinhebrew", "iso-8859-8"},
    {"hebrew", "iso-8859-8"},
    {"iso-8859-8", "iso-8859-8"},
    {"iso-8859-8-e", "iso-8859-8"},
    {"iso-ir-138", "iso-8859-8"},
    {"iso8859-8", "iso-8859-8"},
    {"iso88598", "iso-8859-8"},
    {"iso_8859-8", "iso-8859-8"},
    {"iso_8859-8:1988", "iso-8859-8"},
    {"visual", "iso-8859-8"},
    {"csiso88598i", "iso-8859-8-i"},
    {"iso-8859-8-i", "iso-8859-8-i"},
    {"logical", "iso-8859-8-i"},
    {"csisolatin6", "iso-8859-10"},
    {"iso-8859-10", "iso-8859-10"},
    {"iso-ir-157", "iso-8859-10"},
    {"iso8859-10", "iso-8859-10"},
    {"iso885910", "iso-8859-10"},
    {"l6", "iso-8859-10"},
    {"latin6", "iso-8859-10"},
    {"iso-8859-13", "iso-8859-13"},
    {"iso8859-13", "iso-8859-13"},
    {"iso885913", "iso-8859-13"},
    {"iso-8859-14", "iso-8859-14"},
    {"iso8859-14", "iso-8859-14"},
    {"iso885914", "iso-8859-14"},
    {"csisolatin9", "iso-8859-15"},
    {"iso-8859-15", "iso-8859-15"},
    {"iso8859-15", "iso-8859-15"},
    {"iso885915", "iso-8859-15"},
    {"iso_8859-15", "iso-8859-15"},
    {"l9", "iso-8859-15"},
    {"iso-8859-16", "iso-8859-16"},
    {"cskoi8r", "koi8-r"},
    {"koi", "koi8-r"},
    {"koi8", "koi8-r"},
    {"koi8-r", "koi8-r"},
    {"koi8_r", "koi8-r"},
    {"koi8-ru", "koi8-u"},
    {"koi8-u", "koi8-u"},
    {"csmacintosh", "macintosh"},
    {"mac", "macintosh"},
    {"macintosh", "macintosh"},
    {"x-mac-roman", "macintosh"},
    {"dos-874", "windows-874"},
    {"iso-8859-11", "windows-874"},
    {"iso8859-11", "windows-874"},
    {"iso885911", "windows-874"},
    {"tis-620", "windows-874"},
    {"windows-874", "windows-874"},
    {"cp1250", "windows-1250"},
    {"windows-1250", "windows-1250"},
    {"x-cp1250", "windows-1250"},
    {"cp1251", "windows-1251"},
    {"windows-1251", "windows-1251"},
    {"x-cp1251", "windows-1251"},
    {"ansi_x3.4-1968", "windows-1252"},
    {"ascii", "windows-1252"},
    {"cp1252", "windows-1252"},
    {"cp819", "windows-1252"},
    {"csisolatin1", "windows-1252"},
    {"ibm819", "windows-1252"},
    {"iso-8859-1", "windows-1252"},
    {"iso-ir-100", "windows-1252"},
    {"iso8859-1", "windows-1252"},
    {"iso88591", "windows-1252"},
    {"iso_8859-1", "windows-1252"},
    {"iso_8859-1:1987", "windows-1252"},
    {"l1", "windows-1252"},
    {"latin1", "windows-1252"},
    {"us-ascii", "windows-1252"},
    {"windows-1252", "windows-1252"},
    {"x-cp1252", "windows-1252"},
    {"cp1253", "windows-1253"},
    {"windows-1253", "windows-1253"},
    {"x-cp1253", "windows-1253"},
    {"cp1254", "windows-1254"},
    {"csisolatin5", "windows-1254"},
    {"iso-8859-9", "windows-1254"},
    {"iso-ir-148", "windows-1254"},
    {"iso8859-9", "windows-1254"},
    {"iso88599", "windows-1254"},
    {"iso_8859-9", "windows-1254"},
    {"iso_8859-9:1989", "windows-1254"},
    {"l5", "windows-1254"},
    {"latin5", "windows-1254"},
    {"windows-1254", "windows-1254"},
    {"x-cp1254", "windows-1254"},
    {"cp1255", "windows-1255"},
    {"windows-1255", "windows-1255"},
    {"x-cp1255", "windows-1255"},
    {"cp1256", "windows-1256"},
    {"windows-1256", "windows-1256"},
    {"x-cp1256", "windows-1256"},
    {"cp1257", "windows-1257"},
    {"windows-1257", "windows-1257"},
    {"x-cp1257", "windows-1257"},
    {"cp1258", "windows-1258"},
    {"windows-1258", "windows-1258"},
    {"x-cp1258", "windows-1258"},
    {"x-mac-cyrillic", "x-mac-cyrillic"},
    {"x-mac-ukrainian", "x-mac-cyrillic"},
    // legacy multi-byte Chinese (simplified)
    {"chinese", "gbk"},
    {"csgb2312", "gbk"},
    {"csiso58gb231280", "gbk"},
    {"gb2312", "gbk"},
    {"gb_2312", "gbk"},
    {"gb_2312-80", "gbk"},
    {"gbk", "gbk"},
    {"iso-ir-58", "gbk"},
    {"x-gbk", "gbk"},
    {"gb18030", "gb18030"},
    // legacy multi-byte Chinese (traditional)
    {"big5", "big5"},
    {"big5-hkscs", "big5"},
    {"cn-big5", "big5"},
    {"csbig5", "big5"},
    {"x-x-big5", "big5"},
    // legacy multi-byte Japanese
    {"cseucpkdfmtjapanese", "euc-jp"},
    {"euc-jp", "euc-jp"},
    {"x-euc-jp", "euc-jp"},
    {"csiso2022jp", "iso-2022-jp"},
    {"iso-2022-jp", "iso-2022-jp"},
    {"csshiftjis", "shift_jis"},
    {"ms932", "shift_jis"},
    {"ms_kanji", "shift_jis"},
    {"shift-jis", "shift_jis"},
    {"shift_jis", "shift_jis"},
    {"sjis", "shift_jis"},
    {"windows-31j", "shift_jis"},
    {"x-sjis", "shift_jis"},
    // legacy multi-byte Korean
    {"cseuckr", "euc-kr"},
    {"csksc56011987", "euc-kr"},
    {"euc-kr", "euc-kr"},
    {"iso-ir-149", "euc-kr"},
    {"korean", "euc-kr"},
    {"ks_c_5601-1987", "euc-kr"},
    {"ks_c_5601-1989", "euc-kr"},
    {"ksc5601", "euc-kr"},
    {"ksc_5601", "euc-kr"},
    {"windows-949", "euc-kr"},
    // legacy miscellaneous
    {"csiso2022kr", "replacement"},
    {"hz-gb-2312", "replacement"},
    {"iso-2022-cn", "replacement"},
    {"iso-2022-cn-ext", "replacement"},
    {"iso-2022-kr", "replacement"},
    {"replacement", "replacement"},
    {"unicodefffe", "utf-16be"},
    {"utf-16be", "utf-16be"},
    {"csunicode", "utf-16le"},
    {"iso-10646-ucs-2", "utf-16le"},
    {"ucs-2", "utf-16le"},
    {"unicode", "utf-16le"},
    {"unicodefeff", "utf-16le"},
    {"utf-16", "utf-16le"},
    {"utf-16le", "utf-16le"},
    {"x-user-defined", "x-user-defined"},
};
constexpr std::size_t longest_label = 20;

const auto& sorted_labels() {
  static const auto table = [] {
    std::array<label_entry, std::size(label_table)> t{};
    std::copy(std::begin(label_table), std::end(label_table), t.begin());
    std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
    return t;
  }();
  return table;
}

bool is_ascii_whitespace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// ------------------------------------------------------------------ WHATWG prescan

// https://html.spec.whatwg.org/multipage/urls-and-fetching.html#algorithm-for-extracting-a-character-encoding-from-a-meta-element
// (the label only; s is already lowercase).
std::optional<std::string_view> charset_from_content(std::string_view s) {
  std::size_t pos = 0;
  for (;;) {
    const std::size_t found = s.find("charset", pos);
    if (found == std::string_view::npos) return std::nullopt;
    pos = found + 7;
    while (pos < s.size() && is_ascii_whitespace(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos < s.size() && s[pos] == '=') break;
  }
  ++pos;
  while (pos < s.size() && is_ascii_whitespace(static_cast<unsigned char>(s[pos]))) ++pos;
  if (pos >= s.size()) return std::nullopt;
  const char first = s[pos];
  if (first == '"' || first == '\'') {
    const std::size_t close = s.find(first, pos + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return s.substr(pos + 1, close - pos - 1);
  }
  std::size_t end = pos;
  while (end < s.size() && s[end] != ';' &&
         !is_ascii_whitespace(static_cast<unsigned char>(s[end])))
    ++end;
  return s.substr(pos, end - pos);
}

// https://html.spec.whatwg.org/multipage/parsing.html#prescan-a-byte-stream-to-determine-its-encoding
class prescanner {
 public:
  explicit prescanner(std::string_view input) : in_(input) {}

  std::optional<std::string> run() {
    while (pos_ < in_.size()) {
      if (starts_with("<!--")) {
        // "<!-->" closes at once: the "--" of "-->" may overlap the opening.
        const std::size_t end = in_.find("-->", pos_ + 2);
        if (end == std::string_view::npos) return std::nullopt;
        pos_ = end + 2;
      } else if (starts_with_ci("<meta") && pos_ + 5 < in_.size() &&
                 (is_ascii_whitespace(byte(pos_ + 5)) || in_[pos_ + 5] == '/')) {
        pos_ += 6;
        if (auto found = meta()) return found;
        if (eof_) return std::nullopt;
      } else if (in_[pos_] == '<' && pos_ + 1 < in_.size() &&
                 (is_alpha(byte(pos_ + 1)) ||
                  (in_[pos_ + 1] == '/' && pos_ + 2 < in_.size() && is_alpha(byte(pos_ + 2))))) {
        // Another tag: step over its attributes so that none is mistaken for markup.
        while (pos_ < in_.size() && !is_ascii_whitespace(byte(pos_)) && in_[pos_] != '>') ++pos_;
        attribute attr;
        while (get_attribute(attr)) {
        }
        if (eof_) return std::nullopt;
      } else if (starts_with("<!") || starts_with("</") || starts_with("<?")) {
        const std::size_t end = in_.find('>', pos_ + 2);
        if (end == std::string_view::npos) return std::nullopt;
        pos_ = end;
      }
      ++pos_;
    }
    return std::nullopt;
  }

 private:
  struct attribute {
    std::string name;
    std::string value;
  };

  unsigned char byte(std::size_t i) const { return static_cast<unsigned char>(in_[i]); }
  static bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
  bool starts_with(std::string_view s) const { return in_.substr(pos_).starts_with(s); }
  bool starts_with_ci(std::string_view s) const {
    if (in_.size() - pos_ < s.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i)
      if (ascii_lower(in_[pos_ + i]) != s[i]) return false;
    return true;
  }

  // After "<meta" and one space or slash.
  std::optional<std::string> meta() {
    std::vector<std::string> seen;  // a repeated attribute is ignored
    bool got_pragma = false;
    int need_pragma = -1;  // -1: null, 0: false, 1: true
    std::optional<std::string> charset;
    attribute attr;
    while (get_attribute(attr)) {
      if (std::find(seen.begin(), seen.end(), attr.name) != seen.end()) continue;
      seen.push_back(attr.name);
      if (attr.name == "http-equiv") {
        if (attr.value == "content-type") got_pragma = true;
      } else if (attr.name == "content") {
        if (!charset) {
          if (auto label = charset_from_content(attr.value)) {
            charset = canonical_charset(*label);
            need_pragma = 1;
          }
        }
      } else if (attr.name == "charset") {
        charset = canonical_charset(attr.value);
        need_pragma = 0;
      }
    }
    if (eof_ || need_pragma == -1 || (need_pragma == 1 && !got_pragma) || !charset)
      return std::nullopt;
    if (*charset == "utf-16be" || *charset == "utf-16le") return std::string("utf-8");
    if (*charset == "x-user-defined") return std::string("windows-1252");
    return charset;
  }

  // "get an attribute": false at the end of the tag (pos_ on '>') or of the input (eof_).
  bool get_attribute(attribute& attr) {
    attr.name.clear();
    attr.value.clear();
    while (pos_ < in_.size() && (is_ascii_whitespace(byte(pos_)) || in_[pos_] == '/')) ++pos_;
    if (pos_ >= in_.size()) return eof();
    if (in_[pos_] == '>') return false;
    for (;; ++pos_) {  // name
      if (pos_ >= in_.size()) return eof();
      const char c = in_[pos_];
      if (c == '=' && !attr.name.empty()) {
        ++pos_;
        return value(attr);
      }
      if (is_ascii_whitespace(static_cast<unsigned char>(c))) break;
      if (c == '/' || c == '>') return true;
      attr.name += ascii_lower(c);
    }
    while (pos_ < in_.size() && is_ascii_whitespace(byte(pos_))) ++pos_;
    if (pos_ >= in_.size()) return eof();
    if (in_[pos_] != '=') return true;
    ++pos_;
    return value(attr);
  }

  bool value(attribute& attr) {
    while (pos_ < in_.size() && is_ascii_whitespace(byte(pos_))) ++pos_;
    if (pos_ >= in_.size()) return eof();
    const char first = in_[pos_];
    if (first == '"' || first == '\'') {
      for (++pos_;; ++pos_) {
        if (pos_ >= in_.size()) return eof();
        if (in_[pos_] == first) {
          ++pos_;
          return true;
        }
        attr.value += ascii_lower(in_[pos_]);
      }
    }
    if (first == '>') return true;
    for (;; ++pos_) {
      if (pos_ >= in_.size()) return eof();
      if (is_ascii_whitespace(byte(pos_)) || in_[pos_] == '>') return true;
      attr.value += ascii_lower(in_[pos_]);
    }
  }

  bool eof() {
    eof_ = true;
    return false;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

// ------------------------------------------------------------------ decoders

// WHATWG index-windows-1252 for 0x80..0x9F; the other bytes map to themselves (Latin-1).
constexpr char16_t windows_1252_high[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_code_point(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string decode_single_byte(std::string_view bytes, bool user_defined) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8);
  std::size_t run = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) continue;
    out.append(bytes.substr(run, i - run));
    run = i + 1;
    if (user_defined)
      append_code_point(out, 0xF780 + b - 0x80);
    else if (b < 0xA0)
      append_code_point(out, windows_1252_high[b - 0x80]);
    else
      append_code_point(out, b);
  }
  out.append(bytes.substr(run));
  return out;
}

const char* iconv_name(std::string_view name) {
  struct entry {
    std::string_view whatwg;
    const char* iconv;
  };
  // WHATWG's decoders are supersets of the ISO names in places: gbk is decoded as gb18030,
  // big5 includes HKSCS, shift_jis is Windows-31J, euc-kr is Windows-949.
  static constexpr entry table[] = {
      {"ibm866", "IBM866"},
      {"iso-8859-2", "ISO-8859-2"},
      {"iso-8859-3", "ISO-8859-3"},
      {"iso-8859-4", "ISO-8859-4"},
      {"iso-8859-5", "ISO-8859-5"},
      {"iso-8859-6", "ISO-8859-6"},
      {"iso-8859-7", "ISO-8859-7"},
      {"iso-8859-8", "ISO-8859-8"},
      {"iso-8859-8-i", "ISO-8859-8"},
      {"iso-8859-10", "ISO-8859-10"},
      {"iso-8859-13", "ISO-8859-13"},
      {"iso-8859-14", "ISO-8859-14"},
      {"iso-8859-15", "ISO-8859-15"},
      {"iso-8859-16", "ISO-8859-16"},
      {"koi8-r", "KOI8-R"},
      {"koi8-u", "KOI8-RU"},
      {"macintosh", "MACINTOSH"},
      {"windows-874", "CP874"},
      {"windows-1250", "CP1250"},
      {"windows-1251", "CP1251"},
      {"windows-1253", "CP1253"},
      {"windows-1254", "CP1254"},
      {"windows-1255", "CP1255"},
      {"windows-1256", "CP1256"},
      {"windows-1257", "CP1257"},
      {"windows-1258", "CP1258"},
      {"x-mac-cyrillic", "MAC-CYRILLIC"},
      {"gbk", "GB18030"},
      {"gb18030", "GB18030"},
      {"big5", "BIG5-HKSCS"},
      {"euc-jp", "EUC-JP"},
      {"iso-2022-jp", "ISO-2022-JP"},
      {"shift_jis", "CP932"},
      {"euc-kr", "CP949"},
      {"utf-16be", "UTF-16BE"},
      {"utf-16le", "UTF-16LE"},
  };
  for (const auto& e : table)
    if (e.whatwg == name) return e.iconv;
  return nullptr;
}

struct iconv_closer {
  void operator()(void* cd) const noexcept { iconv_close(static_cast<iconv_t>(cd)); }
};

std::optional<std::string> decode_iconv(std::string_view bytes, const char* from, bool utf16) {
  iconv_t raw = iconv_open("UTF-8", from);
  if (raw == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  const std::unique_ptr<void, iconv_closer> cd(raw);
  std::string out;
  out.resize(bytes.size() * 2 + 16);
  std::size_t used = 0;
  // iconv's prototype wants char** for input it never writes.
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  const std::size_t unit = utf16 ? 2 : 1;
  auto room = [&](std::size_t need) {
    if (out.size() - used < need) out.resize(std::max(out.size() * 2, used + need));
  };
  while (in_left > 0) {
    char* dst = out.data() + used;
    std::size_t dst_left = out.size() - used;
    const std::size_t rc = iconv(raw, &in, &in_left, &dst, &dst_left);
    used = static_cast<std::size_t>(dst - out.data());
    if (rc != static_cast<std::size_t>(-1)) break;
    if (errno == E2BIG) {
      room(out.size());
    } else if (errno == EILSEQ) {
      // Replace one unit and resynchronize on the next: for multi-byte encodings this lets
      // an ASCII byte that was a bad trail byte come back as itself, as WHATWG decoders do.
      room(3);
      std::memcpy(out.data() + used, record::replacement_character.data(), 3);
      used += 3;
      const std::size_t skip = std::min(unit, in_left);
      in += skip;
      in_left -= skip;
    } else {  // EINVAL: an incomplete sequence at the end
      room(3);
      std::memcpy(out.data() + used, record::replacement_character.data(), 3);
      used += 3;
      break;
    }
  }
  // Flush the shift state of stateful encodings (ISO-2022-JP).
  room(16);
  char* dst = out.data() + used;
  std::size_t dst_left = out.size() - used;
  iconv(raw, nullptr, nullptr, &dst, &dst_left);
  used = static_cast<std::size_t>(dst - out.data());
  out.resize(used);
  return out;
}

}  // namespace

std::optional<std::string> canonical_charset(std::string_view label) {
  while (!label.empty() && is_ascii_whitespace(static_cast<unsigned char>(label.front())))
    label.remove_prefix(1);
  while (!label.empty() && is_ascii_whitespace(static_cast<unsigned char>(label.back())))
    label.remove_suffix(1);
  if (label.empty() || label.size() > longest_label) return std::nullopt;
  char buf[longest_label];
  for (std::size_t i = 0; i < label.size(); ++i) buf[i] = ascii_lower(label[i]);
  const std::string_view key(buf, label.size());
  const auto& table = sorted_labels();
  const auto it =
      std::lower_bound(table.begin(), table.end(), key,
                       [](const label_entry& e, std::string_view k) { return e.label < k; });
  if (it == table.end() || it->label != key) return std::nullopt;
  return std::string(it->name);
}

std::optional<bom> sniff_bom(std::string_view body) {
  if (body.starts_with("\xEF\xBB\xBF")) return bom{"utf-8", 3};
  if (body.starts_with("\xFE\xFF")) return bom{"utf-16be", 2};
  if (body.starts_with("\xFF\xFE")) return bom{"utf-16le", 2};
  return std::nullopt;
}

std::optional<std::string> sniff_meta_charset(std::string_view body) {
  if (const auto b = sniff_bom(body)) return std::string(b->charset);
  return prescanner(body.substr(0, 1024)).run();
}

std::string decode_to_utf8(std::string_view bytes, std::string_view name) {
  if (name == "windows-1252") return decode_single_byte(bytes, false);
  if (name == "x-user-defined") return decode_single_byte(bytes, true);
  if (name == "replacement")  // the standard's decoder for encodings that carry attacks
    return bytes.empty() ? std::string() : std::string(record::replacement_character);
  if (name != "utf-8") {
    if (const char* from = iconv_name(name)) {
      if (auto out = decode_iconv(bytes, from, name.starts_with("utf-16"))) return *out;
    }
  }
  return record::repair_utf8(bytes);
}

}  // namespace trawler::extract
