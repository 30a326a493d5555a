#include "support/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace trawler::testing {

namespace {

bool answers_ping(std::uint16_t port, const std::string& password) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req;
    if (!password.empty()) {
      req += "*2\r\n$4\r\nAUTH\r\n$" + std::to_string(password.size()) + "\r\n" + password + "\r\n";
    }
    req += "*1\r\n$4\r\nPING\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      std::string got;
      char buf[256];
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (got.find("PONG") == std::string::npos && std::chrono::steady_clock::now() < until) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
      }
      ok = got.find("PONG") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

redis_server::redis_server(options opt) : opt_(std::move(opt)) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "trawler-redis-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    why_ = "cannot make a temporary folder";
    return;
  }
  dir_ = tmpl;
  port_ = opt_.port != 0 ? opt_.port : free_port();
  start();
}

redis_server::~redis_server() {
  kill();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool redis_server::start() {
  const char* bin = "/usr/bin/redis-server";
  if (::access(bin, X_OK) != 0) {
    why_ =
        "redis-server is not installed (apt-get install redis-server; scripts/install-deps.sh "
        "does)";
    return false;
  }
  std::vector<std::string> argv = {bin,
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--dir",
                                   dir_,
                                   "--daemonize",
                                   "no",
                                   "--loglevel",
                                   "warning",
                                   "--protected-mode",
                                   "no"};
  if (!opt_.password.empty()) argv.insert(argv.end(), {"--requirepass", opt_.password});
  if (!opt_.acl_user.empty()) {
    argv.insert(argv.end(),
                {"--user", opt_.acl_user, "on", ">" + opt_.acl_password, "~*", "&*", "+@all"});
  }
  proc_ = std::make_unique<running_process>(argv, environment{});
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (answers_ping(port_, opt_.password)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  why_ = "redis-server did not answer on port " + std::to_string(port_) + ": " +
         proc_->err_so_far() + proc_->out_so_far();
  proc_.reset();
  return false;
}

std::string redis_server::url() const {
  std::string auth = opt_.password.empty() ? "" : ":" + opt_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_);
}

void redis_server::kill() {
  if (!proc_) return;
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(10));
  proc_.reset();
}

bool redis_server::restart() {
  kill();
  return start();
}

}  // namespace trawler::testing
