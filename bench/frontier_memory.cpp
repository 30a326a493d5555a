// trawler-bench-frontier-memory: bytes of memory per seen URL and per queued URL in
// frontier::frontier, measured as the growth of the resident set while URLs go in.
//   trawler-bench-frontier-memory [URLS] [HOSTS]     (default 5000000 URLs over 100 hosts)
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "frontier/frontier.hpp"

namespace {

// Resident bytes now (not the peak): /proc/self/statm's second field, in pages.
long long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// URLs shaped like the benchmark site's and real sites' (60-80 bytes): most of the cost
// of a queued entry is its strings.
void make_url(std::string& out, std::size_t i, std::size_t hosts) {
  out.clear();
  out += "https://host";
  out += std::to_string(i % hosts);
  out += ".example.com/articles/2024/";
  out += std::to_string(i % 97);
  out += "/some-article-title-";
  out += std::to_string(i);
  out += ".html";
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t urls = 5'000'000;
  std::size_t hosts = 100;
  if (argc > 1) urls = std::strtoull(argv[1], nullptr, 10);
  if (argc > 2) hosts = std::strtoull(argv[2], nullptr, 10);
  if (urls == 0 || hosts == 0) {
    std::fprintf(stderr, "usage: trawler-bench-frontier-memory [URLS] [HOSTS]\n");
    return 2;
  }
  using namespace trawler::frontier;
  frontier f(options{});
  std::vector<host_id> host_ids;
  for (std::size_t h = 0; h < hosts; ++h) {
    host_ids.push_back(f.host_for("https://host" + std::to_string(h) + ".example.com:443"));
  }

  std::string url;
  std::size_t url_bytes = 0;
  const long long base = resident_bytes();
  for (std::size_t i = 0; i < urls; ++i) {
    make_url(url, i, hosts);
    url_bytes += url.size();
    f.mark_seen(url);
  }
  const long long after_seen = resident_bytes();

  // As in a crawl, the links found on one page share its URL as their referrer: a new
  // referrer every links_per_page URLs (the benchmark site's fan-out).
  constexpr std::size_t links_per_page = 34;
  trawler::frontier::shared_text referrer;
  for (std::size_t i = 0; i < urls; ++i) {
    make_url(url, i, hosts);
    if (i % links_per_page == 0) {
      std::string page;
      make_url(page, urls + i / links_per_page, hosts);
      referrer = std::make_shared<const std::string>(std::move(page));
    }
    url_entry e;
    e.url = url;
    e.host = host_ids[i % hosts];
    e.depth = 3;
    e.redirects_left = 10;
    e.referrer = referrer;
    f.push(std::move(e));
  }
  referrer.reset();
  const long long after_queued = resident_bytes();

  const double n = static_cast<double>(urls);
  std::printf("urls               %zu over %zu hosts, mean URL length %.1f bytes\n", urls, hosts,
              static_cast<double>(url_bytes) / n);
  std::printf("sizeof(url_entry)  %zu bytes\n", sizeof(url_entry));
  std::printf("seen set           %.1f bytes per seen URL (%.1f MB)\n",
              static_cast<double>(after_seen - base) / n,
              static_cast<double>(after_seen - base) / 1e6);
  std::printf("queue              %.1f bytes per queued URL on top (%.1f MB)\n",
              static_cast<double>(after_queued - after_seen) / n,
              static_cast<double>(after_queued - after_seen) / 1e6);
  std::printf("seen + queued      %.1f bytes per URL\n",
              static_cast<double>(after_queued - base) / n);
  std::printf("check              seen()=%zu queued()=%zu\n", f.seen(), f.queued());
  return f.seen() == urls && f.queued() == urls ? 0 : 1;
}
