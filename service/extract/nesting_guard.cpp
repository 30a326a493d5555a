#include "extract/nesting_guard.hpp"

#include <cstdint>
#include <cstring>
#include <unordered_map>

namespace trawler::extract {

namespace {

enum kind : std::uint8_t {
  ordinary,
  void_element,  // never pushed (also html/head/body, which never nest)
  raw_text,      // content is text up to the matching end tag
  plaintext,     // the rest of the document is text
  foreign_root,  // svg, math: self-closing syntax is honoured inside
};

enum family : std::uint8_t {
  no_family,
  f_p,        // a new <p> closes an open p
  f_li,
  f_dd_dt,
  f_option,
  f_optgroup,
  f_cell,     // td, th
  f_row,      // tr
  f_section,  // thead, tbody, tfoot
  f_ruby,     // rb, rt, rp, rtc
  f_a,        // a new <a> closes an open a
  f_button,
  f_form,     // a nested <form> is ignored
  f_nobr,
  f_heading,  // h1..h6 close an open heading
};

struct tag_info {
  kind k = ordinary;
  family fam = no_family;
  bool closes_p = false;  // block elements that close an open <p>
  bool keep = false;      // carries links: never blanked
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// FNV-1a of the lowercased name: tags are compared by hash (a collision only misplaces an end
// tag in the model).
std::uint64_t name_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ULL;
  }
  return h;
}

struct entry {
  std::string_view name;
  tag_info info;
};

constexpr entry special_tags[] = {
  {"area", {void_element, no_family, false, true}},
  {"base", {void_element, no_family, false, true}},
  {"basefont", {void_element}},
  {"bgsound", {void_element}},
  {"br", {void_element}},
  {"col", {void_element}},
  {"embed", {void_element}},
  {"frame", {void_element, no_family, false, true}},
  {"hr", {void_element, no_family, true}},
  {"image", {void_element}},
  {"img", {void_element}},
  {"input", {void_element}},
  {"keygen", {void_element}},
  {"link", {void_element, no_family, false, true}},
  {"meta", {void_element, no_family, false, true}},
  {"param", {void_element}},
  {"source", {void_element}},
  {"track", {void_element}},
  {"wbr", {void_element}},
  {"html", {void_element}},
  {"head", {void_element}},
  {"body", {void_element}},
  {"script", {raw_text}},
  {"style", {raw_text}},
  {"textarea", {raw_text}},
  {"title", {raw_text, no_family, false, true}},
  {"xmp", {raw_text, no_family, true}},
  {"iframe", {raw_text, no_family, false, true}},
  {"noembed", {raw_text}},
  {"noframes", {raw_text}},
  {"plaintext", {plaintext}},
  {"svg", {foreign_root}},
  {"math", {foreign_root}},
  {"p", {ordinary, f_p, true}},
  {"li", {ordinary, f_li, true}},
  {"dd", {ordinary, f_dd_dt, true}},
  {"dt", {ordinary, f_dd_dt, true}},
  {"option", {ordinary, f_option}},
  {"optgroup", {ordinary, f_optgroup}},
  {"td", {ordinary, f_cell}},
  {"th", {ordinary, f_cell}},
  {"tr", {ordinary, f_row}},
  {"thead", {ordinary, f_section}},
  {"tbody", {ordinary, f_section}},
  {"tfoot", {ordinary, f_section}},
  {"rb", {ordinary, f_ruby}},
  {"rt", {ordinary, f_ruby}},
  {"rp", {ordinary, f_ruby}},
  {"rtc", {ordinary, f_ruby}},
  {"a", {ordinary, f_a, false, true}},
  {"button", {ordinary, f_button}},
  {"form", {ordinary, f_form, true}},
  {"nobr", {ordinary, f_nobr}},
  {"h1", {ordinary, f_heading, true}},
  {"h2", {ordinary, f_heading, true}},
  {"h3", {ordinary, f_heading, true}},
  {"h4", {ordinary, f_heading, true}},
  {"h5", {ordinary, f_heading, true}},
  {"h6", {ordinary, f_heading, true}},
  {"address", {ordinary, no_family, true}},
  {"article", {ordinary, no_family, true}},
  {"aside", {ordinary, no_family, true}},
  {"blockquote", {ordinary, no_family, true}},
  {"center", {ordinary, no_family, true}},
  {"details", {ordinary, no_family, true}},
  {"dialog", {ordinary, no_family, true}},
  {"dir", {ordinary, no_family, true}},
  {"div", {ordinary, no_family, true}},
  {"dl", {ordinary, no_family, true}},
  {"fieldset", {ordinary, no_family, true}},
  {"figcaption", {ordinary, no_family, true}},
  {"figure", {ordinary, no_family, true}},
  {"footer", {ordinary, no_family, true}},
  {"header", {ordinary, no_family, true}},
  {"hgroup", {ordinary, no_family, true}},
  {"main", {ordinary, no_family, true}},
  {"menu", {ordinary, no_family, true}},
  {"nav", {ordinary, no_family, true}},
  {"ol", {ordinary, no_family, true}},
  {"pre", {ordinary, no_family, true}},
  {"listing", {ordinary, no_family, true}},
  {"section", {ordinary, no_family, true}},
  {"summary", {ordinary, no_family, true}},
  {"table", {ordinary, no_family, true}},
  {"ul", {ordinary, no_family, true}},
};

// name is lowercase, hash its name_hash().
tag_info lookup(std::string_view name, std::uint64_t hash) {
  static const auto by_hash = [] {
    std::unordered_map<std::uint64_t, const entry*> m;
    for (const auto& e : special_tags) m.emplace(name_hash(e.name), &e);
    return m;
  }();
  const auto it = by_hash.find(hash);
  if (it == by_hash.end() || it->second->name != name) return {};
  return it->second->info;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// Position of the '>' closing the tag whose attributes start at i, skipping quoted values.
std::size_t tag_end(std::string_view s, std::size_t i) {
  bool after_equals = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '>') return i;
    if (after_equals && (c == '"' || c == '\'')) {
      i = s.find(c, i + 1);
      if (i == std::string_view::npos) return i;
      after_equals = false;
    } else if (c == '=') {
      after_equals = true;
    } else if (!is_space(c)) {
      after_equals = false;
    }
  }
  return std::string_view::npos;
}

