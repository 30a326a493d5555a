#include "warc/warc_record.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include "sink/compress.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <random>

namespace trawler::warc {

namespace {

constexpr std::string_view record_end = "\r\n\r\n";
constexpr std::string_view conforms_to =
    "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/";

// Incremental SHA-1 (OpenSSL EVP). ok() turns false for good if the library fails.
class sha1 {
 public:
  sha1() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha1(), nullptr) == 1;
  }
  ~sha1() { EVP_MD_CTX_free(ctx_); }
  sha1(const sha1&) = delete;
  sha1& operator=(const sha1&) = delete;

  void update(std::string_view data) {
    if (ok_ && !data.empty()) ok_ = EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1;
  }
  // "sha1:" + base32 of the digest; "" if the library failed.
  std::string finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, md.data(), &len) != 1 || len != 20) return "";
    ok_ = false;
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out = "sha1:";
    // 160 bits = 32 groups of 5 bits, no padding.
    std::uint32_t buffer = 0;
    int bits = 0;
    for (unsigned int i = 0; i < len; ++i) {
      buffer = (buffer << 8) | md[i];
      bits += 8;
      while (bits >= 5) {
        out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
        bits -= 5;
      }
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_ = false;
};

// A header value on one line: bytes that are control characters or space (none belongs in a
// URI or an address) are percent-encoded.
std::string uri_value(std::string_view v) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

// Free text on one line: control characters become spaces.
std::string text_value(std::string_view v) {
  std::string out(v);
  for (char& ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ch = ' ';
  }
  return out;
}

// A warc-fields name: a token, so separators and control characters become '-'.
std::string field_name(std::string_view v) {
  std::string out(v);
  for (char& ch : out) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || ch == ':') ch = '-';
  }
  return out.empty() ? "-" : out;
}

struct header {
  std::string text;
  explicit header(std::string_view type) {
    text.reserve(512);
    text.append("WARC/1.1\r\nWARC-Type: ").append(type).append("\r\n");
  }
  void field(std::string_view name, std::string_view value) {
    text.append(name).append(": ").append(value).append("\r\n");
  }
  // Content-Length and the blank line that ends the header.
  std::string& end(std::size_t block_size) {
    text.append("Content-Length: ").append(std::to_string(block_size)).append("\r\n\r\n");
    return text;
  }
};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The HTTP header block of `r`: where the body starts (npos when the block is incomplete), and
// whether the last transfer coding is chunked.
struct http_head {
  std::size_t body = std::string_view::npos;
  bool chunked = false;
};

http_head parse_head(std::string_view r) {
  http_head h;
  std::size_t pos = 0;
  bool first = true;
  for (;;) {
    const std::size_t nl = r.find('\n', pos);
    if (nl == std::string_view::npos) return h;
    std::string_view line = r.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    if (line.empty()) {
      h.body = pos;
      return h;
    }
    if (first) {  // the status line
      first = false;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos ||
        !iequals(trim(line.substr(0, colon)), "transfer-encoding"))
      continue;
    // The last coding of the last Transfer-Encoding field decides ("gzip, chunked").
    std::string_view value = line.substr(colon + 1);
    const std::size_t comma = value.rfind(',');
    if (comma != std::string_view::npos) value = value.substr(comma + 1);
    const std::size_t semi = value.find(';');
    if (semi != std::string_view::npos) value = value.substr(0, semi);
    h.chunked = iequals(trim(value), "chunked");
  }
}

// The chunk size at the start of `line` (leading blanks, hex digits, then anything: extensions);
// -1 when there is no hex number or it is over 2^32 (warcio.js's limits).
long long chunk_size(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  long long n = 0;
  std::size_t digits = 0;
  for (; i < line.size(); ++i, ++digits) {
    const char c = lower(line[i]);
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      break;
    n = n * 16 + d;
    if (n > (1LL << 32)) return -1;
  }
  return digits == 0 ? -1 : n;
}

