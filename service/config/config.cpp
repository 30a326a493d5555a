#include <arpa/inet.h>  // inet_pton: address syntax only, so the module stays free of Asio

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include <re2/re2.h>
#include <nlohmann/json.hpp>

#include "config/crawl_config.hpp"
#include "config/document.hpp"
#include "config/key_path.hpp"
#include "redis/redis_url.hpp"

namespace trawler::config {
namespace {

// Why one cluster.redis URL is not a Redis URL, if it is not.
std::optional<std::string> redis_url_error(const std::string& s) {
  auto parsed = redis::parse_url(s);
  if (parsed.value) return std::nullopt;
  return "a Redis URL (" + parsed.error + ")";
}

using json = nlohmann::json;
using detail::index_key;
using detail::join_key;

constexpr std::size_t max_shown_value = 80;
constexpr std::int64_t max_pages_limit = std::int64_t{1} << 53;
constexpr std::int64_t max_body_limit = std::int64_t{1} << 34;

// Whether v is small enough to show whole. Bounded recursion: posted configs come from the
// network, and dump() of a 100000-deep array would recurse that deep.
bool small_value(const json& v, int depth, std::size_t& budget) {
  if (!v.is_structured()) return true;
  if (depth == 0 || v.size() > budget) return false;
  budget -= v.size();
  for (const json& child : v) {
    if (!small_value(child, depth - 1, budget)) return false;
  }
  return true;
}

// The offending value as JSON (strings keep their quotes, as in SPEC's example), cut short.
std::string describe(const json& v) {
  std::size_t budget = 64;
  if (!small_value(v, 4, budget)) return v.is_array() ? "[...]" : "{...}";
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > max_shown_value) {
    std::size_t cut = max_shown_value;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                       std::tolower(static_cast<unsigned char>(b[j - 1]))
                                   ? 0
                                   : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool to_int64(const json& v, std::int64_t& out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    out = v.get<std::int64_t>();
    return true;
  }
  // JSON Schema's "integer" admits 5.0; so do we, as long as it is exact.
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9.0e18) return false;
    out = static_cast<std::int64_t>(d);
    return true;
  }
  return false;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7F;
}

// RFC 9110 token characters (header field names).
bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool valid_host_name(std::string_view host) {
  return !host.empty() && host.size() <= 253 && std::all_of(host.begin(), host.end(), is_host_char);
}

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

std::optional<int> parse_port(std::string_view s, int min_port) {
  if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), is_digit)) return std::nullopt;
  int port = 0;
  for (char c : s) port = port * 10 + (c - '0');
  if (port < min_port || port > 65535) return std::nullopt;
  return port;
}

// "host:port" of network.resolve, normalized to lowercase host and plain decimal port.
std::optional<std::string> normalize_resolve_key(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view host = s.substr(0, colon);
  const auto port = parse_port(s.substr(colon + 1), 1);
  if (!port || !valid_host_name(host)) return std::nullopt;
  return lower(host) + ":" + std::to_string(*port);
}

// An IPv4 or IPv6 address, IPv6 optionally in brackets (as curl's --resolve takes it).
std::optional<std::string> normalize_address(const std::string& s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    std::string inner = s.substr(1, s.size() - 2);
    if (is_ipv6(inner)) return inner;
    return std::nullopt;
  }
  if (is_ipv4(s) || is_ipv6(s)) return s;
  return std::nullopt;
}

bool valid_listen(std::string_view s) {
  std::string_view port;
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos || !is_ipv6(std::string(s.substr(1, close - 1))) ||
        s.substr(close + 1, 1) != ":") {
      return false;
    }
    port = s.substr(close + 2);
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || !valid_host_name(s.substr(0, colon))) return false;
    port = s.substr(colon + 1);
  }
  return parse_port(port, 0).has_value();
}

// RFC 6750 b64token, so the token can travel in "Authorization: Bearer TOKEN" as is.
bool valid_token(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) ||
                          std::string_view("-._~+/").find(s[i]) != std::string_view::npos)) {
    ++i;
  }
  if (i == 0) return s.empty();
  while (i < s.size() && s[i] == '=') ++i;
  return i == s.size();
}

