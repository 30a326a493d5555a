#pragma once

#include <optional>
#include <string_view>

// Bearer-token checks for the control API (RFC 6750).
namespace trawler::api {

// Equality whose running time depends only on expected.size(), never on where the inputs
// first differ or on given's length, so response timing does not leak the token byte by byte.
bool constant_time_equals(std::string_view given, std::string_view expected) noexcept;

// The credentials of "Bearer <token>" (scheme case-insensitive, RFC 9110 11.1; one or more
// spaces; surrounding whitespace ignored); nullopt for another scheme, an empty or a
// malformed value.
std::optional<std::string_view> bearer_credentials(std::string_view authorization) noexcept;

enum class auth_verdict { allowed, missing, invalid };

// `allowed` when token is empty (no authentication configured) or the header carries it.
auth_verdict check_bearer(std::optional<std::string_view> authorization,
                          std::string_view token) noexcept;

}  // namespace trawler::api
