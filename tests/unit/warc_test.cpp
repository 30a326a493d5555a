#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "sink/compress.hpp"
#include "warc/warc_record.hpp"
#include "warc/warc_writer.hpp"

namespace {

namespace fs = std::filesystem;
using trawler::sink::compression;
using trawler::warc::base32_sha1;
using trawler::warc::build_exchange;
using trawler::warc::built;
using trawler::warc::exchange;
using trawler::warc::location;
using trawler::warc::payload_digest;
using trawler::warc::warc_writer;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One WARC record as read back by this test's own minimal parser.
struct record {
  std::string version;
  std::map<std::string, std::string> fields;
  std::string block;
  std::string get(const std::string& name) const {
    const auto it = fields.find(name);
    return it == fields.end() ? "" : it->second;
  }
  bool has(const std::string& name) const { return fields.count(name) != 0; }
};

// Parses concatenated uncompressed records: version line, "Name: value" lines, blank line,
// Content-Length bytes of block, CRLF CRLF. Fails the test on any deviation.
std::vector<record> parse_records(std::string_view plain) {
  std::vector<record> out;
  std::size_t pos = 0;
  while (pos < plain.size()) {
    record r;
    const std::size_t head_end = plain.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) {
      ADD_FAILURE() << "no end of WARC header at " << pos;
      return out;
    }
    std::string_view head = plain.substr(pos, head_end + 2 - pos);
    bool first = true;
    while (!head.empty()) {
      const std::size_t eol = head.find("\r\n");
      const std::string_view line = head.substr(0, eol);
      head.remove_prefix(eol + 2);
      if (first) {
        r.version = std::string(line);
        first = false;
        continue;
      }
      const std::size_t colon = line.find(": ");
      if (colon == std::string_view::npos) {
        ADD_FAILURE() << "bad WARC header line '" << line << "'";
        return out;
      }
      EXPECT_EQ(r.fields.count(std::string(line.substr(0, colon))), 0u) << line;
      r.fields[std::string(line.substr(0, colon))] = std::string(line.substr(colon + 2));
    }
    const std::size_t length = std::stoull(r.get("Content-Length"));
    const std::size_t block = head_end + 4;
    if (block + length + 4 > plain.size()) {
      ADD_FAILURE() << "record at " << pos << " runs past the end";
      return out;
    }
    r.block = std::string(plain.substr(block, length));
    EXPECT_EQ(plain.substr(block + length, 4), "\r\n\r\n") << "record at " << pos;
    pos = block + length + 4;
    out.push_back(std::move(r));
  }
  return out;
}

// Decompresses a whole .warc.gz (every byte must be in a whole member) and parses it.
std::vector<record> read_warc(const fs::path& p) {
  const std::string data = read_file(p);
  std::string plain;
  EXPECT_EQ(trawler::sink::whole_prefix(compression::gzip, data, &plain), data.size()) << p;
  return parse_records(plain);
}

// The record in the single gzip member at [offset, offset+length) of `file`.
std::optional<record> record_at(const fs::path& file, std::uint64_t offset, std::uint64_t length) {
  const std::string data = read_file(file);
  if (offset + length > data.size()) return std::nullopt;
  const std::string_view member = std::string_view(data).substr(offset, length);
  std::string plain;
  if (trawler::sink::whole_prefix(compression::gzip, member, &plain) != length) return std::nullopt;
  auto records = parse_records(plain);
  if (records.size() != 1) return std::nullopt;
  return records.front();
}

std::string chunked(const std::vector<std::string>& chunks, std::string_view trailer = "") {
  std::string out;
  for (const auto& c : chunks) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", c.size());
    out.append(size).append("\r\n").append(c).append("\r\n");
  }
  out.append("0\r\n").append(trailer).append("\r\n");
  return out;
}

std::string gzipped(std::string_view text) {
  std::string out;
  EXPECT_TRUE(trawler::sink::append_compressed(compression::gzip, text, out));
  return out;
}

// The exchanges the writer tests store; the strings own the bytes the exchanges view.
struct sample {
  std::string request;
  std::string response;
  std::string payload;  // the WARC payload: body without the chunked coding
  exchange x;
};

