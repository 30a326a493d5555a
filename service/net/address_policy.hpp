#pragma once

#include <string_view>

#include "net/ip_address.hpp"

// The SSRF address policy (SPEC config `network.allow_private`: "refuse loopback, private,
// link-local, multicast addresses"). Checked on every resolved address before connecting,
// pinned ones included, so a public name that resolves to 127.0.0.1 is refused too.
namespace trawler::net {

enum class address_class {
  public_unicast,  // globally routable unicast: the only class the default policy allows
  loopback,        // 127/8, ::1
  private_net,     // RFC 1918, CGNAT 100.64/10, ULA fc00::/7, deprecated site-local fec0::/10
  link_local,      // 169.254/16, fe80::/10
  multicast,       // 224/4, ff00::/8
  unspecified,     // 0.0.0.0, :: (connecting to it reaches the local host on Linux)
  reserved,        // documentation, benchmarking, protocol assignments, future use, broadcast,
                   // Teredo, unassigned IPv6 space outside 2000::/3
};

// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses are classified by the IPv4 address they embed, since that is where
// the packets may end up.
address_class classify(const ip_address& a);

// The default policy: everything but public_unicast is refused.
inline bool is_blocked(const ip_address& a) {
  return classify(a) != address_class::public_unicast;
}

// "public", "loopback", "private", "link-local", "multicast", "unspecified", "reserved": for
// the message of a blocked_address record.
std::string_view to_string(address_class c);

}  // namespace trawler::net
