#pragma once

#include "config/cli.hpp"

namespace trawler::app {

// `trawler explain URL [FILE|DIR...] [--state-dir DIR] [-c FILE] [--json]`: one URL's fate.
int run_explain(const config::cli_options& opts);

}  // namespace trawler::app
