#include "net/ip_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace trawler::net {

std::optional<ip_address> parse_ip(std::string_view text) {
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    if (text.size() < 2 || text.back() != ']') return std::nullopt;
    text = text.substr(1, text.size() - 2);
    bracketed = true;
  }
  // inet_pton needs a NUL-terminated string; the longest valid literal is
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 characters).
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  if (text.find('%') != std::string_view::npos || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  ip_address a;
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    a.v6 = true;
    return a;
  }
  // glibc's inet_pton already refuses leading zeros and short forms for AF_INET, unlike
  // inet_aton; IPv4 in brackets is not a thing.
  if (bracketed || inet_pton(AF_INET, buf, a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::string to_string(const ip_address& a) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

}  // namespace trawler::net
