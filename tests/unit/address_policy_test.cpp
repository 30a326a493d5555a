#include "net/address_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "net/ip_address.hpp"
#include "net/resolve_pins.hpp"

namespace {

using trawler::net::address_class;
using trawler::net::classify;
using trawler::net::ip_address;
using trawler::net::is_blocked;
using trawler::net::parse_ip;
using trawler::net::resolve_pins;
using trawler::net::to_string;

ip_address ip(std::string_view text) {
  const auto a = parse_ip(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(ip_address{});
}

// Classifies a literal, failing the test if it does not parse.
address_class cls(std::string_view text) {
  return classify(ip(text));
}

// --- parse_ip / to_string ---

TEST(ParseIp, DottedQuad) {
  const ip_address a = ip("192.168.1.20");
  EXPECT_FALSE(a.v6);
  EXPECT_EQ(a.bytes[0], 192);
  EXPECT_EQ(a.bytes[1], 168);
  EXPECT_EQ(a.bytes[2], 1);
  EXPECT_EQ(a.bytes[3], 20);
  for (std::size_t i = 4; i < 16; ++i) EXPECT_EQ(a.bytes[i], 0) << i;
  EXPECT_EQ(to_string(ip("0.0.0.0")), "0.0.0.0");
  EXPECT_EQ(to_string(ip("255.255.255.255")), "255.255.255.255");
}

TEST(ParseIp, Ipv6WithAndWithoutBrackets) {
  const ip_address a = ip("2001:db8::1");
  EXPECT_TRUE(a.v6);
  EXPECT_EQ(a.bytes[0], 0x20);
  EXPECT_EQ(a.bytes[1], 0x01);
  EXPECT_EQ(a.bytes[2], 0x0d);
  EXPECT_EQ(a.bytes[3], 0xb8);
  EXPECT_EQ(a.bytes[15], 1);
  EXPECT_EQ(ip("[2001:db8::1]"), a);
  EXPECT_EQ(ip("2001:0DB8:0000:0000:0000:0000:0000:0001"), a);
  EXPECT_EQ(ip("::1").bytes[15], 1);
  EXPECT_EQ(ip("::"), ip_address{.v6 = true});
  // IPv4 and IPv6 forms of "the same" numbers are different addresses.
  EXPECT_NE(ip("::"), ip("0.0.0.0"));
}

TEST(ParseIp, ToStringIsCanonicalWithoutBrackets) {
  EXPECT_EQ(to_string(ip("[2001:DB8:0:0:0:0:0:1]")), "2001:db8::1");
  EXPECT_EQ(to_string(ip("::")), "::");
  EXPECT_EQ(to_string(ip("[::1]")), "::1");
  EXPECT_EQ(to_string(ip("fe80:0:0:0:1:0:0:1")), "fe80::1:0:0:1");
  EXPECT_EQ(to_string(ip("::ffff:127.0.0.1")), "::ffff:127.0.0.1");
  EXPECT_EQ(to_string(ip("::ffff:7f00:1")), "::ffff:127.0.0.1");
  // Round trip.
  for (std::string_view t :
       {"8.8.8.8", "10.0.0.1", "2606:4700::1111", "ff02::1", "::ffff:1.2.3.4"}) {
    EXPECT_EQ(ip(to_string(ip(t))), ip(t)) << t;
  }
}

TEST(ParseIp, RefusesWhatIsNotAStrictLiteral) {
  EXPECT_FALSE(parse_ip(std::string_view("1.2.3.4\0", 8)).has_value());
  EXPECT_FALSE(parse_ip(std::string_view("::1\0", 4)).has_value());
  for (std::string_view t : {"",
                             "1.2.3",
                             "1.2.3.4.5",
                             "256.1.1.1",
                             "1.2.3.256",
                             "01.2.3.4",
                             "1.2.3.04",
                             "0x7f.0.0.1",
                             "0177.0.0.1",
                             "127.1",
                             "2130706433",
                             "1.2.3.4 ",
                             " 1.2.3.4",
                             "1.2.3.-4",
                             "1..2.3",
                             "1.2.3.4.",
                             "a.b.c.d",
                             "[1.2.3.4]",
                             "localhost",
                             "example.com",
                             ":::",
                             "1:2:3:4:5:6:7:8:9",
                             "12345::",
                             "::g",
                             "fe80::1%eth0",
                             "[fe80::1%25eth0]",
                             "[::1",
                             "::1]",
                             "[]",
                             "[",
                             "[[::1]]",
                             "::1 ",
                             "2001:db8::1::1",
                             "::ffff:1.2.3",
                             "::ffff:256.0.0.1",
                             "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555"}) {
    EXPECT_FALSE(parse_ip(t).has_value()) << '"' << t << '"';
  }
}

// --- classify: IPv4 range boundaries ---

struct expectation {
  const char* address;
  address_class cls;
};

void expect_classes(std::initializer_list<expectation> cases) {
  for (const expectation& e : cases) {
    EXPECT_EQ(cls(e.address), e.cls)
        << e.address << " is " << to_string(cls(e.address)) << ", want " << to_string(e.cls);
    EXPECT_EQ(is_blocked(ip(e.address)), e.cls != address_class::public_unicast) << e.address;
  }
}

constexpr auto pub = address_class::public_unicast;
constexpr auto loop = address_class::loopback;
constexpr auto priv = address_class::private_net;
constexpr auto link = address_class::link_local;
constexpr auto multi = address_class::multicast;
constexpr auto unspec = address_class::unspecified;
constexpr auto resv = address_class::reserved;

TEST(ClassifyV4, ThisNetworkAndUnspecified) {
  expect_classes({{"0.0.0.0", unspec},
                  {"0.0.0.1", resv},
                  {"0.255.255.255", resv},
                  {"1.0.0.0", pub},
                  {"1.1.1.1", pub}});
}

TEST(ClassifyV4, PrivateRanges) {
  expect_classes({{"9.255.255.255", pub},
                  {"10.0.0.0", priv},
                  {"10.255.255.255", priv},
                  {"11.0.0.0", pub},
                  {"172.15.255.255", pub},
                  {"172.16.0.0", priv},
                  {"172.31.255.255", priv},
                  {"172.32.0.0", pub},
                  {"192.167.255.255", pub},
                  {"192.168.0.0", priv},
                  {"192.168.255.255", priv},
                  {"192.169.0.0", pub}});
}

TEST(ClassifyV4, CarrierGradeNat) {
  expect_classes({{"100.63.255.255", pub},
                  {"100.64.0.0", priv},
                  {"100.127.255.255", priv},
                  {"100.128.0.0", pub}});
}

TEST(ClassifyV4, Loopback) {
  expect_classes({{"126.255.255.255", pub},
                  {"127.0.0.0", loop},
                  {"127.0.0.1", loop},
                  {"127.255.255.255", loop},
                  {"128.0.0.0", pub}});
}

TEST(ClassifyV4, LinkLocal) {
  expect_classes({{"169.253.255.255", pub},
                  {"169.254.0.0", link},
                  {"169.254.169.254", link},  // cloud metadata endpoint, the classic SSRF target
                  {"169.254.255.255", link},
                  {"169.255.0.0", pub}});
}

TEST(ClassifyV4, ProtocolAssignmentsAndDocumentation) {
  expect_classes({{"191.255.255.255", pub}, {"192.0.0.0", resv},     {"192.0.0.255", resv},
                  {"192.0.1.0", pub},       {"192.0.1.255", pub},    {"192.0.2.0", resv},
                  {"192.0.2.255", resv},    {"192.0.3.0", pub},      {"192.88.98.255", pub},
                  {"192.88.99.0", resv},    {"192.88.99.255", resv}, {"192.88.100.0", pub},
                  {"198.51.99.255", pub},   {"198.51.100.0", resv},  {"198.51.100.255", resv},
                  {"198.51.101.0", pub},    {"203.0.112.255", pub},  {"203.0.113.0", resv},
                  {"203.0.113.255", resv},  {"203.0.114.0", pub}});
}

TEST(ClassifyV4, Benchmarking) {
  expect_classes({{"198.17.255.255", pub},
                  {"198.18.0.0", resv},
                  {"198.19.255.255", resv},
                  {"198.20.0.0", pub}});
}

TEST(ClassifyV4, MulticastReservedAndBroadcast) {
  expect_classes({{"223.255.255.255", pub},
                  {"224.0.0.0", multi},
                  {"224.0.0.251", multi},
                  {"239.255.255.255", multi},
                  {"240.0.0.0", resv},
                  {"254.255.255.255", resv},
                  {"255.255.255.254", resv},
                  {"255.255.255.255", resv}});
}

TEST(ClassifyV4, PublicExamples) {
  expect_classes({{"8.8.8.8", pub},
                  {"1.1.1.1", pub},
                  {"93.184.216.34", pub},
                  {"140.82.112.3", pub},
                  {"151.101.1.69", pub}});
}

// --- classify: IPv6 ---

TEST(ClassifyV6, UnspecifiedAndLoopback) {
  expect_classes({{"::", unspec}, {"::1", loop}, {"0:0:0:0:0:0:0:1", loop}, {"::2", resv}});
}

TEST(ClassifyV6, LinkLocal) {
  expect_classes({{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"fe80::", link},
                  {"fe80::1", link},
                  {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", link},
                  {"fec0::", priv},  // deprecated site-local
                  {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", priv}});
}

TEST(ClassifyV6, UniqueLocal) {
  expect_classes({{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"fc00::", priv},
                  {"fd12:3456:789a::1", priv},
                  {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", priv},
                  {"fe00::", resv}});
}

TEST(ClassifyV6, Multicast) {
  expect_classes({{"ff00::", multi},
                  {"ff02::1", multi},
                  {"ff05::1:3", multi},
                  {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", multi}});
}

TEST(ClassifyV6, DocumentationAndProtocolAssignments) {
  expect_classes({{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", pub},
                  {"2001:db8::", resv},
                  {"2001:db8::1", resv},
                  {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"2001:db9::", pub},
                  {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", pub},
                  {"3fff::", resv},
                  {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"3fff:1000::", pub},
                  // Teredo, and the rest of the IETF protocol block 2001::/23.
                  {"2001::", resv},
                  {"2001:0:4136:e378:8000:63bf:3fff:fdd2", resv},
                  {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"2001:2::1", resv},
                  {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"2001:200::", pub},
                  {"2000::", pub},
                  {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", resv},
                  {"100::", resv},
                  {"100::ffff:ffff:ffff:ffff", resv},
                  {"100:0:0:1::", resv}});
}

TEST(ClassifyV6, UnassignedSpaceOutside2000Slash3) {
  expect_classes({{"4000::1", resv},
                  {"5f00::1", resv},
                  {"8000::", resv},
                  {"c000::", resv},
                  {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", pub}});
}

TEST(ClassifyV6, PublicExamples) {
  expect_classes({{"2606:4700::1111", pub},
                  {"2606:4700:4700::1111", pub},
                  {"2a00:1450:4001:82a::200e", pub},
                  {"2620:fe::fe", pub},
                  {"2c0f:fb50:4003::1", pub}});
}

TEST(ClassifyV6, Ipv4MappedUsesTheEmbeddedAddress) {
  expect_classes({{"::ffff:127.0.0.1", loop},
                  {"::ffff:7f00:1", loop},
                  {"::ffff:7f00:0001", loop},
                  {"::ffff:10.1.2.3", priv},
                  {"::ffff:a01:203", priv},
                  {"::ffff:169.254.169.254", link},
                  {"::ffff:a9fe:a9fe", link},
                  {"::ffff:0.0.0.0", unspec},
                  {"::ffff:224.0.0.1", multi},
                  {"::ffff:255.255.255.255", resv},
                  {"::ffff:8.8.8.8", pub},
                  {"::ffff:808:808", pub},
                  {"[::ffff:192.168.0.1]", priv}});
  EXPECT_EQ(cls("::ffff:127.0.0.1"), cls("127.0.0.1"));
}

TEST(ClassifyV6, Ipv4CompatibleUsesTheEmbeddedAddress) {
  expect_classes({{"::127.0.0.1", loop},
                  {"::7f00:1", loop},
                  {"::10.0.0.1", priv},
                  {"::8.8.8.8", pub},
                  {"::0.0.0.2", resv}});
}

TEST(ClassifyV6, Nat64UsesTheEmbeddedAddress) {
  expect_classes({{"64:ff9b::127.0.0.1", loop},
                  {"64:ff9b::7f00:1", loop},
                  {"64:ff9b::192.168.1.1", priv},
                  {"64:ff9b::169.254.169.254", link},
                  {"64:ff9b::8.8.8.8", pub},
                  {"64:ff9b::808:808", pub},
                  {"64:ff9b:0:0:0:1::", resv},  // outside the /96: unassigned
                  {"64:ff9b:1::a00:1", resv},   // local-use NAT64, RFC 8215
                  {"64:ff9b:1:ffff::", resv}});
}

TEST(ClassifyV6, SixToFourUsesTheEmbeddedAddress) {
  expect_classes({{"2002:7f00:1::", loop},
                  {"2002:7f00:0001:1234::1", loop},
                  {"2002:c0a8:101::1", priv},
                  {"2002:a9fe:a9fe::", link},
                  {"2002:e000:1::", multi},
                  {"2002::", unspec},
                  {"2002:808:808::1", pub},
                  {"2002:ffff:ffff::", resv},
                  {"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", pub},
                  {"2003::", pub}});
}

TEST(AddressClass, Names) {
  EXPECT_EQ(to_string(address_class::public_unicast), "public");
  EXPECT_EQ(to_string(address_class::loopback), "loopback");
  EXPECT_EQ(to_string(address_class::private_net), "private");
  EXPECT_EQ(to_string(address_class::link_local), "link-local");
  EXPECT_EQ(to_string(address_class::multicast), "multicast");
  EXPECT_EQ(to_string(address_class::unspecified), "unspecified");
  EXPECT_EQ(to_string(address_class::reserved), "reserved");
}

// --- resolve_pins ---

TEST(ResolvePins, FindsByHostAndPort) {
  resolve_pins pins;
  EXPECT_TRUE(pins.empty());
  EXPECT_FALSE(pins.find("example.com", 80).has_value());
  EXPECT_TRUE(pins.add("example.com:80", "127.0.0.1"));
  EXPECT_TRUE(pins.add("example.com:443", "::1"));
  EXPECT_TRUE(pins.add("other.test:8080", "[2001:db8::5]"));
  EXPECT_EQ(pins.size(), 3u);

  EXPECT_EQ(pins.find("example.com", 80), ip("127.0.0.1"));
  EXPECT_EQ(pins.find("example.com", 443), ip("::1"));
  EXPECT_EQ(pins.find("other.test", 8080), ip("2001:db8::5"));
  EXPECT_FALSE(pins.find("example.com", 8080).has_value());
  EXPECT_FALSE(pins.find("other.test", 80).has_value());
  EXPECT_FALSE(pins.find("www.example.com", 80).has_value());
  EXPECT_FALSE(pins.find("example.co", 80).has_value());
  EXPECT_FALSE(pins.find("example.com.", 80).has_value());
  EXPECT_FALSE(pins.find("", 80).has_value());
}

TEST(ResolvePins, HostsCompareCaseInsensitively) {
  resolve_pins pins;
  EXPECT_TRUE(pins.add("Example.COM:80", "10.0.0.1"));
  EXPECT_EQ(pins.find("example.com", 80), ip("10.0.0.1"));
  EXPECT_EQ(pins.find("EXAMPLE.com", 80), ip("10.0.0.1"));
  // Same pin, so it replaces: the later one wins.
  EXPECT_TRUE(pins.add("example.com:80", "10.0.0.2"));
  EXPECT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins.find("Example.Com", 80), ip("10.0.0.2"));
}

TEST(ResolvePins, IpLiteralHosts) {
  resolve_pins pins;
  EXPECT_TRUE(pins.add("[::1]:8080", "127.0.0.1"));
  EXPECT_TRUE(pins.add("[2001:DB8:0::1]:443", "127.0.0.2"));
  EXPECT_TRUE(pins.add("192.0.2.1:80", "127.0.0.3"));
  EXPECT_EQ(pins.find("[::1]", 8080), ip("127.0.0.1"));
  EXPECT_EQ(pins.find("[0:0::1]", 8080), ip("127.0.0.1"));
  EXPECT_EQ(pins.find("[2001:db8::1]", 443), ip("127.0.0.2"));
  EXPECT_EQ(pins.find("192.0.2.1", 80), ip("127.0.0.3"));
  EXPECT_FALSE(pins.find("[::2]", 8080).has_value());
  EXPECT_FALSE(pins.find("[::1", 8080).has_value());
}

TEST(ResolvePins, RefusesMalformedEntries) {
  resolve_pins pins;
  for (auto [hp, addr] :
       {std::pair{"example.com", "127.0.0.1"}, std::pair{"example.com:", "127.0.0.1"},
        std::pair{":80", "127.0.0.1"}, std::pair{"example.com:0", "127.0.0.1"},
        std::pair{"example.com:65536", "127.0.0.1"}, std::pair{"example.com:http", "127.0.0.1"},
        std::pair{"example.com:+80", "127.0.0.1"}, std::pair{"example.com:-80", "127.0.0.1"},
        std::pair{"example.com:80 ", "127.0.0.1"}, std::pair{"example.com:80", ""},
        std::pair{"example.com:80", "localhost"},
        std::pair{"example.com:80", "127.0.0.1,127.0.0.2"}, std::pair{"example.com:80", "127.1"},
        std::pair{"::1:80", "127.0.0.1"}, std::pair{"[::1:80", "127.0.0.1"},
        std::pair{"[1.2.3.4]:80", "127.0.0.1"}, std::pair{"exa mple.com:80", "127.0.0.1"},
        std::pair{"a/b:80", "127.0.0.1"}, std::pair{"user@host:80", "127.0.0.1"}}) {
    EXPECT_FALSE(pins.add(hp, addr)) << hp << " -> " << addr;
  }
  EXPECT_TRUE(pins.empty());
  EXPECT_TRUE(pins.add("example.com:65535", "127.0.0.1"));
  EXPECT_TRUE(pins.add("example.com:1", "127.0.0.1"));
  EXPECT_EQ(pins.size(), 2u);
}

TEST(ResolvePins, CurlStyleOption) {
  resolve_pins pins;
  EXPECT_TRUE(pins.add_option("example.com:443:127.0.0.1"));
  EXPECT_TRUE(pins.add_option("v6.test:80:::1"));
  EXPECT_TRUE(pins.add_option("v6b.test:80:[2001:db8::7]"));
  EXPECT_TRUE(pins.add_option("[::1]:8443:127.0.0.9"));
  EXPECT_EQ(pins.find("example.com", 443), ip("127.0.0.1"));
  EXPECT_EQ(pins.find("v6.test", 80), ip("::1"));
  EXPECT_EQ(pins.find("v6b.test", 80), ip("2001:db8::7"));
  EXPECT_EQ(pins.find("[::1]", 8443), ip("127.0.0.9"));
  EXPECT_FALSE(pins.find("example.com", 80).has_value());

  for (std::string_view bad : {"", "example.com", "example.com:443", "example.com:443:",
                               "example.com::127.0.0.1", ":443:127.0.0.1", "[::1]443:127.0.0.1",
                               "[::1:443:127.0.0.1", "example.com:443:not-an-ip"}) {
    EXPECT_FALSE(pins.add_option(bad)) << bad;
  }
  EXPECT_EQ(pins.size(), 4u);
}

TEST(ResolvePins, PinnedAddressesAreStillSubjectToThePolicy) {
  // Pins route names; whether the address may be used is the policy's call, not the pin's.
  resolve_pins pins;
  ASSERT_TRUE(pins.add("site.test:80", "127.0.0.1"));
  const auto a = pins.find("site.test", 80);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(is_blocked(*a));
}

}  // namespace
