#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// WARC/1.1 records (ISO 28500:2017, https://iipc.github.io/warc-specifications/) for one HTTP
// exchange, each record compressed as its own gzip member so that a .warc.gz can be read from
// any record's offset (CDX lookups, replay). Building is pure and thread-safe: parse threads
// build and compress, the I/O thread only appends bytes (warc_writer).
namespace trawler::warc {

// An earlier full capture of the same URL (recrawl): a revisit record refers to it.
struct earlier_capture {
  std::string record_id;                       // its response record's "<urn:uuid:...>"
  std::chrono::system_clock::time_point date;  // its WARC-Date
  std::string payload_digest;                  // its WARC-Payload-Digest ("sha1:...")
};

// WARC 1.1 6.7.2: which revisit record, if any, stands for the response.
enum class revisit_profile { none, server_not_modified, identical_payload_digest };

// What the fetcher captured of one HTTP exchange, as bytes on the wire.
struct exchange {
  std::string target_uri;                      // the absolute URL requested
  std::string ip;                              // the peer address connected to ("" if unknown)
  std::chrono::system_clock::time_point date;  // when the response completed
  std::string_view request;                    // raw bytes sent: request line, headers, CRLF CRLF
  std::string_view response;  // raw bytes received: status line, headers, CRLF CRLF, body exactly
                              // as on the wire (chunked stays chunked, gzip stays gzipped); may
                              // be cut short
  bool truncated = false;     // the body was cut at the crawl's size cap: WARC-Truncated: length
  std::vector<std::string> outlinks;  // for the metadata record ("outlink: URL" lines); none: no
                                      // metadata record
  // Recrawl: with an earlier capture, a 304 answering our validators (`not_modified`) is written
  // as a server-not-modified revisit, and a response whose payload digest equals the earlier
  // one as an identical-payload-digest revisit (HTTP headers only, WARC-Truncated: length).
  std::optional<earlier_capture> earlier;
  bool not_modified = false;
  // The WARC-Record-ID of the warcinfo record of the file the records go to: each record
  // carries it as WARC-Warcinfo-ID (none when empty). warc_writer::warcinfo_id() says which.
  std::string warcinfo_id;
};

// One fetch's records, built and gzip-compressed off the I/O thread (pure, thread-safe).
struct built {
  std::string bytes;  // request member + response member + metadata member, concatenated gzip
                      // members (order: see build_exchange)
  std::uint64_t response_offset = 0;  // offset of the response record's member within bytes
  std::uint64_t response_length = 0;  // its compressed length
  std::string response_id;            // "<urn:uuid:...>"
  std::string error;  // non-empty when building failed (zlib out of memory): bytes is empty
  std::string payload_digest;  // the response's (for a revisit: the earlier capture's)
  revisit_profile revisit = revisit_profile::none;  // what the first record is
  std::string warcinfo_id;                          // exchange::warcinfo_id, which the records name
};

// The records of one exchange, in this order, each its own gzip member:
//   1. response, or a revisit (see exchange::earlier) (always; response_offset is therefore 0)
//   2. request   (when x.request is not empty; WARC-Concurrent-To: the response's ID)
//   3. metadata  (when x.outlinks is not empty; "outlink: URL" lines, Content-Type
//                 application/warc-fields, WARC-Concurrent-To: the response's ID)
// Header values are made single-line: a CR, LF or other control byte in a URL or address is
// percent-encoded, so no input can add a header or a record.
built build_exchange(const exchange& x);

// The warcinfo record that starts a WARC file, as one gzip member (empty on a zlib failure).
// Fields: software, format "WARC File Format 1.1", conformsTo (the WARC 1.1 spec URL), then
// `info` in order. `record_id` is its WARC-Record-ID (a new one when empty), which the file's
// other records name in WARC-Warcinfo-ID.
std::string build_warcinfo(std::string_view filename, std::string_view software,
                           const std::vector<std::pair<std::string, std::string>>& info,
                           std::chrono::system_clock::time_point date,
                           std::string_view record_id = {});

// "sha1:" + RFC 4648 base32 (upper case, no padding needed: 20 bytes = 32 characters) of SHA-1.
std::string base32_sha1(std::string_view data);

// Payload digest of an HTTP response ("sha1:..."): the entity body after the header block, with
// a chunked transfer coding removed (the WARC 1.1 "payload"), content coding kept. The chunk
// slices are hashed in place; chunk extensions and trailer fields are not payload (RFC 9112
// 7.1). A body cut short counts what is there: the whole chunks, then the data of a cut chunk
// (a cut chunk-size line adds nothing). Where the body stops being valid chunked data (no hex
// chunk size, or chunk data not followed by CRLF) the rest is hashed as it is, so a body that
// is not chunked at all although the headers say so is hashed whole. The chunked coding is the
// last coding of the last Transfer-Encoding field ("gzip, chunked"). tests/warc/check-warc.mjs
// applies the same rules on its own. "" when `raw_response` holds no complete header block (no
// payload to speak of).
std::string payload_digest(std::string_view raw_response);

// A new record ID, "<urn:uuid:...>" (random, version 4; OpenSSL RAND_bytes).
std::string new_record_id();
// WARC-Date: "YYYY-MM-DDThh:mm:ss.ffffffZ" (UTC, microseconds).
std::string warc_date(std::chrono::system_clock::time_point t);

}  // namespace trawler::warc
