#pragma once

#include <optional>
#include <string_view>

namespace trawler::api {

// SPEC "Control API" states, plus `interrupted`: a crawl that was running or paused when
// the service last stopped and has not been resumed (yet) by this run of the service.
enum class crawl_state { running, paused, completed, cancelled, failed, interrupted };

std::string_view to_string(crawl_state s) noexcept;
std::optional<crawl_state> crawl_state_from_string(std::string_view s) noexcept;

// True once the crawl can never run again in this service (nothing to pause, resume or seed).
bool is_final(crawl_state s) noexcept;

enum class crawl_action { pause, resume, cancel, add_seeds };

// The state after `action`, or nullopt when the change is impossible (409): resuming a
// completed crawl, pausing a cancelled one, seeding a finished one. Repeating a change
// already made (pause a paused crawl, cancel a cancelled one) is allowed and changes nothing.
std::optional<crawl_state> next_state(crawl_state from, crawl_action action) noexcept;

}  // namespace trawler::api
