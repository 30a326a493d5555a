#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Where a crawl's Redis is: `redis://[[user]:password@]host[:port][/db]` (the scheme of the
// IANA registration and of every Redis client). Pure: parsing only.
namespace trawler::redis {

struct endpoint {
  std::string host = "127.0.0.1";  // a name or an address literal, IPv6 without brackets
  std::uint16_t port = 6379;
  std::string user;      // empty: the default user (AUTH with the password alone)
  std::string password;  // empty: no AUTH
  int db = 0;            // SELECT, when not 0

  // host:port as people write it ("[::1]:6380"); never the password.
  std::string address() const;
};

struct parsed_endpoint {
  std::optional<endpoint> value;
  std::string error;  // why it is not a Redis URL, when value is empty
};

// User and password may be percent-encoded (a password with '@' or ':'). The db is 0 to
// 1000000 (Redis' own limit is a configuration value; SELECT reports a db past it).
parsed_endpoint parse_url(std::string_view url);

}  // namespace trawler::redis
