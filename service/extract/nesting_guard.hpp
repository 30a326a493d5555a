#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

// Gumbo 0.10 pays for many start and end tags with a walk down the stack of open elements or
// the list of active formatting elements, so a hostile page costs depth x tags: 100,000
// nested <div>s (500 KB) take 13 s, 50,000 "<a href=x><div>" 21 s, a 10 MB page of them
// hours. Browsers cap the depth (Chrome at 512); we cannot change Gumbo, so a light lexical
// pass models the tree and points out the start tags that would go deeper than the cap. The
// extractor drops those tags (their content stays, one level up) before parsing, which bounds
// Gumbo's work on any input to a few times that of plain text.
namespace trawler::extract {

struct byte_range {
  std::size_t begin;  // the '<'
  std::size_t end;    // just past the '>'
};

// Start tags, in document order, that would open an element deeper than max_depth, or put
// more than max_depth formatting elements (b, font, ...) on the list the parser reopens. The
// model knows void and raw-text elements, comments, quoted attribute values, self-closing
// tags in SVG/MathML, implied end tags (p, li, td, tr, option, ...), scopes and the adoption
// agency's effect on depth; where unsure it overestimates, so a real page far below the cap
// is never touched. Tags that carry links (a, area, link, iframe, frame, meta, base, title)
// are never listed. Linear in the input.
std::vector<byte_range> excess_nesting(std::string_view html, std::size_t max_depth);

}  // namespace trawler::extract
