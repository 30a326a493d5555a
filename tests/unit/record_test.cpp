#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "record/record.hpp"

namespace {

using namespace trawler::record;
using trawler::error_kind;
using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::sys_days;

const std::string fffd = "\xEF\xBF\xBD";

std::chrono::system_clock::time_point at(std::chrono::year_month_day d, int h, int m, int s,
                                         int ms) {
  return sys_days{d} + std::chrono::hours{h} + std::chrono::minutes{m} + std::chrono::seconds{s} +
         milliseconds{ms};
}

fetch_record minimal_record() {
  fetch_record r;
  r.url = "https://example.com/";
  r.fetched_at = at(std::chrono::year{2026} / 11 / 27, 13, 19, 54, 123);
  return r;
}

fetch_record full_record() {
  fetch_record r = minimal_record();
  r.url = "https://example.com/page";
  r.status = 200;
  r.depth = 3;
  r.referrer = "https://example.com/";
  r.elapsed_ms = 12.5;
  r.attempts = 2;
  r.content_type = "text/html";
  r.charset = "utf-8";
  r.size = 5120;
  r.sha256 = sha256_hex("body");
  r.links = {"https://example.com/a", "https://example.com/b"};
  r.new_links = 1;
  r.title = "Hello world";
  r.headers = {{"Content-Type", "text/html"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}};
  r.text = "Hello world visible text";
  r.canonical = "https://example.com/canonical";
  r.meta_robots = {"noindex", "nofollow"};
  return r;
}

output_fields all_fields() {
  output_fields f;
  f.headers = f.text = f.canonical = f.meta_robots = true;
  return f;
}

json parse_line(const std::string& line) {
  EXPECT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "raw newline inside the line";
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_TRUE(is_valid_utf8(line));
  return json::parse(line);
}

// ---------------------------------------------------------------- to_json_line

TEST(RecordJson, MinimalRecordHasAllRequiredFieldsWithNulls) {
  const json j = parse_line(to_json_line(minimal_record(), output_fields{}));
  EXPECT_EQ(j.at("url"), "https://example.com/");
  EXPECT_TRUE(j.at("status").is_null());
  EXPECT_TRUE(j.at("error").is_null());
  EXPECT_TRUE(j.at("redirect").is_null());
  EXPECT_EQ(j.at("depth"), 0);
  EXPECT_TRUE(j.at("referrer").is_null());
  EXPECT_EQ(j.at("fetched_at"), "2026-11-27T13:19:54.123Z");
  EXPECT_TRUE(j.at("elapsed_ms").is_number());
  EXPECT_EQ(j.at("elapsed_ms").get<double>(), 0.0);
  EXPECT_EQ(j.at("attempts"), 0);
  EXPECT_TRUE(j.at("content_type").is_null());
  EXPECT_TRUE(j.at("charset").is_null());
  EXPECT_EQ(j.at("size"), 0);
  EXPECT_EQ(j.at("truncated"), false);
  EXPECT_TRUE(j.at("sha256").is_null());
  ASSERT_TRUE(j.at("links").is_array());
  EXPECT_TRUE(j.at("links").empty());
  EXPECT_EQ(j.at("new_links"), 0);
  EXPECT_TRUE(j.at("title").is_null());  // selected but absent -> null, not missing
  EXPECT_FALSE(j.contains("headers"));
  EXPECT_FALSE(j.contains("text"));
  EXPECT_FALSE(j.contains("canonical"));
  EXPECT_FALSE(j.contains("meta_robots"));
  EXPECT_EQ(j.size(), 19u);
}

TEST(RecordJson, FullRecordEveryField) {
  const fetch_record r = full_record();
  const json j = parse_line(to_json_line(r, all_fields()));
  EXPECT_EQ(j.at("url"), "https://example.com/page");
  EXPECT_EQ(j.at("status"), 200);
  EXPECT_TRUE(j.at("error").is_null());
  EXPECT_EQ(j.at("depth"), 3);
  EXPECT_EQ(j.at("referrer"), "https://example.com/");
  EXPECT_EQ(j.at("elapsed_ms").get<double>(), 12.5);
  EXPECT_EQ(j.at("attempts"), 2);
  EXPECT_EQ(j.at("content_type"), "text/html");
  EXPECT_EQ(j.at("charset"), "utf-8");
  EXPECT_EQ(j.at("size"), 5120);
  EXPECT_EQ(j.at("sha256"), sha256_hex("body"));
  EXPECT_EQ(j.at("links"), json({"https://example.com/a", "https://example.com/b"}));
  EXPECT_EQ(j.at("new_links"), 1);
  EXPECT_EQ(j.at("title"), "Hello world");
  EXPECT_EQ(j.at("text"), "Hello world visible text");
  EXPECT_EQ(j.at("canonical"), "https://example.com/canonical");
  EXPECT_EQ(j.at("meta_robots"), json({"noindex", "nofollow"}));
  const json expected_headers = {{"content-type", "text/html"}, {"set-cookie", "a=1, b=2"}};
  EXPECT_EQ(j.at("headers"), expected_headers);
  EXPECT_EQ(j.size(), 23u);
}

TEST(RecordJson, RequisiteIsWrittenOnlyWhenTrue) {
  fetch_record r = full_record();
  EXPECT_FALSE(parse_line(to_json_line(r, output_fields{})).contains("requisite"));
  r.requisite = true;
  const std::string line = to_json_line(r, output_fields{});
  const json j = parse_line(line);
  EXPECT_EQ(j.at("requisite"), true);
  // After the directives, as SPEC's table adds it.
  EXPECT_LT(line.find("\"nofollow\""), line.find("\"requisite\""));
}

TEST(RecordJson, FieldOrderFollowsTheSpecTable) {
  const std::string line = to_json_line(full_record(), all_fields());
  const char* keys[] = {"\"url\"",        "\"status\"",       "\"error\"",      "\"redirect\"",
                        "\"depth\"",      "\"referrer\"",     "\"fetched_at\"", "\"elapsed_ms\"",
                        "\"attempts\"",   "\"content_type\"", "\"charset\"",    "\"size\"",
                        "\"truncated\"",  "\"sha256\"",       "\"links\"",      "\"new_links\"",
                        "\"title\"",      "\"headers\"",      "\"text\"",       "\"canonical\"",
                        "\"meta_robots\""};
  std::size_t last = 0;
  for (const char* k : keys) {
    const std::size_t pos = line.find(k);
    ASSERT_NE(pos, std::string::npos) << k;
    EXPECT_GT(pos, last == 0 ? 0 : last) << k;
    last = pos;
  }
  EXPECT_EQ(line.rfind("{\"url\":", 0), 0u);
}

TEST(RecordJson, ErrorObjectForEveryKind) {
  for (error_kind kind : trawler::all_error_kinds) {
    fetch_record r = minimal_record();
    r.error = kind;
    r.error_message = "it \"failed\"";
    const json j = parse_line(to_json_line(r, output_fields{}));
    ASSERT_TRUE(j.at("error").is_object());
    EXPECT_EQ(j.at("error").size(), 2u);
    EXPECT_EQ(j.at("error").at("kind"), std::string(trawler::to_string(kind)));
    EXPECT_EQ(j.at("error").at("message"), "it \"failed\"");
    EXPECT_TRUE(j.at("status").is_null());
  }
}

TEST(RecordJson, ErrorMessageIgnoredWithoutError) {
  fetch_record r = minimal_record();
  r.error_message = "stale";
  const json j = parse_line(to_json_line(r, output_fields{}));
  EXPECT_TRUE(j.at("error").is_null());
  EXPECT_EQ(to_json_line(r, output_fields{}).find("stale"), std::string::npos);
}

TEST(RecordJson, RedirectWithErrorKeepsBoth) {
  fetch_record r = minimal_record();
  r.status = 301;
  r.redirect = "https://example.com/next";
  r.error = error_kind::redirect_limit;
  r.error_message = "more than 10 redirects";
  const json j = parse_line(to_json_line(r, output_fields{}));
  EXPECT_EQ(j.at("status"), 301);
  EXPECT_EQ(j.at("redirect"), "https://example.com/next");
  EXPECT_EQ(j.at("error").at("kind"), "redirect_limit");
}

TEST(RecordJson, OptionalFieldsAbsentWhenNotSelected) {
  output_fields none = output_fields::from_names({});
  const json j = parse_line(to_json_line(full_record(), none));
  EXPECT_FALSE(j.contains("links"));
  EXPECT_FALSE(j.contains("title"));
  EXPECT_FALSE(j.contains("headers"));
  EXPECT_FALSE(j.contains("text"));
  EXPECT_FALSE(j.contains("canonical"));
  EXPECT_FALSE(j.contains("meta_robots"));
  EXPECT_TRUE(j.contains("new_links"));  // always present
  EXPECT_EQ(j.size(), 17u);
}

TEST(RecordJson, OptionalFieldsEmptyForms) {
  fetch_record r = minimal_record();
  const json j = parse_line(to_json_line(r, all_fields()));
  EXPECT_EQ(j.at("headers"), json::object());
  EXPECT_EQ(j.at("text"), "");
  EXPECT_TRUE(j.at("canonical").is_null());
  EXPECT_EQ(j.at("meta_robots"), json::array());
}

TEST(RecordJson, OutputFieldsFromNames) {
  const output_fields d;
  EXPECT_TRUE(d.links);
  EXPECT_TRUE(d.title);
  EXPECT_FALSE(d.headers || d.text || d.canonical || d.meta_robots);
  const auto f = output_fields::from_names({"headers", "canonical"});
  EXPECT_FALSE(f.links);
  EXPECT_FALSE(f.title);
  EXPECT_TRUE(f.headers);
  EXPECT_FALSE(f.text);
  EXPECT_TRUE(f.canonical);
  EXPECT_FALSE(f.meta_robots);
  const auto all =
      output_fields::from_names({"links", "title", "headers", "text", "canonical", "meta_robots"});
  EXPECT_TRUE(all.links && all.title && all.headers && all.text && all.canonical &&
              all.meta_robots);
  EXPECT_THROW(output_fields::from_names({"bogus"}), std::invalid_argument);
}

TEST(RecordJson, HeadersLowercasedAndRepeatsJoinedInArrivalOrder) {
  fetch_record r = minimal_record();
  r.headers = {{"Vary", "Accept"},       {"X-A", "1"},           {"VARY", "Cookie"},
               {"Content-Length", "10"}, {"vary", "User-Agent"}, {"x-a", "2"}};
  const std::string line = to_json_line(r, all_fields());
  const json j = parse_line(line);
  const json& h = j.at("headers");
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.at("vary"), "Accept, Cookie, User-Agent");
  EXPECT_EQ(h.at("x-a"), "1, 2");
  EXPECT_EQ(h.at("content-length"), "10");
  // each name once, placed where it first appeared
  EXPECT_LT(line.find("\"vary\""), line.find("\"x-a\""));
  EXPECT_LT(line.find("\"x-a\""), line.find("\"content-length\""));
  EXPECT_EQ(line.find("\"vary\""), line.rfind("\"vary\""));
}

