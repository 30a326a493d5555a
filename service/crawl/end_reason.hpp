#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Why a crawl ended (SPEC additions "Why a crawl ended"): a name for programs, and a sentence
// for people that says what became of the URLs still queued.
namespace trawler::crawl {

enum class end_reason {
  frontier_empty,      // nothing was left to fetch
  max_pages,           // scope.max_pages pages have a response
  max_pages_per_host,  // every host with URLs left has spent scope.max_pages_per_host
  cancelled,           // the API's cancel
  stopped,             // SIGINT or SIGTERM (trawler crawl)
  service_stopped,     // the service stopped under it (it resumes at the service's next start)
  output_failed,       // records (or the WARC archive) could not be written
  redis_unreachable,   // cluster mode: Redis was unreachable for too long
  internal_error,      // the crawl threw
};

std::string_view to_string(end_reason r) noexcept;
std::optional<end_reason> end_reason_from_string(std::string_view s) noexcept;
// The crawl failed (its state is `failed`): it did not end as it was asked to.
bool is_failure(end_reason r) noexcept;

// What the sentence names.
struct end_facts {
  std::uint64_t pages = 0;              // records with a response (all runs)
  std::uint64_t queued = 0;             // URLs left in the frontier, not fetched
  std::int64_t max_pages = 0;           // scope.max_pages
  std::int64_t max_pages_per_host = 0;  // scope.max_pages_per_host
  bool resumable = false;               // a state dir keeps the queue for another run
  std::string detail;                   // the error, for the failures
};

// One sentence (or two) saying why the crawl ended and why its queued URLs were not fetched:
// "Stopped at scope.max_pages (100 pages with a response): 243 URLs stay queued, not fetched."
std::string end_message(end_reason r, const end_facts& f);

}  // namespace trawler::crawl
