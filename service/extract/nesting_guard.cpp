#include "extract/nesting_guard.hpp"

#include <array>
#include <cstdint>

// The model follows the HTML tree construction rules closely enough to never be far below the
// depth Gumbo builds: where it cannot tell, it keeps an element open (overestimates). Sources
// of depth it tracks: the stack of open elements, with the implied end tags of p, li, dd/dt,
// td/th, tr, tbody, option, headings, ruby, button and form, end tags that stop at "special"
// elements or scope boundaries; and the list of active formatting elements (b, i, font, ...),
// which the parser reopens ("reconstructs") after a block closed them, so it is counted per
// tag name until a matching end tag, and restored when a marker element (td, object, ...)
// closes.
namespace trawler::extract {

namespace {

enum flag : std::uint32_t {
  void_element = 1u << 0,  // never pushed (also html, head, body: they never nest)
  raw_text = 1u << 1,      // content is text up to the matching end tag
  plaintext = 1u << 2,     // the rest of the document is text
  foreign_root = 1u << 3,  // svg, math: self-closing syntax is honoured inside
  special = 1u << 4,       // the HTML standard's "special" category
  scope = 1u << 5,         // boundary of "has an element in scope"
  table_scope = 1u << 6,   // boundary of "has an element in table scope"
  marker = 1u << 7,        // pushes a marker on the list of active formatting elements
  closes_p = 1u << 8,      // a start tag that closes an open <p>
  keep = 1u << 9,          // carries links: never blanked
  formatting = 1u << 10,   // goes on the list of active formatting elements
};

enum family : std::uint8_t {
  no_family,
  f_p,
  f_li,
  f_dd_dt,
  f_cell,     // td, th
  f_row,      // tr
  f_section,  // thead, tbody, tfoot
  f_option,
  f_optgroup,
  f_heading,  // h1..h6
  f_ruby,     // rb, rp, rt, rtc
  f_button,
  f_form,
  f_select,
};

struct tag_info {
  std::uint32_t flags = 0;
  family fam = no_family;
  std::uint8_t format_index = 0;  // which counter, for formatting elements
  bool has(std::uint32_t f) const { return (flags & f) != 0; }
};

struct entry {
  std::string_view name;
  tag_info info;
};

constexpr std::uint32_t block = special | closes_p;

constexpr entry known_tags[] = {
    // void and raw-text elements
    {"area", {void_element | special | keep}},
    {"base", {void_element | special | keep}},
    {"basefont", {void_element | special}},
    {"bgsound", {void_element | special}},
    {"br", {void_element | special}},
    {"col", {void_element | special}},
    {"embed", {void_element | special}},
    {"frame", {void_element | special | keep}},
    {"hr", {void_element | special | closes_p}},
    {"image", {void_element}},
    {"img", {void_element | special}},
    {"input", {void_element | special}},
    {"keygen", {void_element | special}},
    {"link", {void_element | special | keep}},
    {"meta", {void_element | special | keep}},
    {"param", {void_element | special}},
    {"source", {void_element | special}},
    {"track", {void_element | special}},
    {"wbr", {void_element | special}},
    {"html", {void_element | special}},
    {"head", {void_element | special}},
    {"body", {void_element | special}},
    {"script", {raw_text | special}},
    {"style", {raw_text | special}},
    {"textarea", {raw_text | special}},
    {"title", {raw_text | special | keep}},
    {"xmp", {raw_text | special | closes_p}},
    {"iframe", {raw_text | special | keep}},
    {"noembed", {raw_text | special}},
    {"noframes", {raw_text | special}},
    {"plaintext", {plaintext | special | closes_p}},
    {"svg", {foreign_root | scope}},
    {"math", {foreign_root | scope}},
    // elements with implied end tags
    {"p", {block, f_p}},
    {"li", {block, f_li}},
    {"dd", {block, f_dd_dt}},
    {"dt", {block, f_dd_dt}},
    {"td", {special | scope | marker, f_cell}},
    {"th", {special | scope | marker, f_cell}},
    {"tr", {special, f_row}},
    {"thead", {special, f_section}},
    {"tbody", {special, f_section}},
    {"tfoot", {special, f_section}},
    {"option", {0, f_option}},
    {"optgroup", {0, f_optgroup}},
    {"h1", {block, f_heading}},
    {"h2", {block, f_heading}},
    {"h3", {block, f_heading}},
    {"h4", {block, f_heading}},
    {"h5", {block, f_heading}},
    {"h6", {block, f_heading}},
    {"rb", {0, f_ruby}},
    {"rp", {0, f_ruby}},
    {"rt", {0, f_ruby}},
    {"rtc", {0, f_ruby}},
    {"button", {special, f_button}},
    {"form", {block, f_form}},
    {"select", {special, f_select}},
    // scope boundaries and markers
    {"table", {block | scope | table_scope}},
    {"template", {special | scope | table_scope | marker}},
    {"caption", {special | scope | marker}},
    {"applet", {special | scope | marker}},
    {"marquee", {special | scope | marker}},
    {"object", {special | scope | marker}},
    // other special elements
    {"address", {block}},
    {"article", {block}},
    {"aside", {block}},
    {"blockquote", {block}},
    {"center", {block}},
    {"colgroup", {special}},
    {"details", {block}},
    {"dialog", {block}},
    {"dir", {block}},
    {"div", {block}},
    {"dl", {block}},
    {"fieldset", {block}},
    {"figcaption", {block}},
    {"figure", {block}},
    {"footer", {block}},
    {"frameset", {special}},
    {"header", {block}},
    {"hgroup", {block}},
    {"listing", {block}},
    {"main", {block}},
    {"menu", {block}},
    {"nav", {block}},
    {"noscript", {special}},
    {"ol", {block}},
    {"pre", {block}},
    {"search", {block}},
    {"section", {block}},
    {"summary", {block}},
    {"ul", {block}},
    // formatting elements
    {"a", {formatting | keep, no_family, 0}},
    {"b", {formatting, no_family, 1}},
    {"big", {formatting, no_family, 2}},
    {"code", {formatting, no_family, 3}},
    {"em", {formatting, no_family, 4}},
    {"font", {formatting, no_family, 5}},
    {"i", {formatting, no_family, 6}},
    {"nobr", {formatting, no_family, 7}},
    {"s", {formatting, no_family, 8}},
    {"small", {formatting, no_family, 9}},
    {"strike", {formatting, no_family, 10}},
    {"strong", {formatting, no_family, 11}},
    {"tt", {formatting, no_family, 12}},
    {"u", {formatting, no_family, 13}},
};
constexpr std::size_t formatting_kinds = 14;
constexpr std::uint8_t a_index = 0;
constexpr std::uint8_t nobr_index = 7;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}
bool is_alpha(char c) {
  return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

// FNV-1a of the lowercased name: open elements are matched by hash (a collision only
// misplaces one end tag in the model).
std::uint64_t name_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(lower(c));
    h *= 1099511628211ULL;
  }
  return h;
}