void hash_dechunked(std::string_view body, sha1& h) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t nl = body.find('\n', pos);
    const long long size =
        chunk_size(body.substr(pos, nl == std::string_view::npos ? body.npos : nl - pos));
    if (size < 0) {  // not chunked (any more): the rest as it is
      h.update(body.substr(pos));
      return;
    }
    if (nl == std::string_view::npos) return;  // cut in the chunk-size line
    if (size == 0) return;                     // the last chunk; trailer fields are not payload
    const std::size_t data = nl + 1;
    const auto n = static_cast<std::size_t>(size);
    if (body.size() - data < n) {  // cut in the chunk's data
      h.update(body.substr(data));
      return;
    }
    h.update(body.substr(data, n));
    const std::size_t after = data + n;
    if (body.substr(after, 2) != "\r\n") {  // a bad or cut separator: the rest as it is
      h.update(body.substr(after));
      return;
    }
    pos = after + 2;
  }
}

// Appends one record (header text, block, the closing CRLF CRLF) as one gzip member.
bool append_record(std::string_view head, std::string_view block, std::string& out) {
  return sink::append_gzip_member({head, block, record_end}, out);
}

std::size_t member_bound(std::size_t block_size) {
  return block_size + block_size / 1024 + 1024;  // above deflate's worst case (zlib compressBound)
}

}  // namespace

std::string base32_sha1(std::string_view data) {
  sha1 h;
  h.update(data);
  return h.finish();
}

std::string payload_digest(std::string_view raw_response) {
  const http_head head = parse_head(raw_response);
  if (head.body == std::string_view::npos) return "";
  const std::string_view body = raw_response.substr(head.body);
  sha1 h;
  if (head.chunked)
    hash_dechunked(body, h);
  else
    h.update(body);
  return h.finish();
}

std::string new_record_id() {
  std::array<unsigned char, 16> b{};
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    // The CSPRNG failed (it does not, short of a broken system): still unique enough.
    thread_local std::mt19937_64 rng{std::random_device{}()};
    for (std::size_t i = 0; i < b.size(); i += 8) {
      const std::uint64_t v = rng();
      for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<unsigned char>(v >> (8 * j));
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant RFC 4122
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "<urn:uuid:";
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 15]);
  }
  out.push_back('>');
  return out;
}

std::string warc_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto micros = duration_cast<microseconds>(t - secs).count();
  const std::time_t tt = system_clock::to_time_t(time_point_cast<system_clock::duration>(secs));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(micros));
  return buf;
}