std::vector<sample> samples() {
  std::vector<sample> s(6);
  const auto req = [](std::string_view path) {
    return "GET " + std::string(path) +
           " HTTP/1.1\r\nHost: example.com\r\nUser-Agent: trawler-test\r\n\r\n";
  };
  // 0: a plain Content-Length page, with outlinks: a metadata record.
  s[0].payload = "<a href=/a>a</a><a href=/b>b</a>\n";
  s[0].response = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: " +
                  std::to_string(s[0].payload.size()) + "\r\n\r\n" + s[0].payload;
  s[0].request = req("/");
  s[0].x.target_uri = "http://example.com/";
  s[0].x.ip = "192.0.2.1";
  s[0].x.outlinks = {"http://example.com/a", "http://example.com/b"};
  // 1: chunked, with a chunk extension and a trailer field.
  s[1].payload = "hello, world";
  s[1].response =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
      chunked({"hello", ", world"}, "X-Trailer: 1\r\n");
  s[1].response.replace(s[1].response.find("7\r\n"), 3, "7;ext=1\r\n");
  s[1].request = req("/chunked");
  s[1].x.target_uri = "http://example.com/chunked";
  s[1].x.ip = "2001:db8::1";
  // 2: gzip content coding, chunked: the payload is the gzip bytes.
  s[2].payload = gzipped("compressed compressed compressed compressed\n");
  s[2].response =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" +
      chunked({s[2].payload.substr(0, 10), s[2].payload.substr(10)});
  s[2].request = req("/gzip");
  s[2].x.target_uri = "https://example.com/gzip";
  // 3: cut at the size cap: WARC-Truncated.
  s[3].payload = std::string(100, 'x');
  s[3].response = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + s[3].payload;
  s[3].request = req("/big");
  s[3].x.target_uri = "http://example.com/big";
  s[3].x.ip = "192.0.2.1";
  s[3].x.truncated = true;
  // 4: chunked, cut in the middle of its second chunk.
  s[4].payload = std::string(40, 'a') + std::string(25, 'b');
  s[4].response = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunked({std::string(40, 'a'), std::string(100, 'b')});
  s[4].response.resize(s[4].response.find(std::string(25, 'b')) + 25);
  s[4].request = req("/cut");
  s[4].x.target_uri = "http://example.com/cut";
  s[4].x.truncated = true;
  // 5: no body.
  s[5].response = "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n";
  s[5].request = req("/same");
  s[5].x.target_uri = "http://example.com/same";
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i].x.request = s[i].request;
    s[i].x.response = s[i].response;
    s[i].x.date = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000 + i));
  }
  return s;
}

class WarcWriterTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trawler_warc_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  warc_writer::settings settings(std::uint64_t rotate = 1'000'000'000) const {
    warc_writer::settings s;
    s.dir = dir_.string();
    s.rotate_bytes = rotate;
    s.software = "trawler/test";
    s.info = {{"robots", "obey"}, {"operator", "tests"}};
    return s;
  }

  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------

TEST(WarcDigest, Base32Sha1KnownVectors) {
  // Independently: printf 'abc' | sha1sum | cut -d' ' -f1 | xxd -r -p | base32
  EXPECT_EQ(base32_sha1(""), "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
  EXPECT_EQ(base32_sha1("abc"), "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
  EXPECT_EQ(base32_sha1("The quick brown fox jumps over the lazy dog"),
            "sha1:F7KODRT2FUUPZ3MET3Q3W5XHHENZH2YS");
  EXPECT_EQ(base32_sha1("hello, world"), "sha1:W7RD5QU26IVQWTSB3IY6Q2GVOITBEHEE");
}

TEST(WarcDigest, PayloadOfAChunkedResponseIsTheDechunkedBody) {
  const std::string r =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;name=value\r\n, "
      "world\r\n0\r\nX-Trailer: yes\r\n\r\n";
  EXPECT_EQ(payload_digest(r), base32_sha1("hello, world"));
  // The header name and the coding are case-insensitive; the last coding decides.
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n"
                           "3\r\nabc\r\n0\r\n\r\n"),
            base32_sha1("abc"));
  // Cut short: whole chunks, then what there is of the cut one; a cut size line adds nothing.
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n10\r\ndef"),
            base32_sha1("abcdef"));
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1"),
            base32_sha1("abc"));
  // Not chunked data after all: hashed as it is.
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nnot chunked"),
            base32_sha1("not chunked"));
}

TEST(WarcDigest, PayloadOfAContentLengthResponseIsTheBodyAsItIs) {
  const std::string body = gzipped("content coding is kept");
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\n\r\n" + body),
            base32_sha1(body));
  // "chunked" elsewhere than in Transfer-Encoding changes nothing.
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nX-Note: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            base32_sha1("3\r\nabc\r\n0\r\n\r\n"));
}

