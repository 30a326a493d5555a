#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

// Compression for closed outputs (JSONL segments, WARC files): data is written as a series of
// self-contained gzip members (RFC 1952) or zstd frames. Concatenated members are one valid
// file for `gzip -d`/`zstd -d` and every reader of them, a member can be read on its own from
// its offset (a WARC record, a CDX lookup), and after a crash the file is cut back to its last
// whole member: nothing written before it is lost.
namespace trawler::sink {

enum class compression { none, gzip, zstd };

// "none", "gzip", "zstd" (the config's spelling); nullopt for anything else.
std::optional<compression> compression_named(std::string_view name);
// The file name suffix: "", ".gz", ".zst".
std::string_view extension(compression c);

// Appends `in` to `out` as one whole gzip member or zstd frame (or as is with none). Each
// thread keeps its own compressor, so parse threads can compress side by side. False (and
// `out` unchanged) only when the library fails (out of memory).
bool append_compressed(compression c, std::string_view in, std::string& out);

// Appends the pieces, in order, as one whole gzip member, without joining them first (a WARC
// record's header and the body it frames). False (and `out` unchanged) when zlib fails.
bool append_gzip_member(std::initializer_list<std::string_view> pieces, std::string& out);

// The length of the longest prefix of `data` made of whole members (none: whole lines, up to
// and including the last '\n'). A member that does not decompress to its end with a good
// checksum, and anything after it, is not counted. When `plain` is given the decompressed
// content of the counted prefix is appended to it.
std::size_t whole_prefix(compression c, std::string_view data, std::string* plain = nullptr);

}  // namespace trawler::sink