built build_exchange(const exchange& x) {
  built b;
  b.response_id = new_record_id();
  const std::string date = warc_date(x.date);
  const std::string uri = uri_value(x.target_uri);
  const std::string ip = uri_value(x.ip);
  const std::string info_id = uri_value(x.warcinfo_id);
  b.warcinfo_id = x.warcinfo_id;

  std::string metadata;
  for (const auto& link : x.outlinks)
    metadata.append("outlink: ").append(uri_value(link)).append("\r\n");

  b.bytes.reserve(member_bound(x.response.size()) +
                  (x.request.empty() ? 0 : member_bound(x.request.size())) +
                  (metadata.empty() ? 0 : member_bound(metadata.size())));

  const auto fail = [&b](std::string why) {
    b.bytes.clear();
    b.bytes.shrink_to_fit();
    b.response_offset = b.response_length = 0;
    b.error = std::move(why);
    return std::move(b);
  };

  // 1. The response, or the revisit that stands for it.
  {
    const std::string payload = payload_digest(x.response);
    b.payload_digest = payload;
    std::string_view block = x.response;
    if (x.earlier && x.not_modified) {
      b.revisit = revisit_profile::server_not_modified;
    } else if (x.earlier && !x.truncated && !payload.empty() &&
               payload == x.earlier->payload_digest) {
      // WARC 1.1 6.7.2.1: the HTTP headers only; the payload is the earlier record's.
      b.revisit = revisit_profile::identical_payload_digest;
      const auto end = block.find("\r\n\r\n");
      if (end != std::string_view::npos) block = block.substr(0, end + 4);
    }
    const std::string block_digest = base32_sha1(block);
    if (block_digest.empty()) return fail("cannot build WARC records: SHA-1 failed");
    header h(b.revisit == revisit_profile::none ? "response" : "revisit");
    h.field("WARC-Record-ID", b.response_id);
    h.field("WARC-Date", date);
    if (!info_id.empty()) h.field("WARC-Warcinfo-ID", info_id);
    h.field("WARC-Target-URI", uri);
    if (!ip.empty()) h.field("WARC-IP-Address", ip);
    h.field("WARC-Block-Digest", block_digest);
    if (b.revisit == revisit_profile::none) {
      if (!payload.empty()) h.field("WARC-Payload-Digest", payload);
      if (x.truncated) h.field("WARC-Truncated", "length");
    } else {
      h.field("WARC-Profile", b.revisit == revisit_profile::server_not_modified
                                  ? "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
                                  : "http://netpreserve.org/warc/1.1/revisit/"
                                    "identical-payload-digest");
      h.field("WARC-Refers-To", x.earlier->record_id);
      h.field("WARC-Refers-To-Target-URI", uri);
      h.field("WARC-Refers-To-Date", warc_date(x.earlier->date));
      // The earlier capture's payload, not the digest of an empty 304 body: replay finds the
      // original by it.
      if (!x.earlier->payload_digest.empty())
        h.field("WARC-Payload-Digest", x.earlier->payload_digest);
      if (b.revisit == revisit_profile::identical_payload_digest)
        h.field("WARC-Truncated", "length");
      b.payload_digest = x.earlier->payload_digest;
    }
    h.field("Content-Type", "application/http;msgtype=response");
    b.response_offset = b.bytes.size();
    if (!append_record(h.end(block.size()), block, b.bytes))
      return fail("cannot build WARC records: gzip compression failed");
    b.response_length = b.bytes.size() - b.response_offset;
  }

  // 2. The request.
  if (!x.request.empty()) {
    const std::string block_digest = base32_sha1(x.request);
    if (block_digest.empty()) return fail("cannot build WARC records: SHA-1 failed");
    header h("request");
    h.field("WARC-Record-ID", new_record_id());
    h.field("WARC-Date", date);
    if (!info_id.empty()) h.field("WARC-Warcinfo-ID", info_id);
    h.field("WARC-Target-URI", uri);
    if (!ip.empty()) h.field("WARC-IP-Address", ip);
    h.field("WARC-Concurrent-To", b.response_id);
    h.field("WARC-Block-Digest", block_digest);
    h.field("Content-Type", "application/http;msgtype=request");
    if (!append_record(h.end(x.request.size()), x.request, b.bytes))
      return fail("cannot build WARC records: gzip compression failed");
  }

  // 3. The metadata: the page's outlinks.
  if (!metadata.empty()) {
    const std::string block_digest = base32_sha1(metadata);
    if (block_digest.empty()) return fail("cannot build WARC records: SHA-1 failed");
    header h("metadata");
    h.field("WARC-Record-ID", new_record_id());
    h.field("WARC-Date", date);
    if (!info_id.empty()) h.field("WARC-Warcinfo-ID", info_id);
    h.field("WARC-Target-URI", uri);
    h.field("WARC-Concurrent-To", b.response_id);
    h.field("WARC-Block-Digest", block_digest);
    h.field("Content-Type", "application/warc-fields");
    if (!append_record(h.end(metadata.size()), metadata, b.bytes))
      return fail("cannot build WARC records: gzip compression failed");
  }

  // The reservation assumed incompressible data; built values may wait in a queue.
  if (b.bytes.capacity() > b.bytes.size() + b.bytes.size() / 4 + 4096) b.bytes.shrink_to_fit();
  return b;
}

std::string build_warcinfo(std::string_view filename, std::string_view software,
                           const std::vector<std::pair<std::string, std::string>>& info,
                           std::chrono::system_clock::time_point date, std::string_view record_id) {
  std::string block;
  block.append("software: ").append(text_value(software)).append("\r\n");
  block.append("format: WARC File Format 1.1\r\n");
  block.append("conformsTo: ").append(conforms_to).append("\r\n");
  for (const auto& [name, value] : info)
    block.append(field_name(name)).append(": ").append(text_value(value)).append("\r\n");
  const std::string block_digest = base32_sha1(block);
  if (block_digest.empty()) return "";
  header h("warcinfo");
  h.field("WARC-Record-ID", record_id.empty() ? new_record_id() : uri_value(record_id));
  h.field("WARC-Date", warc_date(date));
  h.field("WARC-Filename", uri_value(filename));
  h.field("WARC-Block-Digest", block_digest);
  h.field("Content-Type", "application/warc-fields");
  std::string out;
  if (!append_record(h.end(block.size()), block, out)) return "";
  return out;
}

}  // namespace trawler::warc