TEST(RecordJson, ManyHeadersStayLinear) {
  fetch_record r = minimal_record();
  for (int i = 0; i < 20000; ++i) r.headers.emplace_back("X-" + std::to_string(i % 100), "v");
  const json j = parse_line(to_json_line(r, all_fields()));
  ASSERT_EQ(j.at("headers").size(), 100u);
  std::string expected = "v";
  for (int i = 1; i < 200; ++i) expected += ", v";
  EXPECT_EQ(j.at("headers").at("x-7"), expected);
}

TEST(RecordJson, EscapesQuotesBackslashesAndControlCharacters) {
  fetch_record r = minimal_record();
  r.title =
      std::string("a\"b\\c\nd\re\tf\bg\fh") + '\x01' + '\x1f' + '\x7f' + std::string(1, '\0') + "z";
  const std::string line = to_json_line(r, output_fields{});
  EXPECT_NE(line.find(R"(a\"b\\c\nd\re\tf\bg\fh\u0001\u001f)"), std::string::npos) << line;
  EXPECT_NE(line.find("\\u0000z"), std::string::npos) << line;
  const json j = parse_line(line);
  EXPECT_EQ(j.at("title"), *r.title);
}

TEST(RecordJson, NonAsciiIsKeptRaw) {
  fetch_record r = minimal_record();
  r.title = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC";
  const std::string line = to_json_line(r, output_fields{});
  EXPECT_NE(line.find(*r.title), std::string::npos);
  EXPECT_EQ(parse_line(line).at("title"), *r.title);
}

