#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "net/ip_address.hpp"

namespace trawler::net {

// Name-to-address pins, as curl's --resolve (SPEC `network.resolve` and `--resolve`): a pinned
// host:port skips DNS. Pinned addresses still go through the address policy.
class resolve_pins {
 public:
  // host_port is "host:port" (a config `network.resolve` key): host is a name, compared
  // case-insensitively, or an IP literal (IPv6 in brackets: "[::1]:8080"); port is 1-65535.
  // address is an IP literal, IPv6 with or without brackets. A later pin for the same
  // host:port replaces the earlier one. Returns false, changing nothing, when either part is
  // malformed, so a config loader can name the bad entry.
  bool add(std::string_view host_port, std::string_view address);

  // One --resolve option value, "host:port:address" as curl takes it (one address; curl's
  // "+", "-" and "*" forms are not supported). Returns false when malformed.
  bool add_option(std::string_view spec);

  // host as in a URL (brackets around IPv6 literals); any case.
  std::optional<ip_address> find(std::string_view host, std::uint16_t port) const;

  bool empty() const { return pins_.empty(); }
  std::size_t size() const { return pins_.size(); }

 private:
  struct key {
    std::string host;  // lowercase; IPv6 literals bracketed in RFC 5952 form
    std::uint16_t port;
  };
  struct key_view {
    std::string_view host;
    std::uint16_t port;
  };
  // Case-insensitive, and transparent so that find() builds no string for a name.
  struct key_less {
    using is_transparent = void;
    bool operator()(const key& a, const key& b) const {
      return less(a.host, a.port, b.host, b.port);
    }
    bool operator()(const key& a, const key_view& b) const {
      return less(a.host, a.port, b.host, b.port);
    }
    bool operator()(const key_view& a, const key& b) const {
      return less(a.host, a.port, b.host, b.port);
    }
    static bool less(std::string_view ah, std::uint16_t ap, std::string_view bh, std::uint16_t bp);
  };

  std::map<key, ip_address, key_less> pins_;
};

}  // namespace trawler::net
