#include "robots/robots_directives.hpp"

#include <cctype>
#include <string>

namespace trawler::robots {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Directives that carry their own "name: value" and so are not a crawler scope.
bool is_valued_directive(std::string_view name) {
  return iequals(name, "unavailable_after") || iequals(name, "max-snippet") ||
         iequals(name, "max-image-preview") || iequals(name, "max-video-preview");
}

}  // namespace

void apply_meta_token(std::string_view token, directives& d) {
  token = trim(token);
  if (iequals(token, "noindex")) {
    d.noindex = true;
  } else if (iequals(token, "nofollow")) {
    d.nofollow = true;
  } else if (iequals(token, "none")) {
    d.noindex = true;
    d.nofollow = true;
  }
}

void apply_x_robots_tag(std::string_view value, std::string_view product_token, directives& d) {
  value = trim(value);
  auto colon = value.find(':');
  if (colon != std::string_view::npos) {
    std::string_view scope = trim(value.substr(0, colon));
    bool looks_like_agent = !scope.empty() && scope.find(',') == std::string_view::npos &&
                            scope.find(' ') == std::string_view::npos &&
                            !is_valued_directive(scope);
    if (looks_like_agent) {
      if (!iequals(scope, product_token)) return;
      value = value.substr(colon + 1);
    }
  }
  while (!value.empty()) {
    auto comma = value.find(',');
    apply_meta_token(value.substr(0, comma), d);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace trawler::robots