std::optional<std::string> forbidden_header(const std::string& lower_name) {
  if (lower_name == "user-agent") {
    return "may not be set here: the User-Agent is robots.user_agent (--user-agent)";
  }
  if (lower_name == "accept-encoding") return "may not be set here: use fetch.accept_encoding";
  // Framing and connection management belong to the HTTP client.
  static constexpr std::string_view managed[] = {
      "host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "keep-alive"};
  for (std::string_view m : managed) {
    if (lower_name == m) return "may not be set: the crawler manages this header";
  }
  return std::nullopt;
}

std::optional<std::string> regex_problem(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);  // the error goes into the config error, not to stderr
  const RE2 re(pattern, options);
  if (re.ok()) return std::nullopt;
  return "invalid regex: " + re.error();
}

std::function<std::optional<std::string>(const std::string&)> one_of(
    std::initializer_list<std::string_view> allowed) {
  std::vector<std::string> names(allowed.begin(), allowed.end());
  return [names](const std::string& value) -> std::optional<std::string> {
    if (std::find(names.begin(), names.end(), value) != names.end()) return std::nullopt;
    std::string message = "must be one of ";
    for (std::size_t i = 0; i < names.size(); ++i) message += (i ? ", " : "") + names[i];
    return message + ", got " + json(value).dump(-1, ' ', false, json::error_handler_t::replace);
  };
}

using reader = std::function<void(const json&, const std::string&)>;

struct field {
  std::string_view name;
  reader read;
};

class validator {
 public:
  explicit validator(std::vector<config_error>& errors) : errors_(errors) {}

  void fail(const std::string& key, std::string message) {
    errors_.push_back({key, std::move(message)});
  }

  void document(const json& doc, crawl_config& c) {
    section(
        doc, "",
        {
            {"seeds", [&](const json& v, const std::string& k) { seeds(v, k, c.seeds); }},
            {"scope", [&](const json& v, const std::string& k) { scope(v, k, c.scope); }},
            {"limits", [&](const json& v, const std::string& k) { limits(v, k, c.limits); }},
            {"robots", [&](const json& v, const std::string& k) { robots(v, k, c.robots); }},
            {"fetch", [&](const json& v, const std::string& k) { fetch(v, k, c.fetch); }},
            {"network", [&](const json& v, const std::string& k) { network(v, k, c.network); }},
            {"output", [&](const json& v, const std::string& k) { output(v, k, c.output); }},
            {"sitemaps", [&](const json& v, const std::string& k) { sitemaps(v, k, c.sitemaps); }},
            {"state", [&](const json& v, const std::string& k) { state(v, k, c.state); }},
            {"cluster", [&](const json& v, const std::string& k) { cluster(v, k, c.cluster); }},
            {"recrawl", [&](const json& v, const std::string& k) { recrawl(v, k, c.recrawl); }},
            {"api", [&](const json& v, const std::string& k) { api(v, k, c.api); }},
        });
    // Records go to one place: a file (or stdout), or rotated segments in a folder.
    if (!c.output.dir.empty() && c.output.path != "-") {
      fail("output.dir",
           "cannot be combined with output.path (segments in a folder, or one "
           "file: choose one)");
    }
    if (c.output.dir.empty()) {
      if (c.output.rotate_bytes != 0) fail("output.rotate_bytes", "needs output.dir");
      if (c.output.rotate_seconds != 0) fail("output.rotate_seconds", "needs output.dir");
      if (c.output.compress != "none") fail("output.compress", "needs output.dir");
    }
    // The crawl's state lives in Redis when it is shared: a state dir would be a second truth.
    if (!c.cluster.redis.empty() && !c.state.dir.empty()) {
      fail("state.dir",
           "cannot be combined with cluster.redis (a cluster crawl keeps its state in "
           "Redis; restart a worker to resume)");
    }
    if (c.recrawl.mode == "pass" && !c.cluster.redis.empty()) {
      fail("recrawl.mode",
           "\"pass\" is not supported with cluster.redis (a fleet runs \"continuous\"); run a "
           "pass with state.dir on one worker");
    }
  }

