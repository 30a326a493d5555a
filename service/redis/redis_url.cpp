#include "redis/redis_url.hpp"

#include <charconv>

namespace trawler::redis {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;  // "%" or "%4" at the end
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

template <class Int>
std::optional<Int> parse_number(std::string_view s, Int low, Int high) {
  Int n{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size() || n < low || n > high) return std::nullopt;
  return n;
}

parsed_endpoint fail(std::string why) {
  return parsed_endpoint{std::nullopt, std::move(why)};
}

}  // namespace

std::string endpoint::address() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

parsed_endpoint parse_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    return fail("must start with redis:// (redis://[user:password@]host:port[/db])");
  }
  std::string_view rest = url.substr(scheme.size());
  endpoint ep;

  // The path: "/db", or nothing.
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("query and fragment are not supported");
  }
  if (!path.empty()) {
    auto db = parse_number<int>(path, 0, 1000000);
    if (!db) return fail("the path must be a database number, got \"/" + std::string(path) + "\"");
    ep.db = *db;
  }

  // Credentials: everything before the last '@' (a raw '@' in a password is tolerated).
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view user = cred;
    std::string_view password;
    bool has_password = false;
    if (const auto colon = cred.find(':'); colon != std::string_view::npos) {
      user = cred.substr(0, colon);
      password = cred.substr(colon + 1);
      has_password = true;
    }
    auto u = percent_decode(user);
    auto pw = percent_decode(password);
    if (!u || !pw) return fail("bad percent-encoding in the user or password");
    if (!has_password) {
      // redis://secret@host: the one part is the password (the default user), as redis-cli.
      ep.password = *u;
    } else {
      ep.user = *u;
      ep.password = *pw;
    }
  }

  // host[:port], with IPv6 in brackets.
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("unclosed [ in the host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return fail("empty port");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return fail("empty port");
  }
  if (host.empty()) return fail("no host");
  if (host.find_first_of(" \t/@[]") != std::string_view::npos) {
    return fail("bad host \"" + std::string(host) + "\"");
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    auto p = parse_number<int>(port, 1, 65535);
    if (!p)
      return fail("the port must be a number from 1 to 65535, got \"" + std::string(port) + "\"");
    ep.port = static_cast<std::uint16_t>(*p);
  }
  return parsed_endpoint{std::move(ep), {}};
}

namespace {

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// The URL as an error message may show it: the password replaced by "***".
std::string shown(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) return std::string(url);
  std::string_view rest = url.substr(scheme.size());
  const auto at = rest.substr(0, rest.find('/')).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  const std::string_view cred = rest.substr(0, at);
  const auto colon = cred.find(':');
  const std::string user =
      colon == std::string_view::npos ? "" : std::string(cred.substr(0, colon));
  return std::string(scheme) + user + ":***" + std::string(rest.substr(at));
}

}  // namespace

parsed_endpoints parse_urls(std::string_view urls) {
  parsed_endpoints out;
  if (trim(urls).empty()) {
    out.error =
        "no Redis URL (redis://[user:password@]host:port[/db], several separated by commas)";
    return out;
  }
  std::size_t item = 0;
  for (;;) {
    ++item;
    const auto comma = urls.find(',');
    const std::string_view one = trim(urls.substr(0, comma));
    if (one.empty()) {
      out.values.clear();
      out.error = "URL " + std::to_string(item) + " of the list is empty (a comma too many?)";
      return out;
    }
    auto parsed = parse_url(one);
    if (!parsed.value) {
      out.values.clear();
      out.error = "\"" + shown(one) + "\": " + parsed.error;
      return out;
    }
    out.values.push_back(std::move(*parsed.value));
    if (comma == std::string_view::npos) break;
    urls.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace trawler::redis
