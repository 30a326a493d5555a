#include "benchsite/site.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace trawler::benchsite {
namespace {

// splitmix64: reproducible everywhere (std distributions differ between standard libraries).
class splitmix {
 public:
  explicit splitmix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  bool one_in(std::uint64_t n) { return below(n) == 0; }

 private:
  std::uint64_t state_;
};

constexpr std::array<std::string_view, 48> words = {
    "crawler", "harbour", "net",    "boat",    "tide",    "anchor", "sail",  "current",
    "depth",   "signal",  "link",   "page",    "archive", "index",  "river", "lantern",
    "compass", "chart",   "island", "weather", "rope",    "deck",   "wave",  "keel",
    "the",     "of",      "and",    "a",       "to",      "in",     "is",    "for",
    "with",    "on",      "that",   "by",      "from",    "at",     "café",  "naïve",
    "résumé",  "über",    "straße", "météo",   "coöp",    "façade", "año",   "déjà"};

constexpr int filler_count = 16;
constexpr std::size_t nav_links = 6;
constexpr std::size_t lead_links = 2;

void append_words(std::string& out, splitmix& rng, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    if (k) out += ' ';
    out += words[rng.below(words.size())];
  }
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// Text with the inline markup, attributes and entities of real pages: Gumbo's cost depends
// on the tag and attribute density as much as on the byte count (this mix parses at about
// 13 MB/s, as the pages of the reference site do).
void append_sentence_run(std::string& out, splitmix& rng, std::size_t approx_bytes) {
  const std::size_t end = out.size() + approx_bytes;
  while (out.size() < end) {
    append_words(out, rng, 2 + rng.below(5));
    switch (rng.below(10)) {
      case 0:
        out += " <em>";
        append_words(out, rng, 1 + rng.below(3));
        out += "</em>";
        break;
      case 1:
        out += " <strong class=\"hl\">";
        append_words(out, rng, 1 + rng.below(2));
        out += "</strong>";
        break;
      case 2:
        out += " <code class=\"inline\">";
        append_words(out, rng, 1);
        out += "_";
        append_number(out, rng.below(100));
        out += "()</code>";
        break;
      case 3:
        out += " <span class=\"note tone-";
        append_number(out, rng.below(5));
        out += "\" data-ref=\"n";
        append_number(out, rng.below(1000));
        out += "\">";
        append_words(out, rng, 1 + rng.below(3));
        out += "</span>";
        break;
      case 4:
        out += " <i class=\"icon icon-";
        out += words[rng.below(24)];
        out += "\" aria-hidden=\"true\"></i>";
        break;
      case 5:
        out += " <abbr title=\"";
        append_words(out, rng, 3);
        out += "\">";
        out += words[rng.below(24)];
        out += "</abbr>";
        break;
      case 6:
        out += " <time datetime=\"2024-0";
        append_number(out, 1 + rng.below(9));
        out += "-1";
        append_number(out, rng.below(10));
        out += "\">";
        append_number(out, 1 + rng.below(28));
        out += " May</time>";
        break;
      case 7:
        out += rng.one_in(2) ? " &amp;" : " &#8212;";
        break;
      default:
        break;
    }
    out += rng.one_in(3) ? ". " : ", ";
  }
}

// One filler article: block elements (sections, paragraphs, lists, tables, quotes) until
// `bytes`, with the offset after each one recorded so pages can take a whole-element prefix.
std::string make_filler(std::uint64_t seed, std::size_t bytes, std::vector<std::size_t>& cuts) {
  splitmix rng(seed);
  std::string html;
  html.reserve(bytes + 2048);
  int section = 0;
  while (html.size() < bytes) {
    switch (rng.below(10)) {
      case 0:
        html += "<h2 id=\"s";
        append_number(html, static_cast<std::uint64_t>(section++));
        html += "\">";
        append_words(html, rng, 2 + rng.below(4));
        html += "</h2>\n";
        break;
      case 1: {
        html += "<ul class=\"points\">\n";
        const std::uint64_t items = 3 + rng.below(4);
        for (std::uint64_t k = 0; k < items; ++k) {
          html += "<li>";
          append_sentence_run(html, rng, 40 + rng.below(80));
          html += "</li>\n";
        }
        html += "</ul>\n";
        break;
      }
      case 2: {
        html +=
            "<table class=\"data\">\n<thead><tr><th>Name</th><th>Depth</th><th>Tide</th>"
            "<th>Notes</th></tr></thead>\n<tbody>\n";
        const std::uint64_t rows = 3 + rng.below(4);
        for (std::uint64_t r = 0; r < rows; ++r) {
          html += "<tr><td>";
          append_words(html, rng, 1);
          html += "</td><td class=\"num\">";
          append_number(html, rng.below(5000));
          html += "</td><td class=\"num\">";
          append_number(html, rng.below(90));
          html += ".";
          append_number(html, rng.below(10));
          html += "</td><td>";
          append_words(html, rng, 2 + rng.below(4));
          html += "</td></tr>\n";
        }
        html += "</tbody>\n</table>\n";
        break;
      }
      case 3:
        html += "<blockquote><p>";
        append_sentence_run(html, rng, 120 + rng.below(200));
        html += "</p></blockquote>\n";
        break;
      case 4:
        html +=
            "<div class=\"row\"><div class=\"col col-md-8\"><div class=\"card\">"
            "<div class=\"card-body\"><p class=\"card-text\">";
        append_sentence_run(html, rng, 150 + rng.below(250));
        html += "</p></div></div></div></div>\n";
        break;
      default:
        html += "<p>";
        append_sentence_run(html, rng, 250 + rng.below(450));
        html += "</p>\n";
        break;
    }
    cuts.push_back(html.size());
  }
  return html;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Entity-escapes '&' for an attribute value (query strings have them).
void append_attr(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '&') {
      out += "&amp;";
    } else {
      out += c;
    }
  }
}

