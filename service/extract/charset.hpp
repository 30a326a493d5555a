#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// Character encodings as the WHATWG Encoding Standard names them, and decoding to UTF-8
// (SPEC "Crawl semantics": Content-Type, then <meta charset>, then UTF-8).
namespace trawler::extract {

// WHATWG label -> lowercase canonical encoding name: surrounding ASCII whitespace ignored,
// case-insensitive ("latin1", "ISO-8859-1", "ascii" -> "windows-1252"; "utf8" -> "utf-8";
// "sjis" -> "shift_jis"; "iso-2022-kr" -> "replacement"). nullopt for an unknown label.
std::optional<std::string> canonical_charset(std::string_view label);

struct bom {
  std::string_view charset;  // "utf-8", "utf-16be" or "utf-16le"
  std::size_t length;        // bytes to skip
};
// A byte order mark at the start of body, which overrides every other source of encoding.
std::optional<bom> sniff_bom(std::string_view body);

// The encoding a browser would find before parsing: a BOM, else the WHATWG prescan of the
// first 1024 bytes for <meta charset=...> or <meta http-equiv=content-type
// content="...charset=...">. The prescan maps utf-16 to utf-8 and x-user-defined to
// windows-1252 as the standard says (a page that declares UTF-16 in ASCII bytes is not).
std::optional<std::string> sniff_meta_charset(std::string_view body);

// Decodes bytes in the named encoding (a canonical name) to UTF-8. Malformed input becomes
// U+FFFD and decoding goes on. utf-8 is validated and repaired; windows-1252 and
// x-user-defined are decoded here; the others through glibc iconv. An unknown name is read
// as UTF-8.
std::string decode_to_utf8(std::string_view bytes, std::string_view canonical_name);

}  // namespace trawler::extract
