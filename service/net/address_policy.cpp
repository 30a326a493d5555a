#include "net/address_policy.hpp"

#include <cstdint>

namespace trawler::net {

namespace {

struct v4_range {
  std::uint32_t prefix;
  int length;
  address_class cls;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// IANA IPv4 Special-Purpose Address Registry, most specific first where ranges nest. A few
// entries the registry marks globally reachable (192.0.0.9/32, 192.0.0.10/32 anycast) stay
// refused with their /24: no web site lives there.
constexpr v4_range v4_ranges[] = {
    {v4(0, 0, 0, 0), 32, address_class::unspecified},
    {v4(0, 0, 0, 0), 8, address_class::reserved},  // "this network"
    {v4(10, 0, 0, 0), 8, address_class::private_net},
    {v4(100, 64, 0, 0), 10, address_class::private_net},  // CGNAT shared space, RFC 6598
    {v4(127, 0, 0, 0), 8, address_class::loopback},
    {v4(169, 254, 0, 0), 16, address_class::link_local},
    {v4(172, 16, 0, 0), 12, address_class::private_net},
    {v4(192, 0, 0, 0), 24, address_class::reserved},    // IETF protocol assignments
    {v4(192, 0, 2, 0), 24, address_class::reserved},    // TEST-NET-1
    {v4(192, 88, 99, 0), 24, address_class::reserved},  // deprecated 6to4 relay anycast
    {v4(192, 168, 0, 0), 16, address_class::private_net},
    {v4(198, 18, 0, 0), 15, address_class::reserved},    // benchmarking
    {v4(198, 51, 100, 0), 24, address_class::reserved},  // TEST-NET-2
    {v4(203, 0, 113, 0), 24, address_class::reserved},   // TEST-NET-3
    {v4(224, 0, 0, 0), 4, address_class::multicast},
    {v4(240, 0, 0, 0), 4, address_class::reserved},  // future use, and 255.255.255.255 broadcast
};

address_class classify_v4(const unsigned char* b) {
  const std::uint32_t x = v4(b[0], b[1], b[2], b[3]);
  for (const v4_range& r : v4_ranges) {
    const std::uint32_t mask = r.length == 0 ? 0 : ~std::uint32_t{0} << (32 - r.length);
    if ((x & mask) == r.prefix) return r.cls;
  }
  return address_class::public_unicast;
}

struct v6_range {
  unsigned char prefix[16];
  int length;
  address_class cls;
};

// Ranges with no embedded IPv4 address, most specific first. Anything else outside
// 2000::/3 is unassigned (RFC 4291 2.4) and refused.
constexpr v6_range v6_ranges[] = {
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, address_class::reserved},  // local NAT64, RFC 8215
    {{0x01, 0x00}, 64, address_class::reserved},                          // discard-only
    {{0x20, 0x01, 0x0d, 0xb8}, 32, address_class::reserved},              // documentation
    // IETF protocol assignments, Teredo 2001::/32 among them (its embedded address is
    // obfuscated and the relay is outside our control).
    {{0x20, 0x01, 0x00, 0x00}, 23, address_class::reserved},
    {{0x3f, 0xff}, 20, address_class::reserved},  // documentation, RFC 9637
    {{0xfc}, 7, address_class::private_net},      // unique local
    {{0xfe, 0x80}, 10, address_class::link_local},
    {{0xfe, 0xc0}, 10, address_class::private_net},  // deprecated site-local
    {{0xff}, 8, address_class::multicast},
    {{0x20}, 3, address_class::public_unicast},
};

bool has_prefix(const unsigned char* b, const unsigned char* prefix, int length) {
  int i = 0;
  for (; length >= 8; ++i, length -= 8) {
    if (b[i] != prefix[i]) return false;
  }
  if (length == 0) return true;
  const unsigned mask = (0xffu << (8 - length)) & 0xffu;
  return (b[i] & mask) == (prefix[i] & mask);
}

address_class classify_v6(const unsigned char* b) {
  constexpr unsigned char zeros[16] = {};
  constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  constexpr unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
  constexpr unsigned char six_to_four[2] = {0x20, 0x02};

  if (has_prefix(b, zeros, 120)) {
    if (b[15] == 0) return address_class::unspecified;
    if (b[15] == 1) return address_class::loopback;
  }
  if (has_prefix(b, mapped, 96) || has_prefix(b, zeros, 96) || has_prefix(b, nat64, 96)) {
    return classify_v4(b + 12);
  }
  if (has_prefix(b, six_to_four, 16)) return classify_v4(b + 2);
  for (const v6_range& r : v6_ranges) {
    if (has_prefix(b, r.prefix, r.length)) return r.cls;
  }
  return address_class::reserved;
}

}  // namespace

address_class classify(const ip_address& a) {
  return a.v6 ? classify_v6(a.bytes.data()) : classify_v4(a.bytes.data());
}

std::string_view to_string(address_class c) {
  switch (c) {
    case address_class::public_unicast:
      return "public";
    case address_class::loopback:
      return "loopback";
    case address_class::private_net:
      return "private";
    case address_class::link_local:
      return "link-local";
    case address_class::multicast:
      return "multicast";
    case address_class::unspecified:
      return "unspecified";
    case address_class::reserved:
      break;
  }
  return "reserved";
}

}  // namespace trawler::net
