#include <optional>
#include <string>
#include <string_view>

#include "record/record.hpp"

namespace trawler::record {

namespace {

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> media_type(std::string_view header) {
  const auto type = trim_ows(header.substr(0, header.find(';')));
  if (type.empty()) return std::nullopt;
  std::string out(type);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

std::optional<std::string> charset_param(std::string_view header) {
  std::size_t pos = header.find(';');
  // Parameters: *( OWS ";" OWS [ name "=" value ] ), value a token or a quoted-string whose
  // ";" must not end the parameter.
  while (pos != std::string_view::npos && pos < header.size()) {
    ++pos;  // past ';'
    const std::size_t eq = header.find_first_of("=;", pos);
    if (eq == std::string_view::npos) break;
    if (header[eq] == ';') {
      pos = eq;
      continue;
    }
    const auto name = trim_ows(header.substr(pos, eq - pos));
    std::size_t i = eq + 1;
    while (i < header.size() && is_ows(header[i])) ++i;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      for (++i; i < header.size() && header[i] != '"'; ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i];
      }
      pos = header.find(';', i);
    } else {
      const std::size_t stop = header.find(';', i);
      value = trim_ows(header.substr(i, stop == std::string_view::npos ? stop : stop - i));
      pos = stop;
    }
    if (iequals(name, "charset")) {
      if (value.empty()) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace trawler::record