TEST(WarcDigest, PayloadOfAResponseWithoutBody) {
  EXPECT_EQ(payload_digest("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n"), base32_sha1(""));
  EXPECT_EQ(payload_digest("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
            base32_sha1(""));
  // No complete header block: no payload at all.
  EXPECT_EQ(payload_digest("HTTP/1.1 200 OK\r\nContent-Le"), "");
}

TEST(WarcRecord, BuildsResponseThenRequestThenMetadata) {
  auto s = samples();
  const built b = build_exchange(s[0].x);
  ASSERT_TRUE(b.error.empty()) << b.error;
  EXPECT_EQ(b.response_offset, 0u);
  std::string plain;
  ASSERT_EQ(trawler::sink::whole_prefix(compression::gzip, b.bytes, &plain), b.bytes.size());
  const auto records = parse_records(plain);
  ASSERT_EQ(records.size(), 3u);
  const record& res = records[0];
  EXPECT_EQ(res.version, "WARC/1.1");
  EXPECT_EQ(res.get("WARC-Type"), "response");
  EXPECT_EQ(res.get("WARC-Record-ID"), b.response_id);
  EXPECT_EQ(res.get("WARC-Date"), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(res.get("WARC-Target-URI"), "http://example.com/");
  EXPECT_EQ(res.get("WARC-IP-Address"), "192.0.2.1");
  EXPECT_EQ(res.get("Content-Type"), "application/http;msgtype=response");
  EXPECT_EQ(res.get("WARC-Block-Digest"), base32_sha1(s[0].response));
  EXPECT_EQ(res.get("WARC-Payload-Digest"), base32_sha1(s[0].payload));
  EXPECT_FALSE(res.has("WARC-Truncated"));
  EXPECT_FALSE(res.has("WARC-Concurrent-To"));
  EXPECT_EQ(res.block, s[0].response);
  // The response member alone is the first response_length bytes.
  std::string alone;
  EXPECT_EQ(trawler::sink::whole_prefix(
                compression::gzip, std::string_view(b.bytes).substr(0, b.response_length), &alone),
            b.response_length);
  EXPECT_EQ(parse_records(alone).size(), 1u);

  const record& req = records[1];
  EXPECT_EQ(req.get("WARC-Type"), "request");
  EXPECT_EQ(req.get("WARC-Concurrent-To"), b.response_id);
  EXPECT_EQ(req.get("Content-Type"), "application/http;msgtype=request");
  EXPECT_EQ(req.block, s[0].request);
  EXPECT_EQ(req.get("WARC-Block-Digest"), base32_sha1(s[0].request));
  EXPECT_FALSE(req.has("WARC-Payload-Digest"));
  EXPECT_NE(req.get("WARC-Record-ID"), b.response_id);

  const record& meta = records[2];
  EXPECT_EQ(meta.get("WARC-Type"), "metadata");
  EXPECT_EQ(meta.get("WARC-Concurrent-To"), b.response_id);
  EXPECT_EQ(meta.get("Content-Type"), "application/warc-fields");
  EXPECT_EQ(meta.block, "outlink: http://example.com/a\r\noutlink: http://example.com/b\r\n");
  EXPECT_EQ(meta.get("WARC-Target-URI"), "http://example.com/");

  for (const auto& r : records) {
    EXPECT_EQ(r.get("WARC-Record-ID").rfind("<urn:uuid:", 0), 0u);
    EXPECT_EQ(r.get("WARC-Record-ID").size(), 47u);  // <urn:uuid:8-4-4-4-12>
    EXPECT_EQ(r.get("WARC-Record-ID")[24], '4');     // version 4
  }
}

TEST(WarcRecord, HeaderValuesStayOnOneLine) {
  exchange x;
  x.target_uri = "http://example.com/a\r\nWARC-Type: revisit";
  x.ip = "1.2.3.4\n";
  x.response = "HTTP/1.1 200 OK\r\n\r\n";
  x.outlinks = {"http://example.com/b\r\noutlink: http://evil/"};
  const built b = build_exchange(x);
  std::string plain;
  ASSERT_EQ(trawler::sink::whole_prefix(compression::gzip, b.bytes, &plain), b.bytes.size());
  const auto records = parse_records(plain);
  ASSERT_EQ(records.size(), 2u);  // response and metadata: no request bytes, no request record
  EXPECT_EQ(records[0].get("WARC-Type"), "response");
  EXPECT_EQ(records[0].get("WARC-Target-URI"), "http://example.com/a%0D%0AWARC-Type:%20revisit");
  EXPECT_EQ(records[0].get("WARC-IP-Address"), "1.2.3.4%0A");
  EXPECT_EQ(records[1].block, "outlink: http://example.com/b%0D%0Aoutlink:%20http://evil/\r\n");
}

TEST(WarcRecord, GzipMemberFromPiecesEqualsTheJoinedText) {
  std::string big(3 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  std::string out = "prefix";
  ASSERT_TRUE(trawler::sink::append_gzip_member({"head ", big, "", " tail"}, out));
  std::string plain;
  const std::string_view member = std::string_view(out).substr(6);
  EXPECT_EQ(trawler::sink::whole_prefix(compression::gzip, member, &plain), member.size());
  EXPECT_TRUE(plain == "head " + big + " tail");
}

// ---------------------------------------------------------------------------------------------

TEST_F(WarcWriterTest, WritesRecordsAndPublishesOnClose) {
  auto s = samples();
  std::string error;
  auto w = warc_writer::open(settings(), error);
  ASSERT_TRUE(w) << error;
  ASSERT_TRUE(fs::is_directory(dir_));  // created
  std::vector<location> locs;
  std::vector<built> builds;
  for (const auto& x : s) {
    builds.push_back(build_exchange(x.x));
    const auto loc = w->write(builds.back());
    ASSERT_TRUE(loc) << w->error();
    locs.push_back(*loc);
  }
  EXPECT_TRUE(w->flush());
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{"trawler-000001.warc.gz.part"});
  EXPECT_TRUE(w->close());
  EXPECT_FALSE(w->failed());
  EXPECT_EQ(w->files_closed(), 1u);
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{"trawler-000001.warc.gz"});
  const fs::path file = dir_ / "trawler-000001.warc.gz";
  EXPECT_EQ(w->bytes_written(), fs::file_size(file));

  const auto records = read_warc(file);
  // warcinfo, then per exchange: response, request, metadata (sample 0 only).
  ASSERT_EQ(records.size(), 1 + 2 * s.size() + 1);
  const record& info = records[0];
  EXPECT_EQ(info.get("WARC-Type"), "warcinfo");
  EXPECT_EQ(info.get("WARC-Filename"), "trawler-000001.warc.gz");
  EXPECT_EQ(info.get("Content-Type"), "application/warc-fields");
  EXPECT_EQ(info.block,
            "software: trawler/test\r\nformat: WARC File Format 1.1\r\nconformsTo: "
            "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"
            "robots: obey\r\noperator: tests\r\n");
  EXPECT_EQ(info.get("WARC-Block-Digest"), base32_sha1(info.block));

  std::size_t i = 1;
  for (std::size_t k = 0; k < s.size(); ++k) {
    const record& res = records[i++];
    EXPECT_EQ(res.get("WARC-Type"), "response") << k;
    EXPECT_EQ(res.get("WARC-Target-URI"), s[k].x.target_uri);
    EXPECT_EQ(res.get("WARC-Record-ID"), builds[k].response_id);
    EXPECT_EQ(res.block, s[k].response);
    EXPECT_EQ(res.get("WARC-Payload-Digest"), base32_sha1(s[k].payload)) << k;
    EXPECT_EQ(res.get("WARC-Truncated"), s[k].x.truncated ? "length" : "") << k;
    EXPECT_EQ(res.has("WARC-IP-Address"), !s[k].x.ip.empty()) << k;
    const record& req = records[i++];
    EXPECT_EQ(req.get("WARC-Type"), "request");
    EXPECT_EQ(req.get("WARC-Concurrent-To"), builds[k].response_id);
    if (k == 0) {
      EXPECT_EQ(records[i++].get("WARC-Type"), "metadata");
    }

    // The location points at the response's own member.
    EXPECT_EQ(locs[k].file, "trawler-000001.warc.gz");
    const auto at = record_at(file, locs[k].offset, locs[k].length);
    ASSERT_TRUE(at) << k;
    EXPECT_EQ(at->get("WARC-Type"), "response");
    EXPECT_EQ(at->get("WARC-Target-URI"), s[k].x.target_uri);
    EXPECT_EQ(at->block, s[k].response);
  }
}

TEST_F(WarcWriterTest, RotatesBySizeEachFileStartingWithWarcinfo) {
  auto s = samples();
  std::string error;
  // The warcinfo member and one exchange are each over 200 bytes: a file per exchange.
  auto w = warc_writer::open(settings(200), error);
  ASSERT_TRUE(w) << error;
  std::vector<location> locs;
  for (int k = 0; k < 3; ++k) {
    const auto loc = w->write(build_exchange(s[static_cast<std::size_t>(k)].x));
    ASSERT_TRUE(loc) << w->error();
    locs.push_back(*loc);
    EXPECT_EQ(w->files_closed(), static_cast<std::uint64_t>(k + 1));  // closed at once
  }
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"trawler-000001.warc.gz", "trawler-000002.warc.gz",
                                      "trawler-000003.warc.gz"}));
  for (int k = 0; k < 3; ++k) {
    const std::string name = "trawler-00000" + std::to_string(k + 1) + ".warc.gz";
    EXPECT_EQ(locs[static_cast<std::size_t>(k)].file, name);
    const auto records = read_warc(dir_ / name);
    ASSERT_GE(records.size(), 3u);
    EXPECT_EQ(records[0].get("WARC-Type"), "warcinfo");
    EXPECT_EQ(records[0].get("WARC-Filename"), name);
    EXPECT_EQ(records[1].get("WARC-Type"), "response");
  }
  EXPECT_TRUE(w->close());

  // With a larger limit a file holds several exchanges; it closes once it reaches the limit.
  fs::remove_all(dir_);
  w = warc_writer::open(settings(1500), error);
  ASSERT_TRUE(w) << error;
  // The offset of an exchange's response is the file's size before the write; a file closes
  // with the write that makes it reach the limit.
  std::map<std::string, std::uint64_t> last_offset;
  for (int n = 0; n < 30; ++n) {
    const auto loc = w->write(build_exchange(s[static_cast<std::size_t>(n) % s.size()].x));
    ASSERT_TRUE(loc) << w->error();
    last_offset[loc->file] = loc->offset;
    EXPECT_EQ(w->current_file().empty(), fs::exists(dir_ / loc->file)) << loc->file;
  }
  EXPECT_TRUE(w->close());
  const auto names = names_in(dir_);
  ASSERT_GE(names.size(), 3u);
  ASSERT_EQ(last_offset.size(), names.size());
  for (std::size_t k = 0; k < names.size(); ++k) {
    char expect[64];
    std::snprintf(expect, sizeof expect, "trawler-%06zu.warc.gz", k + 1);
    EXPECT_EQ(names[k], expect);
    const auto records = read_warc(dir_ / names[k]);
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records[0].get("WARC-Type"), "warcinfo");
    EXPECT_EQ(records[0].get("WARC-Filename"), names[k]);
    EXPECT_LT(last_offset[names[k]], 1500u) << names[k];
    if (k + 1 < names.size()) {
      EXPECT_GE(fs::file_size(dir_ / names[k]), 1500u) << names[k];
    }
  }
  EXPECT_EQ(w->files_closed(), names.size());
}

