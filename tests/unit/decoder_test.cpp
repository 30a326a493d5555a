#include "fetch/decoder.hpp"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using trawler::fetch::body_decoder;
using trawler::fetch::content_coding;
using trawler::fetch::parse_content_encoding;
using status = body_decoder::status;

constexpr std::size_t mib = 1024 * 1024;

// --- encoders: the real libraries, so the decoder is checked against what servers send ---

constexpr int gzip_bits = 15 + 16;
constexpr int zlib_bits = 15;
constexpr int raw_bits = -15;

class deflater {
 public:
  explicit deflater(int window_bits, int level = Z_DEFAULT_COMPRESSION) {
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~deflater() {
    if (ok_) deflateEnd(&z_);
  }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;

  // Compresses in, appending to out; Z_FINISH ends the stream.
  void run(std::string_view in, int flush, std::string& out) {
    ASSERT_TRUE(ok_);
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    unsigned char buf[64 * 1024];
    int rc;
    do {
      z_.next_out = buf;
      z_.avail_out = sizeof buf;
      rc = deflate(&z_, flush);
      ASSERT_NE(rc, Z_STREAM_ERROR);
      out.append(reinterpret_cast<char*>(buf), sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    ASSERT_EQ(z_.avail_in, 0u);
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

std::string zlib_encode(std::string_view in, int window_bits, int level = Z_DEFAULT_COMPRESSION) {
  std::string out;
  deflater d(window_bits, level);
  d.run(in, Z_FINISH, out);
  return out;
}
std::string gzip(std::string_view in) {
  return zlib_encode(in, gzip_bits);
}
std::string zlib_wrapped(std::string_view in) {
  // compress2 is the classic one-shot zlib-format API.
  uLongf size = compressBound(in.size());
  std::string out(size, '\0');
  EXPECT_EQ(compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                      reinterpret_cast<const Bytef*>(in.data()), in.size(), 6),
            Z_OK);
  out.resize(size);
  return out;
}
std::string raw_deflate(std::string_view in) {
  return zlib_encode(in, raw_bits);
}

std::string brotli(std::string_view in, int quality = 5) {
  std::size_t size = BrotliEncoderMaxCompressedSize(in.size());
  std::string out(size, '\0');
  EXPECT_EQ(BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, in.size(),
                                  reinterpret_cast<const std::uint8_t*>(in.data()), &size,
                                  reinterpret_cast<std::uint8_t*>(out.data())),
            BROTLI_TRUE);
  out.resize(size);
  return out;
}

// Text-like data with some incompressible stretches, longer than the decoder's output step so
// every coding takes several steps.
const std::string& sample_body() {
  static const std::string body = [] {
    std::mt19937 rng(12345);
    const char* words[] = {"<a href=\"/page\">", "crawler ", "trawler ", "the ", "</p>\n",
                           "<div class=\"x\">",  "lorem ",   "ipsum "};
    std::string s;
    while (s.size() < 200 * 1024) {
      if (rng() % 16 == 0) {
        for (int i = 0; i < 64; ++i) s.push_back(static_cast<char>(rng() & 0xff));
      } else {
        s += words[rng() % std::size(words)];
      }
    }
    return s;
  }();
  return body;
}

struct decoded {
  status fed = status::ok;
  status finished = status::ok;
  std::string out;
  bool complete = false;
  std::size_t decoded_bytes = 0;
  std::string error;
};

// Feeds encoded in pieces of `piece` bytes (0: all at once), stopping at the first non-ok.
decoded decode(std::vector<content_coding> codings, std::string_view encoded,
               std::size_t cap = 64 * mib, std::size_t piece = 0) {
  body_decoder d(std::move(codings), cap);
  decoded r;
  if (piece == 0) piece = std::max<std::size_t>(encoded.size(), 1);
  for (std::size_t i = 0; i < encoded.size() && r.fed == status::ok; i += piece) {
    r.fed = d.feed(encoded.substr(i, piece), r.out);
  }
  r.finished = d.finish(r.out);
  r.complete = d.stream_complete();
  r.decoded_bytes = d.decoded_bytes();
  r.error = d.error_message();
  return r;
}

std::vector<content_coding> parsed(std::string_view header) {
  auto c = parse_content_encoding(header);
  EXPECT_TRUE(c.has_value()) << header;
  return c.value_or(std::vector<content_coding>{});
}

// --- parse_content_encoding ---

TEST(ParseContentEncoding, KnownCodings) {
  using c = content_coding;
  EXPECT_EQ(parse_content_encoding("gzip"), std::vector<c>{c::gzip});
  EXPECT_EQ(parse_content_encoding("x-gzip"), std::vector<c>{c::gzip});
  EXPECT_EQ(parse_content_encoding("GZip"), std::vector<c>{c::gzip});
  EXPECT_EQ(parse_content_encoding("X-GZIP"), std::vector<c>{c::gzip});
  EXPECT_EQ(parse_content_encoding("deflate"), std::vector<c>{c::deflate});
  EXPECT_EQ(parse_content_encoding("br"), std::vector<c>{c::br});
  EXPECT_EQ(parse_content_encoding("BR"), std::vector<c>{c::br});
  EXPECT_EQ(parse_content_encoding("identity"), std::vector<c>{c::identity});
}

TEST(ParseContentEncoding, ListsKeepHeaderOrder) {
  using c = content_coding;
  EXPECT_EQ(parse_content_encoding("gzip, br"), (std::vector<c>{c::gzip, c::br}));
  EXPECT_EQ(parse_content_encoding("br,gzip"), (std::vector<c>{c::br, c::gzip}));
  EXPECT_EQ(parse_content_encoding(" \tdeflate ,\t gzip  "), (std::vector<c>{c::deflate, c::gzip}));
  // RFC 9110 5.6.1: empty list elements are ignored.
  EXPECT_EQ(parse_content_encoding(",gzip,,br,"), (std::vector<c>{c::gzip, c::br}));
  EXPECT_EQ(parse_content_encoding("identity, gzip"), (std::vector<c>{c::identity, c::gzip}));
}

TEST(ParseContentEncoding, EmptyValueIsNoCoding) {
  EXPECT_EQ(parse_content_encoding(""), std::vector<content_coding>{});
  EXPECT_EQ(parse_content_encoding("  , "), std::vector<content_coding>{});
}

TEST(ParseContentEncoding, UnknownCodingIsRefused) {
  for (std::string_view v : {"compress", "x-compress", "zstd", "gzip, zstd", "br, foo", "gzip;q=1",
                             "g zip", "x-deflate", "gzip2", "gzi", "\"gzip\""}) {
    EXPECT_FALSE(parse_content_encoding(v).has_value()) << v;
  }
}

TEST(ParseContentEncoding, TooManyCodingsAreRefused) {
  EXPECT_TRUE(parse_content_encoding("gzip, gzip, br, deflate").has_value());
  EXPECT_FALSE(parse_content_encoding("gzip, gzip, br, deflate, gzip").has_value());
  // identity costs nothing, so it does not count.
  EXPECT_TRUE(
      parse_content_encoding("identity, gzip, identity, gzip, br, deflate, identity").has_value());
}

// --- round trips, whole and in pieces ---

struct coding_case {
  const char* name;
  const char* header;
  std::string (*encode)(std::string_view);
};

std::string identity_encode(std::string_view in) {
  return std::string(in);
}
std::string gzip_then_br(std::string_view in) {
  return brotli(gzip(in));
}
std::string br_then_gzip(std::string_view in) {
  return gzip(brotli(in));
}
std::string deflate_then_gzip(std::string_view in) {
  return gzip(raw_deflate(in));
}
std::string gzip_gzip(std::string_view in) {
  return gzip(gzip(in));
}

// Names the case in gtest failure messages instead of dumping its bytes.
void PrintTo(const coding_case& c, std::ostream* os) {
  *os << c.name;
}

const coding_case coding_cases[] = {
    {"identity", "", identity_encode},
    {"identity_named", "identity", identity_encode},
    {"gzip", "gzip", gzip},
    {"x_gzip", "x-gzip", gzip},
    {"deflate_zlib", "deflate", zlib_wrapped},
    {"deflate_raw", "deflate", raw_deflate},
    {"br", "br", [](std::string_view in) { return brotli(in); }},
    {"gzip_br", "gzip, br", gzip_then_br},
    {"br_gzip", "br, gzip", br_then_gzip},
    {"deflate_gzip", "deflate, identity, gzip", deflate_then_gzip},
    {"gzip_gzip", "gzip, gzip", gzip_gzip},
};

class RoundTrip : public ::testing::TestWithParam<std::tuple<coding_case, std::size_t>> {};

TEST_P(RoundTrip, DecodesToTheOriginal) {
  const auto& [cc, piece] = GetParam();
  const std::string& body = sample_body();
  const std::string encoded = cc.encode(body);
  if (std::string_view(cc.header) != "" && std::string_view(cc.header) != "identity") {
    ASSERT_NE(encoded, body);
  }
  const decoded r = decode(parsed(cc.header), encoded, 64 * mib, piece);
  EXPECT_EQ(r.fed, status::ok) << r.error;
  EXPECT_EQ(r.finished, status::ok);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.decoded_bytes, body.size());
  EXPECT_TRUE(r.out == body) << "decoded " << r.out.size() << " bytes, want " << body.size();
}

INSTANTIATE_TEST_SUITE_P(Codings, RoundTrip,
                         ::testing::Combine(::testing::ValuesIn(coding_cases),
                                            ::testing::Values(std::size_t{0}, std::size_t{1},
                                                              std::size_t{7}, std::size_t{4096})),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_piece" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(BodyDecoder, SmallAndEmptyBodies) {
  for (const coding_case& cc : coding_cases) {
    for (std::string_view body :
         {std::string_view(""), std::string_view("x"), std::string_view("hello, world\n")}) {
      const decoded r = decode(parsed(cc.header), cc.encode(body), 1024, 1);
      EXPECT_EQ(r.fed, status::ok) << cc.name << ": " << r.error;
      EXPECT_EQ(r.out, body) << cc.name;
      EXPECT_TRUE(r.complete) << cc.name;
    }
  }
}

TEST(BodyDecoder, AppendsToExistingOutput) {
  body_decoder d(parsed("gzip"), 5);
  std::string out = "prefix:";
  EXPECT_EQ(d.feed(gzip("abcde"), out), status::ok);
  EXPECT_EQ(out, "prefix:abcde");
  EXPECT_EQ(d.decoded_bytes(), 5u);
}

TEST(BodyDecoder, EmptyFeedIsANoOp) {
  body_decoder d(parsed("br"), 100);
  std::string out;
  EXPECT_EQ(d.feed("", out), status::ok);
  EXPECT_EQ(d.feed(brotli("abc"), out), status::ok);
  EXPECT_EQ(d.feed("", out), status::ok);
  EXPECT_EQ(d.finish(out), status::ok);
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(d.stream_complete());
}

TEST(BodyDecoder, EmptyEncodedBodyIsComplete) {
  // 204/304 and HEAD-like responses often carry Content-Encoding with no body at all.
  for (std::string_view h : {"gzip", "deflate", "br", "gzip, br"}) {
    body_decoder d(parsed(h), 100);
    std::string out;
    EXPECT_EQ(d.finish(out), status::ok);
    EXPECT_TRUE(d.stream_complete()) << h;
    EXPECT_TRUE(out.empty());
  }
}

TEST(BodyDecoder, SurvivesAMoveMidStream) {
  const std::string& body = sample_body();
  const std::string encoded = gzip(body);
  body_decoder first(parsed("gzip"), 64 * mib);
  std::string out;
  ASSERT_EQ(first.feed(std::string_view(encoded).substr(0, encoded.size() / 2), out), status::ok);
  body_decoder second(std::move(first));
  ASSERT_EQ(second.feed(std::string_view(encoded).substr(encoded.size() / 2), out), status::ok);
  body_decoder third(parsed("br"), 1);
  third = std::move(second);
  EXPECT_EQ(third.finish(out), status::ok);
  EXPECT_TRUE(third.stream_complete());
  EXPECT_TRUE(out == body);
}

TEST(BodyDecoder, FeedAfterFinishIsAnError) {
  body_decoder d({}, 100);
  std::string out;
  EXPECT_EQ(d.feed("abc", out), status::ok);
  EXPECT_EQ(d.finish(out), status::ok);
  EXPECT_EQ(d.feed("def", out), status::error);
  EXPECT_FALSE(d.error_message().empty());
  EXPECT_EQ(out, "abc");
}

TEST(BodyDecoder, TooManyCodingsIsAnError) {
  body_decoder d(std::vector<content_coding>(5, content_coding::gzip), 100);
  std::string out;
  EXPECT_EQ(d.feed(gzip("abc"), out), status::error);
  EXPECT_FALSE(d.error_message().empty());
  EXPECT_TRUE(out.empty());
}

// --- deflate: zlib-wrapped or raw ---

TEST(Deflate, ZlibWrappedAndRawBothDecode) {
  const std::string body = "deflate is accepted zlib-wrapped or raw, repeated repeated repeated";
  const std::string wrapped = zlib_wrapped(body);
  const std::string raw = raw_deflate(body);
  // The two really differ: the zlib form has a 2-byte header and an Adler-32 trailer.
  ASSERT_EQ(wrapped.size(), raw.size() + 6);
  ASSERT_EQ(wrapped.substr(2, raw.size()), raw);
  for (const std::string& e : {wrapped, raw}) {
    for (std::size_t piece : {0, 1, 2, 3}) {
      const decoded r = decode(parsed("deflate"), e, 1000, piece);
      EXPECT_EQ(r.fed, status::ok) << r.error;
      EXPECT_EQ(r.out, body);
      EXPECT_TRUE(r.complete);
    }
  }
}

TEST(Deflate, EveryLevelAndStoredBlocksInBothForms) {
  const std::string& body = sample_body();
  for (int level = 0; level <= 9; ++level) {
    for (int bits : {zlib_bits, raw_bits}) {
      const decoded r = decode(parsed("deflate"), zlib_encode(body, bits, level));
      EXPECT_EQ(r.fed, status::ok) << "level " << level << " bits " << bits << ": " << r.error;
      EXPECT_TRUE(r.out == body) << "level " << level << " bits " << bits;
      EXPECT_TRUE(r.complete);
    }
  }
}

TEST(Deflate, SmallerZlibWindowsDecode) {
  const std::string& body = sample_body();
  for (int bits = 9; bits <= 15; ++bits) {
    const decoded r = decode(parsed("deflate"), zlib_encode(body, bits));
    EXPECT_EQ(r.fed, status::ok) << bits << ": " << r.error;
    EXPECT_TRUE(r.out == body) << bits;
  }
}

TEST(Deflate, TrailingBytesAfterTheStreamAreIgnored) {
  for (std::string e : {zlib_wrapped("abc"), raw_deflate("abc")}) {
    e += "trailing junk";
    const decoded r = decode(parsed("deflate"), e, 100, 1);
    EXPECT_EQ(r.fed, status::ok) << r.error;
    EXPECT_EQ(r.out, "abc");
    EXPECT_TRUE(r.complete);
  }
}

// --- gzip members ---

TEST(Gzip, ConcatenatedMembersDecodeAsOneBody) {
  const std::string& body = sample_body();
  const std::string a = body.substr(0, 70000), b = body.substr(70000, 5), c = body.substr(70005);
  const std::string encoded = gzip(a) + gzip(b) + gzip("") + gzip(c);
  for (std::size_t piece : {0, 1, 10, 18, 4096}) {
    const decoded r = decode(parsed("gzip"), encoded, 64 * mib, piece);
    EXPECT_EQ(r.fed, status::ok) << r.error;
    EXPECT_TRUE(r.out == body) << "piece " << piece;
    EXPECT_TRUE(r.complete);
  }
}

TEST(Gzip, TrailingGarbageAfterAMemberIsIgnored) {
  using namespace std::string_view_literals;
  for (std::string_view junk :
       {"\0\0\0\0"sv, "junk"sv, "\n"sv, "\0"sv, "\x1f\x00"sv, "\x1f\x1f"sv}) {
    for (std::size_t piece : {0, 1}) {
      const decoded r = decode(parsed("gzip"), gzip("abc") + std::string(junk), 100, piece);
      EXPECT_EQ(r.fed, status::ok) << r.error;
      EXPECT_EQ(r.out, "abc");
      EXPECT_TRUE(r.complete) << "junk size " << junk.size() << " piece " << piece;
    }
  }
}

TEST(Gzip, MagicAfterAMemberStartsAnotherOne) {
  using namespace std::string_view_literals;
  // 1f, or 1f 8b, could be the start of a member that was cut short.
  for (std::string_view start : {"\x1f"sv, "\x1f\x8b"sv, "\x1f\x8b\x08"sv}) {
    for (std::size_t piece : {0, 1}) {
      const decoded r = decode(parsed("gzip"), gzip("abc") + std::string(start), 100, piece);
      EXPECT_EQ(r.fed, status::ok) << r.error;
      EXPECT_EQ(r.out, "abc");
      EXPECT_FALSE(r.complete) << "start size " << start.size() << " piece " << piece;
    }
  }
  // With the magic, a broken header is an error, not garbage: compression method 7.
  const decoded bad =
      decode(parsed("gzip"), gzip("abc") + std::string("\x1f\x8b\x07\x00\x00\x00"sv));
  EXPECT_EQ(bad.fed, status::error);
  EXPECT_EQ(bad.out, "abc");
  EXPECT_NE(bad.error.find("gzip: "), std::string::npos) << bad.error;
}

TEST(Gzip, TruncatedSecondMemberIsIncomplete) {
  const std::string second = gzip("second member");
  const decoded r = decode(parsed("gzip"), gzip("first ") + second.substr(0, 15));
  EXPECT_EQ(r.fed, status::ok) << r.error;
  EXPECT_EQ(r.finished, status::ok);
  EXPECT_EQ(r.out.substr(0, 6), "first ");
  EXPECT_FALSE(r.complete);
}

TEST(Gzip, ZlibDataLabelledGzipIsAnError) {
  const decoded r = decode(parsed("gzip"), zlib_wrapped("abc"));
  EXPECT_EQ(r.fed, status::error);
  EXPECT_NE(r.error.find("gzip"), std::string::npos) << r.error;
  EXPECT_EQ(r.finished, status::error);
}

// --- the cap ---

class Cap : public ::testing::TestWithParam<coding_case> {};

TEST_P(Cap, ExactlyAtBelowAndAboveTheBodySize) {
  const coding_case& cc = GetParam();
  const std::string& body = sample_body();
  const std::string encoded = cc.encode(body);
  const std::size_t n = body.size();
  for (std::size_t piece : {std::size_t{0}, std::size_t{1000}}) {
    SCOPED_TRACE(piece);
    const decoded at = decode(parsed(cc.header), encoded, n, piece);
    EXPECT_EQ(at.fed, status::ok) << at.error;
    EXPECT_EQ(at.finished, status::ok);
    EXPECT_TRUE(at.out == body);
    EXPECT_TRUE(at.complete);

    const decoded above = decode(parsed(cc.header), encoded, n + 1, piece);
    EXPECT_EQ(above.fed, status::ok);
    EXPECT_TRUE(above.out == body);
    EXPECT_EQ(above.decoded_bytes, n);

    for (std::size_t cap : {n - 1, n / 2, std::size_t{32 * 1024}, std::size_t{32 * 1024 - 1},
                            std::size_t{32 * 1024 + 1}, std::size_t{1}}) {
      const decoded below = decode(parsed(cc.header), encoded, cap, piece);
      EXPECT_EQ(below.fed, status::limit_reached) << cap;
      EXPECT_EQ(below.finished, status::limit_reached);
      EXPECT_EQ(below.out.size(), cap);
      EXPECT_EQ(below.decoded_bytes, cap);
      EXPECT_TRUE(below.out == body.substr(0, cap)) << cap;
    }

    const decoded zero = decode(parsed(cc.header), encoded, 0, piece);
    EXPECT_EQ(zero.fed, status::limit_reached);
    EXPECT_TRUE(zero.out.empty());
  }
}

TEST_P(Cap, ByteByByteStopsExactlyAtTheCap) {
  const coding_case& cc = GetParam();
  const std::string body = sample_body().substr(0, 3000);
  const std::string encoded = cc.encode(body);
  for (std::size_t cap : {std::size_t{2999}, std::size_t{3000}, std::size_t{1500}}) {
    body_decoder d(parsed(cc.header), cap);
    std::string out;
    status st = status::ok;
    std::size_t fed = 0;
    while (fed < encoded.size() && st == status::ok) st = d.feed(encoded.substr(fed++, 1), out);
    EXPECT_EQ(st, cap < body.size() ? status::limit_reached : status::ok) << cap;
    EXPECT_EQ(out, body.substr(0, cap));
    // Once stopped, the decoder stays stopped and adds nothing.
    if (st == status::limit_reached) {
      EXPECT_EQ(d.feed(encoded.substr(fed), out), status::limit_reached);
      EXPECT_EQ(out.size(), cap);
    }
  }
}

TEST_P(Cap, UnlimitedCapDoesNotOverflow) {
  const coding_case& cc = GetParam();
  const decoded r = decode(parsed(cc.header), cc.encode("abc"), SIZE_MAX, 1);
  EXPECT_EQ(r.fed, status::ok);
  EXPECT_EQ(r.out, "abc");
}

INSTANTIATE_TEST_SUITE_P(Codings, Cap, ::testing::ValuesIn(coding_cases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- decompression bombs ---

constexpr std::size_t bomb_size = 1024 * mib;  // 1 GiB of zeros
constexpr std::size_t bomb_cap = 10 * mib;

// A true bomb (it decodes to all of bomb_size, checksums included) built in milliseconds:
// deflating bomb_size zeros outright takes seconds. After Z_FULL_FLUSH deflate forgets its
// history, so every further megabyte of zeros compresses to the same bytes: compress a few
// megabytes, repeat the steady block, and write the trailer for the full length.
std::string zlib_bomb(int window_bits, std::size_t size = bomb_size) {
  const std::string zeros(mib, '\0');
  deflater d(window_bits, 9);
  std::string first, steady, again, last;
  d.run(zeros, Z_FULL_FLUSH, first);
  d.run(zeros, Z_FULL_FLUSH, steady);
  d.run(zeros, Z_FULL_FLUSH, again);
  EXPECT_EQ(steady, again) << "full-flush blocks are not repeatable";
  d.run(zeros, Z_FINISH, last);

  const std::size_t chunks = size / mib;
  std::string out = first;
  out.reserve(first.size() + steady.size() * chunks + last.size());
  for (std::size_t i = 2; i < chunks; ++i) out += steady;
  out += last;

  const auto zero_bytes = reinterpret_cast<const Bytef*>(zeros.data());
  if (window_bits == gzip_bits) {
    // RFC 1952: CRC-32 and length mod 2^32, little-endian.
    const uLong chunk_crc = crc32(0, zero_bytes, static_cast<uInt>(mib));
    uLong crc = chunk_crc;
    for (std::size_t i = 1; i < chunks; ++i) crc = crc32_combine(crc, chunk_crc, mib);
    const auto length = static_cast<std::uint32_t>(size);
    for (int i = 0; i < 4; ++i) {
      out[out.size() - 8 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
      out[out.size() - 4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
    }
  } else if (window_bits == zlib_bits) {
    // RFC 1950: Adler-32, big-endian.
    const uLong chunk_adler = adler32(adler32(0, nullptr, 0), zero_bytes, static_cast<uInt>(mib));
    uLong adler = chunk_adler;
    for (std::size_t i = 1; i < chunks; ++i) adler = adler32_combine(adler, chunk_adler, mib);
    for (int i = 0; i < 4; ++i) {
      out[out.size() - 4 + i] = static_cast<char>((adler >> (8 * (3 - i))) & 0xff);
    }
  }
  return out;
}

const std::string& gzip_bomb() {
  static const std::string bomb = zlib_bomb(gzip_bits);
  return bomb;
}

std::string brotli_bomb() {
  std::unique_ptr<BrotliEncoderState, decltype(&BrotliEncoderDestroyInstance)> enc(
      BrotliEncoderCreateInstance(nullptr, nullptr, nullptr), &BrotliEncoderDestroyInstance);
  EXPECT_TRUE(enc);
  BrotliEncoderSetParameter(enc.get(), BROTLI_PARAM_QUALITY, 1);
  const std::string zeros(mib, '\0');
  std::string out;
  std::uint8_t buf[64 * 1024];
  for (std::size_t done = 0; done < bomb_size; done += zeros.size()) {
    const bool last = done + zeros.size() >= bomb_size;
    std::size_t avail_in = zeros.size();
    const auto* next_in = reinterpret_cast<const std::uint8_t*>(zeros.data());
    while (true) {
      std::size_t avail_out = sizeof buf;
      std::uint8_t* next_out = buf;
      EXPECT_TRUE(BrotliEncoderCompressStream(
          enc.get(), last ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_PROCESS, &avail_in, &next_in,
          &avail_out, &next_out, nullptr));
      out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
      if (last ? BrotliEncoderIsFinished(enc.get())
               : avail_in == 0 && !BrotliEncoderHasMoreOutput(enc.get())) {
        break;
      }
    }
  }
  return out;
}

// check_input: the stream is uniform enough that stopping early shows as input left unread.
void expect_bomb_defused(std::string_view header, const std::string& bomb,
                         bool check_input = true) {
  SCOPED_TRACE(header);
  // A real bomb: tiny on the wire.
  ASSERT_LT(bomb.size(), 2 * mib);

  // All at once: stops at the cap, fast, holding no more than the cap.
  const auto start = std::chrono::steady_clock::now();
  body_decoder d(parsed(header), bomb_cap);
  std::string out;
  EXPECT_EQ(d.feed(bomb, out), status::limit_reached);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.size(), bomb_cap);
  EXPECT_EQ(d.decoded_bytes(), bomb_cap);
  EXPECT_EQ(out.find_first_not_of('\0'), std::string::npos);
  EXPECT_LE(out.capacity(), 2 * bomb_cap);
  // Inflating the whole gigabyte takes seconds; the cap takes milliseconds. The bound is loose
  // so that a loaded machine or a sanitizer build does not fail it.
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(d.finish(out), status::limit_reached);

  // In network-sized pieces: decoding stops after about cap / ratio input bytes, not at the end.
  body_decoder p(parsed(header), bomb_cap);
  std::string out2;
  const std::size_t piece = bomb.size() / 1000 + 1;
  std::size_t fed = 0;
  status st = status::ok;
  while (fed < bomb.size() && st == status::ok) {
    st = p.feed(std::string_view(bomb).substr(fed, piece), out2);
    fed += piece;
  }
  EXPECT_EQ(st, status::limit_reached);
  EXPECT_EQ(out2.size(), bomb_cap);
  if (check_input) {
    EXPECT_LT(fed, bomb.size() / 10) << "read " << fed << " of " << bomb.size();
  }
}

TEST(Bomb, BuilderMakesWholeValidStreams) {
  // The shortcut in zlib_bomb must give real streams, or the bomb tests would prove little.
  constexpr std::size_t size = 8 * mib;
  for (auto [header, bits] : {std::pair{"gzip", gzip_bits}, std::pair{"deflate", zlib_bits},
                              std::pair{"deflate", raw_bits}}) {
    const decoded r = decode(parsed(header), zlib_bomb(bits, size), size);
    EXPECT_EQ(r.fed, status::ok) << header << " " << bits << ": " << r.error;
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.out.size(), size);
    EXPECT_EQ(r.out.find_first_not_of('\0'), std::string::npos);
  }
}

TEST(Bomb, GzipStopsAtTheCap) {
  expect_bomb_defused("gzip", gzip_bomb());
}

TEST(Bomb, DeflateStopsAtTheCap) {
  expect_bomb_defused("deflate", zlib_bomb(zlib_bits));
  expect_bomb_defused("deflate", zlib_bomb(raw_bits));
}

TEST(Bomb, BrotliStopsAtTheCap) {
  expect_bomb_defused("br", brotli_bomb());
}

TEST(Bomb, ChainedBombStopsAtTheCap) {
  // br outside, gzip inside: the first stage must not inflate the whole inner stream either.
  // br squeezes the repetitive gzip stream into a few hundred bytes, too few to watch the
  // input position, so only time and output are checked.
  const std::string chained = brotli(gzip_bomb(), 4);
  expect_bomb_defused("gzip, br", chained, false);
}

// --- corrupt and truncated input ---

TEST(Corrupt, NotCompressedAtAll) {
  const std::string text = "<html>this is not compressed</html>";
  for (std::string_view h : {"gzip", "br", "gzip, br"}) {
    for (std::size_t piece : {0, 1}) {
      const decoded r = decode(parsed(h), text, 1000, piece);
      EXPECT_EQ(r.fed, status::error) << h;
      EXPECT_EQ(r.finished, status::error) << h;
      EXPECT_FALSE(r.error.empty()) << h;
    }
  }
  // "<h" is no zlib header, so this is read as raw deflate: BTYPE 3 is invalid.
  const decoded r = decode(parsed("deflate"), "\xff\xff\xff\xff", 1000);
  EXPECT_EQ(r.fed, status::error);
  EXPECT_NE(r.error.find("deflate"), std::string::npos) << r.error;
}

TEST(Corrupt, MessagesNameTheCoding) {
  EXPECT_NE(decode(parsed("gzip"), "nope").error.find("gzip: "), std::string::npos);
  EXPECT_NE(decode(parsed("br"), "\xff\xff\xff\xff").error.find("br: "), std::string::npos);
}

TEST(Corrupt, DamagedMiddleOfStream) {
  const std::string& body = sample_body();
  for (std::string_view h : {"gzip", "deflate", "br"}) {
    std::string e = h == "gzip" ? gzip(body) : h == "deflate" ? zlib_wrapped(body) : brotli(body);
    for (std::size_t i = e.size() / 2; i < e.size() / 2 + 64; ++i) e[i] = static_cast<char>(~e[i]);
    const decoded r = decode(parsed(h), e, 64 * mib, 1000);
    EXPECT_EQ(r.fed, status::error) << h;
    EXPECT_FALSE(r.error.empty()) << h;
    EXPECT_LT(r.out.size(), body.size()) << h;
  }
}

TEST(Corrupt, BadChecksumIsAnError) {
  std::string g = gzip("checksummed body");
  g[g.size() - 8] = static_cast<char>(g[g.size() - 8] ^ 1);  // CRC-32 in the trailer
  const decoded r = decode(parsed("gzip"), g);
  EXPECT_EQ(r.fed, status::error);
  EXPECT_NE(r.error.find("check"), std::string::npos) << r.error;

  std::string z = zlib_wrapped("checksummed body");
  z.back() = static_cast<char>(z.back() ^ 1);  // Adler-32
  EXPECT_EQ(decode(parsed("deflate"), z).fed, status::error);
}

TEST(Corrupt, ErrorIsSticky) {
  body_decoder d(parsed("gzip"), 100);
  std::string out;
  EXPECT_EQ(d.feed("garbage!", out), status::error);
  const std::string message = d.error_message();
  EXPECT_EQ(d.feed(gzip("abc"), out), status::error);
  EXPECT_EQ(d.finish(out), status::error);
  EXPECT_EQ(d.error_message(), message);
  EXPECT_TRUE(out.empty());
}

TEST(Truncated, StreamCutShortIsIncompleteButKeepsItsPrefix) {
  const std::string& body = sample_body();
  for (const coding_case& cc : coding_cases) {
    if (std::string_view(cc.header).empty() || std::string_view(cc.header) == "identity") continue;
    const std::string e = cc.encode(body);
    for (std::size_t keep : {std::size_t{1}, e.size() / 3, e.size() - 1}) {
      for (std::size_t piece : {0, 1}) {
        const decoded r =
            decode(parsed(cc.header), std::string_view(e).substr(0, keep), 64 * mib, piece);
        EXPECT_EQ(r.fed, status::ok) << cc.name << " keep " << keep << ": " << r.error;
        EXPECT_EQ(r.finished, status::ok) << cc.name;
        EXPECT_FALSE(r.complete) << cc.name << " keep " << keep;
        EXPECT_LT(r.out.size(), keep == e.size() - 1 ? body.size() + 1 : body.size());
        EXPECT_TRUE(body.compare(0, r.out.size(), r.out) == 0) << cc.name;
      }
    }
  }
}

TEST(Truncated, GzipMissingItsTrailerIsIncomplete) {
  const std::string g = gzip("all the data, but no trailer");
  const decoded r = decode(parsed("gzip"), std::string_view(g).substr(0, g.size() - 8));
  EXPECT_EQ(r.out, "all the data, but no trailer");
  EXPECT_FALSE(r.complete);
}

TEST(Truncated, CompleteWhenWhole) {
  for (const coding_case& cc : coding_cases) {
    const decoded r = decode(parsed(cc.header), cc.encode("whole"), 100, 1);
    EXPECT_TRUE(r.complete) << cc.name;
  }
}

}  // namespace
