// trawler-bench-parse: the CPU floor of a crawl, on the benchmark site's own pages.
// For each page: Gumbo alone (gumbo_parse + gumbo_destroy_output), then the whole work
// trawler does per page on its parse pool (SHA-256 of the body + extract::extract_html:
// charset, nesting guard, Gumbo, links resolved and normalized, title). Single thread,
// thread CPU time.
//   trawler-bench-parse [--pages N] [--hosts H] [--page-bytes B] [--links L] [--seed S]
//                       [--rounds R]
#include <gumbo.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "benchsite/site.hpp"
#include "extract/extract.hpp"
#include "record/sha256.hpp"

namespace {

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  trawler::benchsite::site_options opt;
  opt.port = 8080;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "trawler-bench-parse: %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string_view value = argv[++i];
    bool ok = false;
    if (flag == "--pages") ok = parse_number(value, opt.pages);
    if (flag == "--hosts") ok = parse_number(value, opt.hosts);
    if (flag == "--page-bytes") ok = parse_number(value, opt.page_bytes);
    if (flag == "--links") ok = parse_number(value, opt.links);
    if (flag == "--seed") ok = parse_number(value, opt.seed);
    if (flag == "--rounds") ok = parse_number(value, rounds) && rounds > 0;
    if (!ok) {
      std::fprintf(stderr, "trawler-bench-parse: bad option %s %s\n", argv[i - 1], argv[i]);
      return 2;
    }
  }
  const trawler::benchsite::site site(opt);
  std::vector<std::string> bodies;
  std::vector<std::string> urls;
  double total_bytes = 0;
  for (int p = 0; p < site.pages(); ++p) {
    bodies.push_back(site.body_string(p));
    urls.push_back(site.url(p));
    total_bytes += static_cast<double>(bodies.back().size());
  }

  // The best of several rounds: the floor is what the code costs, not what the neighbours'
  // builds cost us.
  double gumbo_best = 1e300, trawler_best = 1e300, sha_best = 1e300;
  std::size_t links = 0;
  const trawler::extract::options xopt;
  for (int r = 0; r < rounds; ++r) {
    double t0 = thread_cpu_s();
    for (const auto& b : bodies) {
      GumboOutput* out = gumbo_parse_with_options(&kGumboDefaultOptions, b.data(), b.size());
      gumbo_destroy_output(&kGumboDefaultOptions, out);
    }
    gumbo_best = std::min(gumbo_best, thread_cpu_s() - t0);

    t0 = thread_cpu_s();
    for (const auto& b : bodies) (void)trawler::record::sha256_hex(b);
    sha_best = std::min(sha_best, thread_cpu_s() - t0);

    t0 = thread_cpu_s();
    links = 0;
    for (std::size_t p = 0; p < bodies.size(); ++p) {
      (void)trawler::record::sha256_hex(bodies[p]);
      const auto facts = trawler::extract::extract_html(bodies[p], urls[p], "utf-8", xopt);
      links += facts.links.size();
    }
    trawler_best = std::min(trawler_best, thread_cpu_s() - t0);
  }
  const double n = static_cast<double>(bodies.size());
  std::printf("pages                %zu, mean %.0f bytes, %.1f distinct links per page\n",
              bodies.size(), total_bytes / n, static_cast<double>(links) / n);
  std::printf("gumbo_parse          %.3f ms/page  %.1f MB/s\n", gumbo_best / n * 1e3,
              total_bytes / gumbo_best / 1e6);
  std::printf("sha256               %.3f ms/page\n", sha_best / n * 1e3);
  std::printf("trawler parse work   %.3f ms/page  (sha256 + extract_html)  %.2f x gumbo\n",
              trawler_best / n * 1e3, trawler_best / gumbo_best);
  return 0;
}