// The known tags by hash, open addressing: every tag of a page is looked up here.
class tag_table {
 public:
  tag_table() {
    for (const auto& e : known_tags) {
      const std::uint64_t h = name_hash(e.name);
      std::size_t i = h & mask;
      while (slots_[i].e) i = (i + 1) & mask;
      slots_[i] = {h, &e};
    }
  }
  const entry* find(std::uint64_t h) const {
    for (std::size_t i = h & mask; slots_[i].e; i = (i + 1) & mask)
      if (slots_[i].hash == h) return slots_[i].e;
    return nullptr;
  }

 private:
  static constexpr std::size_t mask = 255;  // 256 slots for ~110 tags
  struct slot {
    std::uint64_t hash = 0;
    const entry* e = nullptr;
  };
  std::array<slot, mask + 1> slots_{};
};

tag_info lookup(std::string_view raw_name, std::uint64_t hash) {
  static const tag_table table;
  const entry* e = table.find(hash);
  if (!e || e->name.size() != raw_name.size()) return {};
  for (std::size_t i = 0; i < raw_name.size(); ++i)
    if (lower(raw_name[i]) != e->name[i]) return {};
  return e->info;
}

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
    for (std::size_t k = 0; k < name.size() && match; ++k)
      match = lower(s[n + k]) == lower(name[k]);
    const char after = s[n + name.size()];
    if (match && (is_space(after) || after == '/' || after == '>')) {
      const std::size_t end = s.find('>', n + name.size());
      return end == std::string_view::npos ? end : end + 1;
    }
  }
  return std::string_view::npos;
}

