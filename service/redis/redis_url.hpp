#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

struct parsed_endpoints {
  std::vector<endpoint> values;  // empty when error is set
  std::string error;             // names the URL that is wrong (never its password) and why
};

// Several nodes of one Redis Cluster (seeds): one URL or several separated by commas, blanks
// around each ignored ("redis://a:7000, redis://b:7001"). A comma inside a password must be
// percent-encoded (%2C). No URL at all, or an empty one between commas, is an error.
parsed_endpoints parse_urls(std::string_view urls);

}  // namespace trawler::redis
