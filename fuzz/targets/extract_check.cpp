#include <array>
#include <exception>
#include <string>
#include <unordered_set>

#include "extract/charset.hpp"
#include "extract/extract.hpp"
#include "extract/requisites.hpp"
#include "fuzz_checks.hpp"
#include "record/utf8.hpp"
#include "url/url.hpp"

namespace trawler::fuzz {

namespace {

constexpr std::string_view page_url = "https://example.com/dir/page.html?x=1";

// Labels a Content-Type header may carry: canonical names, aliases in odd case and spacing,
// multi-byte and stateful encodings, and labels no decoder knows.
constexpr std::array<std::string_view, 24> header_charsets = {
    "utf-8",       " UTF8 ",      "windows-1252", "latin1",      "iso-8859-2", "ISO-8859-8-I",
    "koi8-r",      "shift_jis",   "euc-jp",       "iso-2022-jp", "gbk",        "gb18030",
    "big5",        "euc-kr",      "utf-16le",     "UTF-16BE",    "utf-16",     "x-user-defined",
    "replacement", "iso-2022-kr", "macintosh",    "bogus",       "",           "utf-7",
};

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

// Whitespace collapsed and trimmed: no ASCII whitespace but single inner spaces.
bool is_collapsed(std::string_view s) {
  if (s.empty()) return true;
  if (s.front() == ' ' || s.back() == ' ') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ' && i + 1 < s.size() && s[i + 1] == ' ') return false;
    if (s[i] != ' ' && is_ascii_whitespace(s[i])) return false;
  }
  return true;
}

// Absolute normalized http(s) URLs without fragments or repeats.
finding check_urls(const std::vector<std::string>& urls, std::string_view what) {
  std::unordered_set<std::string_view> seen;
  for (const auto& u : urls) {
    const std::string w(what);
    if (!u.starts_with("http://") && !u.starts_with("https://"))
      return w + " is not http(s): " + printable(u);
    if (u.find('#') != std::string::npos) return w + " has a '#': " + printable(u);
    if (url::normalize(u) != u) return w + " does not re-normalize to itself: " + printable(u);
    if (!seen.insert(u).second) return w + " repeated: " + printable(u);
  }
  return std::nullopt;
}

finding check_facts(const extract::page_facts& f, const extract::options& opt,
                    std::string_view label) {
  const std::string where = std::string(" (header charset ") + std::string(label) + ")";
  std::unordered_set<std::string_view> seen;
  for (const auto& l : f.links) {
    if (!l.url.starts_with("http://") && !l.url.starts_with("https://"))
      return "link is not http(s): " + printable(l.url) + where;
    if (l.url.find('#') != std::string::npos) return "link has a '#': " + printable(l.url) + where;
    if (!is_normal_url_text(l.url)) return "link not in normal form: " + printable(l.url) + where;
    const auto again = url::normalize(l.url);
    if (again != l.url) return "link does not re-normalize to itself: " + printable(l.url) + where;
    if (!seen.insert(l.url).second) return "link repeated: " + printable(l.url) + where;
    if (opt.follow_nofollow && !l.follow) return "nofollow link with follow_nofollow" + where;
    if (!opt.follow_nofollow && f.page_nofollow && l.follow)
      return "followable link on a nofollow page: " + printable(l.url) + where;
  }
  if (f.title) {
    if (f.title->empty()) return "empty title instead of none" + where;
    if (!record::is_valid_utf8(*f.title)) return "title not UTF-8: " + printable(*f.title) + where;
    if (!is_collapsed(*f.title))
      return "title whitespace not collapsed: " + printable(*f.title) + where;
  }
  if (f.charset.empty()) return "no charset" + where;
  const auto canonical = extract::canonical_charset(f.charset);
  if (canonical != f.charset)
    return "charset is not a canonical name: " + printable(f.charset) + where;
  if (f.canonical && url::normalize(*f.canonical) != *f.canonical)
    return "canonical not normalized: " + printable(*f.canonical) + where;
  bool nofollow_token = false;
  std::unordered_set<std::string_view> tokens;
  for (const auto& t : f.meta_robots) {
    if (t.empty()) return "empty meta robots token" + where;
    for (const char c : t)
      if ((c >= 'A' && c <= 'Z') || is_ascii_whitespace(c) || c == ',')
        return "meta robots token not lowercase or not split: " + printable(t) + where;
    if (!record::is_valid_utf8(t)) return "meta robots token not UTF-8: " + printable(t) + where;
    if (!tokens.insert(t).second) return "meta robots token repeated: " + printable(t) + where;
    nofollow_token = nofollow_token || t == "nofollow" || t == "none";
  }
  if (nofollow_token != f.page_nofollow)
    return "page_nofollow disagrees with the meta robots tokens" + where;
  if (!opt.want_requisites && !f.requisites.empty()) return "requisites without asking" + where;
  if (auto bad = check_urls(f.requisites, "requisite")) return *bad + where;
  for (const auto& r : f.requisites)
    if (r == page_url) return "the page is its own requisite" + where;
  if (!opt.want_text && !f.text.empty()) return "text without want_text" + where;
  if (!record::is_valid_utf8(f.text)) return "text not UTF-8" + where;
  if (!is_collapsed(f.text)) return "text whitespace not collapsed: " + printable(f.text) + where;
  return std::nullopt;
}

finding check_extract_impl(std::string_view data) {
  extract::options plain;
  if (auto f =
          check_facts(extract::extract_html(data, page_url, std::nullopt, plain), plain, "none"))
    return f;
  if (data.empty()) return std::nullopt;

  const auto selector = static_cast<unsigned char>(data.front());
  const std::string_view label = header_charsets[(selector & 0x1F) % header_charsets.size()];
  extract::options opt;
  opt.want_text = (selector & 0x20) != 0;
  opt.follow_nofollow = (selector & 0x40) != 0;
  opt.want_requisites = true;
  if (selector & 0x80) opt.max_nesting = 8;  // reach the nesting guard with small inputs
  if (auto f = check_facts(extract::extract_html(data, page_url, label, opt), opt, label)) return f;

  // The input as a style sheet and as a srcset.
  const auto sheet = extract::stylesheet_requisites(data, page_url, label);
  if (auto bad = check_urls(sheet, "style sheet requisite")) return bad;
  for (const auto& r : sheet)
    if (r == page_url) return "a style sheet is its own requisite";
  for (const auto& u : extract::srcset_urls(data)) {
    if (u.empty()) return "empty srcset candidate";
    for (const char c : u)
      if (is_ascii_whitespace(c)) return "srcset candidate with whitespace: " + printable(u);
  }

  // The pieces on their own.
  if (const auto meta = extract::sniff_meta_charset(data)) {
    if (extract::canonical_charset(*meta) != *meta)
      return "sniff_meta_charset gave a non-canonical name " + printable(*meta);
  }
  if (const auto canonical = extract::canonical_charset(label)) {
    if (!record::is_valid_utf8(extract::decode_to_utf8(data, *canonical)))
      return "decode_to_utf8 gave invalid UTF-8 for " + *canonical;
  }
  const std::string_view content = data.substr(0, data.find('\n'));
  if (const auto target = extract::refresh_url(content)) {
    if (target->data() < content.data() ||
        target->data() + target->size() > content.data() + content.size())
      return "refresh_url returned a view outside its input " + printable(content);
  }
  return std::nullopt;
}

}  // namespace

finding check_extract(std::string_view data) {
  try {
    return check_extract_impl(data);
  } catch (const std::exception& e) {
    return std::string("extract: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
