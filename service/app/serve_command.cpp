#include "app/serve_command.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/crawl_manager.hpp"
#include "api/router.hpp"
#include "api/server.hpp"
#include "api/service_paths.hpp"
#include "common/log.hpp"

namespace trawler::app {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

int config_error(const std::string& key, const std::string& message) {
  std::cerr << "trawler: " << key << ": " << message << "\n";
  return 2;
}

struct listen_spec {
  std::string host;  // without IPv6 brackets
  std::string port;
};

// "HOST:PORT" or "[V6]:PORT" (the config module checked the shape).
listen_spec split_listen(const std::string& s) {
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    return {s.substr(1, close - 1), s.substr(close + 2)};
  }
  auto colon = s.rfind(':');
  return {s.substr(0, colon), s.substr(colon + 1)};
}

bool is_loopback(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).is_loopback();
  }
  return a.is_loopback();
}

}  // namespace

int run_serve(const config::cli_options& opts) {
  log::set_verbosity(opts.verbosity);
  auto loaded = config::build_crawl_config(opts);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) std::cerr << "trawler: " << e.text() << "\n";
    return 2;
  }
  const config::crawl_config& cfg = loaded.config;

  asio::io_context io(1);

  // The address to bind: a numeric one as is, a name through the resolver (its first answer).
  auto [host, port_text] = split_listen(cfg.api.listen);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port_text, tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return config_error("api.listen", "cannot resolve \"" + host + "\": " +
                                            (ec ? ec.message() : std::string("no address")));
    }
    address = results.begin()->endpoint().address();
  }
  if (!is_loopback(address) && cfg.api.token.empty()) {
    return config_error("api.token",
                        "required when api.listen (" + cfg.api.listen +
                            ") is not a loopback address: set a bearer token, or listen on "
                            "127.0.0.1");
  }
  auto port = static_cast<std::uint16_t>(std::stoul(port_text));

  fs::path data_dir = fs::absolute(cfg.api.data_dir, ec).lexically_normal();
  if (!ec) fs::create_directories(data_dir, ec);
  if (ec) {
    return config_error("api.data_dir",
                        "cannot create \"" + cfg.api.data_dir + "\": " + ec.message());
  }
  if (::access(data_dir.c_str(), W_OK | X_OK) != 0) {
    return config_error("api.data_dir", "\"" + data_dir.string() + "\" is not writable");
  }

  // Checked now rather than refusing every crawl later.
  if (auto e = api::check_service_paths(cfg)) {
    return config_error(e->key, e->message +
                                    " (crawls created by the service write inside "
                                    "their folder under api.data_dir)");
  }

  // The file's crawl keys are every posted crawl's defaults; its seeds are not (a posted
  // crawl brings its own), and api is the service's.
  nlohmann::json defaults = config::to_json(cfg);
  defaults.erase("api");
  defaults.erase("seeds");

  api::crawl_manager manager(io.get_executor(), api::manager_options{data_dir});
  for (const auto& w : manager.load_existing()) log::warn(w);
  api::router routes(manager, api::router_options{cfg.api.token, std::move(defaults)});
  api::server http(io.get_executor(), routes);
  std::string bind_error = http.listen(address.to_string(), port);
  if (!bind_error.empty()) {
    std::cerr << "trawler: api.listen: cannot listen on " << bind_error << "\n";
    return 1;
  }

  int exit_status = 0;
  int signals_seen = 0;
  bool stopped = false;  // a signal handler already queued then must not re-arm
  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void()> arm_signals = [&] {
    signals.async_wait([&](const boost::system::error_code& sec, int signo) {
      if (sec || stopped) return;
      ++signals_seen;
      if (signals_seen == 1) {
        log::warn(std::string("caught ") + (signo == SIGINT ? "SIGINT" : "SIGTERM") +
                  ": stopping the crawls (send it again to stop at once)");
        http.stop();
        manager.shutdown([&] {
          stopped = true;
          signals.cancel();
        });
      } else {
        manager.shutdown_now();
        exit_status = 1;
      }
      arm_signals();
    });
  };
  arm_signals();

  http.start();
  manager.start();
  // Crawls that were running when the service last stopped go on from their state.
  if (auto resumed = manager.resume_interrupted(); resumed > 0) {
    log::warn("resumed " + std::to_string(resumed) + " unfinished crawl(s)");
  }
  std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  std::cerr << "trawler: listening on http://" << shown << ":" << http.port() << std::endl;
  io.run();
  return exit_status;
}

}  // namespace trawler::app
