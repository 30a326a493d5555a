#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/process.hpp"

namespace trawler::testing {

// A real redis-server (Debian's redis-server package) on a free 127.0.0.1 port, started by
// the test and killed at the end: no persistence, its own temporary folder. available() is
// false, with why(), only when no redis-server binary can be started here; tests then skip
// with that message.
class redis_server {
 public:
  struct options {
    std::string password;      // requirepass (the default user)
    std::string acl_user;      // an extra ACL user with every permission...
    std::string acl_password;  // ...and this password
    std::uint16_t port = 0;    // 0: a free port
  };
  explicit redis_server(options opt);
  redis_server() : redis_server(options{}) {}
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  bool available() const { return proc_ != nullptr; }
  const std::string& why() const { return why_; }
  std::uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT (with the password when one is set)

  // SIGKILL, and start again on the same port (with nothing kept: no persistence).
  void kill();
  bool restart();

 private:
  bool start();
  options opt_;
  std::uint16_t port_ = 0;
  std::string dir_;
  std::string why_;
  std::unique_ptr<running_process> proc_;
};

// Skips the test, with the reason, where no redis-server could be started.
#define NEED_REDIS(server)                                     \
  do {                                                         \
    if (!(server).available()) GTEST_SKIP() << (server).why(); \
  } while (0)

// A loopback TCP port that nothing listens on at the moment of the call.
std::uint16_t free_port();

}  // namespace trawler::testing
