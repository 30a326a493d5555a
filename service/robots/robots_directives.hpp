#pragma once

#include <string_view>

namespace trawler::robots {

// Page-level indexing directives from X-Robots-Tag headers and <meta name=robots> tokens.
struct directives {
  bool noindex = false;
  bool nofollow = false;
};

// Applies one X-Robots-Tag header value: "noindex, nofollow", "none", or one scoped to a
// crawler ("trawler: nofollow"); a value scoped to another crawler is ignored.
void apply_x_robots_tag(std::string_view value, std::string_view product_token, directives& d);

// Applies one lowercase meta robots token ("noindex", "nofollow", "none", ...).
void apply_meta_token(std::string_view token, directives& d);

}  // namespace trawler::robots