// Every record of a file names that file's warcinfo record (WARC-Warcinfo-ID), across
// rotations; records built for a file that has rotated meanwhile are refused, not written with
// another file's ID.
TEST_F(WarcWriterTest, EveryRecordNamesItsFilesWarcinfo) {
  auto s = samples();
  std::string error;
  auto w = warc_writer::open(settings(1500), error);
  ASSERT_TRUE(w) << error;
  std::set<std::string> ids;
  for (int n = 0; n < 20; ++n) {
    exchange x = s[static_cast<std::size_t>(n) % s.size()].x;
    x.warcinfo_id = w->warcinfo_id();
    ids.insert(x.warcinfo_id);
    const built b = build_exchange(x);
    EXPECT_EQ(b.warcinfo_id, x.warcinfo_id);
    ASSERT_TRUE(w->write(b)) << w->error();
  }
  // Built for the file just closed: refused, and the writer stays usable.
  exchange stale = s[0].x;
  stale.warcinfo_id = w->warcinfo_id();
  const built late = build_exchange(stale);
  ASSERT_TRUE(w->write(build_exchange(s[1].x)));  // no ID: written as it is
  std::string id_now = w->warcinfo_id();
  while (w->warcinfo_id() == id_now) {
    exchange x = s[2].x;
    x.warcinfo_id = w->warcinfo_id();
    ASSERT_TRUE(w->write(build_exchange(x)));  // until the file rotates
  }
  EXPECT_FALSE(w->write(late));
  EXPECT_FALSE(w->failed());
  EXPECT_TRUE(w->close());

  const auto names = names_in(dir_);
  ASSERT_GE(names.size(), 3u);
  std::set<std::string> infos;
  std::size_t named = 0;
  for (const auto& name : names) {
    const auto records = read_warc(dir_ / name);
    ASSERT_FALSE(records.empty());
    ASSERT_EQ(records[0].get("WARC-Type"), "warcinfo");
    EXPECT_FALSE(records[0].has("WARC-Warcinfo-ID")) << "WARC 1.1 5.11: not on warcinfo";
    const std::string info = records[0].get("WARC-Record-ID");
    EXPECT_TRUE(infos.insert(info).second) << "each file has its own warcinfo record";
    for (std::size_t k = 1; k < records.size(); ++k) {
      if (!records[k].has("WARC-Warcinfo-ID")) continue;  // the one built without an ID
      EXPECT_EQ(records[k].get("WARC-Warcinfo-ID"), info) << name << " record " << k;
      ++named;
    }
  }
  EXPECT_GE(named, 21u);  // 21 exchanges and more, each a response and maybe more
  for (const auto& id : ids) EXPECT_TRUE(infos.count(id)) << id;
}

