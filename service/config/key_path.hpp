#pragma once

// Dotted key paths of config errors ("scope.include[2]"); internal to the config module.

#include <cstddef>
#include <string>
#include <string_view>

namespace trawler::config::detail {

inline std::string join_key(std::string_view path, std::string_view key) {
  std::string out;
  out.reserve(path.size() + 1 + key.size());
  out.append(path);
  if (!path.empty()) out.push_back('.');
  out.append(key);
  return out;
}

inline std::string index_key(std::string_view path, std::size_t index) {
  std::string out(path);
  out.append("[").append(std::to_string(index)).append("]");
  return out;
}

}  // namespace trawler::config::detail
