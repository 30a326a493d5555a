#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/broken_links.hpp"

// `trawler report`: what a crawl's records add up to (SPEC additions "Report"). Records are
// added one at a time and dropped at once: what is kept is per second of crawl time (a few
// counters), per host (counters and a fixed response-time histogram, about 400 bytes), per
// error kind (five example URLs), per content type (up to 200), and fixed histograms; never the
// records themselves, so ten million records need no more memory than ten thousand. The broken
// links table (broken_links.hpp) keeps what it needs per URL that answered 4xx or 5xx: its
// linking pages are found by a second pass over the records (read_links).
namespace trawler::report {

// Response times and sizes are counted in buckets whose bounds grow by 2^(1/4) (19%): a median
// or p95 read from them is the geometric middle of its bucket, within 10% of the exact value.
struct log_histogram {
  static constexpr int buckets = 96;
  std::array<std::uint64_t, buckets> counts{};
  std::uint64_t total = 0;

  static int bucket_of(double v);    // v >= 0
  static double lower_bound(int b);  // the bucket's range: [lower, upper)
  static double upper_bound(int b);
  void add(double v);
  void merge(const log_histogram& o);
  std::optional<double> quantile(double q) const;  // nullopt when empty
};

struct second_counts {
  std::uint64_t records = 0;
  std::uint64_t pages = 0;   // with a response
  std::uint64_t errors = 0;  // with an error (robots refusals included)
  std::uint64_t bytes = 0;
};

// Recrawl's `change` values, in the record schema's order.
inline constexpr const char* change_names[] = {"new",          "changed", "unchanged",
                                               "not_modified", "gone",    "failed"};

struct host_row {
  std::array<std::uint64_t, 6> changes{};  // recrawl: records by change
  std::uint64_t records = 0;
  std::uint64_t pages = 0;
  std::uint64_t errors = 0;  // error records other than robots refusals
  std::uint64_t robots = 0;  // refused by robots.txt
  std::uint64_t bytes = 0;
  log_histogram response_ms;
};

struct kind_row {
  std::uint64_t count = 0;
  std::vector<std::string> examples;  // the first few URLs
};

struct type_row {
  std::uint64_t count = 0;
  std::uint64_t bytes = 0;
};

class crawl_report {
 public:
  static constexpr std::size_t examples_per_kind = 5;
  static constexpr std::size_t max_content_types = 200;

  // One JSONL line. False (and counted in invalid()) when it is not a record.
  bool add_line(std::string_view line);
  void add(const nlohmann::json& record);

  std::uint64_t records() const { return records_; }
  std::uint64_t invalid() const { return invalid_; }
  std::uint64_t pages() const { return pages_; }
  std::uint64_t bytes() const { return bytes_; }
  // Records with an error kind (no usable response, robots refusals included).
  std::uint64_t errors() const { return errors_; }
  // Responses that answered 4xx or 5xx (not errors: they have a response).
  std::uint64_t http_errors() const { return status_[2] + status_[3]; }
  // 2xx, 3xx, 4xx, 5xx, other status, no response.
  const std::array<std::uint64_t, 6>& status_classes() const { return status_; }
  const std::map<std::string, kind_row>& error_kinds() const { return kinds_; }
  const std::map<std::string, type_row>& content_types() const { return types_; }
  const std::unordered_map<std::string, host_row>& hosts() const { return hosts_; }
  const std::map<std::int64_t, second_counts>& per_second() const { return seconds_; }
  const std::vector<std::uint64_t>& depths() const { return depths_; }  // index: depth (last: more)
  const log_histogram& response_ms() const { return response_ms_; }
  const log_histogram& sizes() const { return sizes_; }
  // Recrawl: records by change (change_names order), whether any record had one, and the
  // deletions by gone_reason with their first few URLs.
  const std::array<std::uint64_t, 6>& changes() const { return changes_; }
  bool recrawl() const { return recrawl_; }
  const std::map<std::string, kind_row>& gone_reasons() const { return gone_; }
  // The first and last fetched_at seen, in milliseconds since the epoch.
  std::optional<std::int64_t> first_ms() const { return first_ms_; }
  std::optional<std::int64_t> last_ms() const { return last_ms_; }

  // 4xx/5xx URLs and the pages linking them: pass 1 is add(); pass 2 (read_links) goes on
  // through the non-const one.
  const report::broken_links& broken_links() const { return broken_; }
  report::broken_links& broken_links() { return broken_; }

  // Everything above as one JSON object (embedded in the HTML for tools and tests).
  nlohmann::json summary() const;

 private:
  std::uint64_t records_ = 0;
  std::uint64_t invalid_ = 0;
  std::uint64_t pages_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t errors_ = 0;
  std::array<std::uint64_t, 6> status_{};
  std::map<std::string, kind_row> kinds_;
  std::map<std::string, type_row> types_;
  std::unordered_map<std::string, host_row> hosts_;
  std::map<std::int64_t, second_counts> seconds_;
  std::vector<std::uint64_t> depths_;
  log_histogram response_ms_;
  log_histogram sizes_;
  std::array<std::uint64_t, 6> changes_{};
  bool recrawl_ = false;
  std::map<std::string, kind_row> gone_;
  std::optional<std::int64_t> first_ms_;
  std::optional<std::int64_t> last_ms_;
  report::broken_links broken_;
};

// "scheme://host:port" of an absolute URL as records hold them; "" when it has none.
std::string host_of(std::string_view url);
// Milliseconds since the epoch of an RFC 3339 UTC time ("2026-11-27T13:19:54.123Z").
std::optional<std::int64_t> parse_rfc3339_ms(std::string_view s);

// Broken-link rows shown in the HTML report and embedded in its summary (the CSV has all).
inline constexpr std::size_t broken_links_shown = 1000;

// The whole report page: one self-contained HTML file (inline CSS, SVG and a few lines of
// script for sorting the host table), readable without a network.
std::string render_html(const crawl_report& r, const std::vector<std::string>& inputs);

}  // namespace trawler::report
