#include <chrono>
#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error_kind.hpp"
#include "fuzz_checks.hpp"
#include "record/record.hpp"
#include "record/sha256.hpp"
#include "record/utf8.hpp"

namespace trawler::fuzz {

namespace {

using nlohmann::json;

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// RFC 9110 token characters: the only ones Beast lets through in a field name.
bool is_tchar(char c) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" back to milliseconds since the epoch; -1 when malformed.
std::int64_t parse_rfc3339_ms(std::string_view s) {
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (s.size() != shape.size()) return -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return -1;
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = 0; i < len; ++i) v = v * 10 + (s[pos + i] - '0');
    return v;
  };
  using namespace std::chrono;
  const year_month_day ymd{year{num(0, 4)}, month{static_cast<unsigned>(num(5, 2))},
                           day{static_cast<unsigned>(num(8, 2))}};
  if (!ymd.ok() || num(11, 2) > 23 || num(14, 2) > 59 || num(17, 2) > 59) return -1;
  const auto t = sys_days{ymd} + hours{num(11, 2)} + minutes{num(14, 2)} + seconds{num(17, 2)} +
                 milliseconds{num(20, 3)};
  return duration_cast<milliseconds>(t.time_since_epoch()).count();
}

finding expect_string(const json& j, const char* key, std::string_view written) {
  const std::string want = record::repair_utf8(written);
  if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>() != want)
    return std::string("field ") + key + " is not the repaired input " + printable(want) + ": " +
           (j.contains(key) ? printable(j[key].dump()) : "missing");
  return std::nullopt;
}

finding expect_optional(const json& j, const char* key, const std::optional<std::string>& v) {
  if (v) return expect_string(j, key, *v);
  if (!j.contains(key) || !j[key].is_null()) return std::string("field ") + key + " is not null";
  return std::nullopt;
}