TEST(RecordJson, InvalidUtf8RepairedInEveryOutsideString) {
  const std::string bad = "x\xFFy\xC3";  // stray byte, then a truncated sequence at the end
  const std::string good = "x" + fffd + "y" + fffd;
  fetch_record r = minimal_record();
  r.url = "http://h/" + bad;
  r.error = error_kind::protocol;
  r.error_message = bad;
  r.redirect = bad;
  r.referrer = bad;
  r.content_type = bad;
  r.charset = bad;
  r.links = {bad, "http://h/ok"};
  r.title = bad;
  r.headers = {{"X-Bad" + bad, bad}};
  r.text = bad;
  r.canonical = bad;
  r.meta_robots = {bad};
  const json j = parse_line(to_json_line(r, all_fields()));
  EXPECT_EQ(j.at("url"), "http://h/" + good);
  EXPECT_EQ(j.at("error").at("message"), good);
  EXPECT_EQ(j.at("redirect"), good);
  EXPECT_EQ(j.at("referrer"), good);
  EXPECT_EQ(j.at("content_type"), good);
  EXPECT_EQ(j.at("charset"), good);
  EXPECT_EQ(j.at("links"), json({good, "http://h/ok"}));
  EXPECT_EQ(j.at("title"), good);
  EXPECT_EQ(j.at("headers").at("x-bad" + good), good);
  EXPECT_EQ(j.at("text"), good);
  EXPECT_EQ(j.at("canonical"), good);
  EXPECT_EQ(j.at("meta_robots"), json({good}));
}

