// trawler-bench-parse: the CPU floor of a crawl, on the benchmark site's own pages.
// For each page: Gumbo alone (gumbo_parse + gumbo_destroy_output), then the whole work
// trawler does per page on its parse pool (SHA-256 of the body + extract::extract_html:
// charset, nesting guard, Gumbo, links resolved and normalized, title). Single thread,
// thread CPU time.
// Also Gumbo with a bump allocator, to show what malloc/free cost inside it.
//   trawler-bench-parse [--pages N] [--hosts H] [--page-bytes B] [--links L] [--seed S]
//                       [--rounds R]
#include <gumbo.h>

#include <charconv>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <memory>
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

// A bump allocator for Gumbo: nothing is freed until the whole tree goes at once. It shows
// what Gumbo costs without malloc/free per node, token and string buffer (GumboOptions has
// allocator hooks for this).
class bump_arena {
 public:
  void* allocate(std::size_t n) {
    n = (n + 15) & ~std::size_t{15};
    if (chunk_ == chunks_.size() || used_ + n > chunks_[chunk_].size) next_chunk(n);
    void* p = chunks_[chunk_].data.get() + used_;
    used_ += n;
    return p;
  }
  void reset() { chunk_ = 0, used_ = 0; }

  static void* gumbo_allocate(void* self, std::size_t n) {
    return static_cast<bump_arena*>(self)->allocate(n);
  }
  static void gumbo_free(void*, void*) {}

 private:
  struct chunk {
    std::unique_ptr<std::byte[]> data;
    std::size_t size;
  };
  void next_chunk(std::size_t n) {
    if (chunk_ < chunks_.size()) ++chunk_;
    while (chunk_ < chunks_.size() && chunks_[chunk_].size < n) ++chunk_;
    if (chunk_ == chunks_.size()) {
      const std::size_t size = std::max<std::size_t>(n, 1 << 20);
      chunks_.push_back({std::make_unique<std::byte[]>(size), size});
    }
    used_ = 0;
  }
  std::vector<chunk> chunks_;
  std::size_t chunk_ = 0;
  std::size_t used_ = 0;
};

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
  double gumbo_best = 1e300, arena_best = 1e300, trawler_best = 1e300, sha_best = 1e300;
  bump_arena arena;
  GumboOptions arena_options = kGumboDefaultOptions;
  arena_options.allocator = &bump_arena::gumbo_allocate;
  arena_options.deallocator = &bump_arena::gumbo_free;
  arena_options.userdata = &arena;
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
    for (const auto& b : bodies) {
      (void)gumbo_parse_with_options(&arena_options, b.data(), b.size());
      arena.reset();
    }
    arena_best = std::min(arena_best, thread_cpu_s() - t0);

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
  std::printf("gumbo_parse, arena   %.3f ms/page  %.1f MB/s  (bump allocator, no free)\n",
              arena_best / n * 1e3, total_bytes / arena_best / 1e6);
  std::printf("sha256               %.3f ms/page\n", sha_best / n * 1e3);
  std::printf("trawler parse work   %.3f ms/page  (sha256 + extract_html)  %.2f x gumbo\n",
              trawler_best / n * 1e3, trawler_best / gumbo_best);
  return 0;
}