 private:
  // Reads the known keys of a mapping; any other key is an error naming it.
  void section(const json& v, const std::string& path, std::initializer_list<field> fields) {
    if (!v.is_object()) {
      if (path.empty()) {
        fail("", "config: must be a mapping, got " + describe(v));
      } else {
        fail(path, "must be a mapping, got " + describe(v));
      }
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto known = std::find_if(fields.begin(), fields.end(),
                                      [&](const field& f) { return f.name == it.key(); });
      const std::string key = join_key(path, it.key());
      if (known != fields.end()) {
        known->read(it.value(), key);
      } else {
        fail(key, unknown_key_message(path, it.key(), fields));
      }
    }
  }

  // The suggestion is the whole key path, as it is to be written ("limits.concurrency").
  static std::string unknown_key_message(std::string_view path, std::string_view key,
                                         std::initializer_list<field> fields) {
    const field* best = nullptr;
    std::size_t best_distance = SIZE_MAX;
    for (const field& f : fields) {
      const std::size_t d = edit_distance(key, f.name);
      if (d < best_distance) best = &f, best_distance = d;
    }
    if (best && best_distance <= 2 && best_distance * 2 < std::max(key.size(), best->name.size())) {
      return "unknown key; did you mean \"" + join_key(path, best->name) + "\"?";
    }
    std::string message = "unknown key; expected one of: ";
    for (const field& f : fields) {
      if (&f != fields.begin()) message += ", ";
      message += f.name;
    }
    return message;
  }

  template <class T>
  reader integer(T& out, std::int64_t lo, std::int64_t hi) {
    return [this, &out, lo, hi](const json& v, const std::string& key) {
      std::int64_t n = 0;
      if (!to_int64(v, n) || n < lo || n > hi) {
        fail(key, "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", got " + describe(v));
        return;
      }
      out = static_cast<T>(n);
    };
  }

  reader number(double& out, double lo, double hi) {
    return [this, &out, lo, hi](const json& v, const std::string& key) {
      if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo ||
          v.get<double>() > hi) {
        std::ostringstream range;
        range << "must be a number from " << lo << " to " << hi << ", got " << describe(v);
        fail(key, range.str());
        return;
      }
      out = v.get<double>();
    };
  }

  reader boolean(bool& out) {
    return [this, &out](const json& v, const std::string& key) {
      if (!v.is_boolean()) {
        fail(key, "must be true or false, got " + describe(v));
        return;
      }
      out = v.get<bool>();
    };
  }

  using check = std::function<std::optional<std::string>(const std::string&)>;

  reader string(std::string& out, check rule = {}) {
    return [this, &out, rule](const json& v, const std::string& key) {
      if (!v.is_string()) {
        fail(key, "must be a string, got " + describe(v));
        return;
      }
      const auto& s = v.get_ref<const std::string&>();
      if (rule) {
        if (auto problem = rule(s)) {
          fail(key, std::move(*problem));
          return;
        }
      }
      out = s;
    };
  }

  // Each item is checked on its own, so one bad regex does not hide the next one.
  reader string_list(std::vector<std::string>& out, check rule, bool unique) {
    return [this, &out, rule, unique](const json& v, const std::string& key) {
      if (!v.is_array()) {
        fail(key, "must be a list of strings, got " + describe(v));
        return;
      }
      std::vector<std::string> items;
      bool ok = true;
      for (std::size_t i = 0; i < v.size(); ++i) {
        const json& item = v[i];
        const std::string item_key = index_key(key, i);
        if (!item.is_string()) {
          fail(item_key, "must be a string, got " + describe(item));
          ok = false;
          continue;
        }
        const auto& s = item.get_ref<const std::string&>();
        if (rule) {
          if (auto problem = rule(s)) {
            fail(item_key, std::move(*problem));
            ok = false;
            continue;
          }
        }
        if (unique && std::find(items.begin(), items.end(), s) != items.end()) {
          fail(item_key, "repeats " + describe(item));
          ok = false;
          continue;
        }
        items.push_back(s);
      }
      if (ok) out = std::move(items);
    };
  }