std::string_view dir_of(std::string_view target) {
  if (target.find('?') != std::string_view::npos) return "/";
  return target.substr(0, target.rfind('/') + 1);
}

// The document-relative reference from a page in `from_dir` to `target`.
std::string relative(std::string_view from_dir, std::string_view target) {
  if (from_dir == "/") return target == "/" ? std::string("./") : std::string(target.substr(1));
  if (target.starts_with(from_dir)) return std::string(target.substr(from_dir.size()));
  return "../" + std::string(target.substr(1));
}

}  // namespace

site::site(site_options opt) : opt_(opt) {
  if (opt_.pages < 1) throw std::invalid_argument("pages must be at least 1");
  if (opt_.hosts < 1 || opt_.hosts > opt_.pages) {
    throw std::invalid_argument("hosts must be from 1 to the number of pages");
  }
  if (opt_.links < 0) throw std::invalid_argument("links must not be negative");

  pages_.resize(static_cast<std::size_t>(opt_.pages));
  for (int i = 0; i < opt_.pages; ++i) {
    const int local = i / opt_.hosts;
    std::string& t = pages_[static_cast<std::size_t>(i)].target;
    if (local == 0) {
      t = "/";
    } else if (local % 10 == 3) {
      // A tenth of the pages have a query of two parameters: their links need "&amp;".
      t = "/catalog?section=" + std::to_string(local % 17) + "&item=" + std::to_string(local);
    } else {
      t = "/s" + std::to_string(local % 8) + "/p" + std::to_string(local) + ".html";
    }
  }
  index_.resize(static_cast<std::size_t>(opt_.hosts));
  for (auto& m : index_) m.reserve(static_cast<std::size_t>(opt_.pages / opt_.hosts + 1));
  for (int i = 0; i < opt_.pages; ++i) {
    index_[static_cast<std::size_t>(host_of(i))].emplace(target(i), i);
  }

  fillers_.resize(filler_count);
  for (int f = 0; f < filler_count; ++f) {
    auto& fl = fillers_[static_cast<std::size_t>(f)];
    fl.html =
        make_filler(opt_.seed * 7919 + static_cast<std::uint64_t>(f), opt_.page_bytes, fl.cuts);
  }
  for (int i = 0; i < opt_.pages; ++i) render(i);
}

