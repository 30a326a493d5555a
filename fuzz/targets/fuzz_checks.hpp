#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// The work of each fuzz target as a plain function, so that the libFuzzer executables
// (fuzz/targets/*_fuzz.cpp) and the regression test (tests/unit/fuzz_regressions_test.cpp)
// run exactly the same code. A check runs a module on arbitrary bytes and verifies the
// invariants its contract promises; it returns what it found wrong, nullopt when the input
// passed. Crashes and sanitizer reports are found by the sanitizers, not here.
namespace trawler::fuzz {

using finding = std::optional<std::string>;

// First line: a URL (normalize, normalize_seed, split, host_key); the rest: a reference
// resolved against a few bases and against the first line, by url::resolve and url::resolver.
finding check_url(std::string_view data);

// extract_html on the body with a fixed page URL, once without and once with a header
// charset chosen by the first byte (which also turns options on and off).
finding check_extract(std::string_view data);

// Before the first NUL byte: a robots.txt body; after it: request targets, one per line.
// rules::parse for two product tokens, allowed(), crawl_delay(), and each Allow/Disallow
// value's pattern against a reference matcher.
finding check_robots(std::string_view data);

// config::parse_text as YAML and as JSON; an accepted config round-trips through to_json.
finding check_config(std::string_view data);

// A server's response: Beast's response_parser with a header limit, then the body through
// fetch::body_decoder for its Content-Encoding, capped as the fetcher does.
finding check_http(std::string_view data);

// The input split into fields of a fetch_record; to_json_line must give one line of valid
// UTF-8 JSON holding the repaired strings.
finding check_record(std::string_view data);

// --- helpers, shared by the checks and unit-tested on their own ---

// Whether s is in the form url::normalize promises: only RFC 3986 URI characters, no '#',
// every '%' starting an uppercase escape that is not of an unreserved character.
bool is_normal_url_text(std::string_view s);

// RFC 9309 matching done the slow, obviously right way (dynamic programming): each '*' of
// `pattern` matches any run of bytes, every other byte itself; anchored, the pattern must
// match the whole target, otherwise a prefix of it.
bool reference_robots_match(std::string_view pattern, bool anchored, std::string_view target);

// s quoted, with bytes outside printable ASCII (and '"', '\\') written as \xNN, cut to a readable
// length: for findings.
std::string printable(std::string_view s);

// For the libFuzzer entry points: a finding aborts, so that libFuzzer saves the input.
// Findings that contain one of the '|'-separated substrings of the environment variable
// TRAWLER_FUZZ_IGNORE are printed once and passed over instead: to fuzz on while a reported
// bug waits for its fix.
void abort_on(const finding& f, const char* target);

}  // namespace trawler::fuzz