// Just past the end tag "</name" (any case) that ends a raw-text element, or npos.
std::size_t raw_text_end(std::string_view s, std::size_t from, std::string_view name) {
  for (std::size_t i = s.find("</", from); i != std::string_view::npos; i = s.find("</", i + 2)) {
    const std::size_t n = i + 2;
    if (s.size() - n < name.size() + 1) return std::string_view::npos;
    bool match = true;
    for (std::size_t k = 0; k < name.size() && match; ++k) match = lower(s[n + k]) == name[k];
    const char after = s[n + name.size()];
    if (match && (is_space(after) || after == '/' || after == '>')) {
      const std::size_t end = s.find('>', n + name.size());
      return end == std::string_view::npos ? end : end + 1;
    }
  }
  return std::string_view::npos;
}

struct open_element {
  std::uint64_t hash;
  family fam;
  bool foreign_root;
};

// How far down an implied end tag or a misnested end tag looks: enough for real markup
// (<tr> closing a <td> and its inline content), small enough to keep the pass linear.
constexpr std::size_t search_window = 8;

class model {
 public:
  explicit model(std::size_t max_depth) : max_depth_(max_depth) {
    stack_.reserve(max_depth < 4096 ? max_depth : 4096);
  }

  bool in_foreign() const { return foreign_ > 0; }

  // False when the element would be too deep: the caller blanks the tag.
  bool open(std::uint64_t hash, const tag_info& info) {
    if (info.fam != no_family) close_family(info.fam);
    if (info.closes_p) close_family(f_p);
    if (stack_.size() >= max_depth_) return info.keep;
    stack_.push_back({hash, info.fam, info.k == foreign_root});
    if (info.k == foreign_root) ++foreign_;
    return true;
  }

  void close(std::uint64_t hash) {
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < search_window && i < n; ++i) {
      if (stack_[n - 1 - i].hash == hash) {
        pop_to(n - 1 - i);
        return;
      }
    }
  }

 private:
  void close_family(family fam) {
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < search_window && i < n; ++i) {
      if (stack_[n - 1 - i].fam == fam) {
        pop_to(n - 1 - i);
        return;
      }
    }
  }

  void pop_to(std::size_t index) {
    for (std::size_t i = index; i < stack_.size(); ++i)
      if (stack_[i].foreign_root) --foreign_;
    stack_.resize(index);
  }

  std::size_t max_depth_;
  std::vector<open_element> stack_;
  std::size_t foreign_ = 0;
};

}  // namespace

std::vector<byte_range> excess_nesting(std::string_view s, std::size_t max_depth) {
  std::vector<byte_range> excess;
  model tree(max_depth);
  char name_buf[16];
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t lt = s.find('<', pos);
    if (lt == std::string_view::npos || lt + 1 >= s.size()) break;
    const char next = s[lt + 1];
    if (s.compare(lt, 4, "<!--") == 0) {
      const std::size_t end = s.find("-->", lt + 2);  // "<!-->" is a whole comment
      if (end == std::string_view::npos) break;
      pos = end + 3;
      continue;
    }
    const bool end_tag = next == '/' && lt + 2 < s.size() && is_alpha(s[lt + 2]);
    if (!end_tag && !is_alpha(next)) {
      if (next == '!' || next == '?' || next == '/') {  // doctype, bogus comment
        const std::size_t end = s.find('>', lt + 2);
        if (end == std::string_view::npos) break;
        pos = end + 1;
      } else {
        pos = lt + 1;  // a lone '<' is text
      }
      continue;
    }
    const std::size_t name_begin = lt + (end_tag ? 2 : 1);
    std::size_t name_end = name_begin;
    while (name_end < s.size() && !is_space(s[name_end]) && s[name_end] != '/' &&
           s[name_end] != '>')
      ++name_end;
    const std::string_view raw_name = s.substr(name_begin, name_end - name_begin);
    const std::uint64_t hash = name_hash(raw_name);
    std::string_view name;  // lowercased; long names are never special
    if (raw_name.size() <= sizeof name_buf) {
      for (std::size_t i = 0; i < raw_name.size(); ++i) name_buf[i] = lower(raw_name[i]);
      name = std::string_view(name_buf, raw_name.size());
    }
    const std::size_t gt = tag_end(s, name_end);
    if (gt == std::string_view::npos) break;
    pos = gt + 1;
    if (end_tag) {
      tree.close(hash);
      continue;
    }
    const tag_info info = lookup(name, hash);
    if (info.k == void_element) continue;
    const bool self_closing = s[gt - 1] == '/' && gt - 1 >= name_end;
    if (self_closing && (tree.in_foreign() || info.k == foreign_root)) continue;
    if (!tree.in_foreign()) {
      if (info.k == plaintext) break;
      if (info.k == raw_text) {
        pos = raw_text_end(s, pos, name);
        if (pos == std::string_view::npos) break;
        continue;
      }
    }
    if (!tree.open(hash, info)) excess.push_back({lt, gt + 1});
  }
  return excess;
}

}  // namespace trawler::extract
