#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// RFC 3986 normalization and reference resolution for http(s) URLs (SPEC "Crawl semantics").
namespace trawler::url {

struct parts {
  std::string scheme;      // "http" or "https"
  std::string host;        // lowercase; IPv6 literals keep their brackets: "[::1]"
  std::uint16_t port = 0;  // always set, default ports filled in (80 / 443)
  std::string target;      // path plus "?query" if any: what goes on the request line
};

// Normalizes an absolute http(s) URL: lowercase scheme and host, default port dropped, dot
// segments removed, percent-encoding normalized (unreserved decoded, hex uppercased, bytes
// that may not appear raw encoded), empty path -> "/", fragment dropped, IPv4 hosts written
// in decimal/octal/hex parts rewritten as a dotted quad. nullopt if it cannot be parsed, has
// no host, or the scheme is not http/https.
// Hosts as WHATWG parses them: percent-decoded, non-ASCII names IDNA-encoded to Punycode
// ("xn--"), IPv6 in RFC 5952 form; a host ending in a number that is no IPv4 address
// ("1.2.3.256", "foo.123") is refused. Port 0 is refused too: nothing can be fetched there.
// Userinfo is kept (normalized). Idempotent: normalize(*normalize(x)) == *normalize(x).
std::optional<std::string> normalize(std::string_view absolute);

// A seed as a user typed it: leading/trailing whitespace trimmed, "http://" added when no
// scheme is present, then normalize().
std::optional<std::string> normalize_seed(std::string_view text);

// Resolves an HTML reference (href/src value; surrounding whitespace and embedded tabs and
// newlines removed as browsers do) against a normalized absolute base URL. Returns the
// normalized absolute URL without fragment, or nullopt when unparsable or not http(s).
std::optional<std::string> resolve(std::string_view base, std::string_view reference);

// Resolves many references against one base without parsing the base again: the extractor
// makes one per page (or per <base href>) and calls resolve() for each link. Same results as
// the free resolve(). The base is normalized once in the constructor; when it is not a usable
// http(s) URL, valid() is false and every resolve() returns nullopt.
//
// Choices where RFC 3986 leaves room, made as WHATWG browsers do: "http:g" with a base of
// the same scheme is relative (RFC 5.4.2's backward-compatible reading); a backslash counts
// as "/" before the query; extra slashes after "scheme:" or before a scheme-relative
// authority are skipped; a bare "?" (empty query) is kept, as RFC normalization keeps it.
class resolver {
 public:
  explicit resolver(std::string_view base);

  bool valid() const { return !base_.empty(); }
  // The normalized base, empty when !valid().
  const std::string& base() const { return base_; }

  std::optional<std::string> resolve(std::string_view reference) const;

 private:
  std::string base_;
  std::size_t origin_end_ = 0;  // end of "scheme://authority"
  std::size_t dir_end_ = 0;     // just past the last '/' of the path
  std::size_t path_end_ = 0;    // start of "?query", or base_.size()
};

// Splits a normalized URL. nullopt if it is not one (the shape is checked: scheme, lowercase
// host, port, path; the rest is not normalized again). Userinfo is not part of any field.
std::optional<parts> split(std::string_view normalized);

// "scheme://host:port", port always written: the key for politeness and robots.txt.
std::string host_key(const parts& p);

}  // namespace trawler::url
