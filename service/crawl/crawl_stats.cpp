#include "crawl/crawl_stats.hpp"

#include <cstdio>

namespace trawler::crawl {

std::uint64_t crawl_stats::error_total() const {
  std::uint64_t n = 0;
  for (auto e : errors) n += e;
  return n;
}

nlohmann::json crawl_stats::to_json() const {
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] != 0) errs[std::string(to_string(all_error_kinds[i]))] = errors[i];
  }
  return {
      {"pages", pages},
      {"status",
       {{"2xx", status_classes[0]},
        {"3xx", status_classes[1]},
        {"4xx", status_classes[2]},
        {"5xx", status_classes[3]}}},
      {"errors", errs},
      {"bytes", bytes},
      {"seen", seen},
      {"queued", queued},
      {"in_flight", in_flight},
      {"filtered", filtered},
      {"robots_fetches", robots_fetches},
      {"elapsed_s", elapsed_s},
      {"pages_per_s", pages_per_s()},
  };
}

std::string crawl_stats::report() const {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%llu pages in %.2f s (%.1f pages/s), %llu bytes\n",
                static_cast<unsigned long long>(pages), elapsed_s, pages_per_s(),
                static_cast<unsigned long long>(bytes));
  out += line;
  const char* names[] = {"2xx", "3xx", "4xx", "5xx"};
  for (int i = 0; i < 4; ++i) {
    if (status_classes[i] == 0) continue;
    std::snprintf(line, sizeof line, "  %-16s %llu\n", names[i],
                  static_cast<unsigned long long>(status_classes[i]));
    out += line;
  }
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (errors[i] == 0) continue;
    std::snprintf(line, sizeof line, "  error %-10s %llu\n",
                  std::string(to_string(all_error_kinds[i])).c_str(),
                  static_cast<unsigned long long>(errors[i]));
    out += line;
  }
  std::snprintf(
      line, sizeof line, "  seen %llu, filtered %llu, still queued %llu, robots.txt fetches %llu\n",
      static_cast<unsigned long long>(seen), static_cast<unsigned long long>(filtered),
      static_cast<unsigned long long>(queued), static_cast<unsigned long long>(robots_fetches));
  out += line;
  return out;
}

std::string crawl_stats::progress_line() const {
  char line[256];
  std::snprintf(line, sizeof line,
                "pages %llu  %.1f/s  queued %llu  in flight %llu  errors %llu  %.0f s",
                static_cast<unsigned long long>(pages), pages_per_s(),
                static_cast<unsigned long long>(queued), static_cast<unsigned long long>(in_flight),
                static_cast<unsigned long long>(error_total()), elapsed_s);
  return line;
}

}  // namespace trawler::crawl
