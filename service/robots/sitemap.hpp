#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// The sitemaps.org protocol: a <urlset> lists pages, a <sitemapindex> lists more sitemaps.
// Pure and tolerant: a scan for <loc> elements, not a validating XML parser.
namespace trawler::robots {

struct sitemap {
  bool is_index = false;               // <sitemapindex>: locations are sitemaps, not pages
  std::vector<std::string> locations;  // <loc> values, entities decoded, whitespace trimmed
};

// Reads at most max_locations <loc> values (the protocol allows 50,000 per file).
sitemap parse_sitemap(std::string_view xml, std::size_t max_locations = 50000);

// True when the body starts (after a BOM and whitespace) like gzip data.
bool looks_gzipped(std::string_view body);

}  // namespace trawler::robots
