#include "app/report_command.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "common/log.hpp"
#include "report/crawl_report.hpp"
#include "sink/line_reader.hpp"

namespace trawler::app {

namespace fs = std::filesystem;

int run_report(const config::cli_options& opts) {
  if (opts.verbosity < 0) log::set_level(log::level::error);
  // The default name is not replaced unasked: an earlier report there may be the only one of
  // an output since deleted. -o names the file to write, replacing it; --force replaces the
  // default. Checked first, so nothing is read for a report that will not be written.
  const std::string out = opts.report_output.value_or("report.html");
  std::error_code exists_ec;
  if (!opts.report_output && !opts.report_force && fs::exists(out, exists_ec)) {
    std::cerr << "trawler: report: " << out << " exists: pass -o FILE to write elsewhere (or -o "
              << out << " to replace it), or --force\n";
    return 2;
  }
  std::vector<std::string> files;
  for (const auto& arg : opts.inputs) {
    std::string error;
    std::size_t open_parts = 0;
    auto more = sink::output_files(arg, error, open_parts);
    if (open_parts > 0) {
      log::warn(arg + ": " + std::to_string(open_parts) +
                " open segment(s) (.part) left out: they are still being written");
    }
    if (!error.empty()) {
      std::cerr << "trawler: report: " << error << "\n";
      return 2;
    }
    files.insert(files.end(), more.begin(), more.end());
  }
  report::crawl_report r;
  for (const auto& f : files) {
    const auto read = sink::for_each_line(f, [&r](std::string_view line) { r.add_line(line); });
    if (!read.error.empty()) {
      std::cerr << "trawler: report: " << read.error << "\n";
      return 1;
    }
    if (read.torn_tail) log::warn(f + ": ends inside a line (a crash, or still being written)");
  }
  const std::string html = report::render_html(r, opts.inputs);
  if (out == "-") {
    std::cout << html << std::flush;
    if (!std::cout) return 1;
  } else {
    // Written beside, then renamed: a report being viewed is never half of one.
    const std::string tmp = out + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
      file << html;
      if (!file.flush()) {
        std::cerr << "trawler: report: cannot write '" << tmp << "'\n";
        return 1;
      }
    }
    std::error_code ec;
    fs::rename(tmp, out, ec);
    if (ec) {
      std::cerr << "trawler: report: cannot write '" << out << "': " << ec.message() << "\n";
      return 1;
    }
  }
  std::cerr << "trawler: report: " << r.records() << " records (" << r.pages() << " pages, "
            << r.errors() << " errors, " << r.hosts().size() << " hosts) from " << files.size()
            << (files.size() == 1 ? " file" : " files") << "; wrote " << out << "\n";
  return 0;
}

}  // namespace trawler::app