TEST(RecordJson, NumbersAndBooleans) {
  fetch_record r = minimal_record();
  r.size = 1ULL << 40;
  r.truncated = true;
  r.status = 599;
  r.depth = 123456;
  r.attempts = 3;
  r.new_links = 42;
  r.elapsed_ms = 12.3456789;
  json j = parse_line(to_json_line(r, output_fields{}));
  EXPECT_EQ(j.at("size").get<std::uint64_t>(), 1ULL << 40);
  EXPECT_EQ(j.at("truncated"), true);
  EXPECT_EQ(j.at("status"), 599);
  EXPECT_EQ(j.at("depth"), 123456);
  EXPECT_EQ(j.at("attempts"), 3);
  EXPECT_EQ(j.at("new_links"), 42);
  EXPECT_NE(to_json_line(r, output_fields{}).find("\"elapsed_ms\":12.346,"), std::string::npos);

  r.elapsed_ms = 1500;
  EXPECT_NE(to_json_line(r, output_fields{}).find("\"elapsed_ms\":1500,"), std::string::npos);
  r.elapsed_ms = 0.0004;
  EXPECT_NE(to_json_line(r, output_fields{}).find("\"elapsed_ms\":0,"), std::string::npos);
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(), -5.0}) {
    r.elapsed_ms = v;
    j = parse_line(to_json_line(r, output_fields{}));
    EXPECT_EQ(j.at("elapsed_ms").get<double>(), 0.0) << v;
  }
}

// ---------------------------------------------------------------- rfc3339_utc

