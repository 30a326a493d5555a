#include "api/crawl_state.hpp"

namespace trawler::api {

namespace {

constexpr crawl_state all_states[] = {crawl_state::running,   crawl_state::paused,
                                      crawl_state::completed, crawl_state::cancelled,
                                      crawl_state::failed,    crawl_state::interrupted};

}  // namespace

std::string_view to_string(crawl_state s) noexcept {
  switch (s) {
    case crawl_state::running:
      return "running";
    case crawl_state::paused:
      return "paused";
    case crawl_state::completed:
      return "completed";
    case crawl_state::cancelled:
      return "cancelled";
    case crawl_state::failed:
      return "failed";
    case crawl_state::interrupted:
      return "interrupted";
  }
  return "failed";
}

std::optional<crawl_state> crawl_state_from_string(std::string_view s) noexcept {
  for (auto st : all_states) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

bool is_final(crawl_state s) noexcept {
  return s == crawl_state::completed || s == crawl_state::cancelled || s == crawl_state::failed;
}

std::optional<crawl_state> next_state(crawl_state from, crawl_action action) noexcept {
  bool live = from == crawl_state::running || from == crawl_state::paused;
  switch (action) {
    case crawl_action::pause:
      if (live) return crawl_state::paused;
      return std::nullopt;
    case crawl_action::resume:
      if (live) return crawl_state::running;
      return std::nullopt;
    case crawl_action::cancel:
      // An interrupted crawl may be cancelled: that keeps it from being resumed at start.
      if (live || from == crawl_state::cancelled || from == crawl_state::interrupted) {
        return crawl_state::cancelled;
      }
      return std::nullopt;
    case crawl_action::add_seeds:
      if (live) return from;
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace trawler::api
