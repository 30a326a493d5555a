#include "extract/extract.hpp"

#include <unordered_map>
#include <unordered_set>

#include "extract/gumbo_document.hpp"
#include "extract/nesting_guard.hpp"
#include "extract/requisites.hpp"
#include "record/utf8.hpp"
#include "url/url.hpp"

namespace trawler::extract {

namespace {

bool is_ascii_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ascii_whitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_whitespace(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Calls f(token) for each token of an ASCII-whitespace (and, if asked, comma) separated list.
template <class F>
void for_each_token(std::string_view list, bool commas, F&& f) {
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && (is_ascii_whitespace(list[i]) || (commas && list[i] == ','))) ++i;
    const std::size_t start = i;
    while (i < list.size() && !is_ascii_whitespace(list[i]) && !(commas && list[i] == ',')) ++i;
    if (i > start) f(list.substr(start, i - start));
  }
}

bool has_token(std::string_view list, std::string_view token) {
  bool found = false;
  for_each_token(list, false, [&](std::string_view t) { found = found || iequals(t, token); });
  return found;
}

std::optional<std::string_view> attribute(const GumboElement& e, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&e.attributes, name);
  if (!a) return std::nullopt;
  return std::string_view(a->value);
}

// Collapses runs of ASCII whitespace into one space and drops leading and trailing ones.
// Gumbo 0.10 writes the low byte of a numeric character reference that overflows its int
// (&#xBBBBBBBBBBBBBBBBB;) as a lone byte, so a string it hands over is not always UTF-8:
// s itself when it is (the common case), else its repair in `storage`.
std::string_view as_utf8(std::string_view s, std::string& storage) {
  if (record::is_valid_utf8(s)) return s;
  storage.clear();
  record::append_repaired_utf8(storage, s);
  return storage;
}

class text_builder {
 public:
  explicit text_builder(std::string& out) : out_(out) {}
  void append(std::string_view raw) {
    std::string repaired;
    const std::string_view s = as_utf8(raw, repaired);
    std::size_t i = 0;
    while (i < s.size()) {
      if (is_ascii_whitespace(s[i])) {
        pending_space_ = true;
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < s.size() && !is_ascii_whitespace(s[j])) ++j;
      if (pending_space_ && !out_.empty()) out_ += ' ';
      pending_space_ = false;
      out_.append(s.substr(i, j - i));
      i = j;
    }
  }
  void boundary() { pending_space_ = true; }

 private:
  std::string& out_;
  bool pending_space_ = false;
};

// Elements rendered inline: text on either side of them runs on without a break. Everything
// else (blocks, table cells, list items, br...) separates words.
bool is_inline(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_A:
    case GUMBO_TAG_ABBR:
    case GUMBO_TAG_B:
    case GUMBO_TAG_BDI:
    case GUMBO_TAG_BDO:
    case GUMBO_TAG_BIG:
    case GUMBO_TAG_CITE:
    case GUMBO_TAG_CODE:
    case GUMBO_TAG_DATA:
    case GUMBO_TAG_DEL:
    case GUMBO_TAG_DFN:
    case GUMBO_TAG_EM:
    case GUMBO_TAG_FONT:
    case GUMBO_TAG_I:
    case GUMBO_TAG_INS:
    case GUMBO_TAG_KBD:
    case GUMBO_TAG_LABEL:
    case GUMBO_TAG_MARK:
    case GUMBO_TAG_NOBR:
    case GUMBO_TAG_Q:
    case GUMBO_TAG_RP:
    case GUMBO_TAG_RT:
    case GUMBO_TAG_RUBY:
    case GUMBO_TAG_S:
    case GUMBO_TAG_SAMP:
    case GUMBO_TAG_SMALL:
    case GUMBO_TAG_SPAN:
    case GUMBO_TAG_STRIKE:
    case GUMBO_TAG_STRONG:
    case GUMBO_TAG_SUB:
    case GUMBO_TAG_SUP:
    case GUMBO_TAG_TIME:
    case GUMBO_TAG_TT:
    case GUMBO_TAG_U:
    case GUMBO_TAG_VAR:
    case GUMBO_TAG_WBR:
    case GUMBO_TAG_UNKNOWN:  // custom elements are inline by default
      return true;
    default:
      return false;
  }
}

// Subtrees whose text is never shown.
bool is_hidden(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_HEAD:
    case GUMBO_TAG_TITLE:
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_NOFRAMES:
      return true;
    default:
      return false;
  }
}

