#pragma once

#include <string_view>

namespace trawler::log {

// Logs go to stderr only: stdout may carry the JSONL stream.
enum class level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(level lvl);
// -q (-1): errors only; default (0): warnings; -v (1): info; -vv (2+): debug.
void set_verbosity(int verbosity);
// -q (-1): errors only; default (0): warnings; -v (1): info; -vv (2+): debug.
void set_verbosity(int verbosity);
level current_level();
void write(level lvl, std::string_view message);

inline void error(std::string_view m) {
  write(level::error, m);
}
inline void warn(std::string_view m) {
  write(level::warn, m);
}
inline void info(std::string_view m) {
  write(level::info, m);
}
inline void debug(std::string_view m) {
  write(level::debug, m);
}

}  // namespace trawler::log
