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

namespace {

// `text` to `path` (- is stdout); a file is written beside, then renamed, so that one being
// viewed is never half written. False after a message on stderr.
bool write_out(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return static_cast<bool>(std::cout);
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file << text;
    if (!file.flush()) {
      std::cerr << "trawler: report: cannot write '" << tmp << "'\n";
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::cerr << "trawler: report: cannot write '" << path << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}

}  // namespace

int run_report(const config::cli_options& opts) {
  if (opts.verbosity < 0) log::set_level(log::level::error);
  // The default name is not replaced unasked: an earlier report there may be the only one of
  // an output since deleted. -o names the file to write, replacing it; --force replaces the
  // default. Checked first, so nothing is read for a report that will not be written.
  // --broken-links alone writes the CSV only; with -o the HTML report too.
  const bool html = opts.report_output || !opts.report_broken_links;
  const std::string out = opts.report_output.value_or("report.html");
  if (html && opts.report_broken_links && *opts.report_broken_links == out) {
    std::cerr << "trawler: report: -o and --broken-links name the same file '" << out << "'\n";
    return 2;
  }
  std::error_code exists_ec;
  if (html && !opts.report_output && !opts.report_force && fs::exists(out, exists_ec)) {
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
  // The broken links' linking pages: a second pass, when any URL answered 4xx or 5xx.
  if (const auto error = report::read_links(files, r.broken_links()); !error.empty()) {
    std::cerr << "trawler: report: " << error << "\n";
    return 1;
  }
  std::string wrote;
  if (html) {
    if (!write_out(out, report::render_html(r, opts.inputs))) return 1;
    wrote = out;
  }
  if (opts.report_broken_links) {
    if (!write_out(*opts.report_broken_links, report::to_csv(r.broken_links().rows()))) return 1;
    wrote += (wrote.empty() ? "" : " and ") + *opts.report_broken_links;
  }
  std::cerr << "trawler: report: " << r.records() << " records (" << r.pages() << " pages, "
            << r.http_errors() << " answered 4xx/5xx, " << r.errors() << " fetch errors, "
            << r.hosts().size() << " hosts) from " << files.size()
            << (files.size() == 1 ? " file" : " files") << "; " << r.broken_links().listed()
            << " broken URLs; wrote " << wrote << "\n";
  return 0;
}

}  // namespace trawler::app