// How far down implied end tags and end tags look. Deeper matches are missed, which only
// makes the model overestimate; the bounds keep the pass linear.
constexpr std::size_t implied_window = 16;
constexpr std::size_t end_tag_window = 64;

class model {
 public:
  explicit model(std::size_t max_depth) : max_depth_(max_depth) {
    stack_.reserve(max_depth < 1024 ? max_depth : 1024);
  }

  bool in_foreign() const { return foreign_ > 0; }

  // False when the start tag must be blanked.
  bool start(std::uint64_t hash, const tag_info& info) {
    if (info.has(closes_p)) close_family(f_p, scope, stop_rule::button_scope);
    switch (info.fam) {
      case f_li:
      case f_dd_dt:
        close_family(info.fam, special, stop_rule::list_item);
        break;
      case f_cell:
      case f_row:
      case f_section:
        close_family(info.fam, table_scope);
        break;
      case f_option:
        close_top(f_option);
        break;
      case f_optgroup:
        close_top(f_option);
        if (select_ > 0) close_top(f_optgroup);
        break;
      case f_heading:
        close_top(f_heading);
        break;
      case f_ruby:
        while (close_top(f_ruby)) {
        }
        break;
      case f_button:
        close_family(f_button, scope);
        break;
      case f_form:
        if (form_open_) return true;  // ignored by the parser: adds nothing
        break;
      default:
        break;
    }
    if (info.has(formatting)) {
      const auto k = info.format_index;
      if (k == a_index || k == nobr_index) end_formatting(hash, k);  // adoption agency
      if (!info.has(keep) && formatting_total_ >= max_depth_) return false;
    }
    if (stack_.size() >= max_depth_) return info.has(keep);
    push(hash, info);
    return true;
  }