  static std::optional<std::string> non_empty(const std::string& s) {
    if (s.empty()) return "must not be empty";
    return std::nullopt;
  }

  void seeds(const json& v, const std::string& key, std::vector<std::string>& out) {
    if (v.is_string()) {
      if (v.get_ref<const std::string&>().empty()) {
        fail(key, "must not be empty");
        return;
      }
      out = {v.get<std::string>()};
      return;
    }
    if (!v.is_array()) {
      fail(key, "must be a list of URLs (or one URL), got " + describe(v));
      return;
    }
    string_list(out, non_empty, false)(v, key);
  }

  void scope(const json& v, const std::string& path, scope_config& s) {
    section(v, path,
            {
                {"mode", string(s.mode, one_of({"host", "domain", "any"}))},
                {"include", string_list(s.include, regex_problem, false)},
                {"exclude", string_list(s.exclude, regex_problem, false)},
                {"max_depth", integer(s.max_depth, 0, 1000000)},
                {"max_pages", integer(s.max_pages, 0, max_pages_limit)},
                {"max_url_length", integer(s.max_url_length, 16, 65536)},
                {"max_pages_per_host", integer(s.max_pages_per_host, 0, max_pages_limit)},
            });
  }

  void limits(const json& v, const std::string& path, limits_config& l) {
    section(v, path,
            {
                {"concurrency", integer(l.concurrency, 1, 100000)},
                {"per_host", integer(l.per_host, 1, 1000)},
                {"delay_ms", integer(l.delay_ms, 0, 3600000)},
                {"connect_timeout_ms", integer(l.connect_timeout_ms, 1, 3600000)},
                {"timeout_ms", integer(l.timeout_ms, 1, 3600000)},
                {"max_redirects", integer(l.max_redirects, 0, 100)},
                {"max_tries", integer(l.max_tries, 1, 100)},
                {"max_retry_after_ms", integer(l.max_retry_after_ms, 0, 86400000)},
                {"max_body_bytes", integer(l.max_body_bytes, 1, max_body_limit)},
                {"adaptive", boolean(l.adaptive)},
                {"adaptive_max_delay_ms", integer(l.adaptive_max_delay_ms, 0, 3600000)},
                {"parse_priority",
                 string(l.parse_priority, one_of({"idle", "low", "batch", "normal"}))},
            });
  }

