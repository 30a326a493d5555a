#pragma once

#include "config/cli.hpp"

namespace trawler::app {

// `trawler crawl`: runs one crawl to its end; returns the process exit status (SPEC).
int run_crawl(const config::cli_options& opts);

}  // namespace trawler::app
