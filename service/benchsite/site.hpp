#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// The benchmark's synthetic web site: N realistic HTML pages spread over H virtual hosts
// ("host0.bench" ... ), generated deterministically from a seed and kept in memory.
// Pure: no I/O. Every page is reachable from http://host0.bench:PORT/ through a spanning
// tree of links, so a complete crawl from that one seed fetches exactly `pages` pages.
namespace trawler::benchsite {

struct site_options {
  int pages = 2000;
  int hosts = 1;
  std::size_t page_bytes = 28000;  // approximate size of each page's HTML
  int links = 34;                  // <a href> links to pages of the site on each page
  std::uint64_t seed = 1;
  std::uint16_t port = 80;  // written into absolute links (":80" is left out)
};

class site {
 public:
  // Renders every page; throws std::invalid_argument for out-of-range options.
  explicit site(site_options opt);

  const site_options& options() const { return opt_; }
  int pages() const { return opt_.pages; }
  int hosts() const { return opt_.hosts; }

  // "host3.bench"
  static std::string host_name(int host);
  // "http://host3.bench:8080"
  std::string origin(int host) const;
  // The host serving a page: page % hosts.
  int host_of(int page) const { return page % opt_.hosts; }
  // Path and query of a page as a client sends it ("/", "/s3/p12.html",
  // "/catalog?section=4&item=27").
  const std::string& target(int page) const {
    return pages_[static_cast<std::size_t>(page)].target;
  }
  // Absolute URL of a page, as a normalizing crawler records it.
  std::string url(int page) const;
  // Every page's absolute URL, page 0 (the seed) first: the ground truth of a full crawl.
  std::vector<std::string> ground_truth() const;

  // The host index named by a Host header value ("host3.bench:8080", any case); a name that
  // is not one of the site's hosts (an IP address, "localhost") means host 0, so tools that
  // cannot set Host still reach the site.
  int host_index(std::string_view host_header) const;
  // The page at a request target on a host, or -1.
  int find(int host, std::string_view target) const;

  // A page's HTML in three pieces: its own head and links, a prefix of a filler article
  // shared with other pages (so 20,000 pages of 28 KB take tens of MB, not 560), and its own
  // tail. Write them in order; no copy is needed.
  std::array<std::string_view, 3> body(int page) const;
  std::size_t body_size(int page) const;
  // The three pieces joined (for tools that parse pages without a server).
  std::string body_string(int page) const;

  // "User-agent: *" with an empty Disallow: everything allowed (RFC 9309).
  static std::string_view robots_txt();

 private:
  struct page {
    std::string target;
    std::string head;
    std::string tail;
    std::uint32_t filler = 0;       // index into fillers_
    std::uint32_t filler_size = 0;  // bytes of that filler used
  };
  struct filler {
    std::string html;
    std::vector<std::size_t> cuts;  // offsets after each whole block element, ascending
  };

  std::string href(int from, int to, std::uint64_t style) const;
  void render(int i);

  site_options opt_;
  std::vector<page> pages_;
  std::vector<filler> fillers_;
  // Per host: target -> page. Keys view pages_[].target, which never moves after construction.
  std::vector<std::unordered_map<std::string_view, int>> index_;
};

}  // namespace trawler::benchsite
