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
#include <vector>

#include "benchsite/site.hpp"
#include "benchsite/site_server.hpp"

namespace {

constexpr std::string_view usage_text =
    "usage: trawler-bench-site [--bind ADDR] [--port N] [--pages N] [--hosts H]\n"
    "                          [--page-bytes B] [--links L] [--seed S] [--delay-ms D]\n"
    "                          [--list FILE] [--stats FILE] [--validators]\n"
    "                          [--changes [--day-ms D] [--truth FILE] ...]\n"
    "Serves a generated site of N pages over hosts host0.bench ... host<H-1>.bench\n"
    "(told apart by the Host header) until SIGINT/SIGTERM, and prints the seed URL\n"
    "http://host0.bench:PORT/ once listening. Defaults: 127.0.0.1, port 0 (any), 2000\n"
    "pages, 1 host, 28000 bytes, 34 links, seed 1, no delay.\n"
    "  --delay-ms D   wait D ms before every response (latency without netem)\n"
    "  --list FILE    write every page's URL (the ground truth), one per line\n"
    "  --stats FILE   on stop, write JSON: distinct pages served, duplicates, 404s\n"
    "  --validators   pages carry an ETag and Last-Modified; a matching conditional\n"
    "                 request gets a 304 (recrawl benchmarks)\n"
    "The change model (bench/README.md \"Live freshness\"; off unless --changes):\n"
    "  --changes      pages change, appear, disappear and flap on a simulated clock;\n"
    "                 hosts differ in validators (--validator-hosts)\n"
    "  --day-ms D     a simulated day lasts D ms of wall time (default 86400000)\n"
    "  --horizon-days N       simulated days modelled; nothing changes after (60)\n"
    "  --classes H,D,W,C      shares of pages changing hourly, daily, weekly, and of\n"
    "                 churn-only pages (a nonce in every response); the rest never\n"
    "                 change (0.05,0.2,0.45,0.1); front pages are hubs\n"
    "  --deleted S    share deleted at a random time, half 404, half 410 (0.01)\n"
    "  --flapping S   share answering 404 for a while now and then (0.03)\n"
    "  --flap-every-days D    mean simulated days between two flaps of a page (2)\n"
    "  --flap-minutes A,B     a flap lasts A to B simulated minutes (5,30)\n"
    "  --new-pages N  pages appearing over the horizon, linked from their host's\n"
    "                 front page (0)\n"
    "  --validator-hosts LIST what hosts do with validators, cycled over the hosts:\n"
    "                 both, etag, last-modified, none, ignore (always 200)\n"
    "                 (default both,etag,last-modified,none,ignore)\n"
    "  --truth FILE   on stop, write the ground truth (JSON Lines): every page's\n"
    "                 versions, births, deletions and flaps, and every page answer\n";

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "a,b,c" into numbers; false unless there are exactly `out.size()`.
bool parse_list(std::string_view text, std::vector<double*> out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto comma = text.find(',');
    const bool last = i + 1 == out.size();
    if (last != (comma == std::string_view::npos)) return false;
    if (!parse_number(text.substr(0, comma), *out[i])) return false;
    if (!last) text.remove_prefix(comma + 1);
  }
  return true;
}

bool parse_modes(std::string_view text, std::vector<trawler::benchsite::validator_mode>& out) {
  out.clear();
  while (true) {
    const auto comma = text.find(',');
    const auto m = trawler::benchsite::parse_validator_mode(text.substr(0, comma));
    if (!m) return false;
    out.push_back(*m);
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trawler::benchsite;
  site_options site_opt;
  site_server::options server_opt;
  std::string bind = "127.0.0.1";
  std::string list_path;
  std::string stats_path;
  std::string truth_path;
  bool change_flags = false;  // a change-model option was given
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
    if (flag == "--changes") {
      site_opt.changes.enabled = true;
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
    } else if (flag == "--day-ms") {
      ok = parse_number(value, server_opt.day_ms) && server_opt.day_ms >= 1;
      change_flags = true;
    } else if (flag == "--horizon-days") {
      ok = parse_number(value, site_opt.changes.horizon_days);
      change_flags = true;
    } else if (flag == "--classes") {
      auto& c = site_opt.changes;
      ok = parse_list(value, {&c.hourly, &c.daily, &c.weekly, &c.churn});
      change_flags = true;
    } else if (flag == "--deleted") {
      ok = parse_number(value, site_opt.changes.deleted);
      change_flags = true;
    } else if (flag == "--flapping") {
      ok = parse_number(value, site_opt.changes.flapping);
      change_flags = true;
    } else if (flag == "--flap-every-days") {
      ok = parse_number(value, site_opt.changes.flap_every_days);
      change_flags = true;
    } else if (flag == "--flap-minutes") {
      auto& c = site_opt.changes;
      ok = parse_list(value, {&c.flap_min_minutes, &c.flap_max_minutes});
      change_flags = true;
    } else if (flag == "--new-pages") {
      ok = parse_number(value, site_opt.changes.new_pages);
      change_flags = true;
    } else if (flag == "--validator-hosts") {
      ok = parse_modes(value, site_opt.changes.hosts);
      change_flags = true;
    } else if (flag == "--truth") {
      truth_path = value;
      change_flags = true;
    } else {
      std::cerr << "trawler-bench-site: unknown option " << flag << "\n" << usage_text;
      return 2;
    }
    if (!ok) {
      std::cerr << "trawler-bench-site: bad value for " << flag << ": " << value << "\n";
      return 2;
    }
  }

  if (change_flags && !site_opt.changes.enabled) {
    std::cerr << "trawler-bench-site: the change model's options need --changes\n";
    return 2;
  }
  if (site_opt.changes.enabled && server_opt.validators) {
    std::cerr << "trawler-bench-site: --validators and --changes do not go together (with the "
                 "change model, --validator-hosts says what each host does)\n";
    return 2;
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
      if (!truth_path.empty()) {
        std::ofstream out(truth_path, std::ios::trunc);
        server.write_truth(out);
        if (!out) std::cerr << "trawler-bench-site: cannot write " << truth_path << "\n";
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