const GumboVector& children_of(const GumboNode* node) {
  return node->type == GUMBO_NODE_DOCUMENT ? node->v.document.children : node->v.element.children;
}

struct raw_link {
  std::string_view ref;  // points into the Gumbo tree
  bool nofollow;
  bool canonical;
};

// One pass over the tree, collecting raw references and page-level facts. Iterative: a
// hostile page may nest deeply, and the thread pool's stacks are not large.
class walker {
 public:
  walker(page_facts& facts, const options& opt) : facts_(facts), text_(facts.text), opt_(opt) {}

  void run(const GumboNode* document) {
    struct frame {
      const GumboNode* node;
      unsigned int next;
    };
    std::vector<frame> stack;
    stack.reserve(64);
    stack.push_back({document, 0});
    while (!stack.empty()) {
      frame& top = stack.back();
      const GumboVector& children = children_of(top.node);
      if (top.next == children.length) {
        if (top.node->type != GUMBO_NODE_DOCUMENT) leave(top.node->v.element);
        stack.pop_back();
        continue;
      }
      const auto* child = static_cast<const GumboNode*>(children.data[top.next++]);
      switch (child->type) {
        case GUMBO_NODE_ELEMENT:
        case GUMBO_NODE_TEMPLATE:
          enter(child->v.element);
          stack.push_back({child, 0});  // `top` is dangling from here on
          break;
        case GUMBO_NODE_TEXT:
        case GUMBO_NODE_WHITESPACE:
        case GUMBO_NODE_CDATA:
          if (opt_.want_text && hidden_depth_ == 0) text_.append(child->v.text.text);
          break;
        default:  // comments, the document itself
          break;
      }
    }
  }

  std::vector<raw_link> links;
  std::optional<std::string_view> base_href;
  std::vector<std::string> requisites;  // unresolved, in document order

 private:
  void enter(const GumboElement& e) {
    if (opt_.want_text) {
      if (is_hidden(e.tag)) ++hidden_depth_;
      if (!is_inline(e.tag)) text_.boundary();
    }
    if (opt_.want_requisites) requisites_of(e);
    if (e.tag_namespace != GUMBO_NAMESPACE_HTML) return;
    switch (e.tag) {
      case GUMBO_TAG_A:
      case GUMBO_TAG_AREA:
      case GUMBO_TAG_LINK:
        if (const auto href = attribute(e, "href")) {
          const auto rel = attribute(e, "rel");
          links.push_back({*href, rel && has_token(*rel, "nofollow"),
                           e.tag == GUMBO_TAG_LINK && rel && has_token(*rel, "canonical")});
        }
        break;
      case GUMBO_TAG_IFRAME:
      case GUMBO_TAG_FRAME:
        if (const auto src = attribute(e, "src")) links.push_back({*src, false, false});
        break;
      case GUMBO_TAG_BASE:
        if (!base_href) base_href = attribute(e, "href");
        break;
      case GUMBO_TAG_META:
        meta(e);
        break;
      case GUMBO_TAG_TITLE:
        if (!title_seen_) title(e);
        break;
      default:
        break;
    }
  }

  void leave(const GumboElement& e) {
    if (opt_.want_requisites && e.tag_namespace == GUMBO_NAMESPACE_HTML &&
        (e.tag == GUMBO_TAG_NOSCRIPT || e.tag == GUMBO_TAG_TEMPLATE))
      --unrendered_depth_;
    if (!opt_.want_text) return;
    if (is_hidden(e.tag)) --hidden_depth_;
    if (!is_inline(e.tag)) text_.boundary();
  }

  void meta(const GumboElement& e) {
    const auto content = attribute(e, "content");
    if (!content) return;
    if (const auto name = attribute(e, "name"); name && iequals(trim(*name), "robots")) {
      std::string repaired;
      for_each_token(as_utf8(*content, repaired), true, [this](std::string_view token) {
        std::string t(token);
        for (auto& c : t) c = ascii_lower(c);
        if (t == "nofollow" || t == "none") facts_.page_nofollow = true;
        for (const auto& seen : facts_.meta_robots)
          if (seen == t) return;
        facts_.meta_robots.push_back(std::move(t));
      });
    }
    if (const auto equiv = attribute(e, "http-equiv"); equiv && iequals(trim(*equiv), "refresh")) {
      if (const auto target = refresh_url(*content)) links.push_back({*target, false, false});
    }
  }