TEST(Rfc3339, FixedTimePoints) {
  using std::chrono::year;
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_utc(at(year{2026} / 11 / 27, 13, 19, 54, 123)), "2026-11-27T13:19:54.123Z");
  EXPECT_EQ(rfc3339_utc(at(year{2024} / 2 / 29, 23, 59, 59, 999)), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(rfc3339_utc(at(year{2000} / 1 / 1, 0, 0, 0, 7)), "2000-01-01T00:00:00.007Z");
  // system_clock counts nanoseconds in 64 bits here: its range ends in 2262.
  EXPECT_EQ(rfc3339_utc(at(year{2199} / 12 / 31, 23, 59, 59, 999)), "2199-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_utc(at(year{1900} / 3 / 1, 1, 2, 3, 40)), "1900-03-01T01:02:03.040Z");
  // 1'700'000'000 s since the epoch
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point{std::chrono::seconds{1700000000}}),
            "2023-11-14T22:13:20.000Z");
}

TEST(Rfc3339, SubMillisecondsTruncatedTowardThePast) {
  using std::chrono::year;
  const auto t = at(year{2026} / 11 / 27, 13, 19, 54, 123) + std::chrono::microseconds{999};
  EXPECT_EQ(rfc3339_utc(t), "2026-11-27T13:19:54.123Z");
  const auto before_epoch = std::chrono::system_clock::time_point{} - std::chrono::microseconds{1};
  EXPECT_EQ(rfc3339_utc(before_epoch), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(rfc3339_utc(std::chrono::system_clock::time_point{} - milliseconds{86400001}),
            "1969-12-30T23:59:59.999Z");
}

// ---------------------------------------------------------------- UTF-8

TEST(Utf8, ValidInputUnchanged) {
  const std::string cases[] = {"",
                               "plain ascii",
                               "\xC2\x80\xDF\xBF",                  // 2-byte bounds
                               "\xE0\xA0\x80\xEF\xBF\xBF",          // 3-byte bounds
                               "\xED\x9F\xBF\xEE\x80\x80",          // around the surrogates
                               "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF",  // 4-byte bounds
                               std::string("nul\0inside", 10)};
  for (const auto& s : cases) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(repair_utf8(s), s);
  }
}

struct repair_case {
  std::string input;
  std::string expected;
};

TEST(Utf8, RepairReplacesMaximalSubparts) {
  const std::string r = fffd;
  const repair_case cases[] = {
      {"\x80", r},  // lone continuation byte
      {"a\xBF"
       "b",
       "a" + r + "b"},
      {"\xC0\x80", r + r},          // overlong NUL
      {"\xC1\xBF", r + r},          // overlong 2-byte
      {"\xE0\x80\x80", r + r + r},  // overlong 3-byte
      {"\xE0\x9F\xBF", r + r + r},
      {"\xF0\x80\x80\x80", r + r + r + r},                  // overlong 4-byte
      {"\xED\xA0\x80", r + r + r},                          // high surrogate U+D800
      {"\xED\xBF\xBF", r + r + r},                          // low surrogate U+DFFF
      {"\xED\xA0\xBD\xED\xB8\x80", r + r + r + r + r + r},  // CESU-8 pair
      {"\xF4\x90\x80\x80", r + r + r + r},                  // above U+10FFFF
      {"\xF5\x80", r + r},
      {"\xFE\xFF", r + r},
      {"\xE2\x82", r},  // truncated at the end: one U+FFFD
      {"\xE2\x82"
       "A",
       r + "A"},  // truncated, then ASCII kept
      {"\xF0\x9F\x98", r},
      {"\xF0\x9F\x98"
       "\xF0\x9F\x98\x80",
       r + "\xF0\x9F\x98\x80"},
      {"\xC3", r},
      {"\xC3\xC3\xA9", r + "\xC3\xA9"},
      {"abcdefghijklmnop\xFFqrstuvwxyz0123456789", "abcdefghijklmnop" + r + "qrstuvwxyz0123456789"},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(is_valid_utf8(c.input)) << testing::PrintToString(c.input);
    EXPECT_EQ(repair_utf8(c.input), c.expected) << testing::PrintToString(c.input);
    EXPECT_TRUE(is_valid_utf8(repair_utf8(c.input)));
  }
}

TEST(Utf8, AppendRepairedKeepsPrefix) {
  std::string out = "pre:";
  append_repaired_utf8(out, "a\xFF");
  EXPECT_EQ(out, "pre:a" + fffd);
}