  static std::optional<std::string> user_agent_problem(const std::string& s) {
    if (s.empty()) return "must not be empty";
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return is_control(static_cast<unsigned char>(c)); })) {
      return "must not contain control characters";
    }
    // The robots.txt product token is the text before the first '/'.
    if (s.front() == '/') return "must start with a product token (as in \"trawler/1.0\")";
    return std::nullopt;
  }

  void robots(const json& v, const std::string& path, robots_config& r) {
    section(v, path,
            {
                {"obey", boolean(r.obey)},
                {"user_agent", string(r.user_agent, user_agent_problem)},
                {"max_crawl_delay_ms", integer(r.max_crawl_delay_ms, 0, 86400000)},
                {"cache_ttl_ms", integer(r.cache_ttl_ms, 1000, 86400000)},
            });
  }

  void headers(const json& v, const std::string& key,
               std::vector<std::pair<std::string, std::string>>& out) {
    if (!v.is_object()) {
      fail(key, "must be a mapping of header names to values, got " + describe(v));
      return;
    }
    std::vector<std::pair<std::string, std::string>> items;
    std::vector<std::string> lower_names;
    bool ok = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& name = it.key();
      const std::string item_key = join_key(key, name);
      const std::string lower_name = lower(name);
      std::optional<std::string> problem;
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
        problem = "invalid header name";
      } else if (auto why = forbidden_header(lower_name)) {
        problem = std::move(why);
      } else if (!it.value().is_string()) {
        problem = "must be a string, got " + describe(it.value());
      } else {
        const auto& value = it.value().get_ref<const std::string&>();
        // HTAB is allowed in field values; CR/LF would let a value inject headers.
        if (std::any_of(value.begin(), value.end(), [](char c) {
              return c != '\t' && is_control(static_cast<unsigned char>(c));
            })) {
          problem = "must not contain control characters";
        } else if (const auto dup = std::find(lower_names.begin(), lower_names.end(), lower_name);
                   dup != lower_names.end()) {
          problem =
              "repeats header " + items[static_cast<std::size_t>(dup - lower_names.begin())].first;
        } else {
          items.emplace_back(name, value);
          lower_names.push_back(lower_name);
        }
      }
      if (problem) {
        fail(item_key, std::move(*problem));
        ok = false;
      }
    }
    if (ok) out = std::move(items);
  }

  void fetch(const json& v, const std::string& path, fetch_config& f) {
    section(v, path,
            {
                {"headers", [&](const json& h, const std::string& k) { headers(h, k, f.headers); }},
                {"tls_verify", boolean(f.tls_verify)},
                {"accept_encoding",
                 string_list(f.accept_encoding, one_of({"gzip", "deflate", "br"}), true)},
                {"follow_nofollow", boolean(f.follow_nofollow)},
                {"requisites", boolean(f.requisites)},
            });
  }

  void resolve(const json& v, const std::string& key,
               std::vector<std::pair<std::string, std::string>>& out) {
    if (!v.is_object()) {
      fail(key, "must be a mapping of \"host:port\" to an address, got " + describe(v));
      return;
    }
    std::vector<std::pair<std::string, std::string>> items;
    bool ok = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string item_key = join_key(key, it.key());
      std::optional<std::string> problem;
      const auto host_port = normalize_resolve_key(it.key());
      if (!host_port) {
        problem = "key must be \"host:port\" with a host name and a port from 1 to 65535";
      } else if (!it.value().is_string()) {
        problem = "must be an IPv4 or IPv6 address string, got " + describe(it.value());
      } else if (const auto address = normalize_address(it.value().get<std::string>()); !address) {
        problem = "must be an IPv4 or IPv6 address, got " + describe(it.value());
      } else if (std::any_of(items.begin(), items.end(),
                             [&](const auto& item) { return item.first == *host_port; })) {
        problem = "repeats \"" + *host_port + "\"";
      } else {
        items.emplace_back(*host_port, *address);
      }
      if (problem) {
        fail(item_key, std::move(*problem));
        ok = false;
      }
    }
    // Normalized keys may sort differently from the written ones; keep a stable order so
    // that to_json/from_json round-trips.
    std::sort(items.begin(), items.end());
    if (ok) out = std::move(items);
  }

  void network(const json& v, const std::string& path, network_config& n) {
    section(v, path,
            {
                {"allow_private", boolean(n.allow_private)},
                {"resolve", [&](const json& r, const std::string& k) { resolve(r, k, n.resolve); }},
            });
  }

  void output(const json& v, const std::string& path, output_config& o) {
    section(
        v, path,
        {
            {"path", string(o.path, non_empty)},
            {"fields",
             string_list(o.fields,
                         one_of({"links", "title", "headers", "text", "canonical", "meta_robots"}),
                         true)},
            {"dir", string(o.dir)},
            {"rotate_bytes", integer(o.rotate_bytes, 0, std::int64_t{1} << 44)},
            {"rotate_seconds", integer(o.rotate_seconds, 0, 31536000)},
            {"compress", string(o.compress, one_of({"none", "gzip", "zstd"}))},
            {"warc", string(o.warc)},
            {"warc_rotate_bytes", integer(o.warc_rotate_bytes, 1048576, std::int64_t{1} << 44)},
        });
  }

  void sitemaps(const json& v, const std::string& path, sitemaps_config& s) {
    section(v, path,
            {
                {"enabled", boolean(s.enabled)},
                {"max_files", integer(s.max_files, 0, 100000)},
                {"max_urls", integer(s.max_urls, 0, max_pages_limit)},
                {"max_bytes", integer(s.max_bytes, 1, max_body_limit)},
                {"lastmod", string(s.lastmod, one_of({"auto", "trust", "ignore"}))},
            });
  }

  void state(const json& v, const std::string& path, state_config& s) {
    section(v, path, {{"dir", string(s.dir)}});
  }

  // cluster.redis: "" (a single-process crawl), one Redis URL, the nodes of a Redis Cluster
  // separated by commas, or a list of URLs. Kept as one string, the URLs joined by commas
  // (redis::parse_urls reads it back).
  void redis_seeds(const json& v, const std::string& key, std::string& out) {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty()) {
        out.clear();
      } else if (s.find(',') == std::string::npos) {
        if (auto why = redis_url_error(s)) {
          fail(key, "must be empty or " + *why);
          return;
        }
        out = s;
      } else if (auto parsed = redis::parse_urls(s); !parsed.error.empty()) {
        fail(key, "must be empty or Redis URLs separated by commas: " + parsed.error);
      } else {
        out = s;
      }
      return;
    }
    if (!v.is_array()) {
      fail(key, "must be a Redis URL, several separated by commas, or a list of them, got " +
                    describe(v));
      return;
    }
    if (v.empty()) {
      fail(key, "must list at least one Redis URL (\"\" is a single-process crawl)");
      return;
    }
    std::string joined;
    bool ok = true;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_key = index_key(key, i);
      if (!v[i].is_string()) {
        fail(item_key, "must be a Redis URL string, got " + describe(v[i]));
        ok = false;
        continue;
      }
      const auto& s = v[i].get_ref<const std::string&>();
      if (auto why = redis_url_error(s)) {
        fail(item_key, "must be " + *why);
        ok = false;
        continue;
      }
      joined += (joined.empty() ? "" : ",") + s;
    }
    if (ok) out = std::move(joined);
  }

  static std::optional<std::string> crawl_name_problem(const std::string& s) {
    const bool ok =
        !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char ch) {
          return std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
        });
    if (ok) return std::nullopt;
    return "must be 1 to 64 letters, digits, '-', '_' or '.', got " +
           json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  void cluster(const json& v, const std::string& path, cluster_config& c) {
    section(v, path,
            {
                {"redis", [&](const json& r, const std::string& k) { redis_seeds(r, k, c.redis); }},
                {"name", string(c.name, crawl_name_problem)},
                {"lease_ms", integer(c.lease_ms, 1000, 3600000)},
                {"buckets", integer(c.buckets, 1, 65536)},
            });
  }

  // Intervals from 100 ms (tests run a simulated day in seconds) to 10 years.
  static constexpr std::int64_t min_recrawl_ms = 100;
  static constexpr std::int64_t max_recrawl_ms = 315360000000;

  void recrawl(const json& v, const std::string& path, recrawl_config& r) {
    section(v, path,
            {
                {"mode", string(r.mode, one_of({"off", "continuous", "pass"}))},
                {"interval_ms", integer(r.interval_ms, min_recrawl_ms, max_recrawl_ms)},
                {"min_interval_ms", integer(r.min_interval_ms, min_recrawl_ms, max_recrawl_ms)},
                {"max_interval_ms", integer(r.max_interval_ms, min_recrawl_ms, max_recrawl_ms)},
                {"grow", number(r.grow, 0, 10)},
                {"shrink", number(r.shrink, 0, 1)},
                {"jitter", number(r.jitter, 0, 0.5)},
                {"error_interval_ms", integer(r.error_interval_ms, min_recrawl_ms, max_recrawl_ms)},
                {"gone_after", integer(r.gone_after, 1, 100)},
                {"unreachable_ms", integer(r.unreachable_ms, min_recrawl_ms, max_recrawl_ms)},
                {"revisit_share", number(r.revisit_share, 0, 1)},
                {"rules", [&](const json& list, const std::string& k) { rules(list, k, r); }},
            });
    // interval_ms outside [min_interval_ms, max_interval_ms] is taken as the nearer bound, and
    // a minimum above the maximum as the maximum (recrawl::decide): no combination is an error.
  }

  void rules(const json& v, const std::string& key, recrawl_config& r) {
    if (!v.is_array()) {
      fail(key, "must be a list of {match, interval_ms, min_interval_ms, max_interval_ms}, got " +
                    describe(v));
      return;
    }
    std::vector<recrawl_rule> out;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_key = index_key(key, i);
      recrawl_rule rule;
      const std::size_t errors_before = errors_.size();
      section(
          v[i], item_key,
          {
              {"match", string(rule.match, regex_problem)},
              {"interval_ms", integer(rule.interval_ms, min_recrawl_ms, max_recrawl_ms)},
              {"min_interval_ms", integer(rule.min_interval_ms, min_recrawl_ms, max_recrawl_ms)},
              {"max_interval_ms", integer(rule.max_interval_ms, min_recrawl_ms, max_recrawl_ms)},
          });
      if (errors_.size() != errors_before) continue;
      if (v[i].is_object() && !v[i].contains("match")) {
        fail(join_key(item_key, "match"), "is required (an RE2 pattern on the URL)");
        continue;
      }
      out.push_back(std::move(rule));
    }
    r.rules = std::move(out);
  }

  static std::optional<std::string> listen_problem(const std::string& s) {
    if (valid_listen(s)) return std::nullopt;
    return "must be HOST:PORT (as 127.0.0.1:8080 or [::1]:8080, port 0 to 65535), got " +
           json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  static std::optional<std::string> token_problem(const std::string& s) {
    if (valid_token(s)) return std::nullopt;
    return "must be empty or a bearer token: letters, digits, -._~+/ and trailing =";
  }

  void api(const json& v, const std::string& path, api_config& a) {
    section(v, path,
            {
                {"listen", string(a.listen, listen_problem)},
                {"token", string(a.token, token_problem)},
                {"data_dir", string(a.data_dir, non_empty)},
            });
  }

  std::vector<config_error>& errors_;
};

