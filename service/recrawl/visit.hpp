#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Continuous crawling (SPEC additions "Recrawl"): what trawler remembers of each visited URL,
// and the pure rule that turns (that memory, a visit's outcome, now) into the record's `change`
// and the URL's next due time. Nothing here reads a clock or does I/O: times are Unix
// milliseconds passed in, jitter comes from a hash of the URL and its visit count, so the same
// inputs always give the same schedule (and the unit tests never sleep).
namespace trawler::recrawl {

using millis = std::int64_t;  // Unix time or a duration, in milliseconds

// What the indexer is told about a URL (the record's `change`).
enum class change : std::uint8_t {
  created,       // "new": the first 2xx of the URL (or the first since it was gone): upsert
  changed,       // a 2xx whose content differs from the last one: upsert
  unchanged,     // a 2xx with the same content: touch
  not_modified,  // a 304 to a conditional request: touch
  gone,          // the page is no more (gone_reason says why): delete
  failed,        // nothing to index and nothing to delete (a transient failure, a redirect of
                 // a URL never indexed, a 404 not yet confirmed): keep what is there
};
std::string_view change_name(change c);

enum class gone_reason : std::uint8_t {
  none,
  status_410,   // "410"
  status_404,   // "404": gone_after consecutive 404s, at least min_interval_ms apart
  redirect,     // a URL that was indexed now redirects
  robots,       // robots.txt now disallows it
  noindex,      // X-Robots-Tag or meta robots says noindex
  unreachable,  // failing (no response, 5xx, 429, other 4xx) for longer than unreachable_ms
};
std::string_view gone_reason_name(gone_reason r);

// The first 128 bits of a SHA-256.
using digest = std::array<std::uint8_t, 16>;
// The digest of the first 32 hex digits of a SHA-256 hex string (nullopt when not hex).
std::optional<digest> digest_of_hex(std::string_view sha256_hex);

// The URL's last full capture in a WARC archive (output.warc): what a revisit record of a later
// 304 or identical payload refers to.
struct capture {
  std::string record_id;       // "<urn:uuid:...>"
  std::int64_t date_us = 0;    // its WARC-Date, Unix microseconds (as the record has it)
  std::string payload_digest;  // "sha1:" + base32
  bool operator==(const capture&) const = default;
};

// One URL's visit history. Encoded in about 45 to 100 bytes (encode()), 36 more with a capture.
struct visit_row {
  millis last_visit = 0;     // when the last visit ended
  millis next_due = 0;       // when it is due again
  millis interval = 0;       // the current revisit interval
  millis last_change = 0;    // the last visit that found a change (new, changed, gone)
  millis last_full = 0;      // the last 2xx (a full download): validators are that old
  millis failing_since = 0;  // first of the current run of failures (0: not failing)
  millis last_404 = 0;       // the last 404 that counted toward gone_after
  std::uint32_t visits = 0;
  // The change-rate estimate's observations: revisits of an indexed copy that got an answer
  // (2xx or 304), how many of them found a change, and the time they covered. Halved together
  // before they saturate.
  std::uint32_t checks = 0;
  std::uint32_t changes = 0;
  millis observed = 0;
  std::uint8_t not_found = 0;  // 404s counted toward gone_after
  bool indexed = false;  // the indexer holds a copy: the last word was new/changed/unchanged/304
  bool gone = false;     // the last word was gone
  bool hub = false;      // a seed or a sitemap file: revisited at the minimum interval
  gone_reason reason = gone_reason::none;  // why it is gone
  std::optional<digest> body;              // of the decoded body of the last 2xx
  std::optional<digest> text;              // of the visible text of the last 2xx HTML page
  std::string etag;                        // as the server sent it (empty: none)
  millis last_modified = 0;                // the server's Last-Modified, Unix ms (0: none)
  std::uint64_t size = 0;                  // body bytes of the last 2xx (what a 304 saves)
  std::optional<capture> archived;         // with output.warc