std::string site::host_name(int host) {
  return "host" + std::to_string(host) + ".bench";
}

std::string site::origin(int host) const {
  std::string o = "http://" + host_name(host);
  if (opt_.port != 80) o += ":" + std::to_string(opt_.port);
  return o;
}

std::string site::url(int page) const {
  return origin(host_of(page)) + target(page);
}

std::vector<std::string> site::ground_truth() const {
  std::vector<std::string> out;
  out.reserve(pages_.size());
  for (int i = 0; i < opt_.pages; ++i) out.push_back(url(i));
  return out;
}

int site::host_index(std::string_view host_header) const {
  if (host_header.empty() || host_header.front() == '[') return 0;
  std::string_view name = host_header.substr(0, host_header.rfind(':'));
  if (name.ends_with('.')) name.remove_suffix(1);
  const std::string lower = lowercase(name);
  std::string_view n = lower;
  if (!n.starts_with("host") || !n.ends_with(".bench")) return 0;
  n = n.substr(4, n.size() - 4 - 6);
  int k = 0;
  const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), k);
  if (ec != std::errc() || end != n.data() + n.size() || n.empty() || k >= opt_.hosts) return 0;
  return k;
}

int site::find(int host, std::string_view target) const {
  if (host < 0 || host >= opt_.hosts) return -1;
  const auto& m = index_[static_cast<std::size_t>(host)];
  const auto it = m.find(target);
  return it == m.end() ? -1 : it->second;
}

std::array<std::string_view, 3> site::body(int page) const {
  const auto& p = pages_[static_cast<std::size_t>(page)];
  const auto& f = fillers_[p.filler];
  return {p.head, std::string_view(f.html).substr(0, p.filler_size), p.tail};
}

std::size_t site::body_size(int page) const {
  const auto& p = pages_[static_cast<std::size_t>(page)];
  return p.head.size() + p.filler_size + p.tail.size();
}

std::string site::body_string(int page) const {
  std::string out;
  out.reserve(body_size(page));
  for (const auto piece : body(page)) out += piece;
  return out;
}

std::string_view site::robots_txt() {
  return "User-agent: *\nDisallow:\n";
}

std::string site::href(int from, int to, std::uint64_t style) const {
  const std::string& t = target(to);
  // Links to another host can only be absolute.
  if (host_of(from) != host_of(to) || style % 5 == 1) return origin(host_of(to)) + t;
  switch (style % 5) {
    case 0:
      return t;
    case 2:
      return relative(dir_of(target(from)), t);
    case 3: {
      std::string r = relative(dir_of(target(from)), t);
      return r.starts_with("../") || r == "./" ? r : "./" + r;
    }
    default:  // with a fragment, which a crawler must drop
      return t + "#sec" + std::to_string(style % 7);
  }
}

