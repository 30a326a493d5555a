#include "scope/scope.hpp"

#include "config/crawl_config.hpp"

#include <libpsl.h>
#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace trawler::scope {
namespace {

struct psl_deleter {
  void operator()(psl_ctx_t* ctx) const noexcept { psl_free(ctx); }
};

// The built-in list is compiled into libpsl and needs no file at run time; a build without
// one falls back to the system list. Both are immutable, shared by every scope.
const psl_ctx_t* public_suffixes() {
  static const psl_ctx_t* const ctx = [] {
    if (const psl_ctx_t* builtin = psl_builtin()) return builtin;
    static const std::unique_ptr<psl_ctx_t, psl_deleter> latest(psl_latest(nullptr));
    return static_cast<const psl_ctx_t*>(latest.get());
  }();
  return ctx;
}

// Normalized IPv4 hosts are dotted quads and IPv6 ones are bracketed (url::normalize), so a
// host is an address exactly when it is one of these shapes.
bool is_ip_literal(std::string_view host) {
  return !host.empty() && (host.front() == '[' || std::all_of(host.begin(), host.end(), [](char c) {
                             return (c >= '0' && c <= '9') || c == '.';
                           }));
}

// "example.com." and "example.com" name the same host.
std::string_view without_trailing_dot(std::string_view host) {
  if (host.size() > 1 && host.back() == '.') host.remove_suffix(1);
  return host;
}

std::string_view without_www(std::string_view host) {
  if (host.size() > 4 && host.starts_with("www.")) host.remove_prefix(4);
  return host;
}

// The registrable domain ("example.co.uk" for "blog.example.co.uk"), or empty for hosts that
// have none: public suffixes themselves, single labels such as "localhost".
std::string_view registrable_domain(std::string_view host) {
  const psl_ctx_t* psl = public_suffixes();
  if (psl == nullptr) return {};
  // libpsl wants a C string; hosts are short, so a stack copy avoids an allocation per link.
  char buf[256];
  std::string heap;
  const char* c_host = nullptr;
  if (host.size() < sizeof buf) {
    std::copy(host.begin(), host.end(), buf);
    buf[host.size()] = '\0';
    c_host = buf;
  } else {
    heap.assign(host);
    c_host = heap.c_str();
  }
  const char* reg = psl_registrable_domain(psl, c_host);
  if (reg == nullptr) return {};
  // reg points into c_host: translate it back into the caller's string.
  return host.substr(static_cast<std::size_t>(reg - c_host));
}

std::vector<std::unique_ptr<re2::RE2>> compile(const std::vector<std::string>& patterns,
                                               std::string_view key) {
  RE2::Options options;
  options.set_log_errors(false);
  std::vector<std::unique_ptr<re2::RE2>> out;
  out.reserve(patterns.size());
  for (std::size_t i = 0; i < patterns.size(); ++i) {
    auto re = std::make_unique<re2::RE2>(patterns[i], options);
    if (!re->ok()) {
      throw std::invalid_argument(std::string(key) + "[" + std::to_string(i) +
                                  "]: invalid regular expression \"" + patterns[i] +
                                  "\": " + re->error());
    }
    out.push_back(std::move(re));
  }
  return out;
}

bool any_match(const std::vector<std::unique_ptr<re2::RE2>>& res, std::string_view url) {
  const re2::StringPiece text(url.data(), url.size());
  return std::any_of(res.begin(), res.end(),
                     [&](const auto& re) { return RE2::PartialMatch(text, *re); });
}

}  // namespace

rules rules_of(const config::crawl_config& c) {
  rules r;
  r.scope_mode = c.scope.mode == "domain" ? mode::domain
                 : c.scope.mode == "any"  ? mode::any
                                          : mode::host;
  r.include = c.scope.include;
  r.exclude = c.scope.exclude;
  r.max_depth = c.scope.max_depth;
  r.max_url_length = static_cast<std::size_t>(c.scope.max_url_length);
  return r;
}

std::string_view to_string(verdict v) {
  switch (v) {
    case verdict::in:
      return "in";
    case verdict::out_of_scope:
      return "out_of_scope";
    case verdict::not_included:
      return "not_included";
    case verdict::excluded:
      return "excluded";
    case verdict::too_deep:
      return "too_deep";
    case verdict::too_long:
      return "too_long";
  }
  return "unknown";
}

scope::scope(rules r)
    : rules_(std::move(r)),
      include_(compile(rules_.include, "scope.include")),
      exclude_(compile(rules_.exclude, "scope.exclude")) {}

scope::~scope() = default;
scope::scope(scope&&) noexcept = default;
scope& scope::operator=(scope&&) noexcept = default;

void scope::add_seed_host(std::string_view host) {
  host = without_trailing_dot(host);
  if (host.empty()) return;
  seed_hosts_.emplace(host);
  if (is_ip_literal(host)) return;
  seed_host_keys_.emplace(without_www(host));
  if (const std::string_view reg = registrable_domain(host); !reg.empty()) {
    seed_domains_.emplace(reg);
  }
}

bool scope::host_in_scope(std::string_view host) const {
  if (rules_.scope_mode == mode::any) return true;
  host = without_trailing_dot(host);
  if (is_ip_literal(host)) return seed_hosts_.contains(host);
  switch (rules_.scope_mode) {
    case mode::any:
      return true;
    case mode::host:
      return seed_host_keys_.contains(without_www(host));
    case mode::domain: {
      if (seed_hosts_.contains(host) || seed_domains_.contains(host)) return true;
      // A registrable domain is a suffix of its host, so a host none of whose suffixes is a
      // seed domain is out without asking libpsl (~0.7 us a call): most external links.
      for (std::size_t dot = host.find('.'); dot != std::string_view::npos;
           dot = host.find('.', dot + 1)) {
        if (seed_domains_.contains(host.substr(dot + 1))) {
          return seed_domains_.contains(registrable_domain(host));
        }
      }
      return false;
    }
  }
  return false;
}

verdict scope::check(std::string_view url, std::string_view host, int depth) const {
  if (url.size() > rules_.max_url_length) return verdict::too_long;
  if (!host_in_scope(host)) return verdict::out_of_scope;
  if (!include_.empty() && !any_match(include_, url)) return verdict::not_included;
  if (any_match(exclude_, url)) return verdict::excluded;
  if (depth > rules_.max_depth) return verdict::too_deep;
  return verdict::in;
}

verdict scope::check_requisite(std::string_view url, int depth) const {
  if (url.size() > rules_.max_url_length) return verdict::too_long;
  if (any_match(exclude_, url)) return verdict::excluded;
  if (depth > rules_.max_depth + requisite_depth_allowance) return verdict::too_deep;
  return verdict::in;
}

int scope::excluding_rule(std::string_view url) const {
  for (std::size_t i = 0; i < exclude_.size(); ++i) {
    if (RE2::PartialMatch(re2::StringPiece(url.data(), url.size()), *exclude_[i]))
      return static_cast<int>(i);
  }
  return -1;
}

}  // namespace trawler::scope