TEST_F(WarcWriterTest, ARestartContinuesTheNumbering) {
  auto s = samples();
  std::string error;
  {
    auto w = warc_writer::open(settings(), error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write(build_exchange(s[0].x)));
  }  // the destructor publishes
  // Files of another prefix and other names do not count.
  write_file(dir_ / "other-000042.warc.gz", "x");
  write_file(dir_ / "trawler-000099.txt", "x");
  auto w = warc_writer::open(settings(), error);
  ASSERT_TRUE(w) << error;
  const auto loc = w->write(build_exchange(s[1].x));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->file, "trawler-000002.warc.gz");
  EXPECT_TRUE(w->close());
  // A gap: numbering goes on after the highest serial.
  fs::rename(dir_ / "trawler-000002.warc.gz", dir_ / "trawler-000010.warc.gz");
  w = warc_writer::open(settings(), error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(w->write(build_exchange(s[1].x))->file, "trawler-000011.warc.gz");
}

TEST_F(WarcWriterTest, RecoversFilesLeftByAKilledWriter) {
  auto s = samples();
  fs::create_directories(dir_);
  // What a killed writer leaves: a warcinfo member, whole exchanges, then half a member.
  const std::string info = trawler::warc::build_warcinfo("trawler-000003.warc.gz", "trawler/test",
                                                         {}, std::chrono::system_clock::now());
  const built one = build_exchange(s[0].x);
  const built two = build_exchange(s[1].x);
  const built three = build_exchange(s[3].x);
  const std::string whole = info + one.bytes + two.bytes;
  write_file(dir_ / "trawler-000003.warc.gz.part",
             whole + three.bytes.substr(0, three.response_length / 2));
  // An older one torn inside its first member: nothing to keep.
  write_file(dir_ / "trawler-000001.warc.gz.part", info.substr(0, info.size() - 3));
  // A published file and another prefix's .part are left as they are.
  write_file(dir_ / "trawler-000002.warc.gz", info);
  write_file(dir_ / "other-000007.warc.gz.part", "torn");

  std::string error;
  auto w = warc_writer::open(settings(), error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"other-000007.warc.gz.part", "trawler-000002.warc.gz",
                                      "trawler-000003.warc.gz"}));
  const std::string recovered = read_file(dir_ / "trawler-000003.warc.gz");
  EXPECT_EQ(recovered.size(), whole.size());
  EXPECT_TRUE(recovered == whole);
  EXPECT_TRUE(read_file(dir_ / "trawler-000002.warc.gz") == info);
  EXPECT_EQ(read_file(dir_ / "other-000007.warc.gz.part"), "torn");
  const auto records = read_warc(dir_ / "trawler-000003.warc.gz");
  EXPECT_EQ(records.size(), 1u + 3u + 2u);  // warcinfo, 3 + 2 records

  const auto loc = w->write(build_exchange(s[2].x));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->file, "trawler-000004.warc.gz");
  EXPECT_TRUE(w->close());
  EXPECT_TRUE(fs::exists(dir_ / "trawler-000004.warc.gz"));
}