json pairs_to_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
  json out = json::object();
  for (const auto& [name, value] : pairs) out[name] = value;
  return out;
}

// A document built to be wrong everywhere (100,000 values, each of the wrong type) would
// otherwise print 100,000 lines: the first errors say what to fix.
constexpr std::size_t max_reported_errors = 100;

void cap_errors(std::vector<config_error>& errors) {
  if (errors.size() <= max_reported_errors) return;
  const std::size_t more = errors.size() - (max_reported_errors - 1);
  errors.resize(max_reported_errors - 1);
  errors.push_back({"config", "and " + std::to_string(more) + " more errors"});
}

load_result validate_document(document_result document) {
  if (!document.parsed) {
    load_result out;
    out.errors = std::move(document.errors);
    cap_errors(out.errors);
    return out;
  }
  load_result out = from_json(document.doc);
  out.errors.insert(out.errors.begin(), document.errors.begin(), document.errors.end());
  cap_errors(out.errors);
  return out;
}

}  // namespace

std::string config_error::text() const {
  return key.empty() ? message : key + ": " + message;
}

load_result from_json(const json& doc) {
  load_result out;
  validator(out.errors).document(doc, out.config);
  cap_errors(out.errors);
  return out;
}

load_result parse_text(std::string_view text, std::string_view origin_name) {
  return validate_document(parse_document(text, origin_name));
}

