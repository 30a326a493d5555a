#include "crawl/end_reason.hpp"

#include <cstddef>

namespace trawler::crawl {

namespace {

constexpr end_reason all_reasons[] = {
    end_reason::frontier_empty, end_reason::max_pages,         end_reason::max_pages_per_host,
    end_reason::cancelled,      end_reason::stopped,           end_reason::service_stopped,
    end_reason::output_failed,  end_reason::redis_unreachable, end_reason::internal_error};

// "1,623": digits grouped by three, as the dashboard shows counts.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string count(std::uint64_t n, const char* one, const char* many) {
  return grouped(n) + " " + (n == 1 ? one : many);
}

// ": 243 URLs stay queued, not fetched" (empty when nothing is queued).
std::string left_over(std::uint64_t queued) {
  if (queued == 0) return "";
  return ": " + count(queued, "URL stays", "URLs stay") + " queued, not fetched";
}

}  // namespace

std::string_view to_string(end_reason r) noexcept {
  switch (r) {
    case end_reason::frontier_empty:
      return "frontier_empty";
    case end_reason::max_pages:
      return "max_pages";
    case end_reason::max_pages_per_host:
      return "max_pages_per_host";
    case end_reason::cancelled:
      return "cancelled";
    case end_reason::stopped:
      return "stopped";
    case end_reason::service_stopped:
      return "service_stopped";
    case end_reason::output_failed:
      return "output_failed";
    case end_reason::redis_unreachable:
      return "redis_unreachable";
    case end_reason::internal_error:
      return "internal_error";
  }
  return "internal_error";
}

std::optional<end_reason> end_reason_from_string(std::string_view s) noexcept {
  for (auto r : all_reasons) {
    if (to_string(r) == s) return r;
  }
  return std::nullopt;
}

bool is_failure(end_reason r) noexcept {
  return r == end_reason::output_failed || r == end_reason::redis_unreachable ||
         r == end_reason::internal_error;
}

std::string end_message(end_reason r, const end_facts& f) {
  const std::string rest = left_over(f.queued);
  const std::string detail = f.detail.empty() ? "" : " (" + f.detail + ")";
  switch (r) {
    case end_reason::frontier_empty:
      return "Nothing was left to fetch: every URL found was fetched or ruled out.";
    case end_reason::max_pages:
      return "Stopped at scope.max_pages (" +
             count(static_cast<std::uint64_t>(f.max_pages), "page", "pages") + " with a response)" +
             rest + ".";
    case end_reason::max_pages_per_host:
      return "Every host with URLs left has spent scope.max_pages_per_host (" +
             count(static_cast<std::uint64_t>(f.max_pages_per_host), "page", "pages") + ")" + rest +
             ".";
    case end_reason::cancelled:
      return "Cancelled through the API" + rest + ".";
    case end_reason::stopped:
      if (f.queued == 0) return "Stopped by a signal (SIGINT or SIGTERM).";
      return "Stopped by a signal (SIGINT or SIGTERM)" + rest +
             (f.resumable ? "; run it again with the same state.dir to go on."
                          : " (without state.dir they are not kept).");
    case end_reason::service_stopped:
      return "The service stopped while the crawl ran" +
             (f.queued == 0 ? std::string()
                            : ": " + count(f.queued, "URL stays", "URLs stay") + " queued") +
             "; it goes on when the service starts again.";
    case end_reason::output_failed:
      return "Stopped because the records could not be written" + detail + rest + ".";
    case end_reason::redis_unreachable:
      return "Stopped because Redis was unreachable for too long" + detail + rest + ".";
    case end_reason::internal_error:
      return "Stopped on an internal error" + detail + rest + ".";
  }
  return "";
}

}  // namespace trawler::crawl
