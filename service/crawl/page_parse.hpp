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
  // Recrawl: the body's digest began with the known one, so it was not parsed.
  bool unchanged_body = false;
  // Recrawl: hex SHA-256 of the visible text (HTML only, when asked for).
  std::string text_signature;
  // A sitemap: each link's <lastmod> (Unix ms, 0: none), parallel to facts.links.
  std::vector<std::int64_t> lastmods;
};

// What is read of a body besides its digest.
enum class body_kind {
  opaque,      // hashed only
  html,        // Gumbo: links, title, requisites (with opt.want_requisites)...
  stylesheet,  // CSS: its url()s and @imports, as facts.requisites (fetch.requisites)
};

// Charset decoding, Gumbo and hashing of a body (only hashing when opaque). With
// `known_sha256` (a hex prefix) a body whose digest starts with it is not parsed: recrawl's
// unchanged page. With `signature` the visible text's digest of HTML is computed too.
boost::asio::awaitable<parsed_page> parse_page(std::string body, std::string url,
                                               std::optional<std::string> header_charset,
                                               body_kind kind, extract::options opt,
                                               std::string priority,
                                               std::optional<std::string> known_sha256 = {},
                                               bool signature = false);

// A sitemap body (gzipped or not) to its locations, resolved against `url`, in facts.links;
// facts.page_nofollow is reused to say "a sitemap index: these links are sitemaps".
boost::asio::awaitable<parsed_page> parse_sitemap(std::string body, std::string url,
                                                  std::size_t max_bytes, std::string priority);

// A fetch's WARC records, built and compressed (the exchange's bytes must outlive the call).
boost::asio::awaitable<warc::built> build_archive_records(warc::exchange x, std::string priority);

}  // namespace trawler::crawl
