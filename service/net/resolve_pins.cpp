#include "net/resolve_pins.hpp"

#include <algorithm>
#include <charconv>

namespace trawler::net {

namespace {

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

// A host as a pin key: lowercase, and an IPv6 literal in one canonical spelling so that
// "[0:0::1]" and "[::1]" are the same pin. nullopt for something that is no host.
std::optional<std::string> canonical_host(std::string_view host) {
  if (host.empty()) return std::nullopt;
  if (host.front() == '[') {
    const auto ip = parse_ip(host);
    if (!ip || !ip->v6) return std::nullopt;
    return "[" + to_string(*ip) + "]";
  }
  // Names and IPv4 literals; anything that could not sit in a URL authority is refused.
  if (host.find_first_of(":/?#[]@ \t\r\n") != std::string_view::npos) return std::nullopt;
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

}  // namespace

bool resolve_pins::key_less::less(std::string_view ah, std::uint16_t ap, std::string_view bh,
                                  std::uint16_t bp) {
  if (ap != bp) return ap < bp;
  return std::lexicographical_compare(ah.begin(), ah.end(), bh.begin(), bh.end(),
                                      [](char x, char y) {
                                        return static_cast<unsigned char>(ascii_lower(x)) <
                                               static_cast<unsigned char>(ascii_lower(y));
                                      });
}

bool resolve_pins::add(std::string_view host_port, std::string_view address) {
  const std::size_t colon = host_port.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = host_port.substr(0, colon);
  // An unbracketed IPv6 literal would leave a colon in the host part.
  if (host.find(':') != std::string_view::npos && host.front() != '[') return false;
  auto canonical = canonical_host(host);
  const auto port = parse_port(host_port.substr(colon + 1));
  const auto ip = parse_ip(address);
  if (!canonical || !port || !ip) return false;
  pins_.insert_or_assign(key{std::move(*canonical), *port}, *ip);
  return true;
}

bool resolve_pins::add_option(std::string_view spec) {
  std::size_t host_end = 0;
  if (!spec.empty() && spec.front() == '[') {
    host_end = spec.find(']');
    if (host_end == std::string_view::npos) return false;
    ++host_end;
  } else {
    host_end = spec.find(':');
  }
  if (host_end == std::string_view::npos || host_end >= spec.size() || spec[host_end] != ':') {
    return false;
  }
  const std::size_t port_end = spec.find(':', host_end + 1);
  if (port_end == std::string_view::npos) return false;
  return add(spec.substr(0, port_end), spec.substr(port_end + 1));
}

std::optional<ip_address> resolve_pins::find(std::string_view host, std::uint16_t port) const {
  if (pins_.empty()) return std::nullopt;
  if (!host.empty() && host.front() == '[') {
    // Rare: an IPv6 literal host; bring it to the spelling the pins use.
    const auto canonical = canonical_host(host);
    if (!canonical) return std::nullopt;
    const auto it = pins_.find(key_view{*canonical, port});
    return it == pins_.end() ? std::nullopt : std::optional<ip_address>(it->second);
  }
  const auto it = pins_.find(key_view{host, port});
  return it == pins_.end() ? std::nullopt : std::optional<ip_address>(it->second);
}

}  // namespace trawler::net
