#include "api/auth.hpp"

#include <cstddef>

namespace trawler::api {

bool constant_time_equals(std::string_view given, std::string_view expected) noexcept {
  // Loop over the expected (secret) length whatever was given; a length mismatch still
  // walks every byte. volatile keeps the compiler from turning this into an early exit.
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = diff | static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> bearer_credentials(std::string_view authorization) noexcept {
  std::string_view s = trim(authorization);
  constexpr std::string_view scheme = "bearer";
  if (s.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != scheme[i]) return std::nullopt;
  }
  if (s[scheme.size()] != ' ') return std::nullopt;
  std::string_view token = trim(s.substr(scheme.size()));
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    if (is_space(c)) return std::nullopt;  // b64token has no inner whitespace
  }
  return token;
}

auth_verdict check_bearer(std::optional<std::string_view> authorization,
                          std::string_view token) noexcept {
  if (token.empty()) return auth_verdict::allowed;
  if (!authorization) return auth_verdict::missing;
  auto given = bearer_credentials(*authorization);
  if (!given) return auth_verdict::invalid;
  return constant_time_equals(*given, token) ? auth_verdict::allowed : auth_verdict::invalid;
}

}  // namespace trawler::api