  void title(const GumboElement& e) {
    title_seen_ = true;
    std::string out;
    text_builder collapse(out);
    for (unsigned int i = 0; i < e.children.length; ++i) {
      const auto* child = static_cast<const GumboNode*>(e.children.data[i]);
      if (child->type == GUMBO_NODE_TEXT || child->type == GUMBO_NODE_WHITESPACE)
        collapse.append(child->v.text.text);
    }
    if (!out.empty()) facts_.title = std::move(out);
  }

  void requisite(const GumboElement& e, const char* name) {
    if (const auto v = attribute(e, name)) requisites.emplace_back(*v);
  }
  void srcset(const GumboElement& e) {
    if (const auto v = attribute(e, "srcset"))
      for (auto& u : srcset_urls(*v)) requisites.push_back(std::move(u));
  }
  void css(std::string_view text) {
    std::string repaired;
    for (auto& u : css_references(as_utf8(text, repaired))) requisites.push_back(std::move(u));
  }

  // What a browser loads for this element (page_facts::requisites).
  void requisites_of(const GumboElement& e) {
    const bool html = e.tag_namespace == GUMBO_NAMESPACE_HTML;
    if (html && (e.tag == GUMBO_TAG_NOSCRIPT || e.tag == GUMBO_TAG_TEMPLATE)) ++unrendered_depth_;
    if (unrendered_depth_ > 0) return;
    if (const auto style = attribute(e, "style")) css(*style);
    if (!html) return;
    switch (e.tag) {
      case GUMBO_TAG_IMG:
        requisite(e, "src");
        srcset(e);
        break;
      case GUMBO_TAG_SOURCE:
        requisite(e, "src");
        srcset(e);
        break;
      case GUMBO_TAG_SCRIPT:
      case GUMBO_TAG_AUDIO:
      case GUMBO_TAG_TRACK:
      case GUMBO_TAG_EMBED:
        requisite(e, "src");
        break;
      case GUMBO_TAG_VIDEO:
        requisite(e, "src");
        requisite(e, "poster");
        break;
      case GUMBO_TAG_OBJECT:
        requisite(e, "data");
        break;
      case GUMBO_TAG_INPUT:
        if (const auto type = attribute(e, "type"); type && iequals(trim(*type), "image"))
          requisite(e, "src");
        break;
      case GUMBO_TAG_BODY:
      case GUMBO_TAG_TABLE:
      case GUMBO_TAG_TD:
      case GUMBO_TAG_TH:
        requisite(e, "background");
        break;
      case GUMBO_TAG_LINK:
        if (const auto rel = attribute(e, "rel")) {
          bool loads = false;
          for_each_token(*rel, false, [&](std::string_view t) {
            loads = loads || iequals(t, "stylesheet") || iequals(t, "icon") ||
                    iequals(t, "apple-touch-icon") || iequals(t, "apple-touch-icon-precomposed") ||
                    iequals(t, "preload") || iequals(t, "modulepreload");
          });
          if (loads) requisite(e, "href");
        }
        break;
      case GUMBO_TAG_STYLE:
        for (unsigned int i = 0; i < e.children.length; ++i) {
          const auto* child = static_cast<const GumboNode*>(e.children.data[i]);
          if (child->type == GUMBO_NODE_TEXT || child->type == GUMBO_NODE_WHITESPACE ||
              child->type == GUMBO_NODE_CDATA)
            css(child->v.text.text);
        }
        break;
      default:
        break;
    }
  }

  page_facts& facts_;
  text_builder text_;
  const options& opt_;
  int unrendered_depth_ = 0;  // inside <noscript> or <template>
  int hidden_depth_ = 0;
  bool title_seen_ = false;
};

// The body as UTF-8: a view of the input when it already is valid UTF-8 (the common case),
// else a decoded copy.
struct utf8_body {
  std::string_view view;
  std::string owned;
};

utf8_body decode_body(std::string_view body, std::optional<std::string_view> header_charset,
                      std::string& charset) {
  utf8_body out;
  if (const auto b = sniff_bom(body)) {
    charset = b->charset;
    body.remove_prefix(b->length);
  } else if (auto from_header =
                 header_charset ? canonical_charset(*header_charset) : std::nullopt) {
    charset = std::move(*from_header);
  } else if (auto from_meta = sniff_meta_charset(body)) {
    charset = std::move(*from_meta);
  } else {
    charset = "utf-8";
  }
  if (charset == "utf-8" && record::is_valid_utf8(body)) {
    out.view = body;
  } else {
    out.owned = decode_to_utf8(body, charset);
    out.view = out.owned;
  }
  return out;
}

}  // namespace

