#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The resources a browser loads to show a page (SPEC additions "Page requisites"): the pieces
// that are not HTML elements. srcset candidates (HTML "parse a srcset attribute") and the URLs
// of CSS (url() and @import, CSS Syntax Level 3 tokens). Pure and thread-safe: runs on the parse
// pool.
namespace trawler::extract {

// The URLs of a srcset attribute's image candidates, in order, as the HTML standard parses it
// (https://html.spec.whatwg.org/multipage/images.html#parse-a-srcset-attribute): a candidate
// whose descriptors are invalid (two densities, a width of 0, "2y"...) is dropped, as a browser
// drops it. Unresolved.
std::vector<std::string> srcset_urls(std::string_view srcset);

// The references a browser loads from a style sheet, an inline <style> or a style attribute, in
// order: url(...) in every form (unquoted, quoted, with escapes), the string of @import "..."
// and the strings of image-set() / -webkit-image-set(). Comments are skipped and escapes
// decoded; the prelude of @namespace (a namespace name, not a resource) and fragment-only
// references (url(#filter), which name part of the document) are left out. Unresolved, repeats
// kept. `css` is UTF-8.
std::vector<std::string> css_references(std::string_view css);

// A fetched style sheet's requisites: its bytes decoded (a BOM, else the Content-Type charset,
// else @charset "...", else UTF-8), css_references() resolved against `sheet_url`, http(s) only,
// normalized without fragment, first occurrence order, no repeats, the sheet itself left out.
std::vector<std::string> stylesheet_requisites(std::string_view body, std::string_view sheet_url,
                                               std::optional<std::string_view> header_charset);

}  // namespace trawler::extract