load_result load_file(const std::string& path) {
  return validate_document(read_document(path));
}

static json recrawl_json(const recrawl_config& r) {
  json rules = json::array();
  for (const auto& rule : r.rules) {
    json j = {{"match", rule.match}};
    if (rule.interval_ms) j["interval_ms"] = rule.interval_ms;
    if (rule.min_interval_ms) j["min_interval_ms"] = rule.min_interval_ms;
    if (rule.max_interval_ms) j["max_interval_ms"] = rule.max_interval_ms;
    rules.push_back(std::move(j));
  }
  return {{"mode", r.mode},
          {"interval_ms", r.interval_ms},
          {"min_interval_ms", r.min_interval_ms},
          {"max_interval_ms", r.max_interval_ms},
          {"grow", r.grow},
          {"shrink", r.shrink},
          {"jitter", r.jitter},
          {"error_interval_ms", r.error_interval_ms},
          {"gone_after", r.gone_after},
          {"unreachable_ms", r.unreachable_ms},
          {"revisit_share", r.revisit_share},
          {"rules", std::move(rules)}};
}

json to_json(const crawl_config& c) {
  return json{
      {"seeds", c.seeds},
      {"scope",
       {{"mode", c.scope.mode},
        {"include", c.scope.include},
        {"exclude", c.scope.exclude},
        {"max_depth", c.scope.max_depth},
        {"max_pages", c.scope.max_pages},
        {"max_url_length", c.scope.max_url_length},
        {"max_pages_per_host", c.scope.max_pages_per_host}}},
      {"limits",
       {{"concurrency", c.limits.concurrency},
        {"per_host", c.limits.per_host},
        {"delay_ms", c.limits.delay_ms},
        {"connect_timeout_ms", c.limits.connect_timeout_ms},
        {"timeout_ms", c.limits.timeout_ms},
        {"max_redirects", c.limits.max_redirects},
        {"max_tries", c.limits.max_tries},
        {"max_retry_after_ms", c.limits.max_retry_after_ms},
        {"max_body_bytes", c.limits.max_body_bytes},
        {"adaptive", c.limits.adaptive},
        {"adaptive_max_delay_ms", c.limits.adaptive_max_delay_ms},
        {"parse_priority", c.limits.parse_priority}}},
      {"robots",
       {{"obey", c.robots.obey},
        {"user_agent", c.robots.user_agent},
        {"max_crawl_delay_ms", c.robots.max_crawl_delay_ms},
        {"cache_ttl_ms", c.robots.cache_ttl_ms}}},
      {"fetch",
       {{"headers", pairs_to_object(c.fetch.headers)},
        {"tls_verify", c.fetch.tls_verify},
        {"accept_encoding", c.fetch.accept_encoding},
        {"follow_nofollow", c.fetch.follow_nofollow},
        {"requisites", c.fetch.requisites}}},
      {"network",
       {{"allow_private", c.network.allow_private},
        {"resolve", pairs_to_object(c.network.resolve)}}},
      {"output",
       {{"path", c.output.path},
        {"fields", c.output.fields},
        {"dir", c.output.dir},
        {"rotate_bytes", c.output.rotate_bytes},
        {"rotate_seconds", c.output.rotate_seconds},
        {"compress", c.output.compress},
        {"warc", c.output.warc},
        {"warc_rotate_bytes", c.output.warc_rotate_bytes}}},
      {"sitemaps",
       {{"enabled", c.sitemaps.enabled},
        {"max_files", c.sitemaps.max_files},
        {"max_urls", c.sitemaps.max_urls},
        {"max_bytes", c.sitemaps.max_bytes},
        {"lastmod", c.sitemaps.lastmod}}},
      {"state", {{"dir", c.state.dir}}},
      {"cluster",
       {{"redis", c.cluster.redis},
        {"name", c.cluster.name},
        {"lease_ms", c.cluster.lease_ms},
        {"buckets", c.cluster.buckets}}},
      {"recrawl", recrawl_json(c.recrawl)},
      {"api", {{"listen", c.api.listen}, {"token", c.api.token}, {"data_dir", c.api.data_dir}}},
  };
}

std::vector<config_error> crawl_command_problems(const crawl_config& c) {
  std::vector<config_error> out;
  if (c.recrawl.mode != "off" && c.state.dir.empty() && c.cluster.redis.empty()) {
    out.push_back({"recrawl.mode", "\"" + c.recrawl.mode +
                                       "\" needs state.dir (--state-dir DIR): the visit history "
                                       "must outlive the process"});
  }
  return out;
}

json merge_patch(json base, const json& patch) {
  if (!patch.is_object()) return patch;
  if (!base.is_object()) base = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      base.erase(it.key());
    } else {
      json& slot = base[it.key()];
      slot = merge_patch(std::move(slot), it.value());
    }
  }
  return base;
}

}  // namespace trawler::config