TEST_F(WarcWriterTest, LeavesAPartFileALiveWriterHolds) {
  auto s = samples();
  std::string error;
  auto a = warc_writer::open(settings(), error);
  ASSERT_TRUE(a) << error;
  ASSERT_TRUE(a->write(build_exchange(s[0].x)));
  ASSERT_TRUE(a->flush());
  auto b = warc_writer::open(settings(), error);  // same directory and prefix
  ASSERT_TRUE(b) << error;
  EXPECT_TRUE(fs::exists(dir_ / "trawler-000001.warc.gz.part"));
  const auto loc = b->write(build_exchange(s[1].x));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->file, "trawler-000002.warc.gz");
  EXPECT_TRUE(a->close());
  EXPECT_TRUE(b->close());
  EXPECT_EQ(names_in(dir_),
            (std::vector<std::string>{"trawler-000001.warc.gz", "trawler-000002.warc.gz"}));
  EXPECT_EQ(read_warc(dir_ / "trawler-000001.warc.gz").size(), 4u);
}

TEST_F(WarcWriterTest, FailuresAreValues) {
  std::string error;
  // A directory that cannot be created.
  fs::create_directories(dir_);
  write_file(dir_ / "file", "x");
  auto s = settings();
  s.dir = (dir_ / "file" / "warc").string();
  EXPECT_FALSE(warc_writer::open(s, error));
  EXPECT_NE(error.find("cannot create WARC directory"), std::string::npos) << error;
  s = settings();
  s.prefix = "a/b";
  EXPECT_FALSE(warc_writer::open(s, error));

  // A write that fails (the file size limit: EFBIG, as a full disk would give ENOSPC).
  auto samples_ = samples();
  auto w = warc_writer::open(settings(), error);
  ASSERT_TRUE(w) << error;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  ASSERT_TRUE(w->write(build_exchange(samples_[0].x)));  // buffered
  const bool flushed = w->flush();
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(flushed);
  EXPECT_TRUE(w->failed());
  EXPECT_NE(w->error().find("cannot write WARC file"), std::string::npos) << w->error();
  EXPECT_FALSE(w->write(build_exchange(samples_[1].x)));
  EXPECT_FALSE(w->close());
  // The .part stays for recovery, which keeps its whole members (none here: 100 bytes).
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"file", "trawler-000001.warc.gz.part"}));
  auto again = warc_writer::open(settings(), error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(names_in(dir_), std::vector<std::string>{"file"});

  // A built whose building failed is refused without harm.
  built bad;
  bad.error = "cannot build WARC records: gzip compression failed";
  EXPECT_FALSE(again->write(bad));
  EXPECT_FALSE(again->failed());
}