  bool operator==(const visit_row&) const = default;
};

// A compact binary form (varints, times as deltas from last_visit) and back. decode() of
// anything encode() did not make returns nullopt.
std::string encode(const visit_row& r);
std::optional<visit_row> decode(std::string_view bytes);

// The schedule's knobs (config recrawl.*), one URL's bounds already resolved (recrawl.rules).
//
// The interval after a revisit that got an answer comes from the URL's estimated change rate
// (Cho and Garcia-Molina's estimator for a page checked n times and found changed X times:
// rate = -ln((n - X + 0.5) / (n + 0.5)) / mean interval, with one prior check of a page that
// changes once per `interval`), and is the interval that keeps an index freshest for a given
// number of fetches (their Lagrangian optimum: 1 - e^-x (1 + x) = mu * rate, x = rate *
// interval, mu set so that a page changing once per `interval` is visited every `interval`).
// Slow pages get longer intervals (about as the square root of their change interval); a page
// that changes faster than that budget can follow is visited every `interval` rather than
// chased. `grow` and `shrink` bound each step: the interval grows at most by 1 + grow, and
// comes down at most `shrink` of the way to the minimum, per visit.
struct policy {
  millis interval = 86400000;        // the first revisit after a 2xx
  millis min_interval = 3600000;     // the shortest interval; hubs always use it
  millis max_interval = 2592000000;  // the longest; gone URLs are checked this often, and
                                     // validators older than this are not sent
  double grow = 0.5;                 // unchanged / 304: interval * (1 + grow)
  double shrink = 0.5;               // changed: interval - shrink * (interval - min)
  double jitter = 0.1;               // the due time moves by up to +-jitter * interval
  millis error_interval = 7200000;   // after a failed visit
  int gone_after = 2;                // consecutive 404s that make a URL gone
  millis unreachable = 604800000;    // failing this long makes an indexed URL gone
};

// What a visit found.
struct outcome {
  enum class kind : std::uint8_t {
    ok,            // a 2xx (body digests below)
    not_modified,  // a 304 to a request that carried validators
    not_found,     // 404
    removed,       // 410
    redirect,      // a 3xx with Location
    robots,        // robots.txt refuses it (no request made)
    failed,        // no response, 5xx, 429, other 4xx, a protocol error
  };
  kind what = kind::failed;
  bool noindex = false;    // for ok
  bool truncated = false;  // for ok: the body was cut; no validators are kept from it
  std::optional<digest> body;
  std::optional<digest> text;  // HTML only: the visible text's signature
  std::string etag;            // the response's ETag header (empty: none)
  std::string last_modified;   // the response's Last-Modified header (empty: none)
  std::uint64_t size = 0;      // for ok: body bytes
  bool validators_sent = false;
  // A full response record was archived for this visit (not a revisit record): later revisit
  // records refer to it.
  std::optional<capture> archived;
};

struct decision {
  visit_row row;
  change what = change::failed;
  gone_reason reason = gone_reason::none;
  // Validators were sent, and a 2xx came back with the same body: the host ignores them.
  bool validators_ignored = false;
};

// The pure rule. `prev`: the URL's row (nullopt: never visited). `hub`: a seed or a sitemap
// file. `seed`: any stable number for the URL (its hash): with the visit count it picks the
// jitter.
decision decide(const std::optional<visit_row>& prev, const outcome& o, millis now, const policy& p,
                bool hub, std::uint64_t seed);

// The validators a revisit sends (RFC 9110 13.1): none for a URL not indexed, after a failed
// or truncated fetch (they were not kept), or when the last full download is max_interval or
// older (an unconditional GET then).
struct validators {
  std::string if_none_match;      // the stored ETag, verbatim
  std::string if_modified_since;  // the stored Last-Modified as an IMF-fixdate
  bool any() const { return !if_none_match.empty() || !if_modified_since.empty(); }
};
validators validators_for(const visit_row& r, millis now, const policy& p);

// An HTTP-date (RFC 9110 5.6.7: IMF-fixdate, RFC 850 or asctime) to Unix ms; nullopt when it is
// none of them.
std::optional<millis> parse_http_date(std::string_view s);
// Unix ms to an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), whole seconds.
std::string imf_fixdate(millis t);

}  // namespace trawler::recrawl