  void end(std::uint64_t hash, const tag_info& info) {
    if (info.has(formatting)) {
      end_formatting(hash, info.format_index);
      return;
    }
    if (info.fam == f_form) form_open_ = false;
    // Special elements close down to a match in scope; others stop at any special element.
    const std::uint32_t stop = info.has(special) ? scope : special;
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < end_tag_window && i < n; ++i) {
      const open_element& e = stack_[n - 1 - i];
      if (e.hash == hash) {
        pop_to(n - 1 - i);
        return;
      }
      if (e.flags & stop) return;
    }
  }

 private:
  struct open_element {
    std::uint64_t hash;
    std::uint32_t flags;
    family fam;
    std::int32_t saved = -1;  // index in saved_ for marker elements
  };
  enum class stop_rule { plain, button_scope, list_item };

  void push(std::uint64_t hash, const tag_info& info) {
    open_element e{hash, info.flags, info.fam};
    if (info.has(marker)) {
      e.saved = static_cast<std::int32_t>(saved_.size());
      saved_.push_back(formatting_);
    }
    if (info.has(formatting)) {
      ++formatting_[info.format_index];
      ++formatting_total_;
    }
    if (info.has(foreign_root)) ++foreign_;
    if (info.fam == f_select) ++select_;
    if (info.fam == f_form) form_open_ = true;
    stack_.push_back(e);
  }

  void forget(const open_element& e) {
    if (e.flags & foreign_root) --foreign_;
    if (e.fam == f_select) --select_;
    if (e.saved >= 0) {  // closing a marker clears the formatting elements opened after it
      formatting_ = saved_[static_cast<std::size_t>(e.saved)];
      saved_.resize(static_cast<std::size_t>(e.saved));
      formatting_total_ = 0;
      for (const auto c : formatting_) formatting_total_ += c;
    }
  }

  void pop_to(std::size_t index) {
    for (std::size_t i = stack_.size(); i-- > index;) forget(stack_[i]);
    stack_.resize(index);
  }

  // Implied end tag: pops down to an open element of the family unless a boundary comes first
  // (button scope: also a button; li, dd, dt: any special element but address, div and p).
  void close_family(family fam, std::uint32_t stop, stop_rule rule = stop_rule::plain) {
    static const std::uint64_t address = name_hash("address"), div = name_hash("div"),
                               p = name_hash("p");
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < implied_window && i < n; ++i) {
      const open_element& e = stack_[n - 1 - i];
      if (e.fam == fam) {
        pop_to(n - 1 - i);
        return;
      }
      if (rule == stop_rule::button_scope && e.fam == f_button) return;
      if (e.flags & stop) {
        if (rule == stop_rule::list_item && (e.hash == address || e.hash == div || e.hash == p))
          continue;
        return;
      }
    }
  }

  bool close_top(family fam) {
    if (stack_.empty() || stack_.back().fam != fam) return false;
    pop_to(stack_.size() - 1);
    return true;
  }

  // An end tag (or <a>, <nobr>) of a formatting element: the adoption agency takes the
  // element off the list and the stack, but the elements opened inside it stay open.
  void end_formatting(std::uint64_t hash, std::uint8_t k) {
    const std::size_t n = stack_.size();
    for (std::size_t i = 0; i < end_tag_window && i < n; ++i) {
      const open_element& e = stack_[n - 1 - i];
      if (e.hash == hash) {
        stack_.erase(stack_.begin() + static_cast<std::ptrdiff_t>(n - 1 - i));
        break;
      }
      if (e.flags & scope) return;  // not in scope: the parser ignores the end tag
    }
    if (formatting_[k] > 0) {
      --formatting_[k];
      --formatting_total_;
    }
  }

  std::size_t max_depth_;
  std::vector<open_element> stack_;
  std::array<std::uint32_t, formatting_kinds> formatting_{};
  std::size_t formatting_total_ = 0;
  std::vector<std::array<std::uint32_t, formatting_kinds>> saved_;
  std::size_t foreign_ = 0;
  std::size_t select_ = 0;
  bool form_open_ = false;
};

}  // namespace

std::vector<byte_range> excess_nesting(std::string_view s, std::size_t max_depth) {
  std::vector<byte_range> excess;
  model tree(max_depth);
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
    const std::string_view name = s.substr(name_begin, name_end - name_begin);
    const std::uint64_t hash = name_hash(name);
    const tag_info info = lookup(name, hash);
    const std::size_t gt = tag_end(s, name_end);
    if (gt == std::string_view::npos) break;
    pos = gt + 1;
    if (end_tag) {
      tree.end(hash, info);
      continue;
    }
    if (info.has(void_element)) continue;
    const bool self_closing = s[gt - 1] == '/' && gt - 1 >= name_end;
    if (self_closing && (tree.in_foreign() || info.has(foreign_root))) continue;
    if (!tree.in_foreign()) {
      if (info.has(plaintext)) break;
      if (info.has(raw_text)) {
        pos = raw_text_end(s, pos, name);
        if (pos == std::string_view::npos) break;
        continue;
      }
    }
    if (!tree.start(hash, info)) excess.push_back({lt, gt + 1});
  }
  return excess;
}

}  // namespace trawler::extract