TEST(Utf8, InvalidByteAtEveryPositionOfALongAsciiRun) {
  // The validator skips ASCII eight bytes at a time: a bad byte must be found at any offset.
  for (std::size_t pos = 0; pos < 40; ++pos) {
    std::string s(40, 'a');
    s[pos] = '\x80';
    EXPECT_FALSE(is_valid_utf8(s)) << pos;
    const std::string fixed = repair_utf8(s);
    EXPECT_EQ(fixed.size(), 42u);
    EXPECT_EQ(fixed.substr(pos, 3), fffd);
  }
}

// ---------------------------------------------------------------- Content-Type

TEST(ContentType, MediaType) {
  EXPECT_EQ(media_type("Text/HTML; charset=UTF-8"), "text/html");
  EXPECT_EQ(media_type("text/html"), "text/html");
  EXPECT_EQ(media_type("  application/XHTML+xml  ;q=1"), "application/xhtml+xml");
  EXPECT_EQ(media_type("foo"), "foo");
  EXPECT_EQ(media_type("FOO"), "foo");
  EXPECT_EQ(media_type("\ttext/plain\t"), "text/plain");
  EXPECT_EQ(media_type(""), std::nullopt);
  EXPECT_EQ(media_type("   "), std::nullopt);
  EXPECT_EQ(media_type("; charset=utf-8"), std::nullopt);
}

TEST(ContentType, CharsetParam) {
  EXPECT_EQ(charset_param("text/html; charset=UTF-8"), "UTF-8");
  EXPECT_EQ(charset_param("text/html;charset=utf-8"), "utf-8");
  EXPECT_EQ(charset_param("text/html; CHARSET=iso-8859-1"), "iso-8859-1");
  EXPECT_EQ(charset_param("text/html; charset = \"Shift_JIS\" "), "Shift_JIS");
  EXPECT_EQ(charset_param("text/html; charset=\"a\\\"b\""), "a\"b");
  EXPECT_EQ(charset_param("text/html; format=flowed; charset=koi8-r; x=y"), "koi8-r");
  EXPECT_EQ(charset_param("text/html; x=\"a;charset=wrong\"; charset=right"), "right");
  EXPECT_EQ(charset_param("text/html; charset=first; charset=second"), "first");
  EXPECT_EQ(charset_param("text/html; ;; charset=utf-8"), "utf-8");
  EXPECT_EQ(charset_param("text/html; novalue; charset=utf-8"), "utf-8");
  EXPECT_EQ(charset_param("text/html"), std::nullopt);
  EXPECT_EQ(charset_param("text/html; charset="), std::nullopt);
  EXPECT_EQ(charset_param("text/html; charset=\"\""), std::nullopt);
  EXPECT_EQ(charset_param("text/html; xcharset=utf-8"), std::nullopt);
  EXPECT_EQ(charset_param(""), std::nullopt);
}

