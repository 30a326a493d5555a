#pragma once

#include <optional>
#include <string_view>

namespace trawler {

// The error kinds of the JSONL record (SPEC "The JSONL record").
enum class error_kind {
  dns,
  connect,
  tls,
  timeout,
  protocol,
  too_large,
  robots,
  blocked_address,
  redirect_limit,
  cancelled,
  other,
};

inline constexpr error_kind all_error_kinds[] = {
    error_kind::dns,       error_kind::connect,         error_kind::tls,
    error_kind::timeout,   error_kind::protocol,        error_kind::too_large,
    error_kind::robots,    error_kind::blocked_address, error_kind::redirect_limit,
    error_kind::cancelled, error_kind::other,
};

std::string_view to_string(error_kind kind);
std::optional<error_kind> error_kind_from_string(std::string_view name);

}  // namespace trawler
