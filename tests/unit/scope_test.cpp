#include "scope/scope.hpp"

#include "url/url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace {

using trawler::scope::mode;
using trawler::scope::rules;
using trawler::scope::scope;
using trawler::scope::verdict;

// Checks a URL the way the crawler does: normalize, split, then ask the scope.
verdict check_url(const scope& s, std::string_view raw, int depth = 1) {
  const auto normalized = trawler::url::normalize(raw);
  EXPECT_TRUE(normalized.has_value()) << raw;
  if (!normalized) return verdict::out_of_scope;
  const auto parts = trawler::url::split(*normalized);
  EXPECT_TRUE(parts.has_value()) << *normalized;
  if (!parts) return verdict::out_of_scope;
  return s.check(*normalized, parts->host, depth);
}

scope make(mode m, std::initializer_list<std::string_view> seeds, rules r = {}) {
  r.scope_mode = m;
  scope s(std::move(r));
  for (auto host : seeds) s.add_seed_host(host);
  return s;
}

TEST(ScopeVerdict, Names) {
  EXPECT_EQ(to_string(verdict::in), "in");
  EXPECT_EQ(to_string(verdict::out_of_scope), "out_of_scope");
  EXPECT_EQ(to_string(verdict::not_included), "not_included");
  EXPECT_EQ(to_string(verdict::excluded), "excluded");
  EXPECT_EQ(to_string(verdict::too_deep), "too_deep");
  EXPECT_EQ(to_string(verdict::too_long), "too_long");
}

TEST(ScopeHost, SameHostIn) {
  const auto s = make(mode::host, {"example.com"});
  EXPECT_EQ(check_url(s, "http://example.com/a"), verdict::in);
  EXPECT_EQ(check_url(s, "https://example.com:8443/b"), verdict::in);  // port ignored
  EXPECT_EQ(check_url(s, "http://EXAMPLE.com./c"), verdict::in);       // trailing dot
  EXPECT_EQ(check_url(s, "http://other.com/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://example.com.evil.org/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://notexample.com/"), verdict::out_of_scope);
}

