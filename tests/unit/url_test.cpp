#include "url/url.hpp"

#include <gtest/gtest.h>
#include <boost/url/parse.hpp>

#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using trawler::url::host_key;
using trawler::url::normalize;
using trawler::url::normalize_seed;
using trawler::url::resolve;
using trawler::url::resolver;
using trawler::url::split;

// Every URL this module returns must be a valid RFC 3986 URI and already in normal form.
void expect_canonical(const std::string& u) {
  EXPECT_TRUE(boost::urls::parse_uri(u).has_value()) << u;
  const auto again = normalize(u);
  ASSERT_TRUE(again.has_value()) << u;
  EXPECT_EQ(*again, u) << "normalize is not idempotent";
}

std::optional<std::string> norm(std::string_view in) {
  auto out = normalize(in);
  if (out) expect_canonical(*out);
  return out;
}

using case_list = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view rfc_base = "http://a/b/c/d;p?q";

void check_resolution(const case_list& cases) {
  const resolver r(rfc_base);
  ASSERT_TRUE(r.valid());
  for (const auto& [ref, expected] : cases) {
    const auto got = r.resolve(ref);
    ASSERT_TRUE(got.has_value()) << "ref " << ref;
    EXPECT_EQ(*got, expected) << "ref " << ref;
    expect_canonical(*got);
    // The free function must agree with the pre-parsed resolver.
    EXPECT_EQ(resolve(rfc_base, ref), got) << "ref " << ref;
  }
}

// --- RFC 3986 section 5.4 ----------------------------------------------------------

