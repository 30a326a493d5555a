#pragma once

#include "config/cli.hpp"

namespace trawler::app {

// `trawler bench`: serves the generated benchmark site (benchsite/) from a child process on
// loopback, crawls it, and prints pages/s, CPU per page, peak RSS and event-loop lag.
// Returns the process exit status. Must run before this process starts any thread: it forks.
int run_bench(const config::cli_options& opts);

}  // namespace trawler::app
