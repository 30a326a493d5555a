#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

// Gumbo 0.10 pays for every block start tag (div, p, ul, ...) with a walk down the stack of
// open elements, so a hostile page of nested tags costs depth x tags: 100,000 nested <div>s
// (500 KB) take 13 s, a 10 MB page of them hours. Browsers cap the depth (Chrome at 512); we
// cannot change Gumbo, so a light lexical pass models the tree and points out the start tags
// that would go deeper than the cap. The extractor blanks those tags (their content stays,
// one level up) before parsing, which bounds Gumbo's work on any input.
namespace trawler::extract {

struct byte_range {
  std::size_t begin;  // the '<'
  std::size_t end;    // just past the '>'
};

// Start tags, in document order, that would open an element deeper than max_depth. The model
// knows void and raw-text elements, comments, quoted attribute values, self-closing tags in
// SVG/MathML and the common implied end tags (p, li, td, tr, option, ...); it overestimates
// depth on odd markup, never by much. Tags that carry links (a, area, link, iframe, frame,
// meta, base) are never listed. Linear in the input; no allocation beyond max_depth entries
// and the result.
std::vector<byte_range> excess_nesting(std::string_view html, std::size_t max_depth);

}  // namespace trawler::extract
