#include "common/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace trawler::log {
namespace {
std::atomic<level> g_level{level::warn};
std::mutex g_mutex;

const char* prefix(level lvl) {
  switch (lvl) {
    case level::error:
      return "error";
    case level::warn:
      return "warn";
    case level::info:
      return "info";
    case level::debug:
      return "debug";
  }
  return "log";
}
}  // namespace

void set_level(level lvl) {
  g_level = lvl;
}
void set_verbosity(int verbosity) {
  if (verbosity < 0) {
    set_level(level::error);
  } else if (verbosity == 0) {
    set_level(level::warn);
  } else if (verbosity == 1) {
    set_level(level::info);
  } else {
    set_level(level::debug);
  }
}

level current_level() {
  return g_level;
}

void write(level lvl, std::string_view message) {
  if (static_cast<int>(lvl) > static_cast<int>(g_level.load())) return;
  std::string line = "trawler: ";
  line += prefix(lvl);
  line += ": ";
  line += message;
  line += '\n';
  // One fwrite per line under a lock so lines from the parse pool never interleave.
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace trawler::log
