#include "support/demo_site.hpp"

#include <array>
#include <string_view>

namespace trawler::testing {
namespace {

// splitmix64: a tiny, good, reproducible generator (std distributions differ between
// standard libraries, this does not).
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

 private:
  std::uint64_t state_;
};

constexpr std::array<std::string_view, 24> words = {
    "crawler", "harbour", "net",    "boat",    "tide",    "anchor", "sail",  "current",
    "depth",   "signal",  "link",   "page",    "archive", "index",  "river", "lantern",
    "compass", "chart",   "island", "weather", "rope",    "deck",   "wave",  "keel"};

// How page `from` writes a link to page `to`, chosen by `style`.
std::string href(const site_options& opt, int from, int to, std::uint64_t style) {
  const std::string path = page_path(to);
  const bool from_root = from == 0;
  switch (style % 6) {
    case 0:  // root-relative
      return path;
    case 1:  // absolute
      return opt.origin.empty() ? path : opt.origin + path;
    case 2:  // document-relative
      if (to == 0) return from_root ? "./" : "../";
      return from_root ? path.substr(1) : path.substr(3);  // "p/7.html" or "7.html"
    case 3:                                                // "./" form
      if (to == 0) return from_root ? "./" : "../";
      return from_root ? "./" + path.substr(1) : "./" + path.substr(3);
    case 4:  // "../" form (from the root, ".." stays at the root)
      return to == 0 ? "../" : "../p/" + path.substr(3);
    default:  // with a fragment, which a crawler must drop
      return path + "#s" + std::to_string(style % 7);
  }
}

}  // namespace

std::string page_path(int i) {
  return i == 0 ? "/" : "/p/" + std::to_string(i) + ".html";
}

std::string render_page(const site_options& opt, int i) {
  splitmix rng(opt.seed * 0x100000001b3ull + static_cast<std::uint64_t>(i));
  const std::string title = "Page " + std::to_string(i);

  std::vector<int> targets;
  for (const int child : {2 * i + 1, 2 * i + 2})
    if (child < opt.pages) targets.push_back(child);
  if (i > 0) targets.push_back((i - 1) / 2);
  while (static_cast<int>(targets.size()) < opt.links_per_page && opt.pages > 1)
    targets.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(opt.pages))));

  std::string links;
  links.reserve(targets.size() * 48 + 128);
  links += "<ul class=\"nav\">\n";
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const int to = targets[k];
    links += "<li><a href=\"" + href(opt, i, to, rng.next()) + "\">Page " + std::to_string(to) +
             "</a></li>\n";
  }
  links += "<li><a href=\"#top\">Top</a></li>\n";
  if (i % 5 == 0) links += "<li><a href=\"mailto:webmaster@example.invalid\">Contact</a></li>\n";
  links += "</ul>\n";

  std::string html;
  html.reserve(opt.page_bytes + links.size() + 512);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  html += title;
  html += "</title>\n</head>\n<body>\n<h1 id=\"top\">";
  html += title;
  html += "</h1>\n";
  html += links;
  constexpr std::string_view tail = "</body>\n</html>\n";
  int section = 0;
  while (html.size() + tail.size() < opt.page_bytes) {
    html += "<h2 id=\"s" + std::to_string(section++) + "\">Section</h2>\n<p>";
    const std::size_t paragraph_end = html.size() + 300 + rng.below(400);
    while (html.size() < paragraph_end && html.size() + tail.size() < opt.page_bytes) {
      html += words[rng.below(words.size())];
      html += ' ';
    }
    html += "</p>\n";
  }
  html += tail;
  return html;
}

std::vector<std::string> all_paths(const site_options& opt) {
  std::vector<std::string> paths;
  paths.reserve(static_cast<std::size_t>(opt.pages));
  for (int i = 0; i < opt.pages; ++i) paths.push_back(page_path(i));
  return paths;
}

}  // namespace trawler::testing
