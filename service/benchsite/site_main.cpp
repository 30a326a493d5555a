// trawler-bench-site: serves the benchmark site (benchsite/site.hpp) until SIGINT or SIGTERM.
// Prints the seed URL on stdout once listening; on stop, writes what was served (--stats).
#include <sys/resource.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "benchsite/site.hpp"
#include "benchsite/site_server.hpp"

namespace {

constexpr std::string_view usage_text =
    "usage: trawler-bench-site [--bind ADDR] [--port N] [--pages N] [--hosts H]\n"
    "                          [--page-bytes B] [--links L] [--seed S] [--delay-ms D]\n"
    "                          [--list FILE] [--stats FILE] [--validators]\n"
    "Serves a generated site of N pages over hosts host0.bench ... host<H-1>.bench\n"
    "(told apart by the Host header) until SIGINT/SIGTERM, and prints the seed URL\n"
    "http://host0.bench:PORT/ once listening. Defaults: 127.0.0.1, port 0 (any), 2000\n"
    "pages, 1 host, 28000 bytes, 34 links, seed 1, no delay.\n"
    "  --delay-ms D   wait D ms before every response (latency without netem)\n"
    "  --list FILE    write every page's URL (the ground truth), one per line\n"
    "  --stats FILE   on stop, write JSON: distinct pages served, duplicates, 404s\n"
    "  --validators   pages carry an ETag and Last-Modified; a matching conditional\n"
    "                 request gets a 304 (recrawl benchmarks)\n";

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trawler::benchsite;
  site_options site_opt;
  site_server::options server_opt;
  std::string bind = "127.0.0.1";
  std::string list_path;
  std::string stats_path;
  unsigned port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage_text;
      return 0;
    }
    if (flag == "--validators") {
      server_opt.validators = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "trawler-bench-site: " << flag << " needs a value\n";
      return 2;
    }
    const std::string_view value = argv[++i];
    bool ok = true;
    long long delay = 0;
    if (flag == "--bind") {
      bind = value;
    } else if (flag == "--port") {
      ok = parse_number(value, port) && port <= 65535;
    } else if (flag == "--pages") {
      ok = parse_number(value, site_opt.pages) && site_opt.pages >= 1;
    } else if (flag == "--hosts") {
      ok = parse_number(value, site_opt.hosts) && site_opt.hosts >= 1;
    } else if (flag == "--page-bytes") {
      ok = parse_number(value, site_opt.page_bytes);
    } else if (flag == "--links") {
      ok = parse_number(value, site_opt.links) && site_opt.links >= 0;
    } else if (flag == "--seed") {
      ok = parse_number(value, site_opt.seed);
    } else if (flag == "--delay-ms") {
      ok = parse_number(value, delay) && delay >= 0;
      server_opt.delay = std::chrono::milliseconds(delay);
    } else if (flag == "--list") {
      list_path = value;
    } else if (flag == "--stats") {
      stats_path = value;
    } else {
      std::cerr << "trawler-bench-site: unknown option " << flag << "\n" << usage_text;
      return 2;
    }
    if (!ok) {
      std::cerr << "trawler-bench-site: bad value for " << flag << ": " << value << "\n";
      return 2;
    }
  }

  try {
    boost::asio::io_context io(1);
    site_server server(io.get_executor(), server_opt);
    // The port goes into the pages' absolute links, so bind before rendering.
    site_opt.port = server.listen(bind, static_cast<std::uint16_t>(port));
    const site pages(site_opt);
    if (!list_path.empty()) {
      std::ofstream out(list_path, std::ios::trunc);
      for (const auto& u : pages.ground_truth()) out << u << '\n';
      if (!out) {
        std::cerr << "trawler-bench-site: cannot write " << list_path << "\n";
        return 1;
      }
    }
    server.serve(pages);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      server.stop();
      if (!stats_path.empty()) {
        // The server's own cost, so a driver can tell it apart from the crawler's.
        rusage self{};
        getrusage(RUSAGE_SELF, &self);
        auto seconds = [](const timeval& tv) {
          return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
        };
        auto j = nlohmann::json::parse(server.stats().to_json());
        j["cpu_user_s"] = seconds(self.ru_utime);
        j["cpu_sys_s"] = seconds(self.ru_stime);
        j["rss_kb"] = self.ru_maxrss;
        std::ofstream out(stats_path, std::ios::trunc);
        out << j.dump() << '\n';
      }
      io.stop();
    });
    std::cout << pages.origin(0) << "/" << std::endl;
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "trawler-bench-site: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