TEST(ScopeHost, WwwIsStrippedOnBothSides) {
  const auto bare_seed = make(mode::host, {"example.com"});
  EXPECT_EQ(check_url(bare_seed, "http://www.example.com/"), verdict::in);
  const auto www_seed = make(mode::host, {"www.example.com"});
  EXPECT_EQ(check_url(www_seed, "http://example.com/"), verdict::in);
  EXPECT_EQ(check_url(www_seed, "http://www.example.com/"), verdict::in);
  // Only one leading "www." label, and only "www." itself.
  EXPECT_EQ(check_url(bare_seed, "http://www.www.example.com/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(bare_seed, "http://www2.example.com/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(bare_seed, "http://wwwexample.com/"), verdict::out_of_scope);
}

TEST(ScopeHost, SubdomainsAreOutInHostMode) {
  const auto s = make(mode::host, {"example.co.uk"});
  EXPECT_EQ(check_url(s, "http://blog.example.co.uk/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://example.co.uk/x"), verdict::in);
  const auto sub = make(mode::host, {"blog.example.co.uk"});
  EXPECT_EQ(check_url(sub, "http://example.co.uk/"), verdict::out_of_scope);
}

TEST(ScopeDomain, RegistrableDomainDecides) {
  const auto s = make(mode::domain, {"example.co.uk"});
  EXPECT_EQ(check_url(s, "http://blog.example.co.uk/"), verdict::in);
  EXPECT_EQ(check_url(s, "https://a.b.example.co.uk:81/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://www.example.co.uk/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.co.uk/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://other.co.uk/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://co.uk/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://example.com/"), verdict::out_of_scope);

  // A seed on a subdomain brings in its whole registrable domain.
  const auto from_sub = make(mode::domain, {"shop.example.com"});
  EXPECT_EQ(check_url(from_sub, "http://example.com/"), verdict::in);
  EXPECT_EQ(check_url(from_sub, "http://blog.example.com/"), verdict::in);
  EXPECT_EQ(check_url(from_sub, "http://example.org/"), verdict::out_of_scope);
}

TEST(ScopeDomain, PrivateSuffixesFromThePublicSuffixList) {
  // github.io is a public suffix: each user site is its own registrable domain.
  const auto s = make(mode::domain, {"alice.github.io"});
  EXPECT_EQ(check_url(s, "https://docs.alice.github.io/"), verdict::in);
  EXPECT_EQ(check_url(s, "https://bob.github.io/"), verdict::out_of_scope);

  // Under amazonaws.com, s3.amazonaws.com is itself a public suffix: a host that ends in the
  // seed's registrable domain can still have another one.
  const auto aws = make(mode::domain, {"x.amazonaws.com"});
  EXPECT_EQ(check_url(aws, "https://y.amazonaws.com/"), verdict::in);
  EXPECT_EQ(check_url(aws, "https://amazonaws.com/"), verdict::in);
  EXPECT_EQ(check_url(aws, "https://bucket.s3.amazonaws.com/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(aws, "https://s3.amazonaws.com/"), verdict::out_of_scope);
}

TEST(ScopeDomain, HostsWithoutRegistrableDomainNeedExactEquality) {
  const auto s = make(mode::domain, {"localhost", "127.0.0.1", "[::1]"});
  EXPECT_EQ(check_url(s, "http://localhost:8080/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://127.0.0.1:9/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://[::1]/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://127.0.0.2/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://0.1/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://[::2]/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://intranet/"), verdict::out_of_scope);
}

TEST(ScopeHost, IpSeedsMatchOnlyThemselves) {
  const auto s = make(mode::host, {"10.0.0.1", "[2001:db8::1]"});
  EXPECT_EQ(check_url(s, "http://10.0.0.1/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://0x0a000001:8080/"), verdict::in);  // same address, normalized
  EXPECT_EQ(check_url(s, "http://10.0.0.2/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://[2001:DB8:0::1]/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://[2001:db8::2]/"), verdict::out_of_scope);
  EXPECT_EQ(check_url(s, "http://example.com/"), verdict::out_of_scope);
  // A name seed does not bring in addresses.
  const auto names = make(mode::host, {"example.com"});
  EXPECT_EQ(check_url(names, "http://10.0.0.1/"), verdict::out_of_scope);
}

TEST(ScopeAny, EveryHostIsIn) {
  const auto s = make(mode::any, {"example.com"});
  EXPECT_EQ(check_url(s, "http://other.org/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://10.1.2.3/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://[::1]/"), verdict::in);
  const auto no_seeds = make(mode::any, {});
  EXPECT_EQ(check_url(no_seeds, "http://x.example/"), verdict::in);
  const auto host_no_seeds = make(mode::host, {});
  EXPECT_EQ(check_url(host_no_seeds, "http://x.example/"), verdict::out_of_scope);
}

TEST(ScopeSeeds, SeveralSeeds) {
  const auto s = make(mode::host, {"a.example", "www.b.example", "c.example", "a.example"});
  EXPECT_EQ(check_url(s, "http://a.example/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://b.example/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://www.c.example/"), verdict::in);
  EXPECT_EQ(check_url(s, "http://d.example/"), verdict::out_of_scope);
  const auto d = make(mode::domain, {"x.one.com", "two.co.uk"});
  EXPECT_EQ(check_url(d, "http://y.one.com/"), verdict::in);
  EXPECT_EQ(check_url(d, "http://z.two.co.uk/"), verdict::in);
  EXPECT_EQ(check_url(d, "http://three.co.uk/"), verdict::out_of_scope);
}

TEST(ScopeRules, IncludeList) {
  rules r;
  r.include = {"/docs/", "\\.pdf$"};
  const auto s = make(mode::host, {"example.com"}, r);
  EXPECT_EQ(check_url(s, "http://example.com/docs/intro"), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.com/files/a.pdf"), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.com/blog/"), verdict::not_included);
  // Patterns are searched in the whole absolute URL, not anchored.
  rules anchored;
  anchored.include = {"^https://"};
  const auto t = make(mode::host, {"example.com"}, anchored);
  EXPECT_EQ(check_url(t, "https://example.com/x"), verdict::in);
  EXPECT_EQ(check_url(t, "http://example.com/x"), verdict::not_included);
}

TEST(ScopeRules, ExcludeList) {
  rules r;
  r.exclude = {"[?&]sessionid=", "/private/"};
  const auto s = make(mode::host, {"example.com"}, r);
  EXPECT_EQ(check_url(s, "http://example.com/a?sessionid=1"), verdict::excluded);
  EXPECT_EQ(check_url(s, "http://example.com/a?x=1&sessionid=1"), verdict::excluded);
  EXPECT_EQ(check_url(s, "http://example.com/private/x"), verdict::excluded);
  EXPECT_EQ(check_url(s, "http://example.com/public/x"), verdict::in);
}

TEST(ScopeRules, IncludeAndExcludeTogether) {
  rules r;
  r.include = {"/docs/"};
  r.exclude = {"/docs/old/", "\\.zip$"};
  const auto s = make(mode::host, {"example.com"}, r);
  EXPECT_EQ(check_url(s, "http://example.com/docs/new/page"), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.com/docs/old/page"), verdict::excluded);
  EXPECT_EQ(check_url(s, "http://example.com/docs/a.zip"), verdict::excluded);
  // Not included wins over excluded (it is checked first).
  EXPECT_EQ(check_url(s, "http://example.com/b.zip"), verdict::not_included);
}

TEST(ScopeRules, DepthBoundary) {
  rules r;
  r.max_depth = 3;
  const auto s = make(mode::host, {"example.com"}, r);
  EXPECT_EQ(check_url(s, "http://example.com/", 0), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.com/", 3), verdict::in);
  EXPECT_EQ(check_url(s, "http://example.com/", 4), verdict::too_deep);
  rules zero;
  zero.max_depth = 0;
  const auto seeds_only = make(mode::host, {"example.com"}, zero);
  EXPECT_EQ(check_url(seeds_only, "http://example.com/", 0), verdict::in);
  EXPECT_EQ(check_url(seeds_only, "http://example.com/", 1), verdict::too_deep);
}

TEST(ScopeRules, LengthBoundary) {
  rules r;
  r.max_url_length = 30;
  const auto s = make(mode::host, {"example.com"}, r);
  const std::string exact = "http://example.com/" + std::string(11, 'a');
  ASSERT_EQ(exact.size(), 30u);
  EXPECT_EQ(s.check(exact, "example.com", 1), verdict::in);
  EXPECT_EQ(s.check(exact + "b", "example.com", 1), verdict::too_long);
  EXPECT_TRUE(s.seed_length_ok(exact));
  EXPECT_FALSE(s.seed_length_ok(exact + "b"));
}

TEST(ScopeRules, OrderOfChecks) {
  rules r;
  r.include = {"/in/"};
  r.exclude = {"/in/out"};
  r.max_depth = 1;
  r.max_url_length = 40;
  const auto s = make(mode::host, {"example.com"}, r);
  const std::string long_url = "http://other.org/in/out/" + std::string(40, 'x');
  // Too long beats every other reason, then host, include, exclude, depth.
  EXPECT_EQ(s.check(long_url, "other.org", 9), verdict::too_long);
  EXPECT_EQ(s.check("http://other.org/in/out", "other.org", 9), verdict::out_of_scope);
  EXPECT_EQ(s.check("http://example.com/x", "example.com", 9), verdict::not_included);
  EXPECT_EQ(s.check("http://example.com/in/out", "example.com", 9), verdict::excluded);
  EXPECT_EQ(s.check("http://example.com/in/x", "example.com", 9), verdict::too_deep);
  EXPECT_EQ(s.check("http://example.com/in/x", "example.com", 1), verdict::in);
}

TEST(ScopeRules, BadRegexThrowsNamingTheKey) {
  rules inc;
  inc.include = {"ok", "(unclosed"};
  try {
    scope s(inc);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("scope.include[1]"), std::string::npos) << what;
    EXPECT_NE(what.find("(unclosed"), std::string::npos) << what;
  }
  rules exc;
  exc.exclude = {"[z-a]"};
  try {
    scope s(exc);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("scope.exclude[0]"), std::string::npos) << e.what();
  }
  // RE2 refuses backreferences, which other engines accept.
  rules backref;
  backref.include = {"(a)\\1"};
  EXPECT_THROW(scope{backref}, std::invalid_argument);
}

TEST(ScopeRules, ScopeIsMovable) {
  rules r;
  r.exclude = {"/x"};
  auto a = make(mode::host, {"example.com"}, r);
  scope b(std::move(a));
  EXPECT_EQ(check_url(b, "http://example.com/x"), verdict::excluded);
  EXPECT_EQ(check_url(b, "http://example.com/y"), verdict::in);
  scope c(rules{});
  c = std::move(b);
  EXPECT_EQ(check_url(c, "http://example.com/x"), verdict::excluded);
  EXPECT_EQ(c.config().exclude.size(), 1u);
}

}  // namespace

TEST(ScopeExclude, NamesTheFirstMatchingPattern) {
  rules r;
  r.exclude = {"\\.pdf$", "/private/", "\\?"};
  const auto s = make(mode::host, {"a.test"}, r);
  EXPECT_EQ(s.excluding_rule("http://a.test/private/x?y=1"), 1);
  EXPECT_EQ(s.excluding_rule("http://a.test/x?y=1"), 2);
  EXPECT_EQ(s.excluding_rule("http://a.test/x"), -1);
  EXPECT_EQ(check_url(s, "http://a.test/doc.pdf"), verdict::excluded);
  EXPECT_EQ(s.excluding_rule("http://a.test/doc.pdf"), 0);
}