std::optional<std::string_view> refresh_url(std::string_view in) {
  // https://html.spec.whatwg.org/multipage/semantics.html#shared-declarative-refresh-steps
  std::size_t pos = 0;
  auto skip_space = [&] {
    while (pos < in.size() && is_ascii_whitespace(in[pos])) ++pos;
  };
  auto at = [&](std::size_t i) { return i < in.size() ? in[i] : '\0'; };
  skip_space();
  const std::size_t digits = pos;
  while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') ++pos;
  if (pos == digits && at(pos) != '.') return std::nullopt;
  while (pos < in.size() && ((in[pos] >= '0' && in[pos] <= '9') || in[pos] == '.')) ++pos;
  if (pos < in.size()) {
    const char c = in[pos];
    if (c != ';' && c != ',' && !is_ascii_whitespace(c)) return std::nullopt;
  }
  skip_space();
  if (at(pos) == ';' || at(pos) == ',') ++pos;
  skip_space();
  if (pos >= in.size()) return std::nullopt;  // a refresh of the page itself
  std::string_view url = in.substr(pos);
  bool quotes_allowed = true;
  if (ascii_lower(at(pos)) == 'u') {
    ++pos;
    if (ascii_lower(at(pos)) == 'r' && ascii_lower(at(pos + 1)) == 'l') {
      pos += 2;
      skip_space();
      if (at(pos) == '=') {
        ++pos;
        skip_space();
      } else {
        quotes_allowed = false;  // "urlfoo": the whole rest is the URL
      }
    } else {
      quotes_allowed = false;
    }
  }
  if (quotes_allowed) {
    const char quote = at(pos);
    if (quote == '"' || quote == '\'') {
      url = in.substr(pos + 1);
      url = url.substr(0, url.find(quote));
    } else {
      url = in.substr(pos);
    }
  }
  if (trim(url).empty()) return std::nullopt;
  return url;
}

page_facts extract_html(std::string_view body, std::string_view page_url,
                        std::optional<std::string_view> header_charset, const options& opt) {
  page_facts facts;
  utf8_body html = decode_body(body, header_charset, facts.charset);

  if (const auto excess = excess_nesting(html.view, opt.max_nesting); !excess.empty()) {
    // Each run of adjacent excess tags becomes one space: the words around them stay apart,
    // and the parser is not handed megabytes of whitespace to walk through at full depth.
    std::string flat;
    flat.reserve(html.view.size());
    std::size_t pos = 0;
    for (const auto& r : excess) {
      if (r.begin > pos || pos == 0) {
        flat.append(html.view.substr(pos, r.begin - pos));
        flat += ' ';
      }
      pos = r.end;
    }
    flat.append(html.view.substr(pos));
    html.owned = std::move(flat);
    html.view = html.owned;
  }

  const gumbo_document doc(html.view);
  walker walk(facts, opt);
  walk.run(doc.document());

  std::optional<std::string> base;
  if (walk.base_href) base = url::resolve(page_url, *walk.base_href);
  const url::resolver resolver(base ? std::string_view(*base) : page_url);

  // Views into facts.links[i].url stay valid: the vector never grows past the reservation.
  facts.links.reserve(walk.links.size());
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(walk.links.size());
  bool canonical_seen = false;
  for (const raw_link& raw : walk.links) {
    std::optional<std::string> absolute = resolver.resolve(raw.ref);
    if (!absolute && !resolver.valid()) absolute = url::normalize(trim(raw.ref));
    if (raw.canonical && !canonical_seen) {
      canonical_seen = true;
      facts.canonical = absolute;
    }
    if (!absolute) continue;
    const bool follow = opt.follow_nofollow || !(raw.nofollow || facts.page_nofollow);
    if (const auto it = index.find(*absolute); it != index.end()) {
      if (follow) facts.links[it->second].follow = true;
      continue;
    }
    facts.links.push_back({std::move(*absolute), follow});
    index.emplace(facts.links.back().url, facts.links.size() - 1);
  }
  if (!walk.requisites.empty()) {
    std::unordered_set<std::string> seen{std::string(page_url)};
    for (const auto& raw : walk.requisites) {
      // An empty src loads nothing (HTML "update the image data"), nor does a bare fragment.
      const std::string_view ref = trim(raw);
      if (ref.empty() || ref.front() == '#') continue;
      std::optional<std::string> absolute = resolver.resolve(ref);
      if (!absolute && !resolver.valid()) absolute = url::normalize(ref);
      if (!absolute || !seen.insert(*absolute).second) continue;
      facts.requisites.push_back(std::move(*absolute));
    }
  }
  return facts;
}

}  // namespace trawler::extract
