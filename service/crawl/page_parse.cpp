#include "crawl/page_parse.hpp"

#include "crawl/thread_priority.hpp"
#include "extract/requisites.hpp"
#include "fetch/decoder.hpp"
#include "record/record.hpp"
#include "robots/sitemap.hpp"
#include "url/url.hpp"

namespace trawler::crawl {

boost::asio::awaitable<parsed_page> parse_page(std::string body, std::string url,
                                               std::optional<std::string> header_charset,
                                               body_kind kind, extract::options opt,
                                               std::string priority,
                                               std::optional<std::string> known_sha256,
                                               bool signature) {
  set_parse_thread_priority(priority);
  parsed_page out;
  out.sha256 = record::sha256_hex(body);
  if (known_sha256 && !known_sha256->empty() && out.sha256.starts_with(*known_sha256)) {
    out.unchanged_body = true;
    co_return out;
  }
  std::optional<std::string_view> cs;
  if (header_charset) cs = *header_charset;
  if (kind == body_kind::stylesheet) {
    out.facts.requisites = extract::stylesheet_requisites(body, url, cs);
  } else if (kind == body_kind::html) {
    if (signature) opt.want_text = true;
    out.facts = extract::extract_html(body, url, cs, opt);
    // The title is visible text too (a tab, a search result).
    if (signature) {
      out.text_signature = record::sha256_hex(out.facts.title.value_or("") + "\n" + out.facts.text);
    }
  }
  co_return out;
}

boost::asio::awaitable<parsed_page> parse_sitemap(std::string body, std::string url,
                                                  std::size_t max_bytes, std::string priority) {
  set_parse_thread_priority(priority);
  parsed_page out;
  out.sha256 = record::sha256_hex(body);
  std::string xml;
  if (robots::looks_gzipped(body)) {
    // Served as a .gz file without Content-Encoding: undo it here, with the same cap.
    fetch::body_decoder gunzip({fetch::content_coding::gzip}, max_bytes);
    gunzip.feed(body, xml);
    gunzip.finish(xml);
  } else {
    xml = std::move(body);
  }
  auto map = robots::parse_sitemap(xml);
  url::resolver base(url);
  for (std::size_t i = 0; i < map.locations.size(); ++i) {
    if (auto abs = base.resolve(map.locations[i])) {
      out.facts.links.push_back({std::move(*abs), true});
      out.lastmods.push_back(i < map.lastmods.size() ? map.lastmods[i] : 0);
    }
  }
  out.facts.page_nofollow = map.is_index;
  co_return out;
}

boost::asio::awaitable<warc::built> build_archive_records(warc::exchange x, std::string priority) {
  set_parse_thread_priority(priority);
  co_return warc::build_exchange(x);
}

}  // namespace trawler::crawl
