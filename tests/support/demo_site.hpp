#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace trawler::testing {

// A deterministic generated web site: the same options always give the same pages.
struct site_options {
  int pages = 50;
  int links_per_page = 8;         // links to pages of the site (besides a #fragment and a mailto:)
  std::size_t page_bytes = 4000;  // approximate size of each page's HTML
  std::uint64_t seed = 1;
  // Scheme, host and port for the absolute links ("http://127.0.0.1:8080"); when empty
  // those links are written root-relative instead.
  std::string origin;
};

// "/" for page 0, else "/p/<i>.html".
std::string page_path(int i);

// Page i: title "Page i", filler paragraphs up to page_bytes, and links that resolve to
// pages of the site only: the tree children 2i+1 and 2i+2 (so every page is reachable
// from "/"), the parent, then pseudo-random pages, written relative, root-relative,
// absolute (with origin), with "./" or "../", some with a #fragment; plus a same-page
// "#top" link and a mailto: link.
std::string render_page(const site_options& opt, int i);

// Every page's path, page 0 first: the ground truth a full crawl must find.
std::vector<std::string> all_paths(const site_options& opt);

}  // namespace trawler::testing