void site::render(int i) {
  splitmix rng(opt_.seed * 0x100000001b3ull + static_cast<std::uint64_t>(i));
  page& p = pages_[static_cast<std::size_t>(i)];
  const int n = opt_.pages;
  const int h = host_of(i);
  const int on_host = (n - h + opt_.hosts - 1) / opt_.hosts;

  // The spanning tree first (children, parent: every page reachable from page 0), then the
  // host's home page, then random pages, three in four on the same host.
  std::vector<int> to;
  to.reserve(static_cast<std::size_t>(opt_.links) + 3);
  for (const int child : {2 * i + 1, 2 * i + 2}) {
    if (child < n) to.push_back(child);
  }
  if (i > 0) to.push_back((i - 1) / 2);
  to.push_back(h);
  while (static_cast<int>(to.size()) < opt_.links) {
    if (rng.below(4) != 0) {
      to.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(on_host))) * opt_.hosts +
                   h);
    } else {
      to.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(n))));
    }
  }
  to.resize(static_cast<std::size_t>(opt_.links));

  auto anchor = [&](std::string& out, int target_page, std::string_view cls) {
    out += "<a";
    if (!cls.empty()) {
      out += " class=\"";
      out += cls;
      out += '"';
    }
    out += " href=\"";
    append_attr(out, href(i, target_page, rng.next()));
    out += "\">";
    append_words(out, rng, 1 + rng.below(3));
    out += ' ';
    append_number(out, static_cast<std::uint64_t>(target_page));
    out += "</a>";
  };

  std::string title;
  title += "Notes on ";
  append_words(title, rng, 2);
  title += " &amp; ";
  append_words(title, rng, 2);
  title += " \xE2\x80\x94 page ";
  append_number(title, static_cast<std::uint64_t>(i));

  std::string& head = p.head;
  head.reserve(2048 + to.size() * 32);
  head +=
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>";
  head += title;
  head += "</title>\n<link rel=\"canonical\" href=\"";
  append_attr(head, url(i));
  head +=
      "\">\n<meta name=\"description\" content=\"A generated page of the trawler benchmark "
      "site.\">\n<style>body{font-family:sans-serif;max-width:60em;margin:0 auto}"
      "nav ul{list-style:none;display:flex;gap:1em}.note{color:#555}</style>\n"
      "<script>window.dataLayer=window.dataLayer||[];dataLayer.push({page:";
  append_number(head, static_cast<std::uint64_t>(i));
  head +=
      "});</script>\n</head>\n<body>\n<header id=\"top\" class=\"site-header\">\n"
      "<div class=\"brand\">Bench site <span class=\"host\">";
  head += host_name(h);
  head += "</span></div>\n<nav class=\"site-nav\"><ul>\n";
  std::size_t k = 0;
  for (; k < std::min(nav_links, to.size()); ++k) {
    head += "<li>";
    anchor(head, to[k], "nav");
    head += "</li>\n";
  }
  head += "</ul></nav>\n</header>\n<main>\n<article>\n<h1>";
  head += title;
  head += "</h1>\n<p class=\"lead\">";
  append_sentence_run(head, rng, 80);
  for (const std::size_t end = std::min(k + lead_links, to.size()); k < end; ++k) {
    head += ' ';
    anchor(head, to[k], "");
    head += ',';
  }
  head += " and more.</p>\n<div class=\"content\">\n";

  std::string& tail = p.tail;
  tail.reserve(1024 + to.size() * 96);
  tail += "</div>\n</article>\n<aside class=\"related\">\n<h2>Related pages</h2>\n<ul>\n";
  for (; k < to.size(); ++k) {
    tail += "<li>";
    anchor(tail, to[k], "");
    tail += " <small>";
    append_words(tail, rng, 2 + rng.below(4));
    tail += "</small></li>\n";
  }
  tail +=
      "</ul>\n</aside>\n</main>\n<footer>\n<p>Generated for benchmarks. "
      "<a href=\"#top\">Back to top</a> &middot; "
      "<a href=\"mailto:webmaster@example.invalid\">Contact</a></p>\n</footer>\n"
      "</body>\n</html>\n";

  // The filler fills the page up to page_bytes with whole elements.
  p.filler = static_cast<std::uint32_t>(rng.below(fillers_.size()));
  const auto& f = fillers_[p.filler];
  const std::size_t own = head.size() + tail.size();
  const std::size_t want = opt_.page_bytes > own ? opt_.page_bytes - own : 0;
  const auto it = std::upper_bound(f.cuts.begin(), f.cuts.end(), want);
  p.filler_size = it == f.cuts.begin() ? 0 : static_cast<std::uint32_t>(*std::prev(it));
}

}  // namespace trawler::benchsite
