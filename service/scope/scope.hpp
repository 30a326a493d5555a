#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace re2 {
class RE2;
}

namespace trawler::config {
struct crawl_config;
}

// In or out of a crawl (SPEC "Config: scope" and "Precise rules: Keys and hosts"). Runs for
// every discovered link, so host checks are hash lookups and the regexes are compiled once.
namespace trawler::scope {

enum class mode { host, domain, any };

enum class verdict {
  in,
  out_of_scope,  // host/domain rule
  not_included,  // include list non-empty and none matched
  excluded,
  too_deep,
  too_long
};

std::string_view to_string(verdict v);

// How far below scope.max_depth page requisites are still admitted (SPEC additions "Page
// requisites"): the requisites of a page at the limit, and a chain of style sheets importing
// style sheets below them.
constexpr int requisite_depth_allowance = 5;

struct rules {
  mode scope_mode = mode::host;
  std::vector<std::string> include;  // RE2 patterns, searched (partial match) in the absolute URL
  std::vector<std::string> exclude;
  int max_depth = 10;
  std::size_t max_url_length = 2048;
};

// The scope.* keys of a (validated) config as rules.
rules rules_of(const config::crawl_config& c);

class scope {
 public:
  // Throws std::invalid_argument naming "scope.include[i]" / "scope.exclude[i]" for a bad
  // regex (config validation checks earlier; this is a second line of defence).
  explicit scope(rules r);
  ~scope();
  scope(scope&&) noexcept;
  scope& operator=(scope&&) noexcept;

  // Seed hosts define what "in scope" means. Host is a url::parts::host (lowercase, maybe
  // "[::1]"). Adding the same host twice is harmless.
  void add_seed_host(std::string_view host);

  // A discovered link or redirect target at `depth`; url is normalized, host its host.
  // Order of checks: too_long, out_of_scope, not_included, excluded, too_deep.
  verdict check(std::string_view url, std::string_view host, int depth) const;

  // A page requisite at `depth` (fetch.requisites): on any host and whatever scope.include says,
  // but not excluded, not too long, and at most max_depth + requisite_depth_allowance deep.
  // Order of checks: too_long, excluded, too_deep.
  verdict check_requisite(std::string_view url, int depth) const;

  // The first scope.exclude pattern that matches `url` (the one behind verdict::excluded), or -1.
  int excluding_rule(std::string_view url) const;

  // Seeds bypass include/exclude/depth but not max_url_length.
  bool seed_length_ok(std::string_view url) const { return url.size() <= rules_.max_url_length; }

  const rules& config() const { return rules_; }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using host_set = std::unordered_set<std::string, string_hash, std::equal_to<>>;

  bool host_in_scope(std::string_view host) const;

  rules rules_;
  std::vector<std::unique_ptr<re2::RE2>> include_;
  std::vector<std::unique_ptr<re2::RE2>> exclude_;
  host_set seed_hosts_;      // exact, trailing dot removed: IP seeds, PSL-less names
  host_set seed_host_keys_;  // host mode: seed hosts without a leading "www."
  host_set seed_domains_;    // domain mode: registrable domains of the seeds
};

}  // namespace trawler::scope