// ---------------------------------------------------------------- SHA-256

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingMatchesOneShotAndRestarts) {
  sha256 h;
  EXPECT_EQ(h.hex_final(), sha256_hex(""));
  const std::string million(1000000, 'a');
  for (std::size_t i = 0; i < million.size(); i += 4093)
    h.update(std::string_view(million).substr(i, 4093));
  EXPECT_EQ(h.hex_final(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  h.update("a");
  h.update("");
  h.update("bc");
  EXPECT_EQ(h.hex_final(), sha256_hex("abc"));
  sha256 moved = std::move(h);
  moved.update("abc");
  EXPECT_EQ(moved.hex_final(), sha256_hex("abc"));
}

// ---------------------------------------------------------------- the contract

class SchemaValidation : public testing::Test {
 protected:
  void SetUp() override {
    if (std::system("python3 -c 'import jsonschema' >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "python3 with jsonschema is not installed";
    dir_ = std::filesystem::temp_directory_path() /
           ("trawler_record_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    // Writes one "ok" or "bad" line per input line to argv[3], the errors to stderr.
    std::ofstream(dir_ / "validate.py") << R"(import json, sys, jsonschema
schema = json.load(open(sys.argv[1], encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
with open(sys.argv[2], encoding="utf-8") as lines, open(sys.argv[3], "w") as verdicts:
    for number, line in enumerate(lines, 1):
        errors = list(validator.iter_errors(json.loads(line)))
        for error in errors:
            print(f"line {number}: {error.json_path}: {error.message}", file=sys.stderr)
        print("bad" if errors else "ok", file=verdicts)
)";
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // For each line: does it validate against proto-free-api/record.schema.json? One python run
  // for all of them (starting python with jsonschema costs a third of a second).
  std::vector<bool> verdicts(const std::vector<std::string>& lines) {
    {
      std::ofstream out(dir_ / "lines.jsonl", std::ios::binary);
      for (const auto& l : lines) out << l;
    }
    std::filesystem::remove(dir_ / "verdicts.txt");
    const std::string cmd = "python3 '" + (dir_ / "validate.py").string() +
                            "' '" TRAWLER_SOURCE_DIR "/proto-free-api/record.schema.json' '" +
                            (dir_ / "lines.jsonl").string() + "' '" +
                            (dir_ / "verdicts.txt").string() + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "the validator itself failed";
    std::vector<bool> result;
    std::ifstream in(dir_ / "verdicts.txt");
    for (std::string v; std::getline(in, v);) result.push_back(v == "ok");
    EXPECT_EQ(result.size(), lines.size());
    return result;
  }

  std::filesystem::path dir_;
};

TEST_F(SchemaValidation, SerializedRecordsConform) {
  std::vector<std::string> lines;
  lines.push_back(to_json_line(minimal_record(), output_fields{}));
  lines.push_back(to_json_line(full_record(), output_fields{}));
  lines.push_back(to_json_line(full_record(), all_fields()));
  lines.push_back(to_json_line(full_record(), output_fields::from_names({})));
  fetch_record robots = minimal_record();
  robots.error = error_kind::robots;
  robots.error_message = "disallowed by robots.txt";
  robots.depth = 2;
  robots.referrer = "https://example.com/";
  lines.push_back(to_json_line(robots, all_fields()));
  fetch_record redirect = minimal_record();
  redirect.status = 302;
  redirect.redirect = "https://example.com/login?next=%2F";
  redirect.error = error_kind::redirect_limit;
  redirect.error_message = "redirect limit";
  redirect.attempts = 1;
  redirect.elapsed_ms = 3.25;
  redirect.sha256 = sha256_hex("");
  lines.push_back(to_json_line(redirect, output_fields{}));
  fetch_record ugly = full_record();
  ugly.title = "bad \xFF title\n";
  ugly.headers = {{"X-Bin", "\x80\x01"}};
  ugly.text = "tab\there";
  ugly.error = error_kind::too_large;
  ugly.error_message = "header \xC3";
  ugly.status.reset();
  lines.push_back(to_json_line(ugly, all_fields()));
  for (error_kind kind : trawler::all_error_kinds) {
    fetch_record r = minimal_record();
    r.error = kind;
    lines.push_back(to_json_line(r, output_fields{}));
  }
  const auto ok = verdicts(lines);
  ASSERT_EQ(ok.size(), lines.size());
  for (std::size_t i = 0; i < ok.size(); ++i) EXPECT_TRUE(ok[i]) << lines[i];
}

TEST_F(SchemaValidation, SchemaRejectsBrokenLines) {
  // The check above must be able to fail: each of these breaks one rule of the contract.
  const std::string good = to_json_line(full_record(), all_fields());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
  };
  const std::vector<std::string> lines = {
      good,
      replaced("\"status\":200", "\"status\":\"200\""),
      replaced("\"fetched_at\":\"2026-11-27T13:19:54.123Z\"",
               "\"fetched_at\":\"2026-11-27 13:19:54\""),
      replaced("\"fetched_at\":\"2026-11-27T13:19:54.123Z\"",
               "\"fetched_at\":\"2026-11-27T13:19:54+00:00\""),
      replaced("\"error\":null", "\"error\":{\"kind\":\"boom\",\"message\":\"\"}"),
      replaced("\"error\":null", "\"error\":{\"kind\":\"dns\"}"),
      replaced("\"size\":5120", "\"size\":-1"),
      replaced("\"depth\":3,", ""),
      replaced("{\"url\"", "{\"extra\":1,\"url\""),
      replaced("\"content_type\":\"text/html\"", "\"content_type\":\"Text/HTML\""),
      replaced("\"links\":[", "\"links\":[\"mailto:x@example.com\","),
      replaced("\"title\":\"Hello world\"", "\"title\":\"\""),
      replaced("\"truncated\":false", "\"truncated\":0"),
  };
  const auto ok = verdicts(lines);
  ASSERT_EQ(ok.size(), lines.size());
  EXPECT_TRUE(ok[0]);
  for (std::size_t i = 1; i < ok.size(); ++i) EXPECT_FALSE(ok[i]) << lines[i];
}

// ---------------------------------------------------------------- speed (informative)

TEST(RecordJson, SerializesA35LinkRecordQuickly) {
  fetch_record r = full_record();
  r.links.clear();
  for (int i = 0; i < 35; ++i)
    r.links.push_back("https://www.example.com/section/" + std::to_string(i) +
                      "/article?id=" + std::to_string(i * 7919));
  constexpr int rounds = 2000;
  std::size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < rounds; ++i) bytes += to_json_line(r, output_fields{}).size();
  const auto us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() /
      rounds;
  RecordProperty("microseconds_per_record", std::to_string(us));
  std::cout << "to_json_line, 35 links: " << us << " us/record (" << bytes / rounds << " bytes)\n";
  EXPECT_GT(bytes, 35u * 50u * rounds);
  EXPECT_LT(us, 2000.0);  // generous: Debug and sanitizer builds run this too
}

}  // namespace

// Recrawl fields (SPEC additions "Recrawl"): present only with a visit, and an unchanged or 304
// visit leaves the page's content fields out (absent, not empty).
TEST(RecordRecrawl, VisitFieldsAndOmittedContent) {
  output_fields all =
      output_fields::from_names({"links", "title", "headers", "text", "canonical", "meta_robots"});
  fetch_record r = full_record();
  json plain = json::parse(to_json_line(r, all));
  EXPECT_FALSE(plain.contains("change"));
  EXPECT_FALSE(plain.contains("visit"));

  visit_facts v;
  v.change = "changed";
  v.visit = 3;
  v.last_changed_at = at(std::chrono::year{2026} / 11 / 27, 10, 0, 0, 0);
  v.next_visit_at = at(std::chrono::year{2026} / 11 / 28, 10, 0, 0, 5);
  r.visit = v;
  json changed = json::parse(to_json_line(r, all));
  EXPECT_EQ(changed["change"], "changed");
  EXPECT_EQ(changed["visit"], 3);
  EXPECT_EQ(changed["last_changed_at"], "2026-11-27T10:00:00.000Z");
  EXPECT_EQ(changed["next_visit_at"], "2026-11-28T10:00:00.005Z");
  EXPECT_FALSE(changed.contains("gone_reason"));
  EXPECT_EQ(changed["links"].size(), 2u);

  r.visit->change = "not_modified";
  r.content_omitted = true;
  json touched = json::parse(to_json_line(r, all));
  for (const char* absent : {"links", "title", "text", "canonical", "meta_robots"})
    EXPECT_FALSE(touched.contains(absent)) << absent;
  EXPECT_TRUE(touched.contains("headers"));
  EXPECT_TRUE(touched.contains("new_links"));

  r.visit->change = "gone";
  r.visit->gone_reason = "410";
  r.visit->last_changed_at.reset();
  r.visit->next_visit_at.reset();
  json gone = json::parse(to_json_line(r, all));
  EXPECT_EQ(gone["gone_reason"], "410");
  EXPECT_TRUE(gone["last_changed_at"].is_null());
  EXPECT_TRUE(gone["next_visit_at"].is_null());
}
