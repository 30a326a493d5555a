#include "common/error_kind.hpp"

namespace trawler {

std::string_view to_string(error_kind kind) {
  switch (kind) {
    case error_kind::dns:
      return "dns";
    case error_kind::connect:
      return "connect";
    case error_kind::tls:
      return "tls";
    case error_kind::timeout:
      return "timeout";
    case error_kind::protocol:
      return "protocol";
    case error_kind::too_large:
      return "too_large";
    case error_kind::robots:
      return "robots";
    case error_kind::blocked_address:
      return "blocked_address";
    case error_kind::redirect_limit:
      return "redirect_limit";
    case error_kind::cancelled:
      return "cancelled";
    case error_kind::other:
      return "other";
  }
  return "other";
}

std::optional<error_kind> error_kind_from_string(std::string_view name) {
  for (error_kind kind : all_error_kinds) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace trawler
