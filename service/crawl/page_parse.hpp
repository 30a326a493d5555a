#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "extract/extract.hpp"
#include "warc/warc_record.hpp"

// The CPU work of a page, run on the parse pool so it never stalls the I/O thread.
namespace trawler::crawl {

struct parsed_page {
  extract::page_facts facts;
  std::string sha256;
};

// Charset decoding, Gumbo and hashing of a body (only hashing when not HTML).
boost::asio::awaitable<parsed_page> parse_page(std::string body, std::string url,
                                               std::optional<std::string> header_charset, bool html,
                                               extract::options opt, std::string priority);

// A sitemap body (gzipped or not) to its locations, resolved against `url`, in facts.links;
// facts.page_nofollow is reused to say "a sitemap index: these links are sitemaps".
boost::asio::awaitable<parsed_page> parse_sitemap(std::string body, std::string url,
                                                  std::size_t max_bytes, std::string priority);

// A fetch's WARC records, built and compressed (the exchange's bytes must outlive the call).
boost::asio::awaitable<warc::built> build_archive_records(warc::exchange x, std::string priority);

}  // namespace trawler::crawl
