#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace trawler::net {

// An IPv4 or IPv6 address in network byte order. Pure data, so the address policy and the
// --resolve pins need no Asio; the fetch module copies asio::ip::address bytes in and out.
struct ip_address {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};  // IPv4 uses the first 4, the rest stay zero

  friend bool operator==(const ip_address&, const ip_address&) = default;
};

// Strict parse of an address literal: IPv4 as a dotted quad of decimal numbers without
// leading zeros ("1.2.3.4"; no "1.2.3", "0x7f.1", "01.2.3.4"), IPv6 in RFC 4291 text form,
// optionally in brackets ("[::1]"). A zone id ("fe80::1%eth0") is refused: it names a local
// interface, which a crawler never wants. No surrounding whitespace.
std::optional<ip_address> parse_ip(std::string_view text);

// IPv4 dotted quad; IPv6 in RFC 5952 form ("2001:db8::1", "::ffff:1.2.3.4") without brackets:
// add them where a URL or host:port needs them.
std::string to_string(const ip_address& a);

}  // namespace trawler::net
