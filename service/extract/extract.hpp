#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extract/charset.hpp"

// What a crawler needs from an HTML page (SPEC "Crawl semantics"): string in, page_facts out.
// Pure and thread-safe: runs on the parse pool.
namespace trawler::extract {

struct link {
  std::string url;  // absolute, normalized, http(s), no fragment
  // False for rel=nofollow (that link) or meta robots nofollow/none (the whole page), unless
  // options::follow_nofollow.
  bool follow;
};

struct page_facts {
  // From a[href], area[href], link[href] (every rel), iframe[src], frame[src] and
  // <meta http-equiv=refresh>, resolved against the first <base href>. First occurrence
  // order, no repeats; a URL found several times is followable if any occurrence is.
  std::vector<link> links;
  std::optional<std::string> title;      // first <title>, whitespace collapsed and trimmed
  std::string charset;                   // lowercase WHATWG name used to decode the body
  std::optional<std::string> canonical;  // first <link rel=canonical href>, resolved
  std::vector<std::string> meta_robots;  // lowercase tokens of <meta name=robots content>
  bool page_nofollow = false;            // meta robots nofollow or none
  std::string text;                      // visible text (options::want_text), collapsed
  // With options::want_requisites: what a browser loads to show the page (SPEC additions "Page
  // requisites"): img src and srcset, picture/video/audio source src and srcset, video poster,
  // track src, script src, link rel=stylesheet/icon/apple-touch-icon/preload/modulepreload
  // href, embed src, object data, input type=image src, body/table/td/th background, and the
  // url()s and @imports of <style> elements and style attributes; not inside <noscript> or
  // <template> (a browser running scripts renders neither). Resolved like links, absolute
  // normalized http(s), first occurrence order, no repeats, the page itself left out.
  std::vector<std::string> requisites;
};

struct options {
  bool want_text = false;
  bool follow_nofollow = false;
  bool want_requisites = false;
  // Start tags nesting deeper than this are dropped before parsing (see nesting_guard.hpp):
  // Chrome's parser cap, far above real pages.
  std::size_t max_nesting = 512;
};

// body: the raw (content-decoded) bytes; page_url: the page's normalized URL;
// header_charset: the charset parameter of Content-Type, if any. Encoding: a BOM, else the
// header charset when it is a known label, else <meta charset> (prescan), else UTF-8.
page_facts extract_html(std::string_view body, std::string_view page_url,
                        std::optional<std::string_view> header_charset, const options& opt);

// The URL of a <meta http-equiv=refresh> content value ("5; url='/next'"), as the HTML
// standard's refresh parsing finds it; nullopt when it names none or is malformed.
std::optional<std::string_view> refresh_url(std::string_view content);

}  // namespace trawler::extract
