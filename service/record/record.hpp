#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error_kind.hpp"
#include "record/sha256.hpp"
#include "record/utf8.hpp"

// The JSONL record: one line per URL outcome (SPEC "The JSONL record", "Record fields";
// contract in proto-free-api/record.schema.json).
namespace trawler::record {

// Where a response's WARC record is (SPEC additions "WARC archive"): the gzip member of the
// response record in a published WARC file, so one seek reads the original bytes.
struct warc_pointer {
  std::string file;  // the WARC file's name in output.warc
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool operator==(const warc_pointer&) const = default;
};

// With recrawl on (SPEC additions "Recrawl"): what the visit tells the indexer.
struct visit_facts {
  std::string change;       // new | changed | unchanged | not_modified | gone | failed
  std::string gone_reason;  // for gone: 410 | 404 | redirect | robots | noindex | unreachable
  std::uint32_t visit = 0;  // 1 for the URL's first visit
  std::optional<std::chrono::system_clock::time_point> last_changed_at;
  std::optional<std::chrono::system_clock::time_point> next_visit_at;
  bool operator==(const visit_facts&) const = default;
};

struct fetch_record {
  std::string url;
  std::optional<int> status;
  std::optional<error_kind> error;
  std::string error_message;  // written only when error is set
  std::optional<std::string> redirect;
  int depth = 0;
  std::optional<std::string> referrer;
  std::chrono::system_clock::time_point fetched_at;
  double elapsed_ms = 0;
  int attempts = 0;
  std::optional<std::string> content_type;  // already a media type (see media_type())
  std::optional<std::string> charset;
  std::uint64_t size = 0;
  bool truncated = false;
  std::optional<std::string> sha256;
  std::vector<std::string> links;
  int new_links = 0;
  std::optional<std::string> title;
  // Indexing directives from X-Robots-Tag and <meta name=robots>.
  bool noindex = false;
  bool nofollow = false;
  // A page requisite (fetch.requisites): written as "requisite": true, absent otherwise.
  bool requisite = false;
  // Optional output fields.
  // Response headers as received, in any case and with repeats: to_json_line lowercases the
  // names and joins repeated ones with ", " in arrival order (SPEC "Record fields").
  std::vector<std::pair<std::string, std::string>> headers;
  std::string text;
  std::optional<std::string> canonical;
  std::vector<std::string> meta_robots;
  // Set when the response was archived (output.warc).
  std::optional<warc_pointer> warc;
  std::optional<visit_facts> visit;
  // An unchanged or 304 visit: the page's content fields (links, title, text, canonical,
  // meta_robots) are left out of the line, absent rather than empty.
  bool content_omitted = false;
};

// Which optional fields a line carries (config output.fields).
struct output_fields {
  bool links = true;
  bool title = true;
  bool headers = false;
  bool text = false;
  bool canonical = false;
  bool meta_robots = false;

  // Exactly the named fields are on (an empty list turns all off). Throws
  // std::invalid_argument for an unknown name: config validation reports those first.
  static output_fields from_names(const std::vector<std::string>& names);
};

// One JSON object on one line, ending with "\n". Strings are repaired to valid UTF-8 and
// control characters escaped, so no raw newline appears inside.
std::string to_json_line(const fetch_record& r, const output_fields& f);

// "2026-11-27T13:19:54.123Z": UTC, milliseconds (truncated toward the past), "Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

// The media type of a Content-Type value, lowercased, without parameters or surrounding
// whitespace ("Text/HTML; charset=UTF-8" -> "text/html"; "foo" stays "foo"); nullopt when
// empty. No validation and no sniffing: the record reports what the server declared.
std::optional<std::string> media_type(std::string_view content_type_header);

// The first charset parameter of a Content-Type value, unquoted (RFC 9110 quoted-string) and
// otherwise as given ("UTF-8" stays "UTF-8"); nullopt when absent or empty.
std::optional<std::string> charset_param(std::string_view content_type_header);

}  // namespace trawler::record