finding check_record_impl(std::string_view data) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t end = data.find('\0', start);
    parts.push_back(data.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  auto part = [&](std::size_t i) { return i < parts.size() ? parts[i] : std::string_view(); };
  auto optional_part = [&](std::size_t i) -> std::optional<std::string> {
    if (i >= parts.size()) return std::nullopt;
    return std::string(parts[i]);
  };
  const std::uint64_t h = fnv1a(data);

  record::fetch_record r;
  r.url = part(0);
  r.redirect = optional_part(1);
  r.referrer = optional_part(2);
  if (h & 1) {
    r.error = all_error_kinds[(h >> 8) % std::size(all_error_kinds)];
    r.error_message = part(3);
  }
  r.status = (h & 2) ? std::optional<int>(100 + static_cast<int>((h >> 16) % 500)) : std::nullopt;
  r.depth = static_cast<int>((h >> 24) % 100);
  r.attempts = static_cast<int>((h >> 32) % 5);
  r.size = h >> 20;
  r.truncated = (h & 4) != 0;
  r.new_links = static_cast<int>((h >> 40) % 50);
  r.elapsed_ms = static_cast<double>(static_cast<std::int64_t>(h)) / 1e9;  // negative too
  // Any time from 1970 to 2255 (system_clock counts nanoseconds in 64 bits: it ends in 2262).
  const auto ms = static_cast<std::int64_t>(h % 9'000'000'000'000ull);
  r.fetched_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  r.content_type = record::media_type(part(4));
  r.charset = record::charset_param(part(4));
  r.title = optional_part(5);
  r.text = part(6);
  r.canonical = optional_part(7);
  r.sha256 = record::sha256_hex(data);

  // The rest: "name:value" pieces are headers (the name cut to token characters, as Beast
  // delivers them), "!token" pieces meta robots tokens, anything else a link.
  for (std::size_t i = 8; i < parts.size(); ++i) {
    const std::string_view p = parts[i];
    const std::size_t colon = p.find(':');
    if (colon != std::string_view::npos && colon > 0) {
      std::string name;
      for (const char c : p.substr(0, colon))
        if (is_tchar(c)) name += c;
      if (!name.empty()) r.headers.emplace_back(std::move(name), std::string(p.substr(colon + 1)));
    } else if (!p.empty() && p.front() == '!') {
      r.meta_robots.emplace_back(p.substr(1));
    } else {
      r.links.emplace_back(p);
    }
  }

  // sha256: lowercase hex, the same in one piece or two.
  if (r.sha256->size() != 64 ||
      r.sha256->find_first_not_of("0123456789abcdef") != std::string::npos)
    return "sha256_hex gave " + printable(*r.sha256);
  record::sha256 streaming;
  streaming.update(data.substr(0, data.size() / 3));
  streaming.update(data.substr(data.size() / 3));
  if (streaming.hex_final() != *r.sha256) return std::string("streaming sha256 differs");

  record::output_fields fields;  // links and title
  if (h & 8)
    fields = record::output_fields::from_names(
        {"links", "title", "headers", "text", "canonical", "meta_robots"});
  const std::string line = record::to_json_line(r, fields);
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
    return "not exactly one line: " + printable(line);
  if (!record::is_valid_utf8(line)) return "line is not UTF-8: " + printable(line);
  json j;
  try {
    j = json::parse(line);
  } catch (const std::exception& e) {
    return std::string("line does not parse as JSON: ") + e.what() + " " + printable(line);
  }
  if (!j.is_object()) return std::string("line is not an object");

  if (auto f = expect_string(j, "url", r.url)) return f;
  if (auto f = expect_optional(j, "redirect", r.redirect)) return f;
  if (auto f = expect_optional(j, "referrer", r.referrer)) return f;
  if (auto f = expect_optional(j, "content_type", r.content_type)) return f;
  if (auto f = expect_optional(j, "charset", r.charset)) return f;
  if (auto f = expect_optional(j, "sha256", r.sha256)) return f;
  if (r.error) {
    if (!j["error"].is_object() || j["error"]["kind"] != std::string(to_string(*r.error)))
      return "error kind wrong: " + printable(j["error"].dump());
    if (auto f = expect_string(j["error"], "message", r.error_message)) return f;
  } else if (!j["error"].is_null()) {
    return std::string("error is not null");
  }
  if (r.status ? j["status"] != *r.status : !j["status"].is_null())
    return "status wrong: " + j["status"].dump();
  if (j["depth"] != r.depth || j["attempts"] != r.attempts || j["size"] != r.size ||
      j["truncated"] != r.truncated || j["new_links"] != r.new_links)
    return "a number or flag is wrong: " + printable(line);
  if (!j["elapsed_ms"].is_number() || j["elapsed_ms"].get<double>() < 0)
    return "elapsed_ms is not a non-negative number: " + j["elapsed_ms"].dump();
  if (!j["fetched_at"].is_string() || parse_rfc3339_ms(j["fetched_at"].get<std::string>()) != ms)
    return "fetched_at " + j["fetched_at"].dump() + " is not " + std::to_string(ms) + " ms";

  if (r.content_type) {
    if (r.content_type->empty()) return std::string("empty media type");
    for (const char c : *r.content_type)
      if ((c >= 'A' && c <= 'Z') || c == ';')
        return "media_type() " + printable(*r.content_type) + " for " + printable(part(4));
  }
  if (r.charset && r.charset->empty()) return std::string("empty charset parameter");

  const json& links = j["links"];
  if (!links.is_array() || links.size() != r.links.size()) return std::string("links wrong");
  for (std::size_t i = 0; i < r.links.size(); ++i)
    if (links[i] != record::repair_utf8(r.links[i])) return "link wrong: " + links[i].dump();
  if (auto f = expect_optional(j, "title", r.title)) return f;

  if (fields.headers) {
    // Lowercase names, repeats joined with ", " in arrival order, one key per name (a name
    // written twice would lose a value in the parse, so the joined values would differ).
    std::map<std::string, std::string> want;
    for (const auto& [name, value] : r.headers) {
      std::string lower;
      for (const char c : name) lower += ascii_lower(c);
      auto [it, inserted] = want.try_emplace(lower, record::repair_utf8(value));
      if (!inserted) it->second += ", " + record::repair_utf8(value);
    }
    const json& got = j["headers"];
    if (!got.is_object() || got.size() != want.size())
      return "headers wrong: " + printable(got.dump());
    for (const auto& [name, value] : want)
      if (!got.contains(name) || got[name] != value)
        return "header " + printable(name) + " wrong: " + printable(got.dump());
    if (auto f = expect_string(j, "text", r.text)) return f;
    if (auto f = expect_optional(j, "canonical", r.canonical)) return f;
    const json& tokens = j["meta_robots"];
    if (!tokens.is_array() || tokens.size() != r.meta_robots.size())
      return std::string("meta_robots wrong");
    for (std::size_t i = 0; i < r.meta_robots.size(); ++i)
      if (tokens[i] != record::repair_utf8(r.meta_robots[i]))
        return "meta_robots token wrong: " + tokens[i].dump();
  } else if (j.contains("headers") || j.contains("text") || j.contains("canonical") ||
             j.contains("meta_robots")) {
    return std::string("a field that was not asked for");
  }
  return std::nullopt;
}

}  // namespace

finding check_record(std::string_view data) {
  try {
    return check_record_impl(data);
  } catch (const std::exception& e) {
    return std::string("record: exception ") + e.what() + " for " + printable(data);
  }
}

}  // namespace trawler::fuzz