TEST(UrlResolve, Rfc3986NormalExamples) {
  check_resolution({
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g/"},  // RFC: "http://g"; normalization adds the empty path's "/"
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q"},  // fragments are dropped
      {"g#s", "http://a/b/c/g"},
      {"g?y#s", "http://a/b/c/g?y"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
  });
  // "g:h" is an absolute URI of another scheme: not followed.
  EXPECT_FALSE(resolve(rfc_base, "g:h").has_value());
}

TEST(UrlResolve, Rfc3986AbnormalExamples) {
  check_resolution({
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g"},
      {"g#s/../x", "http://a/b/c/g"},
      // RFC 5.4.2 allows either; browsers (and we) take the backward-compatible reading.
      {"http:g", "http://a/b/c/g"},
  });
}

TEST(UrlResolve, SchemeRelativeAndAbsoluteReferences) {
  EXPECT_EQ(resolve("https://a/b", "//other.org/x?y#z"), "https://other.org/x?y");
  EXPECT_EQ(resolve("http://a/b", "//Other.ORG:8080"), "http://other.org:8080/");
  EXPECT_EQ(resolve("https://a/b", "//other.org:443/"), "https://other.org/");
  EXPECT_EQ(resolve("http://a/b", "HTTPS://X.org/P"), "https://x.org/P");
  // A scheme differing from the base's is never relative: WHATWG reads the host after it.
  EXPECT_EQ(resolve("http://a/b", "https:g"), "https://g/");
  EXPECT_EQ(resolve("http://a/b/c", "http:/g"), "http://a/g");
  EXPECT_EQ(resolve("http://a/b/c", "http:?x"), "http://a/b/c?x");
  // Extra slashes before an authority are skipped, as browsers do.
  EXPECT_EQ(resolve("http://a/b", "///g/x"), "http://g/x");
  EXPECT_EQ(resolve("http://a/b", "http:///g/x"), "http://g/x");
}

TEST(UrlResolve, EmptyAndQueryOnlyReferences) {
  EXPECT_EQ(resolve("http://a/b/c?q#f", ""), "http://a/b/c?q");
  EXPECT_EQ(resolve("http://a/b/c?q", "   "), "http://a/b/c?q");
  EXPECT_EQ(resolve("http://a/b/c", "#"), "http://a/b/c");
  // A bare "?" is an empty query: kept, since RFC normalization does not remove it.
  EXPECT_EQ(resolve("http://a/b/c?q", "?"), "http://a/b/c?");
  EXPECT_EQ(resolve("http://a/b/c?q", "?a=%7e&b=%2f&c=%3a"), "http://a/b/c?a=~&b=%2F&c=%3A");
}

TEST(UrlResolve, BackslashesCountAsSlashesBeforeTheQuery) {
  EXPECT_EQ(resolve("http://a/b/c", "\\g"), "http://a/g");
  EXPECT_EQ(resolve("http://a/b/c", "g\\h"), "http://a/b/g/h");
  EXPECT_EQ(resolve("http://a/b/c", "\\\\other\\x"), "http://other/x");
  EXPECT_EQ(resolve("http://a/b/c", "g?x\\y"), "http://a/b/g?x%5Cy");
}

TEST(UrlResolve, WhitespaceAndNewlinesInsideHrefs) {
  EXPECT_EQ(resolve("http://a/b/c", "  \n g \t"), "http://a/b/g");
  EXPECT_EQ(resolve("http://a/b/c", "/x\n/y\r\n/z"), "http://a/x/y/z");
  EXPECT_EQ(resolve("http://a/b/c", "ht\ntp://other/\tpage"), "http://other/page");
  EXPECT_EQ(resolve("http://a/b/c", "java\nscript:alert(1)"), std::nullopt);
  EXPECT_EQ(resolve("http://a/b/c", "/x?a=1\n&b=2"), "http://a/x?a=1&b=2");
  // Spaces inside are data, encoded as browsers do.
  EXPECT_EQ(resolve("http://a/b/c", " my page.html "), "http://a/b/my%20page.html");
}

TEST(UrlResolve, RawBytesBoostUrlRefusesAreEncoded) {
  const resolver r("http://a/dir/");
  EXPECT_EQ(r.resolve("a b"), "http://a/dir/a%20b");
  EXPECT_EQ(r.resolve("caf\xC3\xA9/\xE2\x82\xAC"), "http://a/dir/caf%C3%A9/%E2%82%AC");
  EXPECT_EQ(r.resolve("x|y^z{w}\"q\"<>`"), "http://a/dir/x%7Cy%5Ez%7Bw%7D%22q%22%3C%3E%60");
  EXPECT_EQ(r.resolve("?q=a b&c=\xC3\xA9|"), "http://a/dir/?q=a%20b&c=%C3%A9%7C");
  EXPECT_EQ(r.resolve("100%"), "http://a/dir/100%25");
  EXPECT_EQ(r.resolve("%zz%4"), "http://a/dir/%25zz%254");
  EXPECT_EQ(r.resolve("[x]"), "http://a/dir/%5Bx%5D");
  // Invalid UTF-8 is still only bytes in a path.
  EXPECT_EQ(r.resolve("\xFF\xFE"), "http://a/dir/%FF%FE");
  // A '#' ends the reference; later ones belong to the dropped fragment.
  EXPECT_EQ(r.resolve("p#a#b"), "http://a/dir/p");
  for (auto ref : {"a b", "x|y^z", "?q=a b", "100%", "\xC3\xA9"}) {
    expect_canonical(*r.resolve(ref));
  }
}

TEST(UrlResolve, NonHttpSchemesAreRejected) {
  for (auto ref : {"mailto:someone@example.com", "javascript:void(0)", "JavaScript:alert(1)",
                   "ftp://example.com/file", "data:text/html,hi", "tel:+123", "file:///etc/passwd",
                   "about:blank", "ws://example.com/", "localhost:8080/x"}) {
    EXPECT_EQ(resolve("http://a/b", ref), std::nullopt) << ref;
  }
}

TEST(UrlResolve, UnusableReferencesGiveNullopt) {
  EXPECT_EQ(resolve("http://a/b", "http://"), std::nullopt);
  EXPECT_EQ(resolve("http://a/b", "//"), std::nullopt);
  EXPECT_EQ(resolve("http://a/b", "http://a:99999/"), std::nullopt);
  EXPECT_EQ(resolve("http://a/b", "https://[::1/"), std::nullopt);
  EXPECT_EQ(resolve("http://a/b", "//exa mple.com/"), std::nullopt);
}

TEST(UrlResolver, BaseIsNormalizedOnceAndInvalidBasesRefuseEverything) {
  const resolver r("HTTP://A:80/b/../c/d?x#frag");
  ASSERT_TRUE(r.valid());
  EXPECT_EQ(r.base(), "http://a/c/d?x");
  EXPECT_EQ(r.resolve("e"), "http://a/c/e");
  EXPECT_EQ(r.resolve(""), "http://a/c/d?x");

  for (auto bad : {"", "mailto:x@y", "/relative/only", "http://", "not a url"}) {
    const resolver invalid(bad);
    EXPECT_FALSE(invalid.valid()) << bad;
    EXPECT_TRUE(invalid.base().empty());
    EXPECT_EQ(invalid.resolve("http://ok.example/"), std::nullopt);
    EXPECT_EQ(resolve(bad, "http://ok.example/"), std::nullopt);
  }
}

TEST(UrlResolver, BaseWithPortUserinfoAndRootPath) {
  const resolver r("https://user@h.example:8443/");
  EXPECT_EQ(r.resolve("x/../y?z"), "https://user@h.example:8443/y?z");
  EXPECT_EQ(r.resolve("../../.."), "https://user@h.example:8443/");
  const resolver ip6("http://[::1]:8080/a/b");
  EXPECT_EQ(ip6.resolve("c"), "http://[::1]:8080/a/c");
}

// --- RFC 3986 section 6 normalization ----------------------------------------------

TEST(UrlNormalize, Rfc3986Section6Examples) {
  // 6.2.2.1 case normalization
  EXPECT_EQ(norm("HTTP://www.Example.com/"), "http://www.example.com/");
  EXPECT_EQ(norm("http://example.com/%3a%2f%3F"), "http://example.com/%3A%2F%3F");
  // 6.2.2: all three at once (the RFC's example, with an http scheme)
  EXPECT_EQ(norm("hTTp://a/./b/../b/%63/%7bfoo%7d"), "http://a/b/c/%7Bfoo%7D");
  // 6.2.2.2 unreserved characters decoded
  EXPECT_EQ(norm("http://example.com/%7Euser/%41%2d%2E%5f%7e%30"),
            "http://example.com/~user/A-._~0");
  // 6.2.3 scheme-based: these are all the same URL
  for (auto u : {"http://example.com", "http://example.com/", "http://example.com:/",
                 "http://example.com:80/", "HTTP://EXAMPLE.COM:0080"}) {
    EXPECT_EQ(norm(u), "http://example.com/") << u;
  }
}

TEST(UrlNormalize, ReservedEscapesStayEncoded) {
  EXPECT_EQ(norm("http://h/a%2Fb%3fc%23d%26e%3De%25"), "http://h/a%2Fb%3Fc%23d%26e%3De%25");
  EXPECT_EQ(norm("http://h/?a=%2b&b=%26"), "http://h/?a=%2B&b=%26");
  // Raw reserved characters stay raw: decoding and encoding are not symmetric for them.
  EXPECT_EQ(norm("http://h/a:b@c;d=e,f+g$h!i*j'k(l)m?x=y/z?w"),
            "http://h/a:b@c;d=e,f+g$h!i*j'k(l)m?x=y/z?w");
}

TEST(UrlNormalize, DefaultPorts) {
  EXPECT_EQ(norm("http://example.com:80/x"), "http://example.com/x");
  EXPECT_EQ(norm("https://example.com:443/x"), "https://example.com/x");
  EXPECT_EQ(norm("https://example.com:80/x"), "https://example.com:80/x");
  EXPECT_EQ(norm("http://example.com:443/x"), "http://example.com:443/x");
  EXPECT_EQ(norm("http://example.com:8080"), "http://example.com:8080/");
  EXPECT_EQ(norm("https://example.com:000443/"), "https://example.com/");
  EXPECT_EQ(norm("http://example.com:00081/"), "http://example.com:81/");
  EXPECT_EQ(norm("http://example.com:65535/"), "http://example.com:65535/");
}

TEST(UrlNormalize, BadPortsAreRejected) {
  for (auto u : {"http://example.com:65536/", "http://example.com:99999999999999999999/",
                 "http://example.com:abc/", "http://example.com:-1/", "http://example.com:0/",
                 "http://example.com:8080:90/", "http://example.com: 80/", "http://[::1]x/",
                 "http://[::1]:x/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, Ipv6LiteralHosts) {
  EXPECT_EQ(norm("http://[::1]/"), "http://[::1]/");
  EXPECT_EQ(norm("http://[::1]:80/"), "http://[::1]/");
  EXPECT_EQ(norm("https://[2001:DB8:0:0:0:0:0:1]:8443/x"), "https://[2001:db8::1]:8443/x");
  EXPECT_EQ(norm("http://[0:0:0:0:0:0:0:1]"), "http://[::1]/");
  EXPECT_EQ(norm("http://[::ffff:1.2.3.4]/"), "http://[::ffff:1.2.3.4]/");
  for (auto u : {"http://[::g]/", "http://[::1/", "http://[]/", "http://[1:2:3:4:5:6:7:8:9]/",
                 "http://[fe80::1%25eth0]/", "http://[v1.x]/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, DotSegments) {
  EXPECT_EQ(norm("http://a/b/../../c"), "http://a/c");
  EXPECT_EQ(norm("http://a/b/c/./../../g"), "http://a/g");
  EXPECT_EQ(norm("http://a/b/."), "http://a/b/");
  EXPECT_EQ(norm("http://a/b/.."), "http://a/");
  EXPECT_EQ(norm("http://a/.."), "http://a/");
  EXPECT_EQ(norm("http://a/b//../c"), "http://a/b/c");
  EXPECT_EQ(norm("http://a//b"), "http://a//b");
  // Encoded dots are dots once unreserved characters are decoded.
  EXPECT_EQ(norm("http://a/b/%2e%2E/c/%2E"), "http://a/c/");
  EXPECT_EQ(norm("http://a/b/.%2e"), "http://a/");
  // Dots in the query are data.
  EXPECT_EQ(norm("http://a/b?x=../y/./z"), "http://a/b?x=../y/./z");
}

TEST(UrlNormalize, FragmentsAreDropped) {
  EXPECT_EQ(norm("http://a/b#frag"), "http://a/b");
  EXPECT_EQ(norm("http://a/b?q#frag?x"), "http://a/b?q");
  EXPECT_EQ(norm("http://a#f"), "http://a/");
  EXPECT_EQ(norm("http://a/b#"), "http://a/b");
}

TEST(UrlNormalize, EmptyPathAndQuery) {
  EXPECT_EQ(norm("http://a?x=1"), "http://a/?x=1");
  EXPECT_EQ(norm("http://a/b?"), "http://a/b?");
  EXPECT_EQ(norm("http://a?"), "http://a/?");
}

TEST(UrlNormalize, RawSpacesAndUtf8InPaths) {
  EXPECT_EQ(norm("http://a/my file.html"), "http://a/my%20file.html");
  EXPECT_EQ(norm("http://a/\xC3\xBC\xC3\xA9?q=\xE2\x82\xAC"), "http://a/%C3%BC%C3%A9?q=%E2%82%AC");
  EXPECT_EQ(norm("http://a/%c3%bc"), "http://a/%C3%BC");
  EXPECT_EQ(norm("http://a/\x01\x7F"), "http://a/%01%7F");
}

TEST(UrlNormalize, NumericIpv4Spellings) {
  for (auto u : {"http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://0x7F000001/",
                 "http://127.1/", "http://127.0.1/", "http://127.0.0.1./",
                 "http://0x7f.0x0.0x0.0x1/", "http://%31%32%37.0.0.1/", "http://00000177.0.0.1/"}) {
    EXPECT_EQ(norm(u), "http://127.0.0.1/") << u;
  }
  EXPECT_EQ(norm("http://0/"), "http://0.0.0.0/");
  EXPECT_EQ(norm("http://0x/"), "http://0.0.0.0/");
  EXPECT_EQ(norm("http://4294967295:81/x"), "http://255.255.255.255:81/x");
  EXPECT_EQ(norm("http://192.168.0.1/"), "http://192.168.0.1/");
  // A last label that is not a number makes a name, whatever comes before it.
  EXPECT_EQ(norm("http://1.2.3.example/"), "http://1.2.3.example/");
  EXPECT_EQ(norm("http://0xg/"), "http://0xg/");
  // Ends in a number but is not an address: invalid, as in browsers.
  for (auto u : {"http://1.2.3.256/", "http://256.1.1.1/", "http://1.2.3.4.5/",
                 "http://4294967296/", "http://0x100000000/", "http://1.2.3.09/", "http://foo.123/",
                 "http://1..2/", "http://99999999999999999999999/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, HostNames) {
  EXPECT_EQ(norm("http://WWW.Example.COM/Path"), "http://www.example.com/Path");
  EXPECT_EQ(norm("http://%65xample.com/"), "http://example.com/");
  EXPECT_EQ(norm("http://example.com./"), "http://example.com./");
  EXPECT_EQ(norm("http://my_host-1.example/"), "http://my_host-1.example/");
  for (auto u : {"http://exa mple.com/", "http://a%2Fb/", "http://ex%25ample/", "http://a%00b/",
                 "http://a<b/", "http://a^b/", "http://a|b/", "http://a{b/", "http://%zz/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, InternationalizedHostsBecomePunycode) {
  EXPECT_EQ(norm("http://b\xC3\xBC"
                 "cher.de/"),
            "http://xn--bcher-kva.de/");
  EXPECT_EQ(norm("http://B\xC3\x9C"
                 "CHER.DE/"),
            "http://xn--bcher-kva.de/");
  EXPECT_EQ(norm("http://b%C3%BCcher.de/"), "http://xn--bcher-kva.de/");
  EXPECT_EQ(norm("http://m\xC3\xBCnchen.de/x"), "http://xn--mnchen-3ya.de/x");
  // 例え.テスト, the WHATWG and RFC 3492 style example
  EXPECT_EQ(norm("http://\xE4\xBE\x8B\xE3\x81\x88.\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88/"),
            "http://xn--r8jz45g.xn--zckzah/");
  // Full-width letters and the ideographic full stop map to ASCII.
  EXPECT_EQ(norm("http://\xEF\xBD\x85x\xE3\x80\x82"
                 "com/"),
            "http://ex.com/");
  EXPECT_EQ(norm("http://xn--bcher-kva.de/"), "http://xn--bcher-kva.de/");
  EXPECT_EQ(normalize("http://\xFF.com/"), std::nullopt);
  EXPECT_EQ(normalize("http://\xC3.com/"), std::nullopt);
}

TEST(UrlNormalize, Userinfo) {
  EXPECT_EQ(norm("http://User:Pass@Host/"), "http://User:Pass@host/");
  EXPECT_EQ(norm("http://@host/"), "http://host/");
  EXPECT_EQ(norm("http://a@b@host/"), "http://a%40b@host/");
  EXPECT_EQ(norm("http://a%7eb c@host/"), "http://a~b%20c@host/");
  EXPECT_EQ(normalize("http://user@/"), std::nullopt);
}

TEST(UrlNormalize, EmptyHostsAndMissingSchemesAreRejected) {
  for (auto u : {"", "   ", "http://", "http:///", "http://:80/", "http://?x", "http://#x",
                 "https:", "example.com/x", "/x", "//example.com/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, NonHttpSchemesAreRejected) {
  for (auto u : {"mailto:a@b.c", "javascript:alert(1)", "ftp://example.com/", "data:,x",
                 "file:///tmp/x", "httpx://example.com/", "ws://example.com/"}) {
    EXPECT_EQ(normalize(u), std::nullopt) << u;
  }
}

TEST(UrlNormalize, LenientSlashesAfterTheScheme) {
  EXPECT_EQ(norm("http:example.com/x"), "http://example.com/x");
  EXPECT_EQ(norm("https:/example.com"), "https://example.com/");
  EXPECT_EQ(norm("http:\\\\example.com\\a\\b"), "http://example.com/a/b");
  EXPECT_EQ(norm("http:////example.com/x"), "http://example.com/x");
}

TEST(UrlNormalize, SurroundingControlsAndEmbeddedNewlines) {
  EXPECT_EQ(norm("\x01 http://a/b \x1F\n"), "http://a/b");
  EXPECT_EQ(norm("http://ex\nample.com/a\tb"), "http://example.com/ab");
}

// --- seeds -------------------------------------------------------------------------

TEST(UrlSeed, SchemeAddedWhenMissing) {
  EXPECT_EQ(normalize_seed("example.com/x"), "http://example.com/x");
  EXPECT_EQ(normalize_seed("example.com"), "http://example.com/");
  EXPECT_EQ(normalize_seed("  Example.COM/a b\n"), "http://example.com/a%20b");
  EXPECT_EQ(normalize_seed("localhost:8080/x"), "http://localhost:8080/x");
  EXPECT_EQ(normalize_seed("localhost:8080"), "http://localhost:8080/");
  EXPECT_EQ(normalize_seed("127.0.0.1:80?x"), "http://127.0.0.1/?x");
  EXPECT_EQ(normalize_seed("[::1]:8080/"), "http://[::1]:8080/");
  EXPECT_EQ(normalize_seed("//example.com/x"), "http://example.com/x");
}

TEST(UrlSeed, ExplicitSchemesKept) {
  EXPECT_EQ(normalize_seed("https://example.com"), "https://example.com/");
  EXPECT_EQ(normalize_seed("HTTP://Example.com:80/"), "http://example.com/");
  for (auto s : {"", "  ", "ftp://example.com/", "mailto:a@b.c", "javascript:x", "http://",
                 "exa mple.com", "example.com:99999/"}) {
    EXPECT_EQ(normalize_seed(s), std::nullopt) << s;
  }
}

// --- split and host_key ------------------------------------------------------------

TEST(UrlSplit, Parts) {
  auto p = split("https://example.com/a/b?c=d");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scheme, "https");
  EXPECT_EQ(p->host, "example.com");
  EXPECT_EQ(p->port, 443);
  EXPECT_EQ(p->target, "/a/b?c=d");
  EXPECT_EQ(host_key(*p), "https://example.com:443");

  p = split("http://example.com/");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->port, 80);
  EXPECT_EQ(p->target, "/");
  EXPECT_EQ(host_key(*p), "http://example.com:80");

  p = split("http://[::1]:8080/x?");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->host, "[::1]");
  EXPECT_EQ(p->port, 8080);
  EXPECT_EQ(p->target, "/x?");
  EXPECT_EQ(host_key(*p), "http://[::1]:8080");

  p = split("http://user:pw@h.example:81/");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->host, "h.example");
  EXPECT_EQ(host_key(*p), "http://h.example:81");
}

TEST(UrlSplit, OfNormalizedOutput) {
  for (auto in : {"HTTPS://Www.Example.com:443/./x/../y?q=1#f", "http://0x7f.1:8080",
                  "http://[2001:db8::1]/a b"}) {
    const auto n = normalize(in);
    ASSERT_TRUE(n.has_value()) << in;
    const auto p = split(*n);
    ASSERT_TRUE(p.has_value()) << *n;
    // Reassembling the parts gives the URL back (no userinfo here).
    const bool default_port = p->port == (p->scheme == "https" ? 443 : 80);
    const std::string rebuilt = p->scheme + "://" + p->host +
                                (default_port ? "" : ":" + std::to_string(p->port)) + p->target;
    EXPECT_EQ(rebuilt, *n);
  }
}

TEST(UrlSplit, RejectsWhatIsNotNormalized) {
  for (auto u : {"", "ftp://x/", "http://x", "http:///", "http://:80/", "http://x:99999/",
                 "HTTP://x/", "http://X/", "x/y", "http://x:abc/"}) {
    EXPECT_EQ(split(u), std::nullopt) << u;
  }
}

// --- properties on generated input ------------------------------------------------

// Deterministic pseudo-random references built from the characters that matter to URL
// parsing: nothing may crash, and every result must be a valid, already-normal URI.
TEST(UrlProperties, GeneratedReferencesGiveCanonicalUrls) {
  static constexpr std::string_view pieces[] = {"/",        "//",
                                                "\\",       ".",
                                                "..",       "./",
                                                "../",      "?",
                                                "#",        "%",
                                                "%2e",      "%2F",
                                                "%7e",      "%C3",
                                                "%bc",      "@",
                                                ":",        ":80",
                                                ":443",     "[",
                                                "]",        "::1",
                                                " ",        "\t",
                                                "\n",       "a",
                                                "B",        "0x7f",
                                                "127",      "1",
                                                "www.",     "example.com",
                                                "http:",    "https:",
                                                "HTTP://",  "mailto:",
                                                "\xC3\xBC", "\xE4\xBE\x8B",
                                                "\xFF",     "|",
                                                "{",        "\"",
                                                "'",        "=",
                                                "&",        ";",
                                                "+",        "~",
                                                "-",        "_",
                                                "xn--"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
  std::uniform_int_distribution<int> length(0, 12);
  const resolver r("https://h.example:8443/d/e/f?q=1");
  ASSERT_TRUE(r.valid());
  int resolved = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string ref;
    for (int n = length(rng); n > 0; --n) ref += pieces[pick(rng)];
    SCOPED_TRACE(ref);
    if (const auto out = r.resolve(ref)) {
      ++resolved;
      expect_canonical(*out);
      EXPECT_EQ(out->find('#'), std::string::npos);
      const auto p = split(*out);
      ASSERT_TRUE(p.has_value());
      EXPECT_FALSE(p->host.empty());
      EXPECT_EQ(p->target.front(), '/');
    }
    if (const auto out = normalize(ref)) expect_canonical(*out);
  }
  // Most generated references are relative and resolve; a broken resolver would not.
  EXPECT_GT(resolved, 10000);
}

}  // namespace
