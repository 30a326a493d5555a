#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The sitemaps.org protocol: a <urlset> lists pages, a <sitemapindex> lists more sitemaps.
// Pure and tolerant: a scan for <loc> elements, not a validating XML parser.
namespace trawler::robots {

struct sitemap {
  bool is_index = false;               // <sitemapindex>: locations are sitemaps, not pages
  std::vector<std::string> locations;  // <loc> values, entities decoded, whitespace trimmed
  // Each location's <lastmod> (a W3C Datetime in the same <url> or <sitemap> entry) as Unix
  // milliseconds; 0 when absent or not a date.
  std::vector<std::int64_t> lastmods;
};

// A W3C Datetime (YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm[:ss[.s]]TZD) as Unix ms.
std::optional<std::int64_t> parse_w3c_datetime(std::string_view s);

// Reads at most max_locations <loc> values (the protocol allows 50,000 per file).
sitemap parse_sitemap(std::string_view xml, std::size_t max_locations = 50000);

// True when the body starts (after a BOM and whitespace) like gzip data.
bool looks_gzipped(std::string_view body);

}  // namespace trawler::robots
