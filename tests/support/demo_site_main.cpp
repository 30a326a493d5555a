// trawler-demo-site: serves a generated site on 127.0.0.1 for the quick start and the
// benchmarks. Prints its base URL once listening, serves until SIGINT or SIGTERM.
#include "support/demo_site.hpp"
#include "support/test_server.hpp"

#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>

namespace {

void usage(std::FILE* to) {
  std::fputs(
      "usage: trawler-demo-site [--port N] [--pages N] [--links N] [--page-bytes N]\n"
      "                         [--seed N] [--origin URL]\n"
      "Defaults: port 0 (any), 50 pages, 8 links, 4000 bytes, seed 1.\n"
      "Serves a generated site on 127.0.0.1 until SIGINT/SIGTERM; prints its URL first.\n"
      "--origin sets the scheme://host:port written in absolute links (default: the\n"
      "server's own http://127.0.0.1:PORT).\n",
      to);
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trawler::testing;
  site_options site;
  int port = 0;
  std::string origin;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "trawler-demo-site: %s needs a value\n", argv[i]);
      return 2;
    }
    const std::string_view value = argv[++i];
    bool ok = true;
    if (flag == "--port")
      ok = parse_number(value, port) && port >= 0 && port <= 65535;
    else if (flag == "--pages")
      ok = parse_number(value, site.pages) && site.pages >= 1;
    else if (flag == "--links")
      ok = parse_number(value, site.links_per_page) && site.links_per_page >= 0;
    else if (flag == "--page-bytes")
      ok = parse_number(value, site.page_bytes);
    else if (flag == "--seed")
      ok = parse_number(value, site.seed);
    else if (flag == "--origin")
      origin = value;
    else {
      std::fprintf(stderr, "trawler-demo-site: unknown flag %s\n", argv[i - 1]);
      usage(stderr);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "trawler-demo-site: bad value for %s: %s\n", argv[i - 1], argv[i]);
      return 2;
    }
  }

  // Blocked before the server thread starts, so that thread inherits the mask and the
  // signals wait for sigwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    test_server server(test_server::options{
        .tls = false, .port = static_cast<std::uint16_t>(port), .log_requests = false});
    site.origin = origin.empty() ? server.base_url() : origin;
    for (int i = 0; i < site.pages; ++i) server.add_html(page_path(i), render_page(site, i));
    std::cout << server.base_url() << "/" << std::endl;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "trawler-demo-site: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trawler-demo-site: %s\n", e.what());
    return 1;
  }
  return 0;
}
