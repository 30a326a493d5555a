#include <array>
#include <exception>
#include <string>

#include "fuzz_checks.hpp"
#include "url/url.hpp"

namespace trawler::fuzz {

namespace {

// Bases a crawler meets: deep paths with queries, userinfo and ports, IPv6, IDNA hosts,
// encoded paths, a path-less authority, and one that is no URL at all.
constexpr std::array<std::string_view, 6> fixed_bases = {
    "http://example.com/a/b/c?q=1", "https://user:pw@www.Example.org:8443/dir/page.html?x=%7e#frag",
    "http://[2001:db8::1]/",        "https://xn--bcher-kva.example/%7Euser/a%20b/;p?q",
    "http://192.168.0.1:8080",      "mailto:someone@example.com",
};

std::string show(std::string_view what, std::string_view in, std::string_view out) {
  return std::string(what) + ": " + printable(in) + " -> " + printable(out);
}

// The promises of a URL that url:: returned as normalized.
finding check_normalized(std::string_view what, std::string_view input, const std::string& out) {
  if (!out.starts_with("http://") && !out.starts_with("https://"))
    return show(std::string(what) + " gave a non-http(s) URL", input, out);
  if (!is_normal_url_text(out))
    return show(std::string(what) + " gave characters that are not in normal form", input, out);
  const auto again = url::normalize(out);
  if (!again) return show(std::string(what) + " gave a URL that normalize() refuses", input, out);
  if (*again != out)
    return show(std::string(what) + " is not idempotent", input, out) + " -> " + printable(*again);
  const auto p = url::split(out);
  if (!p) return show(std::string(what) + " gave a URL that split() refuses", input, out);
  if (p->scheme != "http" && p->scheme != "https")
    return show("split() scheme " + printable(p->scheme), input, out);
  if (p->host.empty() || p->port == 0 || p->target.empty() || p->target.front() != '/')
    return show("split() parts are incomplete: host " + printable(p->host) + ", port " +
                    std::to_string(p->port) + ", target " + printable(p->target),
                input, out);
  if (out.find(p->target) == std::string::npos)
    return show("split() target " + printable(p->target) + " is not in the URL", input, out);
  const std::string key = url::host_key(*p);
  if (key != p->scheme + "://" + p->host + ":" + std::to_string(p->port))
    return show("host_key() " + printable(key), input, out);
  return std::nullopt;
}

// Resolution of `reference` against `base` by both APIs, and what the result must be.
finding check_resolve(std::string_view base, std::string_view reference) {
  const auto free_result = url::resolve(base, reference);
  const url::resolver r(base);
  const auto member_result = r.resolve(reference);
  const std::string pair = "base " + printable(base) + ", reference " + printable(reference);
  if (free_result != member_result)
    return "resolve() and resolver::resolve() differ for " + pair + ": " +
           (free_result ? printable(*free_result) : "nullopt") + " vs " +
           (member_result ? printable(*member_result) : "nullopt");
  const auto normal_base = url::normalize(base);
  if (r.valid() != normal_base.has_value())
    return "resolver::valid() disagrees with normalize() for " + printable(base);
  if (!r.valid()) {
    if (free_result) return "an invalid base resolved something: " + pair;
    return std::nullopt;
  }
  if (r.base() != *normal_base)
    return "resolver::base() " + printable(r.base()) + " is not normalize(base) " +
           printable(*normal_base);
  if (free_result) {
    if (auto f = check_normalized("resolve(" + pair + ")", reference, *free_result)) return f;
  }
  // Browsers drop every tab and newline inside a reference.
  std::string with_newline(reference);
  with_newline.insert(with_newline.size() / 2, "\n\t");
  if (url::resolve(base, with_newline) != free_result)
    return "a newline and tab inside the reference changed the result: " + pair;
  return std::nullopt;
}

finding check_url_impl(std::string_view data) {
  const std::size_t newline = data.find('\n');
  const std::string_view first = data.substr(0, newline);
  const std::string_view rest =
      newline == std::string_view::npos ? std::string_view() : data.substr(newline + 1);

  const auto normal = url::normalize(first);
  if (normal) {
    if (auto f = check_normalized("normalize()", first, *normal)) return f;
    // An absolute normalized URL resolves to itself against any base, and "" to the base.
    for (const std::string_view base : fixed_bases) {
      if (!url::normalize(base)) continue;
      const auto self = url::resolve(base, *normal);
      if (self != normal)
        return "a normalized URL did not resolve to itself against " + printable(base) + ": " +
               show("", *normal, self ? *self : "nullopt");
    }
    if (url::resolve(*normal, "") != normal)
      return "an empty reference did not resolve to its base " + printable(*normal);
    if (url::normalize_seed(*normal) != normal)
      return "normalize_seed() changed a normalized URL " + printable(*normal);
  }
  if (const auto seed = url::normalize_seed(first)) {
    if (auto f = check_normalized("normalize_seed()", first, *seed)) return f;
  }
  if (const auto p = url::split(first)) {
    // split() only checks the shape: whatever it accepts has a usable host key.
    if (p->host.empty() || p->port == 0) return "split() accepted " + printable(first);
  }

  for (const std::string_view base : fixed_bases) {
    if (auto f = check_resolve(base, rest)) return f;
    if (auto f = check_resolve(base, first)) return f;
  }
  if (normal) {
    if (auto f = check_resolve(*normal, rest)) return f;
  }
  // The first line as a base as written, not normalized first.
  return check_resolve(first, rest);
}

}  // namespace

finding check_url(std::string_view data) {
  try {
    return check_url_impl(data);
  } catch (const std::exception& e) {
    return std::string("url: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
