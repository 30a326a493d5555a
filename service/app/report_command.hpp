#pragma once

#include "config/cli.hpp"

namespace trawler::app {

// `trawler report FILE|DIR... [-o FILE]`: one self-contained HTML report of crawl outputs.
int run_report(const config::cli_options& opts);

}  // namespace trawler::app
