#pragma once

#include "config/cli.hpp"

namespace trawler::app {

// `trawler serve`: runs the control API service until SIGINT/SIGTERM; returns the process
// exit status (0 after a graceful stop, 2 for a config error, 1 for other failures).
int run_serve(const config::cli_options& opts);

}  // namespace trawler::app