// ---------------------------------------------------------------------------------------------
// The independent check: webrecorder's warcio.js reads what the writer wrote.

TEST_F(WarcWriterTest, WarcioReadsTheFilesAndAgreesOnDigestsAndOffsets) {
  const std::string script = std::string(TRAWLER_SOURCE_DIR) + "/tests/warc/check-warc.mjs";
  const fs::path warcio = fs::path(TRAWLER_SOURCE_DIR) / "tests/warc/node_modules/warcio";
  ASSERT_EQ(std::system("command -v node >/dev/null 2>&1"), 0)
      << "node is not installed: run scripts/install-deps.sh";
  ASSERT_TRUE(fs::exists(warcio / "package.json"))
      << warcio << " is missing: run scripts/install-deps.sh (it runs npm ci in tests/warc)";

  auto s = samples();
  std::string error;
  // Several files: rotation at 2 KiB.
  auto w = warc_writer::open(settings(2048), error);
  ASSERT_TRUE(w) << error;
  struct written {
    std::size_t sample;
    location loc;
    std::string id;
  };
  // And one exchange larger than the writer's buffer and node's 64 KiB reads: incompressible,
  // chunked.
  {
    sample big;
    std::mt19937 rng(7);
    std::string body(1'500'000, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    big.payload = body;
    big.response =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        chunked({body.substr(0, 70'000), body.substr(70'000)});
    big.request = "GET /big.bin HTTP/1.1\r\nHost: example.com\r\n\r\n";
    big.x.target_uri = "http://example.com/big.bin";
    big.x.date = std::chrono::system_clock::now();
    s.push_back(std::move(big));
    for (auto& sm : s) {  // the vector moved the strings the exchanges view
      sm.x.request = sm.request;
      sm.x.response = sm.response;
    }
  }
  std::vector<written> all;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t k = 0; k < s.size(); ++k) {
      const built b = build_exchange(s[k].x);
      const auto loc = w->write(b);
      ASSERT_TRUE(loc) << w->error();
      all.push_back({k, *loc, b.response_id});
    }
  }
  ASSERT_TRUE(w->close());
  const auto names = names_in(dir_);
  ASSERT_GE(names.size(), 2u);

  std::string command = "node '" + script + "'";
  for (const auto& n : names) command += " '" + (dir_ / n).string() + "'";
  FILE* p = ::popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << command << " failed (status " << status << "); its stderr is above";

  const auto doc = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << out;
  ASSERT_EQ(doc["files"].size(), names.size());

  std::size_t next = 0;  // index into `all`
  std::size_t total = 0;
  for (std::size_t f = 0; f < names.size(); ++f) {
    const auto& file = doc["files"][f];
    EXPECT_EQ(file["file"], names[f]);
    const auto& recs = file["records"];
    ASSERT_GE(recs.size(), 1u);
    EXPECT_EQ(recs[0]["type"], "warcinfo");
    EXPECT_EQ(recs[0]["content_type"], "application/warc-fields");
    std::string response_id;
    for (std::size_t r = 0; r < recs.size(); ++r) {
      const auto& rec = recs[r];
      ++total;
      EXPECT_EQ(rec["block_digest_ok"], true) << rec.dump();
      const std::string type = rec["type"];
      if (r > 0) {
        EXPECT_NE(type, "warcinfo");
      }
      if (type == "response") {
        ASSERT_LT(next, all.size());
        const written& wr = all[next++];
        const sample& sm = s[wr.sample];
        EXPECT_EQ(rec["target_uri"], sm.x.target_uri);
        EXPECT_EQ(rec["record_id"], wr.id);
        EXPECT_EQ(rec["payload_digest_ok"], true) << rec.dump();
        EXPECT_EQ(rec["payload_digest"], base32_sha1(sm.payload));
        EXPECT_EQ(rec["content_type"], "application/http;msgtype=response");
        EXPECT_EQ(rec["http_status"], wr.sample == 5 ? 304 : 200);
        if (sm.x.truncated)
          EXPECT_EQ(rec["truncated"], "length");
        else
          EXPECT_TRUE(rec["truncated"].is_null());
        EXPECT_EQ(wr.loc.file, names[f]);
        EXPECT_EQ(rec["offset"], wr.loc.offset) << rec.dump();
        EXPECT_EQ(rec["length"], wr.loc.length) << rec.dump();
        response_id = wr.id;
      } else if (type == "request" || type == "metadata") {
        EXPECT_EQ(rec["concurrent_to"], response_id);
        EXPECT_TRUE(rec["payload_digest_ok"].is_null());
        EXPECT_EQ(rec["target_uri"], s[all[next - 1].sample].x.target_uri);
        EXPECT_EQ(rec["content_type"], type == "request" ? "application/http;msgtype=request"
                                                         : "application/warc-fields");
      } else if (type != "warcinfo") {
        ADD_FAILURE() << "unexpected record " << rec.dump();
      }
    }
  }
  EXPECT_EQ(next, all.size());
  // Per file a warcinfo; per exchange a response and a request; sample 0 adds a metadata.
  EXPECT_EQ(total, names.size() + 2 * all.size() + 3);
}

TEST_F(WarcWriterTest, WarcioCheckerRejectsATornFile) {
  const std::string script = std::string(TRAWLER_SOURCE_DIR) + "/tests/warc/check-warc.mjs";
  ASSERT_EQ(std::system("command -v node >/dev/null 2>&1"), 0)
      << "node is not installed: run scripts/install-deps.sh";
  ASSERT_TRUE(fs::exists(fs::path(TRAWLER_SOURCE_DIR) / "tests/warc/node_modules/warcio"))
      << "run scripts/install-deps.sh (it runs npm ci in tests/warc)";
  auto s = samples();
  fs::create_directories(dir_);
  const built b = build_exchange(s[0].x);
  write_file(dir_ / "torn.warc.gz", b.bytes + b.bytes.substr(0, b.bytes.size() / 2));
  const std::string command =
      "node '" + script + "' '" + (dir_ / "torn.warc.gz").string() + "' >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
}

}  // namespace
